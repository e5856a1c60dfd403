export type BreakerState = 'closed' | 'open' | 'half-open'

/**
 * Stops a function from paying a timeout on every request while Redis is down.
 * After `threshold` consecutive failures Redis is skipped for `cooldownMs`; then exactly
 * one call is let through as a probe (half-open): success closes the breaker, failure
 * opens it for another cooldown.
 */
export class CircuitBreaker {
  private failures = 0
  private openedAt = 0
  private probing = false
  private current: BreakerState = 'closed'

  constructor(
    private readonly threshold: number,
    private readonly cooldownMs: number,
    private readonly now: () => number = Date.now,
    private readonly onChange: (state: BreakerState) => void = () => {},
  ) {}

  get state(): BreakerState {
    return this.current
  }

  /** May this call use Redis? In half-open, only the single probe may. */
  allow(): boolean {
    if (this.current === 'closed') return true
    if (this.current === 'open') {
      if (this.now() - this.openedAt < this.cooldownMs) return false
      this.set('half-open')
    }
    if (this.probing) return false
    this.probing = true
    return true
  }

  success(): void {
    this.failures = 0
    this.probing = false
    if (this.current !== 'closed') this.set('closed')
  }

  failure(): void {
    this.probing = false
    this.failures += 1
    if (this.current === 'half-open' || this.failures >= this.threshold) {
      this.openedAt = this.now()
      if (this.current !== 'open') this.set('open')
    }
  }

  private set(state: BreakerState): void {
    this.current = state
    this.onChange(state)
  }
}
