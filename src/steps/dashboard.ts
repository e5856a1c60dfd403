import {
  DeleteDashboardsCommand,
  GetDashboardCommand,
  PutDashboardCommand,
  type CloudWatchClient,
} from '@aws-sdk/client-cloudwatch'

import {hasPending, operations, type Change, type Step} from '../engine/step.js'
import {conflictError} from '../errors.js'
import {isAwsError} from '../aws/errors.js'

export interface DashboardOutput {
  name: string
}

declare module '../engine/step.js' {
  interface StepOutputs {
    dashboard: DashboardOutput
  }
}

export const dashboardName = (stack: string) => `${stack}-cache`

/** Dashboards cannot be tagged: cct's carry this marker in their text widget. */
const marker = (stack: string) => `Managed by cct, stack ${stack}`

export interface DashboardState {
  nodes: string[]
  region: string
  /** The body as it is now, or undefined when there is none. */
  current?: string
}

/**
 * The runbook's monitoring section as a dashboard: hits, misses and hit rate per cache node
 * (ElastiCache publishes them per member node), CPU, memory, evictions and connections,
 * and the helper's own per-function metrics (EMF, namespace cct/cache).
 */
export function dashboardBody(stack: string, region: string, nodes: string[]): string {
  const perNode = (metric: string, stat = 'Sum') =>
    nodes.map((node) => ['AWS/ElastiCache', metric, 'CacheClusterId', node, {stat}])
  const rate = nodes.flatMap((node, i) => [
    ['AWS/ElastiCache', 'CacheHits', 'CacheClusterId', node, {id: `h${i}`, stat: 'Sum', visible: false}],
    ['AWS/ElastiCache', 'CacheMisses', 'CacheClusterId', node, {id: `m${i}`, stat: 'Sum', visible: false}],
    [{expression: `100 * h${i} / (h${i} + m${i})`, label: `${node} hit rate %`, id: `r${i}`}],
  ])
  const widget = (title: string, metrics: unknown[], x: number, y: number, extra: Record<string, unknown> = {}) => ({
    type: 'metric',
    x,
    y,
    width: 12,
    height: 6,
    properties: {title, region, metrics, period: 300, view: 'timeSeries', stacked: false, ...extra},
  })
  const search = (name: string) => ({
    expression: `SEARCH('{cct/cache,FunctionName} MetricName="${name}"', 'Sum', 300)`,
    label: name,
  })
  return JSON.stringify({
    widgets: [
      {
        type: 'text',
        x: 0,
        y: 0,
        width: 24,
        height: 2,
        properties: {
          markdown: `## ${stack} cache\n${marker(stack)}: \`cct dashboard\` rewrites it, \`cct rollback\` removes it. Target hit rate: 80%.`,
        },
      },
      widget('Hit rate (%)', rate, 0, 2, {yAxis: {left: {min: 0, max: 100}}}),
      widget('Hits and misses', [...perNode('CacheHits'), ...perNode('CacheMisses')], 12, 2),
      widget('CPU (%)', [...perNode('EngineCPUUtilization', 'Average'), ...perNode('CPUUtilization', 'Average')], 0, 8),
      widget(
        'Memory used (%) and evictions',
        [...perNode('DatabaseMemoryUsagePercentage', 'Average'), ...perNode('Evictions')],
        12,
        8,
      ),
      widget('Connections', perNode('CurrConnections', 'Average'), 0, 14),
      widget(
        'Helper: hits, misses, errors per function',
        [[search('CacheHit')], [search('CacheMiss')], [search('CacheError')]],
        12,
        14,
      ),
    ],
  })
}

/** Write the dashboard for these cache nodes (pending while the cache does not exist); delete it. */
export type DashboardOp = {kind: 'put-dashboard'; nodes: string[]} | {kind: 'delete-dashboard'}

export const dashboardStep: Step<'dashboard', DashboardState, DashboardOp> = {
  id: 'dashboard',
  title: 'CloudWatch dashboard',
  needs: ['cluster'],
  command: 'cct dashboard',

  async inspect(ctx) {
    const {nodes} = ctx.need('cluster')
    const current = await readDashboard(await ctx.aws.cloudwatch(), dashboardName(ctx.stack))
    if (current !== undefined && !current.includes(marker(ctx.stack))) {
      throw conflictError(
        `CloudWatch dashboard ${dashboardName(ctx.stack)} exists but was not made by cct`,
        'Rename it, or choose another --stack',
      )
    }
    return {nodes, region: ctx.region, current}
  },

  plan(state, ctx) {
    const name = dashboardName(ctx.stack)
    const op: DashboardOp = {kind: 'put-dashboard', nodes: state.nodes}
    if (hasPending(state.nodes) || state.nodes.length === 0) {
      return state.current === undefined
        ? [{action: 'create', resource: 'dashboard', name, detail: 'once the cache exists', op}]
        : []
    }
    if (state.current === undefined)
      return [
        {
          action: 'create',
          resource: 'dashboard',
          name,
          detail: `hit rate, hits/misses, CPU, memory, evictions for ${state.nodes.join(', ')}`,
          op,
        },
      ]
    if (!sameJson(state.current, dashboardBody(ctx.stack, state.region, state.nodes)))
      return [
        {
          action: 'update',
          resource: 'dashboard',
          name,
          detail: `its widgets differ from those for nodes ${state.nodes.join(', ')}`,
          op,
        },
      ] satisfies Change<DashboardOp>[]
    return []
  },

  resources(state, ctx) {
    return state.current === undefined ? [] : [{resource: 'dashboard', name: dashboardName(ctx.stack)}]
  },

  output(_state, ctx) {
    return {name: dashboardName(ctx.stack)}
  },

  async apply(state, plan, ctx) {
    const cloudwatch = await ctx.aws.cloudwatch()
    for (const op of operations(plan)) {
      if (op.kind !== 'put-dashboard')
        throw new Error(`dashboard apply was given ${op.kind}, which only destroy performs`)
      if (hasPending(op.nodes)) throw new Error('dashboard apply ran before the cache exists')
      await cloudwatch.send(
        new PutDashboardCommand({
          DashboardName: dashboardName(ctx.stack),
          DashboardBody: dashboardBody(ctx.stack, state.region, op.nodes),
        }),
      )
    }
    return {name: dashboardName(ctx.stack)}
  },

  destroyPlan(state, ctx) {
    return state.current === undefined
      ? []
      : [{action: 'delete', resource: 'dashboard', name: dashboardName(ctx.stack), op: {kind: 'delete-dashboard'}}]
  },

  async destroy(_state, plan, ctx) {
    for (const op of operations(plan)) {
      if (op.kind !== 'delete-dashboard')
        throw new Error(`dashboard destroy was given ${op.kind}, which only apply performs`)
      await (await ctx.aws.cloudwatch()).send(new DeleteDashboardsCommand({DashboardNames: [dashboardName(ctx.stack)]}))
    }
  },
}

async function readDashboard(cloudwatch: CloudWatchClient, name: string): Promise<string | undefined> {
  try {
    return (await cloudwatch.send(new GetDashboardCommand({DashboardName: name}))).DashboardBody
  } catch (error) {
    if (isAwsError(error, 'ResourceNotFound', 'ResourceNotFoundException', 'DashboardNotFoundError')) return undefined
    throw error
  }
}

/** CloudWatch may hand the body back re-serialised; compare meaning, not bytes. */
function sameJson(a: string, b: string): boolean {
  try {
    return JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b))
  } catch {
    return false
  }
}
