import type {FunctionInfo} from '../aws/functions.js'
import {pending, type Change} from '../engine/step.js'
import {conflictError, usageError} from '../errors.js'
import {optionLabel, type StackOptions} from '../options.js'
import type {CostEstimate} from '../pricing/prices.js'
import {atLeast, shardChanges} from './cluster-shards.js'
import type {ClusterOp} from './cluster.js'
import {changedKeys, CLUSTER_KEY, type Desired} from './env.js'

/** ElastiCache's cluster mode setting of a replication group (ReplicationGroup.ClusterMode). */
export type ClusterModeSetting = 'disabled' | 'compatible' | 'enabled'

/** What the migration plan reads of an existing group of one shard. */
export interface MigratingGroup {
  mode: ClusterModeSetting
  engine?: string
  engineVersion?: string
  /** Members, primary and replicas (the one node group's). */
  nodes: number
  failover?: boolean
  dataTiering: boolean
  /** The members' parameter group (a default one is swapped for its cluster-enabled twin by ElastiCache). */
  parameterGroup?: string
  /** Known once the group is compatible. */
  configurationEndpoint?: string
}

/**
 * "The minimum engine version required for migration is Valkey 7.2 and above, or Redis OSS 7.0
 * and above" ("Modifying cluster mode", ElastiCache User Guide).
 */
const MIGRATE_MIN: Record<string, number[]> = {redis: [7, 0], valkey: [7, 2]}
const ENGINE_NAME: Record<string, string> = {redis: 'Redis OSS', valkey: 'Valkey'}

/** What the confirm says cannot be undone. */
export const ONE_WAY =
  'cluster mode cannot be turned off again: ElastiCache moves a group from cluster mode disabled to enabled only, and the cache keeps its configuration endpoint from then on'

/**
 * Whether this plan moves the group toward cluster mode enabled: more shards asked of a group
 * in cluster mode disabled, or a move already begun (compatible: ElastiCache allows no other
 * change then, and the way back is closed), which is finished whatever is asked.
 */
export const migrating = (group: Pick<MigratingGroup, 'mode'>, options: Pick<StackOptions, 'shards'>): boolean =>
  group.mode === 'compatible' || (group.mode === 'disabled' && options.shards > 1)

/**
 * The one-way move of a one-shard group to N shards, online (ElastiCache: ModifyReplicationGroup
 * ClusterMode compatible, every client moved to the configuration endpoint in cluster mode,
 * ClusterMode enabled, then ModifyReplicationGroupShardConfiguration). Each part is planned
 * from what the group and the functions are now, so a run cut short anywhere is finished by
 * the next. Everything ElastiCache would refuse is refused here, before the first call:
 * `before` are the changes that make the group fit (a replica and failover), planned by the
 * caller from the same options.
 */
export function migrationChanges(
  group: MigratingGroup,
  helpers: readonly FunctionInfo[],
  options: StackOptions,
  name: string,
  note: (message: string) => void,
  cost?: CostEstimate,
): Change<ClusterOp>[] {
  const asked = Math.max(options.shards, 1)
  if (group.mode === 'disabled') refuseUnmovable(group, options, name)
  else if (options.shards <= 1)
    note(`${name} is on its way to cluster mode (compatible), which cannot be undone: cct finishes the move`)
  const changes: Change<ClusterOp>[] = []
  if (group.mode === 'disabled') {
    changes.push({
      action: 'update',
      resource: 'replication-group',
      name,
      detail:
        'cluster mode compatible: a configuration endpoint beside the primary endpoint, both served while the helpers move (one-way)',
      op: {kind: 'set-cluster-mode', id: name, mode: 'compatible'},
      oneWay: ONE_WAY,
    })
  }
  const host = group.configurationEndpoint ?? pending('configuration endpoint')
  const vars: Desired = {REDIS_HOST: host, [CLUSTER_KEY]: 'true'}
  for (const fn of helpers) {
    if (changedKeys(fn, vars).length === 0) continue
    changes.push({
      action: 'update',
      resource: 'function-env',
      name: fn.name,
      detail: `REDIS_HOST=${group.configurationEndpoint ?? 'the configuration endpoint'}, ${CLUSTER_KEY}=true: its helper connects in cluster mode (other variables kept; rollback restores them)`,
      kind: 'drift',
      op: {kind: 'move-helper', id: name, functionName: fn.name, vars},
    })
  }
  changes.push({
    action: 'update',
    resource: 'replication-group',
    name,
    detail:
      'cluster mode enabled once every helper has moved: the primary endpoint goes, clients connect in cluster mode to the configuration endpoint',
    op: {kind: 'set-cluster-mode', id: name, mode: 'enabled'},
    ...(group.mode === 'disabled' ? {} : {oneWay: ONE_WAY}),
  })
  // The group is then one shard in cluster mode enabled: the existing online resharding grows it.
  const perShard = group.mode === 'disabled' ? options.replicas : group.nodes - 1
  changes.push(
    ...shardChanges(
      {
        clusterMode: true,
        nodeGroups: ['0001'],
        replicasPerShard: perShard,
        engine: group.engine,
        engineVersion: group.engineVersion,
      },
      {...options, shards: asked},
      name,
      note,
      cost,
    ),
  )
  return changes
}

/** What ElastiCache refuses to move to cluster mode, refused in the plan with the way forward. */
function refuseUnmovable(group: MigratingGroup, options: StackOptions, name: string): void {
  const shardsFlag = optionLabel(options, 'shards')
  const keep = `keep one shard (leave out ${shardsFlag})`
  const engine = group.engine ?? options.engine
  const min = MIGRATE_MIN[engine]
  if (group.engineVersion && min && !atLeast(group.engineVersion, min)) {
    throw conflictError(
      `${name} runs ${ENGINE_NAME[engine] ?? engine} ${group.engineVersion}; ElastiCache moves a group to cluster mode (${shardsFlag} ${options.shards}) from Redis OSS 7.0 or Valkey 7.2`,
      `Upgrade the engine first (aws elasticache modify-replication-group --replication-group-id ${name} --engine-version ${engine === 'valkey' ? '8.0' : '7.1'} --apply-immediately), or ${keep}`,
    )
  }
  if (group.dataTiering) {
    throw conflictError(
      `${name} uses data tiering; cct does not move such a group to cluster mode (${shardsFlag} ${options.shards})`,
      `Keep one shard (leave out ${shardsFlag}), or set up a new stack beside it with --stack <name> ${shardsFlag} ${options.shards}`,
    )
  }
  if (group.parameterGroup && !group.parameterGroup.startsWith('default.')) {
    throw conflictError(
      `${name} uses the parameter group ${group.parameterGroup}; ElastiCache moves a group to cluster mode only with one that has cluster-enabled yes, and cct picks only the default ones`,
      `Switch ${name} to its engine's default parameter group first (aws elasticache modify-replication-group --cache-parameter-group-name), or ${keep}`,
    )
  }
  // "Auto-failover must be enabled on the cluster with a minimum of 1 replica": the plan adds them when asked.
  if (options.replicas < 1) {
    throw usageError(
      `${shardsFlag} ${options.shards} moves ${name} to cluster mode, which ElastiCache does only with automatic failover and at least one replica; ${optionLabel(options, 'replicas')} is 0`,
      `Pass --replicas 1 with ${shardsFlag} ${options.shards} (a replica per shard), or ${keep}`,
    )
  }
}
