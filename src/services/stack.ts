import type {CallLog} from '../aws/call-log.js'
import type {AwsSettings} from '../aws/settings.js'
import type {StackOptions} from '../options.js'
import {NETWORK_STEPS, STACK_STEPS} from '../stack-steps.js'
import type {RunListener} from '../engine/events.js'
import {converge, prepare, type ConvergeReport, type PreparedRun} from './converge.js'
import {statusRows, type StatusRow} from './status.js'

export interface StackRequest {
  settings: AwsSettings
  options: StackOptions
  onEvent?: RunListener
  log?: CallLog
  signal?: AbortSignal
}

/** The whole stack's plan: what setup would create or change. No mutating call. */
export function planStack(request: StackRequest): Promise<ConvergeReport> {
  return converge({...request, targets: STACK_STEPS, mode: 'plan'})
}

/** Setup's run, planned and not yet performed: its report is the plan that `perform` applies. */
export function prepareStack(request: StackRequest): Promise<PreparedRun> {
  return prepare({...request, targets: STACK_STEPS, mode: 'apply'})
}

export async function stackStatus(request: StackRequest): Promise<{report: ConvergeReport; rows: StatusRow[]}> {
  const report = await planStack(request)
  return {report, rows: statusRows(report)}
}

const rollbackTargets = (keepNetwork: boolean) =>
  STACK_STEPS.filter((id) => !(keepNetwork && NETWORK_STEPS.includes(id)))

/** What rollback would remove and restore (mode unplan), or does it (mode destroy). */
export function rollbackStack(
  request: StackRequest & {keepNetwork: boolean; dryRun: boolean},
): Promise<ConvergeReport> {
  return converge({
    ...request,
    targets: rollbackTargets(request.keepNetwork),
    mode: request.dryRun ? 'unplan' : 'destroy',
  })
}

/** Rollback's run, planned and not yet performed: its report is the preview that `perform` carries out. */
export function prepareRollback(request: StackRequest & {keepNetwork: boolean}): Promise<PreparedRun> {
  return prepare({...request, targets: rollbackTargets(request.keepNetwork), mode: 'destroy'})
}
