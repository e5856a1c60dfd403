export type BreakerState = 'closed' | 'open' | 'half-open'

/**
 * Stops a function from paying a timeout on every request while Redis is down.
 *
 * After `threshold` consecutive failures (or at once, through trip(), when a connect ran
 * out of its budget or a command timed out: every further attempt would cost the same)
 * requests skip Redis.
 * No request ever probes: the owner probes in the background after nextDelay() and calls
 * close() when Redis answers. Delays start at `baseMs`, double per failed probe up to
 * `maxMs`, and are jittered (50-100% of the step) so that many containers that lost
 * Redis together do not all reconnect in the same instant.
 *
 * The state is 'open' while probes run (requests still skip Redis); 'half-open' is kept
 * in the type for compatibility and is not entered any more.
 */
export class CircuitBreaker {
  private failures = 0
  private probes = 0
  private current: BreakerState = 'closed'
  private probeNow = false

  constructor(
    private readonly threshold: number,
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly onChange: (state: BreakerState) => void = () => {},
    private readonly random: () => number = Math.random,
  ) {}

  get state(): BreakerState {
    return this.current
  }

  /** May a request use Redis? */
  allow(): boolean {
    return this.current === 'closed'
  }

  success(): void {
    this.failures = 0
  }

  /** A failed request. Returns true if this failure opened the breaker. */
  failure(): boolean {
    this.failures += 1
    if (this.current === 'closed' && this.failures >= this.threshold) return this.trip()
    return false
  }

  /**
   * Open now. Returns true if it was closed. `probeNow`: the first background probe goes
   * at once instead of after a backoff step. For a command timeout: a hung Redis and a
   * socket that died silently (a frozen container's) look the same to one command; a probe
   * on a new connection tells them apart in a few ms without any request waiting for it.
   */
  trip(probeNow = false): boolean {
    if (this.current === 'open') return false
    this.probes = 0
    this.probeNow = probeNow
    this.set('open')
    return true
  }

  /** How long to wait before the next background probe (jittered exponential backoff). */
  nextDelay(): number {
    if (this.probeNow) {
      this.probeNow = false
      return 0
    }
    const step = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.probes, 20))
    this.probes += 1
    return Math.round(step / 2 + (this.random() * step) / 2)
  }

  /** A probe succeeded: requests use Redis again. */
  close(): void {
    this.failures = 0
    this.probes = 0
    this.probeNow = false
    if (this.current !== 'closed') this.set('closed')
  }

  private set(state: BreakerState): void {
    this.current = state
    this.onChange(state)
  }
}
