import type {StepId} from './engine/step.js'

/** Every step of a whole stack, for setup, plan, status and rollback (order does not matter). */
export const STACK_STEPS: StepId[] = [
  'vpc',
  'nat',
  'sg',
  'subnet-group',
  'cluster',
  'attach',
  'layer',
  'layer-attach',
  'env',
  'dashboard',
  'probe',
  'alarms',
]

/** What `rollback --keep-network` leaves in place. */
export const NETWORK_STEPS: StepId[] = ['vpc', 'nat', 'sg']
