import {
  CreateServerlessCacheCommand,
  DeleteServerlessCacheCommand,
  DescribeServerlessCachesCommand,
  ModifyServerlessCacheCommand,
  type CacheUsageLimits,
  type ServerlessCache,
} from '@aws-sdk/client-elasticache'

import {deletionDetail, lifecycleOf, type CacheKind} from '../aws/cache-lifecycle.js'
import {
  hasPending,
  isPending,
  isUndoing,
  operations,
  pending,
  unknownOperation,
  type Change,
  type Step,
  type Takes,
} from '../engine/step.js'
import {conflictError} from '../errors.js'
import {SERVERLESS_MAJOR_VERSION} from '../options.js'
import {formatCost, serverlessEstimate, serverlessPrices, type CostEstimate} from '../pricing/prices.js'
import {stackTags} from '../tags.js'
import {replicationGroupId, type ClusterOutput} from './cluster.js'
import {REDIS_PORT} from './security-groups.js'

/** "Create a cache in under a minute" (AWS); deleting takes about as long. */
const CREATE_TAKES: Takes = {minMinutes: 1, maxMinutes: 3}
const DELETE_TAKES: Takes = {minMinutes: 1, maxMinutes: 5}

/** CacheUsageLimits as cct sets them: undefined is no limit. */
export interface Limits {
  maxDataGb?: number
  maxEcpu?: number
}

interface CacheInfo {
  name: string
  status: string
  engine?: string
  majorVersion?: string
  limits: Limits
  securityGroupIds: string[]
  host?: string
  port?: number
}

export interface ServerlessState {
  subnetIds: string[]
  cacheGroupId: string
  cache?: CacheInfo
  /** What the cache the plan creates would cost at least (looked up here: plan is synchronous). */
  cost?: CostEstimate
}

/** What the serverless cache part of the cache step does. cct never recreates a cache. */
export type ServerlessOp =
  | {
      kind: 'create-serverless-cache'
      name: string
      engine: 'redis' | 'valkey'
      majorVersion: string
      /** Two or three subnets in different zones: the cache's VPC endpoint goes in each. */
      subnetIds: string[]
      securityGroupId: string
      limits: Limits
      /** A cache of the same name is still being deleted: wait until it is gone first. */
      afterDeletion: boolean
    }
  | {kind: 'delete-failed-serverless-cache'; name: string}
  | {kind: 'set-serverless-security-groups'; name: string; from: string[]; to: string[]}
  | {kind: 'set-usage-limits'; name: string; from: Limits; to: Limits}
  | {kind: 'wait-serverless-available'; name: string; status: string}
  | {kind: 'delete-serverless-cache'; name: string; alreadyDeleting: boolean}

const RESOURCE = 'serverless-cache'

/** CreateServerlessCache takes two or three subnets. */
const MAX_SUBNETS = 3

export const serverlessCacheStep: Omit<Step<'cluster', ServerlessState, ServerlessOp>, 'needs' | 'title' | 'id'> = {
  command: 'cct cluster --serverless',

  async inspect(ctx) {
    const state: ServerlessState = {
      subnetIds: ctx.need('vpc').subnetIds.slice(0, MAX_SUBNETS),
      cacheGroupId: ctx.need('sg').cacheGroupId,
    }
    const elasticache = await ctx.aws.elasticache()
    const found = await serverlessCaches.find(elasticache, replicationGroupId(ctx.stack))
    if (found) {
      // Tags are readable in every state but deleting; a cache another tool made is not cct's to change.
      if (
        found.Status !== 'deleting' &&
        (await serverlessCaches.ownedByStack(elasticache, found, ctx.stack)) === false
      ) {
        throw conflictError(
          `Serverless cache ${found.ServerlessCacheName} exists but was not created by cct`,
          'Choose another --stack, or delete that cache',
        )
      }
      state.cache = describeCache(found)
    }
    if (!isUndoing(ctx) && (!state.cache || ['deleting', 'create-failed'].includes(state.cache.status))) {
      state.cost = serverlessEstimate(
        await serverlessPrices(ctx.aws, ctx.region, ctx.options.engine),
        ctx.options.maxDataGb,
      )
    }
    return state
  },

  plan(state, ctx) {
    const {options} = ctx
    const name = replicationGroupId(ctx.stack)
    const asked: Limits = {maxDataGb: options.maxDataGb, maxEcpu: options.maxEcpu}
    const cache = state.cache
    if (!cache || cache.status === 'deleting' || cache.status === 'create-failed') {
      const majorVersion = options.engineVersion?.split('.')[0] ?? SERVERLESS_MAJOR_VERSION[options.engine]
      const op: ServerlessOp = {
        kind: 'create-serverless-cache',
        name,
        engine: options.engine,
        majorVersion,
        subnetIds: state.subnetIds,
        securityGroupId: state.cacheGroupId,
        limits: asked,
        afterDeletion: cache !== undefined,
      }
      const cost = formatCost(state.cost ?? {note: 'price not looked up'})
      const detail = `${options.engine} ${majorVersion}, serverless (cluster mode), TLS on, encrypted at rest, ${describeLimits(asked)}; ${cost}`
      if (cache?.status === 'create-failed')
        return [
          {
            action: 'delete',
            resource: RESOURCE,
            name,
            detail: 'create-failed: it holds no data',
            kind: 'drift',
            op: {kind: 'delete-failed-serverless-cache', name},
          },
          {action: 'create', resource: RESOURCE, name, detail: `again, once the failed one is gone: ${detail}`, op},
        ]
      if (cache)
        return [
          {action: 'wait', resource: RESOURCE, name, detail: 'a previous one is being deleted; wait, then create', op},
        ]
      return [{action: 'create', resource: RESOURCE, name, detail, op, cost, takes: CREATE_TAKES}]
    }
    const changes: Change<ServerlessOp>[] = []
    if (cache.engine && cache.engine !== options.engine) {
      ctx.note(
        `${name} is ${cache.engine}, asked ${options.engine}; cct never recreates a cache. Keep it, or remove it with \`cct rollback\` and create it again.`,
      )
    }
    if (cache.securityGroupIds.length > 0 && !cache.securityGroupIds.includes(state.cacheGroupId)) {
      const op: ServerlessOp = {
        kind: 'set-serverless-security-groups',
        name,
        from: cache.securityGroupIds,
        to: [state.cacheGroupId],
      }
      changes.push({
        action: 'update',
        resource: RESOURCE,
        name,
        detail: `security groups differ: has ${op.from.join(', ')}, needs ${op.to.join(', ')}`,
        op,
      })
    }
    // Limits change in place (ModifyServerlessCache); one left out is left as it is.
    const to: Limits = {
      maxDataGb: asked.maxDataGb ?? cache.limits.maxDataGb,
      maxEcpu: asked.maxEcpu ?? cache.limits.maxEcpu,
    }
    if (to.maxDataGb !== cache.limits.maxDataGb || to.maxEcpu !== cache.limits.maxEcpu) {
      changes.push({
        action: 'update',
        resource: RESOURCE,
        name,
        detail: `usage limits differ: has ${describeLimits(cache.limits)}, asked ${describeLimits(to)}`,
        op: {kind: 'set-usage-limits', name, from: cache.limits, to},
      })
    }
    if (cache.status !== 'available' && changes.length === 0) {
      changes.push({
        action: 'wait',
        resource: RESOURCE,
        name,
        detail: `status ${cache.status}`,
        op: {kind: 'wait-serverless-available', name, status: cache.status},
      })
    }
    return changes
  },

  resources(state) {
    return state.cache && state.cache.status !== 'deleting' ? [{resource: RESOURCE, name: state.cache.name}] : []
  },

  output(state, ctx) {
    const c = state.cache
    if (!c?.host || c.status === 'deleting') return serverlessOutput(pending(replicationGroupId(ctx.stack)))
    return serverlessOutput(c.name, c.host, c.port)
  },

  async apply(_state, plan, ctx) {
    const elasticache = await ctx.aws.elasticache()
    const name = replicationGroupId(ctx.stack)
    for (const op of operations(plan)) {
      switch (op.kind) {
        case 'create-serverless-cache':
          if (op.afterDeletion) await serverlessCaches.waitForGone(elasticache, op.name, ctx, 'cct cluster')
          if (isPending(op.securityGroupId) || hasPending(op.subnetIds))
            throw new Error('serverless cache apply ran before its subnets and groups exist')
          await elasticache.send(
            new CreateServerlessCacheCommand({
              ServerlessCacheName: op.name,
              Description: cacheDescription(ctx.stack),
              Engine: op.engine,
              MajorEngineVersion: op.majorVersion,
              SubnetIds: op.subnetIds,
              SecurityGroupIds: [op.securityGroupId],
              ...(usageLimits(op.limits) ? {CacheUsageLimits: usageLimits(op.limits)} : {}),
              Tags: stackTags(ctx.stack, op.name),
            }),
          )
          break
        case 'set-serverless-security-groups':
          await elasticache.send(
            new ModifyServerlessCacheCommand({ServerlessCacheName: op.name, SecurityGroupIds: op.to}),
          )
          await serverlessCaches.waitForAvailable(elasticache, op.name, ctx)
          break
        case 'set-usage-limits':
          await elasticache.send(
            new ModifyServerlessCacheCommand({
              ServerlessCacheName: op.name,
              CacheUsageLimits: usageLimits(op.to) ?? {},
            }),
          )
          await serverlessCaches.waitForAvailable(elasticache, op.name, ctx)
          break
        case 'wait-serverless-available':
          break // the wait below
        case 'delete-failed-serverless-cache':
          ctx.progress(`deleting ${op.name}, which failed to create`)
          await elasticache.send(new DeleteServerlessCacheCommand({ServerlessCacheName: op.name}))
          break
        case 'delete-serverless-cache':
          throw new Error('serverless cache apply was given delete-serverless-cache, which only destroy performs')
        default:
          unknownOperation(op)
      }
    }
    const cache = await serverlessCaches.waitForAvailable(elasticache, name, ctx)
    return serverlessOutput(name, cache.Endpoint?.Address, cache.Endpoint?.Port)
  },

  destroyPlan(state) {
    const c = state.cache
    if (!c) return []
    return [
      {
        action: 'delete',
        resource: RESOURCE,
        name: c.name,
        detail: deletionDetail(c.status),
        op: {kind: 'delete-serverless-cache', name: c.name, alreadyDeleting: c.status === 'deleting'},
        takes: DELETE_TAKES,
      },
    ]
  },

  async destroy(_state, plan, ctx) {
    const elasticache = await ctx.aws.elasticache()
    for (const op of operations(plan)) {
      if (op.kind !== 'delete-serverless-cache')
        throw new Error(`serverless cache destroy was given ${op.kind}, which only apply performs`)
      await serverlessCaches.delete(elasticache, op.name, op.alreadyDeleting, ctx)
    }
  },
}

/** Clients connect to the endpoint in cluster mode with TLS; metrics are the cache's own (dimension clusterId). */
function serverlessOutput(name: string, host?: string, port?: number): ClusterOutput {
  return {
    replicationGroupId: name,
    host: host ?? pending('endpoint'),
    port: port ?? REDIS_PORT,
    tls: true,
    nodes: [],
    clusterMode: true,
    serverless: true,
    metricDimensions: isPending(name) ? [] : [{clusterId: name}],
  }
}

const cacheDescription = (stack: string) => `cct: cache for stack ${stack}`

function describeLimits(limits: Limits): string {
  const parts = [
    limits.maxDataGb === undefined ? 'storage unlimited' : `at most ${limits.maxDataGb} GB`,
    limits.maxEcpu === undefined ? 'ECPUs unlimited' : `at most ${limits.maxEcpu} ECPUs/s`,
  ]
  return parts.join(', ')
}

function usageLimits(limits: Limits): CacheUsageLimits | undefined {
  if (limits.maxDataGb === undefined && limits.maxEcpu === undefined) return undefined
  return {
    ...(limits.maxDataGb !== undefined ? {DataStorage: {Maximum: limits.maxDataGb, Unit: 'GB' as const}} : {}),
    ...(limits.maxEcpu !== undefined ? {ECPUPerSecond: {Maximum: limits.maxEcpu}} : {}),
  }
}

function describeCache(c: ServerlessCache): CacheInfo {
  return {
    name: c.ServerlessCacheName!,
    status: c.Status ?? 'unknown',
    engine: c.Engine,
    majorVersion: c.MajorEngineVersion,
    limits: {maxDataGb: c.CacheUsageLimits?.DataStorage?.Maximum, maxEcpu: c.CacheUsageLimits?.ECPUPerSecond?.Maximum},
    securityGroupIds: c.SecurityGroupIds ?? [],
    host: c.Endpoint?.Address,
    port: c.Endpoint?.Port,
  }
}

/** How cct finds, waits for and deletes a serverless cache (src/aws/cache-lifecycle.ts). */
const SERVERLESS: CacheKind<ServerlessCache> = {
  label: 'Serverless cache',
  sourceType: 'serverless-cache',
  describe: async (elasticache, name) =>
    (await elasticache.send(new DescribeServerlessCachesCommand({ServerlessCacheName: name}))).ServerlessCaches?.[0],
  remove: (elasticache, name) => elasticache.send(new DeleteServerlessCacheCommand({ServerlessCacheName: name})),
  notFoundFault: 'ServerlessCacheNotFoundFault',
  stateFault: 'InvalidServerlessCacheStateFault',
  createTakes: CREATE_TAKES,
  deleteTakes: DELETE_TAKES,
  createFailedCause: () => '',
  recreate: 'cct cluster --serverless',
}
export const serverlessCaches = lifecycleOf(SERVERLESS)
