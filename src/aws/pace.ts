/**
 * Lambda's control-plane quotas, kept on this side: each request (and each retry) waits its
 * turn at the rate Lambda admits instead of being sent and refused. AWS ("Lambda quotas", API
 * request rate quotas, per account and Region, not increasable): GetFunction 100 requests a
 * second, GetPolicy 15, "the remainder of the control plane API requests (excludes invocation,
 * GetFunction, and GetPolicy requests): 15 requests per second across all APIs". A refusal
 * costs more than the wait (a retry's backoff). Another caller in the account can still spend
 * the same budget: a refused request is retried (clients.ts, retry.ts), and the bucket is taken
 * for empty, as Lambda's is, so the requests behind it wait for the rate again.
 */

/** Requests a second Lambda admits, by the quota an operation counts against. */
export const LAMBDA_RATES = {getFunction: 100, getPolicy: 15, controlPlane: 15} as const

/** Which of Lambda's quotas an operation counts against; undefined for invocations (concurrency limits those). */
export function lambdaQuota(operation: string): keyof typeof LAMBDA_RATES | undefined {
  if (operation === 'Invoke' || operation === 'InvokeAsync' || operation === 'InvokeWithResponseStream')
    return undefined
  if (operation === 'GetFunction') return 'getFunction'
  if (operation === 'GetPolicy') return 'getPolicy'
  return 'controlPlane'
}

/**
 * Requests nothing soon waits for, sent when nothing else waits for the rate: published
 * versions and their aliases (applying, for a note: fifty functions' are not queued before the
 * updates), and clearing a record once its change is undone (rollback's updates go first, so
 * the cache's deletion, which waits for them, starts sooner; the records go meanwhile).
 */
const BACKGROUND = new Set(['ListVersionsByFunction', 'ListAliases', 'UntagResource'])

/**
 * A token bucket, first come first served, background requests after every other waiting one.
 * It holds a third of a second's requests and refills at nine tenths of the rate: what AWS
 * allows in a burst is not documented, and requests sent at exactly Lambda's rate arrive
 * bunched by the network (on a loaded machine, the sandbox refused some of fifty functions'
 * requests that left a bucket of one second at the full rate).
 */
export class RateBucket {
  private tokens: number
  private refilled = Date.now()
  private readonly waiting: {send: () => void; background: boolean}[] = []
  private timer?: NodeJS.Timeout

  private readonly rate: number
  private readonly burst: number

  constructor(quota: number) {
    this.rate = quota * 0.9
    this.burst = Math.max(1, Math.floor(quota / 3))
    this.tokens = this.burst
  }

  /** Lambda refused a request: its bucket is empty, whatever this one counted. */
  empty(): void {
    this.release()
    this.tokens = Math.min(this.tokens, 0)
  }

  /** Resolves when this request may be sent. */
  take(background = false): Promise<void> {
    return new Promise((send) => {
      this.waiting.push({send, background})
      this.release()
    })
  }

  private release(): void {
    const now = Date.now()
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilled) / 1000) * this.rate)
    this.refilled = now
    while (this.tokens >= 1 && this.waiting.length) {
      const urgent = this.waiting.findIndex((w) => !w.background)
      const [next] = this.waiting.splice(urgent >= 0 ? urgent : 0, 1)
      this.tokens -= 1
      next!.send()
    }
    if (this.waiting.length && !this.timer)
      this.timer = setTimeout(
        () => {
          this.timer = undefined
          this.release()
        },
        ((1 - this.tokens) / this.rate) * 1000,
      )
  }
}

/** One bucket per quota, for the Lambda clients of one run (one account and Region). */
export function lambdaPacer(): {take(operation: string): Promise<void>; refused(operation: string): void} {
  const buckets = new Map<string, RateBucket>()
  const bucketOf = (operation: string) => {
    const quota = lambdaQuota(operation)
    if (!quota) return undefined
    let bucket = buckets.get(quota)
    if (!bucket) buckets.set(quota, (bucket = new RateBucket(LAMBDA_RATES[quota])))
    return bucket
  }
  return {
    take: (operation) => bucketOf(operation)?.take(BACKGROUND.has(operation)) ?? Promise.resolve(),
    refused: (operation) => bucketOf(operation)?.empty(),
  }
}
