/**
 * Cache metrics as CloudWatch Embedded Metric Format: one JSON line on stdout becomes
 * metrics in CloudWatch with no API call and no extra latency. Lines are written per
 * public call, or once per invocation when the handler is wrapped with `cache.handler`.
 */
export const COUNTERS = [
  /** Served from Redis (including cached not-found). */
  'CacheHit',
  /** The first read found no entry (the value then came from a load, a waiter or a retry read). */
  'CacheMiss',
  /** A Redis command failed or timed out; the caller was answered from the loader. */
  'CacheError',
  /** Redis was skipped because the circuit breaker was open. */
  'CacheBypass',
  /** A value was not cached: larger than CACHE_MAX_VALUE_BYTES, or not serializable. */
  'CacheSkip',
  /** An entry could not be decoded; it was treated as a miss and deleted. */
  'CacheCorrupt',
  /** A load finished after an invalidation of its key, so its (possibly old) value was dropped. */
  'CacheStaleWriteRejected',
] as const

export type CounterName = (typeof COUNTERS)[number]

const INDEX = Object.fromEntries(COUNTERS.map((name, i) => [name, i])) as Record<CounterName, number>

/** Where EMF lines go. Lambda ships stdout lines to CloudWatch Logs as they are. */
export type MetricsSink = (line: string) => void

export const stdoutSink: MetricsSink = (line) => {
  // Not console.log: in Lambda it prefixes each line (time, request id), which breaks EMF.
  process.stdout.write(`${line}\n`)
}

/** EMF accepts at most 100 values per metric in one line. */
const MAX_VALUES = 100

export interface MetricsOptions {
  enabled: boolean
  namespace: string
  service: string
  sink: MetricsSink
  now?: () => number
}

export class CacheMetrics {
  private counts = new Array<number>(COUNTERS.length).fill(0)
  private dirty = false
  private loadTimes: number[] = []
  private batchDepth = 0
  // The EMF directive never changes: serialize it once, not on every line (hit-path cost).
  private readonly directive: string
  private readonly directiveWithLoadTime: string
  private readonly service: string

  constructor(private readonly options: MetricsOptions) {
    const directive = (withLoadTime: boolean) =>
      JSON.stringify([
        {
          Namespace: options.namespace,
          Dimensions: [['FunctionName']],
          Metrics: [
            ...COUNTERS.map((name) => ({Name: name, Unit: 'Count'})),
            ...(withLoadTime ? [{Name: 'LoadTime', Unit: 'Milliseconds'}] : []),
          ],
        },
      ])
    this.directive = directive(false)
    this.directiveWithLoadTime = directive(true)
    this.service = JSON.stringify(options.service)
  }

  count(name: CounterName, n = 1): void {
    if (!this.options.enabled) return
    this.counts[INDEX[name]]! += n
    this.dirty = true
  }

  loadTime(ms: number): void {
    if (!this.options.enabled) return
    this.loadTimes.push(Math.round(ms * 1000) / 1000)
    if (this.loadTimes.length >= MAX_VALUES) this.flush()
  }

  /** End of one public call: write now unless an invocation batch is open. */
  endCall(): void {
    if (this.batchDepth === 0 && (this.dirty || this.loadTimes.length > 0)) this.flush()
  }

  /** Run an invocation, writing one line for everything it did. */
  async batch<R>(work: () => Promise<R>): Promise<R> {
    this.batchDepth += 1
    try {
      return await work()
    } finally {
      this.batchDepth -= 1
      if (this.batchDepth === 0) this.flush()
    }
  }

  /** Write what has been counted since the last line, if anything. Returns the line. */
  flush(): string | undefined {
    if (!this.dirty && this.loadTimes.length === 0) return undefined
    const timestamp = (this.options.now ?? Date.now)()
    const hasLoadTimes = this.loadTimes.length > 0
    let line = `{"_aws":{"Timestamp":${timestamp},"CloudWatchMetrics":${hasLoadTimes ? this.directiveWithLoadTime : this.directive}},"FunctionName":${this.service}`
    for (let i = 0; i < COUNTERS.length; i++) line += `,"${COUNTERS[i]}":${this.counts[i]}`
    if (hasLoadTimes) line += `,"LoadTime":[${this.loadTimes.join(',')}]`
    line += '}'
    this.counts.fill(0)
    this.dirty = false
    this.loadTimes = []
    try {
      this.options.sink(line)
    } catch {
      // Metrics must never fail a request.
    }
    return line
  }
}
