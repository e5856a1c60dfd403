import type {FidelityConfig} from '../../sandbox/launcher.js'

/**
 * The sandbox bench/setup measures on (run.ts and timeline.ts alike): issue #14's delays and
 * Lambda's control-plane rate limits at AWS's defaults. The sandbox's own default is no limit
 * (off unless asked for, like every fidelity setting), so the bench asks for them here.
 */
export const DELAYS = {
  replicationGroupCreateSeconds: 20,
  replicationGroupDeleteSeconds: 10,
  lambdaUpdateSeconds: 2,
  eniLingerSeconds: 10,
} satisfies Partial<FidelityConfig>

/** Lambda's requests a second: the control plane's shared budget (the bucket holds one second's), and GetFunction's own. */
export const LAMBDA_RATE = 15
export const GET_FUNCTION_RATE = 100

export const BENCH_FIDELITY = {
  ...DELAYS,
  lambdaControlPlaneRate: LAMBDA_RATE,
  lambdaGetFunctionRate: GET_FUNCTION_RATE,
} satisfies Partial<FidelityConfig>
