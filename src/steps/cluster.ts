import {createNamed} from '../aws/create-once.js'
import {
  CreateReplicationGroupCommand,
  DecreaseReplicaCountCommand,
  DeleteReplicationGroupCommand,
  DescribeCacheClustersCommand,
  DescribeReplicationGroupsCommand,
  IncreaseReplicaCountCommand,
  ModifyReplicationGroupCommand,
  ModifyReplicationGroupShardConfigurationCommand,
  type ElastiCacheClient,
  type ReplicationGroup,
} from '@aws-sdk/client-elasticache'

import {deletionDetail, lifecycleOf, type CacheKind} from '../aws/cache-lifecycle.js'
import {checkCacheOffering} from '../aws/offerings.js'
import {
  isPending,
  isUndoing,
  operations,
  pending,
  unknownOperation,
  type Change,
  type Step,
  type StepContext,
  type Takes,
} from '../engine/step.js'
import {conflictError} from '../errors.js'
import {DEFAULT_ENGINE_VERSION, type StackOptions} from '../options.js'
import {cacheNodePrices, formatCost, monthlyCost, type CostEstimate} from '../pricing/prices.js'
import {stackTags} from '../tags.js'
import {shardChanges} from './cluster-shards.js'
import {migrating, migrationChanges, type ClusterModeSetting} from './cluster-migration.js'
import {functionsWithEnv, writeEnv, type Desired} from './env.js'
import {functionTally} from './function-tally.js'
import {FUNCTION_CONCURRENCY, mapBounded, type FunctionInfo} from '../aws/functions.js'
import {REDIS_PORT} from './security-groups.js'
import {subnetGroupName} from './subnet-group.js'
import {isAwsError} from '../aws/errors.js'

export interface ClusterOutput {
  replicationGroupId: string
  host: string
  port: number
  tls: boolean
  /** Member node ids (<group>-001, ...): CloudWatch metrics are per node. */
  nodes: string[]
  /** Cluster mode enabled: host is the configuration endpoint, clients connect in cluster mode (REDIS_CLUSTER). */
  clusterMode: boolean
  /** An ElastiCache Serverless cache (replicationGroupId is then its name, and nodes is empty). */
  serverless: boolean
  /**
   * The dimensions of each of the cache's AWS/ElastiCache series: {CacheClusterId} per member
   * node of a replication group, {clusterId} for a serverless cache.
   */
  metricDimensions: Record<string, string>[]
}

/** The AWS/ElastiCache series of a replication group: one per member node. */
export const nodeDimensions = (nodes: string[]) => nodes.map((CacheClusterId) => ({CacheClusterId}))

declare module '../engine/step.js' {
  interface StepOutputs {
    cluster: ClusterOutput
  }
}

interface GroupInfo {
  id: string
  status: string
  /** Whether Multi-AZ and automatic failover are on. */
  multiAz?: boolean
  failover?: boolean
  engine?: string
  engineVersion?: string
  nodeType?: string
  tls: boolean
  nodes: number
  members: string[]
  /**
   * Clients connect in cluster mode to the configuration endpoint: cluster mode enabled (a
   * sharded group), or compatible (on the way there). Its node groups, in id order, and their replicas each.
   */
  clusterMode: boolean
  /** ElastiCache's ClusterMode: compatible while a one-shard group moves to cluster mode (cluster-migration.ts). */
  mode: ClusterModeSetting
  dataTiering: boolean
  parameterGroup?: string
  configurationEndpoint?: string
  nodeGroups: string[]
  replicasPerShard: number
  securityGroupIds: string[]
  host?: string
  port?: number
}

export interface ClusterState {
  cacheGroupId: string
  subnetGroup: string
  /** AZ names of the subnet group's subnets, in cct's order: where the nodes go. */
  zones: string[]
  group?: GroupInfo
  /** What the group the plan creates, or the shards it adds, would cost (looked up here: plan is synchronous). */
  cost?: CostEstimate
  /** Moving to cluster mode: the functions whose helpers connect to the cache (they carry cct's env record). */
  helpers?: FunctionInfo[]
}

export const replicationGroupId = (stack: string) => `${stack}-cache`

/**
 * The nodes ElastiCache names in a group it creates: <group>-001, -002… (a primary and its
 * replicas) or, cluster mode enabled, <group>-0001-001… per shard. Known before the group
 * exists, a plan's dashboard and alarms can name each node's series.
 */
function newMembers(options: Pick<StackOptions, 'stack' | 'shards' | 'replicas'>): string[] {
  const id = replicationGroupId(options.stack)
  const nodes = Array.from({length: options.replicas + 1}, (_, n) => String(n + 1).padStart(3, '0'))
  if (options.shards <= 1) return nodes.map((n) => `${id}-${n}`)
  return Array.from({length: options.shards}, (_, s) => String(s + 1).padStart(4, '0')).flatMap((shard) =>
    nodes.map((n) => `${id}-${shard}-${n}`),
  )
}

/** How long ElastiCache takes to create and to delete a small replication group. */
const CREATE_TAKES: Takes = {minMinutes: 5, maxMinutes: 15}
const DELETE_TAKES: Takes = {minMinutes: 5, maxMinutes: 10}

/** What the cluster step does. cct never recreates a cache: no operation replaces one. */
export type ClusterOp =
  | {
      kind: 'create-replication-group'
      id: string
      engine: 'redis' | 'valkey'
      engineVersion: string
      nodeType: string
      replicas: number
      /** 1: cluster mode disabled. More: cluster mode enabled, NumNodeGroups shards of 1 + replicas nodes. */
      shards: number
      tls: boolean
      subnetGroup: string
      securityGroupId: string
      /** The AZ of each node (primary first): PreferredCacheClusterAZs. */
      zones: string[]
      /** A group of the same id is still being deleted: wait until it is gone first. */
      afterDeletion: boolean
    }
  /** A group that ended in create-failed holds nothing: delete it so it can be created again. */
  | {kind: 'delete-failed-group'; id: string}
  | {kind: 'set-security-groups'; id: string; from: string[]; to: string[]}
  | {kind: 'set-replicas'; id: string; from: number; to: number}
  /**
   * Online resharding of a cluster-mode group: to fewer shards, `remove` are the node groups whose slots move
   * away; to more, `remove` is empty and ElastiCache adds node groups and moves their share of the slots.
   */
  | {kind: 'reshard'; id: string; from: number; to: number; remove: string[]}
  /** Multi-AZ and automatic failover together: on with replicas, off before the last replica goes. */
  | {kind: 'set-failover'; id: string; enabled: boolean}
  | {kind: 'wait-available'; id: string; status: string}
  /** ModifyReplicationGroup ClusterMode (one-way: disabled -> compatible -> enabled; cluster-migration.ts). */
  | {kind: 'set-cluster-mode'; id: string; mode: 'compatible' | 'enabled'}
  /** A helper to cluster mode on the configuration endpoint (recorded as the env step records; rollback restores). */
  | {kind: 'move-helper'; id: string; functionName: string; vars: Desired}
  | {kind: 'delete-replication-group'; id: string; alreadyDeleting: boolean}

/** The replication group part of the cache step (src/steps/cache.ts chooses it or the serverless one). */
export const clusterStep: Omit<Step<'cluster', ClusterState, ClusterOp>, 'needs' | 'title' | 'id'> = {
  command: 'cct cluster',

  async inspect(ctx) {
    const state: ClusterState = {
      cacheGroupId: ctx.need('sg').cacheGroupId,
      subnetGroup: ctx.need('subnet-group').name ?? pending(subnetGroupName(ctx.stack)),
      zones: ctx.need('vpc').zones,
    }
    const elasticache = await ctx.aws.elasticache()
    const group = await replicationGroups.find(elasticache, replicationGroupId(ctx.stack))
    if (!group || group.Status === 'deleting' || group.Status === 'create-failed') {
      if (group) {
        // ElastiCache reads no tags of a group that is not available: the description cct gave it says whose it is.
        if (
          group.Status === 'create-failed' &&
          ((await replicationGroups.ownedByStack(elasticache, group, ctx.stack)) ??
            group.Description === groupDescription(ctx.stack)) === false
        ) {
          throw conflictError(
            `Replication group ${group.ReplicationGroupId} exists (create-failed) but was not created by cct`,
            'Choose another --stack, or delete that group',
          )
        }
        state.group = {
          id: group.ReplicationGroupId!,
          status: group.Status!,
          tls: false,
          nodes: 0,
          members: [],
          clusterMode: false,
          mode: 'disabled',
          dataTiering: false,
          nodeGroups: [],
          replicasPerShard: 0,
          securityGroupIds: [],
        }
      }
      if (!isUndoing(ctx)) {
        const {engine, nodeType, replicas, shards} = ctx.options
        // The group would be created: what CreateReplicationGroup would refuse is refused now.
        const [, prices] = await Promise.all([
          checkCacheOffering(elasticache, ctx.region, ctx.options, ctx.note),
          cacheNodePrices(ctx.aws, ctx.region, engine),
        ])
        state.cost = monthlyCost(prices, nodeType, shards * (1 + replicas))
      }
      return state
    }
    // ElastiCache refuses to read tags until a group is available; ownership is then checked after the wait.
    const owned = await replicationGroups.ownedByStack(elasticache, group, ctx.stack)
    if (owned === false) {
      throw conflictError(
        `Replication group ${group.ReplicationGroupId} exists but was not created by cct`,
        'Choose another --stack, or delete that group',
      )
    }
    const members = group.MemberClusters ?? []
    const CacheClusters = members.length ? await describeMember(elasticache, members[0]!) : []
    const clusterMode = inClusterMode(group)
    const endpoint = groupEndpoint(group)
    const nodeGroups = (group.NodeGroups ?? []).map((ng) => ng.NodeGroupId!).sort()
    state.group = {
      id: group.ReplicationGroupId!,
      status: group.Status ?? 'unknown',
      engine: group.Engine ?? CacheClusters[0]?.Engine,
      engineVersion: CacheClusters[0]?.EngineVersion,
      nodeType: group.CacheNodeType,
      multiAz: group.MultiAZ === 'enabled',
      failover: group.AutomaticFailover === 'enabled' || group.AutomaticFailover === 'enabling',
      tls: group.TransitEncryptionEnabled ?? false,
      nodes: members.length,
      members,
      clusterMode,
      mode: modeOf(group),
      dataTiering: group.DataTiering === 'enabled',
      parameterGroup: CacheClusters[0]?.CacheParameterGroup?.CacheParameterGroupName,
      configurationEndpoint: group.ConfigurationEndpoint?.Address,
      nodeGroups,
      replicasPerShard: Math.max(0, (group.NodeGroups?.[0]?.NodeGroupMembers?.length ?? 1) - 1),
      securityGroupIds: (CacheClusters[0]?.SecurityGroups ?? []).map((g) => g.SecurityGroupId!),
      host: endpoint?.Address,
      port: endpoint?.Port,
    }
    const moving = !isUndoing(ctx) && migrating(state.group, ctx.options)
    if (moving) {
      // Every helper must be in cluster mode before the primary endpoint goes: those cct pointed here.
      state.helpers = await functionsWithEnv(await ctx.aws.lambda(), ctx)
    }
    // After the move the group is one shard of 1 + --replicas nodes (a replica is added first if it has none).
    const perShard = moving && state.group.mode === 'disabled' ? ctx.options.replicas : state.group.replicasPerShard
    const shardsNow = moving ? 1 : nodeGroups.length
    const adding = (ctx.options.shards - shardsNow) * (1 + perShard)
    if ((clusterMode || moving) && shardsNow > 0 && adding > 0 && state.group.nodeType && !isUndoing(ctx)) {
      // What the shards the plan adds would cost: their nodes are the group's node type.
      const prices = await cacheNodePrices(ctx.aws, ctx.region, state.group.engine === 'redis' ? 'redis' : 'valkey')
      state.cost = monthlyCost(prices, state.group.nodeType, adding)
    }
    return state
  },

  plan(state, ctx) {
    const {options} = ctx
    const name = replicationGroupId(ctx.stack)
    const nodes = 1 + options.replicas
    const sharded = options.shards > 1
    /** "cache.t3.micro x2" or, sharded, "3 shards x 2 nodes (cache.t3.micro x6)". */
    const size = sharded
      ? `${options.shards} shards x ${nodes} node${nodes > 1 ? 's' : ''} (${options.nodeType} x${options.shards * nodes}), cluster mode`
      : `${options.nodeType} x${nodes}`
    const group = state.group
    if (!group || group.status === 'deleting' || group.status === 'create-failed') {
      const version = options.engineVersion ?? DEFAULT_ENGINE_VERSION[options.engine]
      const op: ClusterOp = {
        kind: 'create-replication-group',
        id: name,
        engine: options.engine,
        engineVersion: version,
        nodeType: options.nodeType,
        replicas: options.replicas,
        shards: options.shards,
        tls: options.tls,
        subnetGroup: state.subnetGroup,
        securityGroupId: state.cacheGroupId,
        // A sharded group's nodes are spread by ElastiCache (PreferredCacheClusterAZs is for one shard).
        zones: sharded ? [] : nodeZones(state.zones, nodes),
        afterDeletion: group !== undefined,
      }
      if (group?.status === 'create-failed') {
        return [
          {
            action: 'delete',
            resource: 'replication-group',
            name,
            detail:
              'create-failed: ElastiCache could not create its nodes (e.g. InsufficientCacheClusterCapacity); it holds no data',
            kind: 'drift',
            op: {kind: 'delete-failed-group', id: name},
          },
          {
            action: 'create',
            resource: 'replication-group',
            name,
            detail: `again, once the failed one is gone: ${options.engine} ${version}, ${size}${op.zones.length ? ` in ${op.zones.join(', ')}` : ''}`,
            op,
          },
        ]
      }
      if (group)
        return [
          {
            action: 'wait',
            resource: 'replication-group',
            name,
            detail: 'a previous one is being deleted; wait, then create',
            op,
          },
        ]
      const cost = formatCost(state.cost ?? {note: 'price not looked up'})
      return [
        {
          action: 'create',
          resource: 'replication-group',
          name,
          detail: `${options.engine} ${version}, ${size}${options.replicas ? ', Multi-AZ failover' : ''}, TLS ${options.tls ? 'on' : 'off'}, encrypted at rest${op.zones.length ? `, in ${op.zones.join(' ')}` : ''}; ${cost}`,
          op,
          cost,
          takes: CREATE_TAKES,
        },
      ]
    }
    const changes: Change<ClusterOp>[] = []
    // Engine, node type and TLS cannot change in place without downtime: say so, never recreate.
    const differs = [
      group.engine && group.engine !== options.engine
        ? `engine is ${group.engine}, asked ${options.engine}`
        : undefined,
      group.nodeType && group.nodeType !== options.nodeType
        ? `node type is ${group.nodeType}, asked ${options.nodeType}`
        : undefined,
      group.tls !== options.tls ? `TLS is ${group.tls ? 'on' : 'off'}, asked ${options.tls ? 'on' : 'off'}` : undefined,
    ].filter(Boolean)
    if (differs.length) {
      ctx.note(
        `${name} differs from what was asked (${differs.join('; ')}); cct never recreates a cache. Keep it, or remove it with \`cct rollback\` and create it again.`,
      )
    }
    if (group.securityGroupIds.length > 0 && !group.securityGroupIds.includes(state.cacheGroupId)) {
      const op: ClusterOp = {
        kind: 'set-security-groups',
        id: name,
        from: group.securityGroupIds,
        to: [state.cacheGroupId],
      }
      changes.push({
        action: 'update',
        resource: 'replication-group',
        name,
        detail: `security groups differ: has ${op.from.join(', ')}, needs ${op.to.join(', ')}`,
        op,
      })
    }
    if (migrating(group, options)) {
      // ElastiCache moves only a group with automatic failover and a replica: those come first (below).
      if (group.mode === 'disabled' && options.replicas >= 1) changes.push(...replicaChanges(group, options, name))
      changes.push(
        ...migrationChanges(
          {...group, nodes: Math.max(group.nodes, 1), failover: group.failover},
          state.helpers ?? [],
          options,
          name,
          ctx.note,
          state.cost,
        ),
      )
      return changes
    }
    if (group.clusterMode || sharded) {
      changes.push(...shardChanges(group, options, name, ctx.note, state.cost))
      return untilAvailable(changes, group, name)
    }
    changes.push(...replicaChanges(group, options, name))
    return untilAvailable(changes, group, name)
  },

  resources(state) {
    return state.group && state.group.status !== 'deleting'
      ? [{resource: 'replication-group', name: state.group.id}]
      : []
  },

  output(state, ctx) {
    const g = state.group
    if (!g?.host || g.status === 'deleting')
      return {
        replicationGroupId: pending(replicationGroupId(ctx.stack)),
        host: pending('endpoint'),
        port: REDIS_PORT,
        tls: ctx.options.tls,
        nodes: newMembers(ctx.options),
        clusterMode: ctx.options.shards > 1,
        serverless: false,
        metricDimensions: nodeDimensions(newMembers(ctx.options)),
      }
    return {
      replicationGroupId: g.id,
      host: g.host,
      port: g.port ?? REDIS_PORT,
      tls: g.tls,
      nodes: g.members,
      clusterMode: g.clusterMode,
      serverless: false,
      metricDimensions: nodeDimensions(g.members),
    }
  },

  async apply(state, plan, ctx) {
    const elasticache = await ctx.aws.elasticache()
    const id = replicationGroupId(ctx.stack)
    let configurationEndpoint = state.group?.configurationEndpoint
    let movedHelpers = false
    for (const op of operations(plan)) {
      switch (op.kind) {
        case 'create-replication-group':
          if (op.afterDeletion) await replicationGroups.waitForGone(elasticache, op.id, ctx, 'cct cluster')
          if (isPending(op.securityGroupId) || isPending(op.subnetGroup))
            throw new Error('cluster apply ran before its groups exist')
          await createNamed(
            () =>
              elasticache
                .send(
                  new CreateReplicationGroupCommand({
                    ReplicationGroupId: op.id,
                    ReplicationGroupDescription: groupDescription(ctx.stack),
                    Engine: op.engine,
                    EngineVersion: op.engineVersion,
                    CacheNodeType: op.nodeType,
                    // Cluster mode enabled requires automatic failover (AWS: CreateReplicationGroup), replicas or not.
                    ...(op.shards > 1
                      ? {ClusterMode: 'enabled', NumNodeGroups: op.shards, ReplicasPerNodeGroup: op.replicas}
                      : {NumCacheClusters: 1 + op.replicas}),
                    AutomaticFailoverEnabled: op.replicas > 0 || op.shards > 1,
                    MultiAZEnabled: op.replicas > 0,
                    CacheSubnetGroupName: op.subnetGroup,
                    ...(op.zones.length ? {PreferredCacheClusterAZs: op.zones} : {}),
                    SecurityGroupIds: [op.securityGroupId],
                    Port: REDIS_PORT,
                    PreferredMaintenanceWindow: 'sun:05:00-sun:06:00',
                    SnapshotRetentionLimit: 0,
                    TransitEncryptionEnabled: op.tls,
                    AtRestEncryptionEnabled: true,
                    Tags: stackTags(ctx.stack, op.id),
                  }),
                )
                .then((r) => r.ReplicationGroup),
            ['ReplicationGroupAlreadyExistsFault', 'ReplicationGroupAlreadyExists'],
            // A group still creating has no tags to read: the description cct gave it says whose it is.
            async () => {
              const group = await replicationGroups.find(elasticache, op.id)
              if (!group) return undefined
              const ours =
                (await replicationGroups.ownedByStack(elasticache, group, ctx.stack)) ??
                group.Description === groupDescription(ctx.stack)
              return ours ? group : undefined
            },
          )
          break
        case 'set-security-groups':
          await elasticache.send(
            new ModifyReplicationGroupCommand({
              ReplicationGroupId: op.id,
              SecurityGroupIds: op.to,
              ApplyImmediately: true,
            }),
          )
          await replicationGroups.waitForAvailable(elasticache, op.id, ctx)
          break
        case 'set-replicas': {
          const Command = op.to > op.from ? IncreaseReplicaCountCommand : DecreaseReplicaCountCommand
          await elasticache.send(
            new Command({ReplicationGroupId: op.id, NewReplicaCount: op.to, ApplyImmediately: true}),
          )
          await replicationGroups.waitForAvailable(elasticache, op.id, ctx)
          break
        }
        case 'set-failover':
          await elasticache.send(
            new ModifyReplicationGroupCommand({
              ReplicationGroupId: op.id,
              AutomaticFailoverEnabled: op.enabled,
              MultiAZEnabled: op.enabled,
              ApplyImmediately: true,
            }),
          )
          await replicationGroups.waitForAvailable(elasticache, op.id, ctx)
          break
        case 'reshard':
          // ElastiCache reshards only an available group (InvalidReplicationGroupState): one still modifying
          // settles first, and one planned while it was (a run cut short after the call) may have its shards.
          if ((await replicationGroups.waitForAvailable(elasticache, op.id, ctx)).NodeGroups?.length === op.to) break
          ctx.progress(
            `resharding ${op.id} online: ${op.from} -> ${op.to} shards${op.remove.length ? ` (moving the slots of ${op.remove.join(', ')})` : ' (new shards take their share of the slots)'}`,
          )
          await elasticache.send(
            new ModifyReplicationGroupShardConfigurationCommand({
              ReplicationGroupId: op.id,
              NodeGroupCount: op.to,
              ...(op.remove.length ? {NodeGroupsToRemove: op.remove} : {}),
              ApplyImmediately: true,
            }),
          )
          await replicationGroups.waitForAvailable(elasticache, op.id, ctx)
          break
        case 'wait-available':
          break // the wait below
        case 'set-cluster-mode': {
          // ElastiCache changes the mode only of an available group (InvalidReplicationGroupState); one
          // planned while still modifying (a run cut short after the call) may have got there already.
          const settled = modeOf(await replicationGroups.waitForAvailable(elasticache, op.id, ctx))
          if (settled !== op.mode && settled !== 'enabled') {
            ctx.progress(`${op.id}: cluster mode ${op.mode}`)
            await elasticache.send(
              new ModifyReplicationGroupCommand({
                ReplicationGroupId: op.id,
                ClusterMode: op.mode,
                ApplyImmediately: true,
              }),
            )
          }
          const group = await replicationGroups.waitForAvailable(elasticache, op.id, ctx)
          configurationEndpoint = group.ConfigurationEndpoint?.Address ?? configurationEndpoint
          break
        }
        case 'move-helper':
          // All of them at once, the first time one comes up: each function is updated on its own.
          if (!movedHelpers) {
            movedHelpers = true
            const moves = operations(plan).filter((o) => o.kind === 'move-helper')
            configurationEndpoint ??= (await replicationGroups.find(elasticache, op.id))?.ConfigurationEndpoint?.Address
            if (!configurationEndpoint) throw new Error(`${op.id} has no configuration endpoint to move the helpers to`)
            await moveHelpers(moves, state.helpers ?? [], configurationEndpoint, ctx)
          }
          break
        case 'delete-failed-group':
          ctx.progress(`deleting ${op.id}, which failed to create`)
          await elasticache.send(
            new DeleteReplicationGroupCommand({ReplicationGroupId: op.id, RetainPrimaryCluster: false}),
          )
          break
        case 'delete-replication-group':
          throw new Error('cluster apply was given delete-replication-group, which only destroy performs')
        default:
          unknownOperation(op)
      }
    }
    const group = await replicationGroups.waitForAvailable(elasticache, id, ctx)
    if ((await replicationGroups.ownedByStack(elasticache, group, ctx.stack)) === false) {
      throw conflictError(
        `Replication group ${id} exists but was not created by cct`,
        'Choose another --stack, or delete that group',
      )
    }
    const endpoint = groupEndpoint(group)
    return {
      replicationGroupId: id,
      host: endpoint!.Address!,
      port: endpoint!.Port ?? REDIS_PORT,
      tls: group.TransitEncryptionEnabled ?? false,
      nodes: group.MemberClusters ?? [],
      clusterMode: inClusterMode(group),
      serverless: false,
      metricDimensions: nodeDimensions(group.MemberClusters ?? []),
    }
  },

  destroyPlan(state) {
    const g = state.group
    if (!g) return []
    return [
      {
        action: 'delete',
        resource: 'replication-group',
        name: g.id,
        detail: deletionDetail(g.status),
        op: {kind: 'delete-replication-group', id: g.id, alreadyDeleting: g.status === 'deleting'},
        takes: DELETE_TAKES,
      },
    ]
  },

  async destroy(_state, plan, ctx) {
    const elasticache = await ctx.aws.elasticache()
    for (const op of operations(plan)) {
      if (op.kind !== 'delete-replication-group')
        throw new Error(`cluster destroy was given ${op.kind}, which only apply performs`)
      await replicationGroups.delete(elasticache, op.id, op.alreadyDeleting, ctx)
    }
  },
}

/** Replicas and failover of a group of one shard (cluster mode disabled) against what is asked. */
function replicaChanges(group: GroupInfo, options: StackOptions, name: string): Change<ClusterOp>[] {
  const changes: Change<ClusterOp>[] = []
  const nodes = 1 + options.replicas
  const failoverOn = Boolean(group.multiAz || group.failover)
  const failover = (enabled: boolean): Change<ClusterOp> => ({
    action: 'update',
    resource: 'replication-group',
    name,
    detail: enabled
      ? 'Multi-AZ and automatic failover on (--replicas > 0)'
      : 'Multi-AZ and automatic failover off first: ElastiCache keeps at least one replica while they are on',
    op: {kind: 'set-failover', id: name, enabled},
  })
  if (group.nodes !== nodes && group.nodes > 0) {
    const op: ClusterOp = {kind: 'set-replicas', id: name, from: group.nodes - 1, to: options.replicas}
    if (op.to === 0 && failoverOn) changes.push(failover(false))
    changes.push({
      action: 'update',
      resource: 'replication-group',
      name,
      detail: `replicas differ: has ${op.from}, needs ${op.to}`,
      op,
    })
    if (op.to > 0 && !(group.multiAz && group.failover)) changes.push(failover(true))
  } else if (group.nodes > 0 && options.replicas > 0 && !(group.multiAz && group.failover)) {
    changes.push(failover(true))
  }
  return changes
}

/** Cluster mode enabled: ElastiCache says so, or the group has a configuration endpoint and no primary one. */
const isClusterMode = (group: ReplicationGroup): boolean =>
  group.ClusterMode?.toLowerCase() === 'enabled' ||
  (group.ClusterEnabled ?? (group.ConfigurationEndpoint !== undefined && !group.NodeGroups?.[0]?.PrimaryEndpoint))

/** ElastiCache's ClusterMode of a group (older answers carry only ClusterEnabled). */
function modeOf(group: ReplicationGroup): ClusterModeSetting {
  const mode = group.ClusterMode?.toLowerCase()
  if (mode === 'compatible' || mode === 'enabled' || mode === 'disabled') return mode
  return isClusterMode(group) ? 'enabled' : 'disabled'
}

/**
 * Whether clients connect in cluster mode to the configuration endpoint: cluster mode enabled,
 * or compatible, where that is the way the helpers are moved before enabled (both endpoints serve).
 */
const inClusterMode = (group: ReplicationGroup): boolean =>
  isClusterMode(group) || (modeOf(group) === 'compatible' && group.ConfigurationEndpoint !== undefined)

/** Where clients connect: the configuration endpoint of a cluster-mode group, else the primary endpoint. */
const groupEndpoint = (group: ReplicationGroup) =>
  inClusterMode(group)
    ? (group.ConfigurationEndpoint ?? group.NodeGroups?.[0]?.PrimaryEndpoint)
    : (group.NodeGroups?.[0]?.PrimaryEndpoint ?? group.ConfigurationEndpoint)

/** Points each helper at the configuration endpoint in cluster mode, as `cct env` sets variables (recorded first). */
async function moveHelpers(
  moves: Extract<ClusterOp, {kind: 'move-helper'}>[],
  helpers: FunctionInfo[],
  host: string,
  ctx: StepContext,
): Promise<void> {
  const lambda = await ctx.aws.lambda()
  const tally = functionTally(
    ctx,
    moves.map((m) => m.functionName),
  )
  await mapBounded(moves, FUNCTION_CONCURRENCY, async (move) => {
    const fn = helpers.find((f) => f.name === move.functionName)
    if (!fn) throw new Error(`move-helper names ${move.functionName}, which the plan did not inspect`)
    const vars = Object.fromEntries(
      Object.entries(move.vars).map(([k, v]) => [k, v !== null && isPending(v) ? host : v]),
    )
    await writeEnv(lambda, fn, vars, ctx, 'cct cluster', (doing) => tally.set(fn.name, doing))
  })
}

const groupDescription = (stack: string) => `cct: cache for stack ${stack}`

/** The AZ of each of `nodes` nodes, primary first: the subnets' zones in turn. */
export function nodeZones(zones: readonly string[], nodes: number): string[] {
  const distinct = [...new Set(zones)]
  if (distinct.length === 0 || distinct.some((z) => isPending(z))) return []
  return Array.from({length: nodes}, (_, i) => distinct[i % distinct.length]!)
}

/** How cct finds, waits for and deletes a replication group (src/aws/cache-lifecycle.ts). */
const GROUP: CacheKind<ReplicationGroup> = {
  label: 'Replication group',
  sourceType: 'replication-group',
  describe: async (elasticache, id) =>
    (await elasticache.send(new DescribeReplicationGroupsCommand({ReplicationGroupId: id}))).ReplicationGroups?.[0],
  remove: (elasticache, id) =>
    elasticache.send(new DeleteReplicationGroupCommand({ReplicationGroupId: id, RetainPrimaryCluster: false})),
  notFoundFault: 'ReplicationGroupNotFoundFault',
  stateFault: 'InvalidReplicationGroupStateFault',
  createTakes: CREATE_TAKES,
  deleteTakes: DELETE_TAKES,
  createFailedCause: (g) =>
    `: ElastiCache could not create its nodes, most often InsufficientCacheClusterCapacity for ${g.CacheNodeType ?? 'its node type'} in its zones`,
  recreate: 'cct cluster',
  recreateAdvice: ' (with another --node-type if capacity is short)',
}
export const replicationGroups = lifecycleOf(GROUP)

/** A member node (security groups live there); one being replaced may briefly not exist. */
async function describeMember(elasticache: ElastiCacheClient, id: string) {
  try {
    return (await elasticache.send(new DescribeCacheClustersCommand({CacheClusterId: id}))).CacheClusters ?? []
  } catch (error) {
    if (isAwsError(error, 'CacheClusterNotFoundFault')) return []
    throw error
  }
}

/** A group with nothing to change but not available yet: the plan waits for it. */
function untilAvailable(changes: Change<ClusterOp>[], group: {status: string}, name: string): Change<ClusterOp>[] {
  if (group.status !== 'available' && changes.length === 0) {
    changes.push({
      action: 'wait',
      resource: 'replication-group',
      name,
      detail: `status ${group.status}`,
      op: {kind: 'wait-available', id: name, status: group.status},
    })
  }
  return changes
}
