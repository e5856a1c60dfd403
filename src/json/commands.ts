/**
 * Each command's --json envelope, by name: `<Command>Json` for `cct <command>`.
 * scripts/schemas.ts turns each into schemas/<command>.json (`npm run schemas`); a command
 * without its type here fails that script, so a new command cannot ship without a schema.
 */
import type {Envelope} from './envelope.js'
import type {CostResult, PolicyResult, StatusResult, StepsResult, VerifyResult} from './results.js'

export type SetupJson = Envelope<'setup', StepsResult>
export type PlanJson = Envelope<'plan', StepsResult>
export type RollbackJson = Envelope<'rollback', StepsResult>
export type StatusJson = Envelope<'status', StatusResult>
export type VerifyJson = Envelope<'verify', VerifyResult>
export type CostJson = Envelope<'cost', CostResult>
export type PolicyJson = Envelope<'policy', PolicyResult>

export type VpcJson = Envelope<'vpc', StepsResult>
export type SgJson = Envelope<'sg', StepsResult>
export type SubnetGroupJson = Envelope<'subnet-group', StepsResult>
export type ClusterJson = Envelope<'cluster', StepsResult>
export type AttachJson = Envelope<'attach', StepsResult>
export type LayerJson = Envelope<'layer', StepsResult>
export type EnvJson = Envelope<'env', StepsResult>
export type DashboardJson = Envelope<'dashboard', StepsResult>
