import type {Change} from '../engine/step.js'
import {conflictError, usageError} from '../errors.js'
import {MAX_CLUSTER_NODES, optionLabel, type StackOptions} from '../options.js'
import {formatCost, type CostEstimate} from '../pricing/prices.js'
import type {ClusterOp} from './cluster.js'

/** What the shard plan reads of an existing replication group. */
export interface ShardedGroup {
  clusterMode: boolean
  /** Node group ids, in id order. */
  nodeGroups: string[]
  replicasPerShard: number
  engine?: string
  engineVersion?: string
}

/**
 * Nodes (shards x nodes per shard) one cluster-mode group can have: MAX_CLUSTER_NODES for
 * Valkey 7.2 and higher or Redis OSS 5.0.6 to 7.1, else 90 ("Working with shards in
 * ElastiCache"). Above 90 the account's quota must have been raised.
 */
export const DEFAULT_NODES_QUOTA = 90

export function maxClusterNodes(engine: string | undefined, version: string | undefined): number {
  if (engine !== 'redis' || version === undefined) return MAX_CLUSTER_NODES
  return atLeast(version, [5, 0, 6]) ? MAX_CLUSTER_NODES : DEFAULT_NODES_QUOTA
}

/** Online resharding (adding or removing shards) needs Redis OSS 3.2.10 or newer; every Valkey has it. */
const RESHARD_MIN_REDIS = [3, 2, 10]

export function atLeast(version: string, min: number[]): boolean {
  const parts = version.split('.').map((p) => Number.parseInt(p, 10) || 0)
  for (let i = 0; i < min.length; i++) {
    if ((parts[i] ?? 0) !== min[i]) return (parts[i] ?? 0) > min[i]!
  }
  return true
}

/**
 * The shard count of an existing cluster-mode group against the one asked. Fewer shards reshard
 * online, removing the highest-numbered node groups (their slots move to the others); more add
 * node groups online (ElastiCache gives each as many nodes as the smallest shard and moves their
 * share of the slots to them). A group of one shard in cluster mode disabled gets there first by
 * the one-way move of cluster-migration.ts. Replicas per shard are not changed in place.
 */
export function shardChanges(
  group: ShardedGroup,
  options: StackOptions,
  name: string,
  note: (message: string) => void,
  cost?: CostEstimate,
): Change<ClusterOp>[] {
  const asked = options.shards
  const shardsFlag = optionLabel(options, 'shards')
  if (!group.clusterMode) throw new Error(`shardChanges was given ${name}, which is not in cluster mode`)
  const has = group.nodeGroups.length
  if (has > 0 && group.replicasPerShard !== options.replicas) {
    note(
      `${name} has ${group.replicasPerShard} replica${group.replicasPerShard === 1 ? '' : 's'} per shard, asked ${options.replicas}; cct does not change the replicas of a sharded group yet`,
    )
  }
  if (has === 0 || has === asked) return []
  if (group.engine === 'redis' && group.engineVersion && !atLeast(group.engineVersion, RESHARD_MIN_REDIS)) {
    throw conflictError(
      `${name} runs Redis OSS ${group.engineVersion}; ElastiCache reshards online from 3.2.10 (${shardsFlag} ${asked})`,
      `Keep ${has} shards (${shardsFlag} ${has}), or upgrade the engine first (aws elasticache modify-replication-group --engine-version)`,
    )
  }
  if (asked > has) return [grow(group, asked, name, shardsFlag, note, cost)]
  const remove = group.nodeGroups.slice(asked)
  return [
    {
      action: 'update',
      resource: 'replication-group',
      name,
      detail: `reshard online: ${has} -> ${asked} shards, the slots of node group${remove.length > 1 ? 's' : ''} ${remove.join(', ')} move to the others (keys stay readable)`,
      op: {kind: 'reshard', id: name, from: has, to: asked, remove},
    },
  ]
}

function grow(
  group: ShardedGroup,
  asked: number,
  name: string,
  shardsFlag: string,
  note: (message: string) => void,
  cost?: CostEstimate,
): Change<ClusterOp> {
  const has = group.nodeGroups.length
  const perShard = 1 + group.replicasPerShard
  const nodes = asked * perShard
  const limit = maxClusterNodes(group.engine, group.engineVersion)
  if (nodes > limit) {
    throw usageError(
      `${shardsFlag} ${asked} would make ${name} ${nodes} nodes (${asked} shards x ${perShard}); a cluster-mode group has at most ${limit}`,
      `Pass at most ${shardsFlag} ${Math.floor(limit / perShard)}`,
    )
  }
  if (nodes > DEFAULT_NODES_QUOTA) {
    note(
      `${name} would have ${nodes} nodes: ElastiCache allows ${DEFAULT_NODES_QUOTA} per cluster unless the account's "Nodes per cluster" quota was raised (Service Quotas)`,
    )
  }
  const added = (asked - has) * perShard
  const price = cost ? `; ${formatCost(cost)} more` : ''
  return {
    action: 'update',
    resource: 'replication-group',
    name,
    detail: `reshard online: ${has} -> ${asked} shards, ${asked - has} new shard${asked - has > 1 ? 's' : ''} of ${perShard} node${perShard > 1 ? 's' : ''} (${added} node${added > 1 ? 's' : ''} in all) take their share of the slots (keys stay readable)${price}`,
    op: {kind: 'reshard', id: name, from: has, to: asked, remove: []},
    ...(cost ? {cost: formatCost(cost)} : {}),
  }
}
