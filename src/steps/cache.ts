import {isUndoing, type Change, type Step, type StepContext} from '../engine/step.js'
import {conflictError} from '../errors.js'
import {optionLabel} from '../options.js'
import {clusterStep, replicationGroupId, replicationGroups, type ClusterOp, type ClusterState} from './cluster.js'
import {serverlessCacheStep, serverlessCaches, type ServerlessOp, type ServerlessState} from './serverless-cache.js'

export type CacheOp = ClusterOp | ServerlessOp

/** The kind of cache asked for (or, undoing, found), and the state of each kind inspected. */
export interface CacheState {
  kind: 'replication-group' | 'serverless'
  group?: ClusterState
  serverless?: ServerlessState
}

const SERVERLESS_OPS: ReadonlySet<string> = new Set<ServerlessOp['kind']>([
  'create-serverless-cache',
  'delete-failed-serverless-cache',
  'set-serverless-security-groups',
  'set-usage-limits',
  'wait-serverless-available',
  'delete-serverless-cache',
])

const isServerlessChange = (c: Change<CacheOp>): c is Change<ServerlessOp> => SERVERLESS_OPS.has(c.op.kind)
const isGroupChange = (c: Change<CacheOp>): c is Change<ClusterOp> => !SERVERLESS_OPS.has(c.op.kind)

/**
 * The stack's cache: a replication group (src/steps/cluster.ts) or, with --serverless, an
 * ElastiCache Serverless cache (src/steps/serverless-cache.ts). Both hand dependents the same
 * output (endpoint, TLS, cluster mode, metric dimensions). Rollback finds either.
 */
export const cacheStep: Step<'cluster', CacheState, CacheOp> = {
  id: 'cluster',
  title: 'Cache (ElastiCache)',
  needs: ['vpc', 'sg', 'subnet-group'],
  command: 'cct cluster',

  async inspect(ctx) {
    if (isUndoing(ctx)) {
      const [group, serverless] = await Promise.all([clusterStep.inspect(ctx), serverlessCacheStep.inspect(ctx)])
      return {kind: serverless.cache && !group.group ? 'serverless' : 'replication-group', group, serverless}
    }
    if (ctx.options.serverless) {
      const serverless = await serverlessCacheStep.inspect(ctx)
      if (!serverless.cache) await refuseOtherKind(ctx, 'serverless')
      return {kind: 'serverless', serverless}
    }
    const group = await clusterStep.inspect(ctx)
    if (!group.group) await refuseOtherKind(ctx, 'replication-group')
    return {kind: 'replication-group', group}
  },

  plan(state, ctx) {
    return state.kind === 'serverless'
      ? serverlessCacheStep.plan(state.serverless!, ctx)
      : clusterStep.plan(state.group!, ctx)
  },

  resources(state, ctx) {
    return [
      ...(state.group ? clusterStep.resources(state.group, ctx) : []),
      ...(state.serverless ? serverlessCacheStep.resources(state.serverless, ctx) : []),
    ]
  },

  output(state, ctx) {
    return state.kind === 'serverless'
      ? serverlessCacheStep.output(state.serverless!, ctx)
      : clusterStep.output(state.group!, ctx)
  },

  apply(state, plan, ctx) {
    return state.kind === 'serverless'
      ? serverlessCacheStep.apply(state.serverless!, plan.filter(isServerlessChange), ctx)
      : clusterStep.apply(state.group!, plan.filter(isGroupChange), ctx)
  },

  destroyPlan(state, ctx) {
    return [
      ...(state.group ? clusterStep.destroyPlan(state.group, ctx) : []),
      ...(state.serverless ? serverlessCacheStep.destroyPlan(state.serverless, ctx) : []),
    ]
  },

  async destroy(state, plan, ctx) {
    const group = plan.filter(isGroupChange)
    const serverless = plan.filter(isServerlessChange)
    await Promise.all([
      group.length ? clusterStep.destroy(state.group!, group, ctx) : undefined,
      serverless.length ? serverlessCacheStep.destroy(state.serverless!, serverless, ctx) : undefined,
    ])
  },
}

/**
 * The stack's cache of the other kind exists (cct.json lost, or --serverless added later):
 * creating the one asked would leave two caches billed. cct never replaces a cache.
 */
async function refuseOtherKind(ctx: StepContext, asked: CacheState['kind']): Promise<void> {
  const elasticache = await ctx.aws.elasticache()
  const name = replicationGroupId(ctx.stack)
  const status =
    asked === 'serverless'
      ? (await replicationGroups.find(elasticache, name))?.Status
      : (await serverlessCaches.find(elasticache, name))?.Status
  // One on its way out bills nothing more; the new one waits for no one.
  if (status === undefined || status === 'deleting') return
  const flag = optionLabel(ctx.options, 'serverless')
  throw conflictError(
    asked === 'serverless'
      ? `Stack "${ctx.stack}" has a replication group ${name}; ${flag} asks a serverless cache, and cct never replaces a cache`
      : `Stack "${ctx.stack}" has a serverless cache ${name}; without ${flag} a replication group is asked, and cct never replaces a cache`,
    asked === 'serverless'
      ? `Leave out ${flag} to keep the replication group, or remove it with \`cct rollback\` first (the cache starts empty)`
      : `Add ${flag} (or "serverless": true in cct.json) to keep it, or remove it with \`cct rollback\` first (the cache starts empty)`,
  )
}
