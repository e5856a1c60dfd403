/**
 * Cache metrics as CloudWatch Embedded Metric Format: one JSON line on stdout becomes
 * metrics in CloudWatch with no API call and no extra latency.
 *
 * Calls only add to counters; a line is written once per invocation:
 * - inside `cache.handler`, when the invocation ends;
 * - otherwise when the cache goes quiet: no cache call in flight and the caller's code
 *   has run on (setImmediate). In Lambda that is right after the handler has returned its
 *   response, before the container is frozen, so nothing waits on the line and nothing
 *   is left behind; calls made together (Promise.all, one after the other) share it.
 *   A process that never goes quiet writes at most one line per MAX_WINDOW_MS.
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

/** A busy process with no quiet moment still writes a line this often. */
const MAX_WINDOW_MS = 1000

/** Metrics with unwritten counts, written at exit (a script that calls process.exit). */
const live = new Set<CacheMetrics>()
let exitHook = false

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
  private active = 0
  private scheduled = false
  private windowStart = 0
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
    if (!this.dirty && this.loadTimes.length === 0) this.opened()
    this.counts[INDEX[name]]! += n
    this.dirty = true
  }

  loadTime(ms: number): void {
    if (!this.options.enabled) return
    if (!this.dirty && this.loadTimes.length === 0) this.opened()
    this.loadTimes.push(Math.round(ms * 1000) / 1000)
    if (this.loadTimes.length >= MAX_VALUES) this.flush()
  }

  /** Start of one public call. */
  beginCall(): void {
    this.active += 1
  }

  /** End of one public call: write once the cache is quiet, unless an invocation batch is open. */
  endCall(): void {
    if (this.active > 0) this.active -= 1
    if (this.batchDepth > 0 || this.scheduled || (!this.dirty && this.loadTimes.length === 0)) return
    this.scheduled = true
    setImmediate(this.quiet)
  }

  /** Stop writing at exit (close()). */
  dispose(): void {
    live.delete(this)
  }

  private opened(): void {
    this.windowStart = Date.now()
    if (!exitHook) {
      exitHook = true
      process.once('exit', () => {
        for (const metrics of live) metrics.flush()
      })
    }
    live.add(this)
  }

  private readonly quiet = (): void => {
    this.scheduled = false
    if (this.batchDepth > 0) return
    // Another call is running: the last one to end schedules the line again.
    if (this.active === 0 || Date.now() - this.windowStart >= MAX_WINDOW_MS) this.flush()
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
    live.delete(this)
    try {
      this.options.sink(line)
    } catch {
      // Metrics must never fail a request.
    }
    return line
  }
}
