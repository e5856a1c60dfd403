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

/** The dimensions of one AWS/ElastiCache series: {CacheClusterId} per node, or {clusterId} for a serverless cache. */
export type Series = Record<string, string>

export interface DashboardState {
  series: Series[]
  region: string
  /** The body as it is now, or undefined when there is none. */
  current?: string
}

/**
 * The runbook's monitoring section as a dashboard: hits, misses and hit rate per cache node
 * (ElastiCache publishes them per member node), CPU, memory, evictions and connections,
 * and the helper's own per-function metrics (EMF, namespace cct/cache).
 */
export function dashboardBody(stack: string, region: string, series: Series[]): string {
  const dims = (d: Series) => Object.entries(d).flat()
  const perNode = (metric: string, stat = 'Sum') => series.map((d) => ['AWS/ElastiCache', metric, ...dims(d), {stat}])
  const rate = series.flatMap((d, i) => [
    ['AWS/ElastiCache', 'CacheHits', ...dims(d), {id: `h${i}`, stat: 'Sum', visible: false}],
    ['AWS/ElastiCache', 'CacheMisses', ...dims(d), {id: `m${i}`, stat: 'Sum', visible: false}],
    [{expression: `100 * h${i} / (h${i} + m${i})`, label: `${Object.values(d).join(' ')} hit rate %`, id: `r${i}`}],
  ])
  // A serverless cache publishes no CPU or memory percentage: what it bills (ECPUs, data stored) and throttling instead.
  const serverless = series.some((d) => 'clusterId' in d)
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
      serverless
        ? widget(
            'ECPUs and throttled commands',
            [...perNode('ElastiCacheProcessingUnits'), ...perNode('ThrottledCmds')],
            0,
            8,
          )
        : widget(
            'CPU (%)',
            [...perNode('EngineCPUUtilization', 'Average'), ...perNode('CPUUtilization', 'Average')],
            0,
            8,
          ),
      serverless
        ? widget(
            'Data stored (bytes) and evictions',
            [...perNode('BytesUsedForCache', 'Average'), ...perNode('Evictions')],
            12,
            8,
          )
        : widget(
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

/** Write the dashboard for these series (none while the cache does not exist); delete it. */
export type DashboardOp = {kind: 'put-dashboard'; series: Series[]} | {kind: 'delete-dashboard'}

export const dashboardStep: Step<'dashboard', DashboardState, DashboardOp> = {
  id: 'dashboard',
  title: 'CloudWatch dashboard',
  needs: ['cluster'],
  command: 'cct dashboard',

  async inspect(ctx) {
    const {metricDimensions: series} = ctx.need('cluster')
    const current = await readDashboard(await ctx.aws.cloudwatch(), dashboardName(ctx.stack))
    if (current !== undefined && !current.includes(marker(ctx.stack))) {
      throw conflictError(
        `CloudWatch dashboard ${dashboardName(ctx.stack)} exists but was not made by cct`,
        'Rename it, or choose another --stack',
      )
    }
    return {series, region: ctx.region, current}
  },

  plan(state, ctx) {
    const name = dashboardName(ctx.stack)
    const op: DashboardOp = {kind: 'put-dashboard', series: state.series}
    const names = state.series.map((d) => Object.values(d).join(' ')).join(', ')
    if (hasPending(state.series) || state.series.length === 0) {
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
          detail: `hit rate, hits/misses, CPU or ECPUs, memory, evictions for ${names}`,
          op,
        },
      ]
    if (!sameJson(state.current, dashboardBody(ctx.stack, state.region, state.series)))
      return [
        {
          action: 'update',
          resource: 'dashboard',
          name,
          detail: `its widgets differ from those for ${names}`,
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
      if (hasPending(op.series)) throw new Error('dashboard apply ran before the cache exists')
      await cloudwatch.send(
        new PutDashboardCommand({
          DashboardName: dashboardName(ctx.stack),
          DashboardBody: dashboardBody(ctx.stack, state.region, op.series),
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
