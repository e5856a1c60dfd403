import {GetMetricStatisticsCommand, ListMetricsCommand} from '@aws-sdk/client-cloudwatch'
import type {CloudWatchClient, Dimension} from '@aws-sdk/client-cloudwatch'

/** A time window [start, end). */
export interface Window {
  start: Date
  end: Date
}

export const hoursOf = (w: Window) => (w.end.getTime() - w.start.getTime()) / 3600_000

/** CloudWatch's rules: a period is a multiple of 60 s (see `validPeriod`) and one request returns at most 1,440 datapoints. */
export function periodFor(w: Window, buckets = 1440, now = new Date()): number {
  const seconds = Math.max(1, (w.end.getTime() - w.start.getTime()) / 1000)
  return validPeriod(seconds / buckets, w.start, now)
}

/**
 * The smallest period CloudWatch serves for data starting at `start`, at least `seconds`:
 * "If the StartTime parameter specifies a time stamp that is greater than 3 hours ago ...
 * between 3 hours and 15 days ago - Use a multiple of 60 seconds (1 minute); between 15
 * and 63 days ago - Use a multiple of 300 seconds (5 minutes); greater than 63 days ago -
 * Use a multiple of 3600 seconds (1 hour)" (API_GetMetricStatistics, Period). Another
 * period returns no datapoints for that range, silently.
 */
export function validPeriod(seconds: number, start: Date, now = new Date()): number {
  const days = (now.getTime() - start.getTime()) / 86_400_000
  const unit = days > 63 ? 3600 : days > 15 ? 300 : 60
  return Math.max(unit, Math.ceil(seconds / unit) * unit)
}

export interface MetricQuery {
  namespace: string
  name: string
  dimensions: Record<string, string>
}

const dims = (d: Record<string, string>): Dimension[] => Object.entries(d).map(([Name, Value]) => ({Name, Value}))

/** The sum of a metric over a window. */
export async function sum(cw: CloudWatchClient, q: MetricQuery, w: Window): Promise<number> {
  const series = await hourly(cw, q, w, 'Sum', periodFor(w))
  return series.reduce((n, p) => n + p.value, 0)
}

/** Datapoints of one statistic per `period` seconds, oldest first (empty periods left out). */
export async function hourly(
  cw: CloudWatchClient,
  q: MetricQuery,
  w: Window,
  stat: 'Sum' | 'Average' | 'Maximum',
  period = 3600,
): Promise<{at: Date; value: number}[]> {
  period = validPeriod(period, w.start)
  const {Datapoints = []} = await cw.send(
    new GetMetricStatisticsCommand({
      Namespace: q.namespace,
      MetricName: q.name,
      Dimensions: dims(q.dimensions),
      StartTime: w.start,
      EndTime: w.end,
      Period: period,
      Statistics: [stat],
    }),
  )
  return Datapoints.map((d) => ({at: d.Timestamp!, value: d[stat] ?? 0})).sort(
    (a, b) => a.at.getTime() - b.at.getTime(),
  )
}

/** Percentiles (p50, p95) of a metric over the whole window, from CloudWatch's extended statistics. */
export async function percentiles(
  cw: CloudWatchClient,
  q: MetricQuery,
  w: Window,
  names: string[] = ['p50', 'p95'],
): Promise<Record<string, number> | undefined> {
  // One period spanning the window (a multiple CloudWatch accepts for data that old).
  const period = validPeriod((w.end.getTime() - w.start.getTime()) / 1000, w.start)
  const {Datapoints = []} = await cw.send(
    new GetMetricStatisticsCommand({
      Namespace: q.namespace,
      MetricName: q.name,
      Dimensions: dims(q.dimensions),
      StartTime: w.start,
      EndTime: w.end,
      Period: period,
      ExtendedStatistics: names,
    }),
  )
  // A window may straddle two periods; keep the worst of each percentile.
  const out: Record<string, number> = {}
  for (const d of Datapoints)
    for (const [k, v] of Object.entries(d.ExtendedStatistics ?? {})) out[k] = Math.max(out[k] ?? 0, v)
  return Object.keys(out).length ? out : undefined
}

/** The DynamoDB tables the functions read: those with read-unit metrics that a function names in its env. */
export async function functionTables(
  cw: CloudWatchClient,
  functions: readonly {env: Record<string, string>}[],
): Promise<string[]> {
  const named = new Set(functions.flatMap((fn) => Object.values(fn.env)))
  return (await dimensionValues(cw, 'AWS/DynamoDB', 'ConsumedReadCapacityUnits', 'TableName')).filter((t) =>
    named.has(t),
  )
}

/** Values of one dimension among the metrics CloudWatch holds (e.g. every TableName with read units). */
export async function dimensionValues(
  cw: CloudWatchClient,
  namespace: string,
  name: string,
  dimension: string,
): Promise<string[]> {
  const found = new Set<string>()
  let NextToken: string | undefined
  do {
    const page = await cw.send(new ListMetricsCommand({Namespace: namespace, MetricName: name, NextToken}))
    for (const m of page.Metrics ?? [])
      for (const d of m.Dimensions ?? []) if (d.Name === dimension && d.Value) found.add(d.Value)
    NextToken = page.NextToken
  } while (NextToken)
  return [...found].sort()
}
