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
  private counts = new Map<CounterName, number>()
  private loadTimes: number[] = []
  private batchDepth = 0

  constructor(private readonly options: MetricsOptions) {}

  count(name: CounterName, n = 1): void {
    if (!this.options.enabled) return
    this.counts.set(name, (this.counts.get(name) ?? 0) + n)
  }

  loadTime(ms: number): void {
    if (!this.options.enabled) return
    this.loadTimes.push(Math.round(ms * 1000) / 1000)
    if (this.loadTimes.length >= MAX_VALUES) this.flush()
  }

  /** End of one public call: write now unless an invocation batch is open. */
  endCall(): void {
    if (this.batchDepth === 0) this.flush()
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

  /** Write what has been counted since the last line, if anything. Returns the EMF object. */
  flush(): Record<string, unknown> | undefined {
    if (this.counts.size === 0 && this.loadTimes.length === 0) return undefined
    const metrics: Array<{Name: string; Unit: string}> = COUNTERS.map((name) => ({Name: name, Unit: 'Count'}))
    const line: Record<string, unknown> = {
      _aws: {
        Timestamp: (this.options.now ?? Date.now)(),
        CloudWatchMetrics: [{Namespace: this.options.namespace, Dimensions: [['FunctionName']], Metrics: metrics}],
      },
      FunctionName: this.options.service,
    }
    for (const name of COUNTERS) line[name] = this.counts.get(name) ?? 0
    if (this.loadTimes.length > 0) {
      metrics.push({Name: 'LoadTime', Unit: 'Milliseconds'})
      line.LoadTime = this.loadTimes
    }
    this.counts = new Map()
    this.loadTimes = []
    try {
      this.options.sink(JSON.stringify(line))
    } catch {
      // Metrics must never fail a request.
    }
    return line
  }
}
