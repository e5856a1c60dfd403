import type {CloudWatchClient} from '@aws-sdk/client-cloudwatch'

import type {FunctionInfo} from '../aws/functions.js'
import {functionTables, hourly, hoursOf, percentiles, sum, type Window} from './metrics.js'
import type {FunctionPath} from './paths.js'
import type {ProbeRun} from './probe-run.js'

/** ok, failed, or not yet measurable (with why): "not yet" is not a failure. */
export type Verdict = 'ok' | 'failed' | 'not yet'

/** One of the runbook's success criteria, measured. */
export interface Criterion {
  criterion: string
  target: string
  measured: string
  verdict: Verdict
  /** Why it failed or is not yet measurable, and what to do. */
  why?: string
  /** Hourly values over the window, for a sparkline on a terminal. */
  trend?: number[]
}

export interface CriteriaInput {
  cw: CloudWatchClient
  /** `series`: the dimensions of each of its AWS/ElastiCache series (per node, or the serverless cache's clusterId). */
  cache: {id: string; status: string; series: Record<string, string>[]}
  functions: FunctionInfo[]
  paths: FunctionPath[]
  probe: ProbeRun
  /** When the stack's cache was created: the "after" window starts there. */
  setupAt?: Date
  hours: number
  /** Hit rate target, 0..1 (the runbook's 80%). */
  hitRateTarget: number
  now?: Date
}

const HELPER_NAMESPACE = 'cct/cache'
const RESPONSE_TARGET_MS = 200
const READS_REDUCTION_TARGET = 0.8
const pct = (x: number) => `${(x * 100).toFixed(1)}%`
const count = (n: number) => Math.round(n).toLocaleString('en-US')

/** The window after setup (at most `hours` long) and the same length of time before it. */
export function windows(setupAt: Date | undefined, hours: number, now = new Date()): {after: Window; before?: Window} {
  const start = new Date(Math.max(now.getTime() - hours * 3600_000, setupAt?.getTime() ?? 0))
  return {
    after: {start, end: now},
    before: setupAt
      ? {start: new Date(setupAt.getTime() - (now.getTime() - start.getTime())), end: setupAt}
      : undefined,
  }
}

/** What the criteria are judged on, read from CloudWatch. Read before the probe runs, so its own commands are not counted. */
export type MeasureInput = Pick<CriteriaInput, 'cw' | 'cache' | 'functions' | 'setupAt' | 'hours' | 'now'>

export async function measure(input: MeasureInput): Promise<Measurements> {
  const {after, before} = windows(input.setupAt, input.hours, input.now)
  return measureWindows(input, after, before)
}

/** The runbook's success criteria, each with its measured figure and where it came from. */
export function judgeCriteria(input: CriteriaInput, m: Measurements): Criterion[] {
  const now = input.now ?? new Date()
  const {after, before} = windows(input.setupAt, input.hours, now)
  const dataHours = input.setupAt ? (now.getTime() - input.setupAt.getTime()) / 3600_000 : 0
  const enoughData = dataHours >= input.hours
  const notEnough = `${formatHours(dataHours)} of data, needs ${formatHours(input.hours)}`

  const criteria: Criterion[] = []
  criteria.push({
    criterion: 'Cache cluster available',
    target: 'available',
    measured: `${input.cache.id}: ${input.cache.status}`,
    verdict: input.cache.status === 'available' ? 'ok' : 'failed',
    why: input.cache.status === 'available' ? undefined : 'run `cct cluster` to converge it',
  })
  const reachable = input.paths.filter((p) =>
    p.checks
      .filter((c) => ['vpc', 'security group', 'dynamodb route', 'env', 'aliases'].includes(c.check))
      .every((c) => c.ok),
  )
  const command = input.probe.stages.find((s) => s.stage === 'command')
  criteria.push({
    criterion: 'Functions in the VPC with cache access',
    target: `${input.functions.length}/${input.functions.length} functions, probe reaches the cache`,
    measured: `${reachable.length}/${input.functions.length} functions; probe ${input.probe.ok ? `PING p50 ${command?.pingMs?.p50} ms` : `broke at ${input.probe.failure?.hop ?? 'start'}`}`,
    verdict: reachable.length === input.functions.length && input.probe.ok ? 'ok' : 'failed',
    why: input.probe.ok
      ? failingNames(input.paths, ['vpc', 'security group', 'dynamodb route', 'env', 'aliases'])
      : `${input.probe.failure!.message}: ${input.probe.failure!.cause}; run \`${input.probe.failure!.fix}\``,
  })
  const layered = input.paths.filter((p) => p.checks.find((c) => c.check === 'layer')?.ok)
  const probeLayer = input.probe.stages.find((s) => s.stage === 'layer')
  criteria.push({
    criterion: 'Redis library in a layer',
    target: 'every function carries the current cct layer',
    measured: `${layered.length}/${input.functions.length} functions${probeLayer ? `; probe ${probeLayer.ok ? 'loads it' : 'cannot load it'}` : ''}`,
    verdict: layered.length === input.functions.length && probeLayer?.ok !== false ? 'ok' : 'failed',
    why:
      layered.length === input.functions.length
        ? undefined
        : `${failingNames(input.paths, ['layer'])}; run \`cct layer\``,
  })
  const silent = m.perFunction.filter((f) => f.helperReads === 0)
  const unusedButCalled = silent.filter((f) => f.invocations > 0 && !f.unhookable)
  // Auto-cache told us at init that it cannot reach this function's SDK: no cache reads will
  // ever come from it, whatever else its metrics say.
  const unhookable = m.perFunction.filter((f) => f.unhookable)
  const failing = [...unhookable, ...unusedButCalled]
  const caching = m.perFunction.filter((f) => f.helperReads > 0 && !f.unhookable).length
  criteria.push({
    criterion: 'Cache helper in the code',
    target: 'every function reads through the cache',
    measured: `${caching}/${input.functions.length} functions report cache reads`,
    verdict: silent.length === 0 && unhookable.length === 0 ? 'ok' : failing.length ? 'failed' : 'not yet',
    why:
      silent.length === 0 && unhookable.length === 0
        ? undefined
        : failing.length
          ? [
              ...unhookable.map(
                (f) =>
                  `${f.name} bundles its own AWS SDK: auto-cache cannot hook it (mark @aws-sdk/* external so it uses the runtime's SDK, or wrap its reads with the helper)`,
              ),
              ...(unusedButCalled.length
                ? [
                    `${unusedButCalled.map((f) => `${f.name} (${count(f.invocations)} invocations)`).join(', ')} ran without reading the cache: wrap its reads with the helper, or turn on auto-cache (\`cct setup --auto-cache\`)`,
                  ]
                : []),
            ].join('; ')
          : `no invocations of ${silent.map((f) => f.name).join(', ')} in the window`,
  })
  // The functions' own reads (the helper's metrics) say how many requests the cache served;
  // the nodes' CacheHits/CacheMisses count every key lookup (entries, generations, locks).
  const appHits = m.perFunction.reduce((n, f) => n + f.helperHits, 0)
  const appReads = m.perFunction.reduce((n, f) => n + f.helperReads, 0)
  const lookups = m.hits + m.misses
  const [hits, reads] = appReads ? [appHits, appReads] : [m.hits, lookups]
  const nodeFigure = lookups ? `${pct(m.hits / lookups)} (${count(m.hits)} hits, ${count(m.misses)} misses)` : ''
  criteria.push({
    criterion: 'Cache hit rate',
    target: `> ${pct(input.hitRateTarget)} after ${formatHours(input.hours)}`,
    measured: !reads
      ? 'no cache reads'
      : appReads
        ? `${pct(hits / reads)} of ${count(reads)} reads by the functions${nodeFigure ? `; nodes: ${nodeFigure} of key lookups` : ''}`
        : nodeFigure,
    verdict: !reads
      ? 'not yet'
      : hits / reads >= input.hitRateTarget
        ? enoughData
          ? 'ok'
          : 'not yet'
        : enoughData
          ? 'failed'
          : 'not yet',
    why: !reads
      ? 'no cache traffic in the window'
      : enoughData
        ? hits / reads >= input.hitRateTarget
          ? undefined
          : 'check TTLs and which reads go through the cache'
        : notEnough,
    trend: m.hitRateTrend,
  })
  const worst = m.perFunction.filter((f) => f.durationMs).sort((a, b) => b.durationMs!.p95 - a.durationMs!.p95)[0]
  criteria.push({
    criterion: 'Cached responses fast',
    target: `p95 Duration < ${RESPONSE_TARGET_MS} ms`,
    measured: worst
      ? `p95 ${worst.durationMs!.p95.toFixed(1)} ms, p50 ${worst.durationMs!.p50.toFixed(1)} ms (slowest: ${worst.name})`
      : 'no invocations',
    verdict: !worst ? 'not yet' : worst.durationMs!.p95 < RESPONSE_TARGET_MS ? 'ok' : 'failed',
    why: !worst
      ? 'no Lambda Duration data in the window'
      : worst.durationMs!.p95 < RESPONSE_TARGET_MS
        ? undefined
        : `${worst.name} is slower than the target at p95`,
    trend: m.durationTrend,
  })
  const perHour = (n: number, w?: Window) => (w && hoursOf(w) > 0 ? n / hoursOf(w) : 0)
  const drop = m.readsBefore > 0 ? 1 - perHour(m.readsAfter, after) / perHour(m.readsBefore, before) : undefined
  criteria.push({
    criterion: 'DynamoDB reads down',
    target: `${pct(READS_REDUCTION_TARGET)} fewer read units than before setup`,
    measured: `${count(m.readsAfter)} read units since setup${m.tables.length ? ` on ${m.tables.join(', ')}` : ''}${drop === undefined ? '' : `, ${count(m.readsBefore)} in the same time before: ${drop >= 0 ? `${pct(drop)} fewer` : `${pct(-drop)} more`}`}`,
    verdict:
      drop === undefined ? 'not yet' : !enoughData ? 'not yet' : drop >= READS_REDUCTION_TARGET ? 'ok' : 'failed',
    why:
      m.tables.length === 0
        ? 'no DynamoDB read metrics for the tables the functions name'
        : drop === undefined
          ? 'no reads recorded before setup to compare with'
          : !enoughData
            ? notEnough
            : drop >= READS_REDUCTION_TARGET
              ? undefined
              : 'most reads still reach DynamoDB: check which reads go through the cache',
    trend: m.readsTrend,
  })
  return criteria
}

export interface Measurements {
  hits: number
  misses: number
  readsBefore: number
  readsAfter: number
  tables: string[]
  /**
   * Per function: reads through the cache, from the helper's CacheHit/CacheMiss and
   * auto-cache's AutoCacheHit/AutoCacheMiss (namespace cct/cache, dimension FunctionName);
   * unhookable when auto-cache reported AutoCacheUnhookable (a bundled SDK copy).
   */
  perFunction: {
    name: string
    invocations: number
    helperReads: number
    helperHits: number
    unhookable: boolean
    durationMs?: {p50: number; p95: number}
  }[]
  hitRateTrend: number[]
  readsTrend: number[]
  durationTrend: number[]
}

async function measureWindows(input: MeasureInput, after: Window, before: Window | undefined): Promise<Measurements> {
  const {cw} = input
  const node = (name: string, dimensions: Record<string, string>) => ({namespace: 'AWS/ElastiCache', name, dimensions})
  const [hitsByNode, missesByNode] = await Promise.all([
    Promise.all(input.cache.series.map((d) => hourly(cw, node('CacheHits', d), after, 'Sum'))),
    Promise.all(input.cache.series.map((d) => hourly(cw, node('CacheMisses', d), after, 'Sum'))),
  ])
  const total = (series: {value: number}[][]) => series.flat().reduce((n, p) => n + p.value, 0)
  const perHour = (series: {at: Date; value: number}[][]) => {
    const byHour = new Map<number, number>()
    for (const p of series.flat()) byHour.set(p.at.getTime(), (byHour.get(p.at.getTime()) ?? 0) + p.value)
    return byHour
  }
  const hitHours = perHour(hitsByNode)
  const missHours = perHour(missesByNode)
  const hitRateTrend = [...new Set([...hitHours.keys(), ...missHours.keys()])]
    .sort((a, b) => a - b)
    .map((t) => {
      const h = hitHours.get(t) ?? 0
      const miss = missHours.get(t) ?? 0
      return h + miss ? h / (h + miss) : 0
    })

  const tables = await functionTables(cw, input.functions)
  const table = (t: string) => ({
    namespace: 'AWS/DynamoDB',
    name: 'ConsumedReadCapacityUnits',
    dimensions: {TableName: t},
  })
  const [readsAfterSeries, readsBefore] = await Promise.all([
    Promise.all(tables.map((t) => hourly(cw, table(t), after, 'Sum'))),
    before ? Promise.all(tables.map((t) => sum(cw, table(t), before))).then((xs) => xs.reduce((a, b) => a + b, 0)) : 0,
  ])

  const perFunction = await Promise.all(
    input.functions.map(async (fn) => {
      const f = {FunctionName: fn.name}
      const helper = (name: string) => sum(cw, {namespace: HELPER_NAMESPACE, name, dimensions: f}, after)
      const [invocations, helperHits, helperMisses, autoHits, autoMisses, unhookable, durationMs] = await Promise.all([
        sum(cw, {namespace: 'AWS/Lambda', name: 'Invocations', dimensions: f}, after),
        helper('CacheHit'),
        helper('CacheMiss'),
        // Auto-cache's reads are the function's reads served (or not) by the cache too.
        helper('AutoCacheHit'),
        helper('AutoCacheMiss'),
        helper('AutoCacheUnhookable'),
        percentiles(cw, {namespace: 'AWS/Lambda', name: 'Duration', dimensions: f}, after),
      ])
      const hits = helperHits + autoHits
      return {
        name: fn.name,
        invocations,
        helperHits: hits,
        helperReads: hits + helperMisses + autoMisses,
        unhookable: unhookable > 0,
        durationMs: durationMs ? {p50: durationMs.p50 ?? 0, p95: durationMs.p95 ?? 0} : undefined,
      }
    }),
  )
  const durationTrend = (
    await Promise.all(
      input.functions.map((fn) =>
        hourly(cw, {namespace: 'AWS/Lambda', name: 'Duration', dimensions: {FunctionName: fn.name}}, after, 'Maximum'),
      ),
    )
  ).reduce<number[]>((acc, series) => series.map((p, i) => Math.max(p.value, acc[i] ?? 0)), [])

  return {
    hits: total(hitsByNode),
    misses: total(missesByNode),
    readsAfter: total(readsAfterSeries),
    readsBefore,
    tables,
    perFunction,
    hitRateTrend,
    readsTrend: [...perHour(readsAfterSeries).entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v),
    durationTrend,
  }
}

function failingNames(paths: FunctionPath[], checks: string[]): string | undefined {
  const failing = paths.flatMap((p) =>
    p.checks
      .filter((c) => !c.ok && checks.includes(c.check))
      .map((c) => `${p.name}: ${c.check} (${c.detail}${c.fix ? `; run \`${c.fix}\`` : ''})`),
  )
  return failing.length ? failing.join('; ') : undefined
}

export function formatHours(h: number): string {
  return h >= 1 ? `${Math.floor(h)} h` : `${Math.max(0, Math.round(h * 60))} min`
}
