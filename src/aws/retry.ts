/**
 * Retries for Lambda's control plane, which refuses requests above a per-account rate
 * (TooManyRequestsException with Retry-After: 15 a second for most actions, shared by
 * every caller in the account; cct keeps to that rate itself, pace.ts, so what is refused
 * is what another caller spent). The SDK's standard mode already retries those with backoff
 * that honours Retry-After; what it lacks is patience: its attempts are the same for every error, so four refusals in a row
 * (likely with fifty functions and another tool in the account) would end the run. Here a
 * throttled call may try up to `throttledAttempts` times; any other error keeps `attempts`.
 */

/** The parts of the SDK's retry strategy interface (RetryStrategyV2) this wraps. */
interface RetryToken {
  getRetryCount(): number
  getRetryDelay(): number
}
interface RetryErrorInfo {
  errorType: string
}
export interface RetryStrategy {
  acquireInitialRetryToken(scope: string): Promise<RetryToken>
  refreshRetryTokenForRetry(token: RetryToken, info: RetryErrorInfo): Promise<RetryToken>
  recordSuccess(token: RetryToken): void
}

/** Throttled calls are retried up to this many attempts; still bounded (the SDK also caps its retry budget). */
export const THROTTLED_ATTEMPTS = 12

export function patientWhenThrottled(inner: RetryStrategy, attempts: number): RetryStrategy {
  return {
    acquireInitialRetryToken: (scope) => inner.acquireInitialRetryToken(scope),
    async refreshRetryTokenForRetry(token, info) {
      if (info.errorType !== 'THROTTLING' && token.getRetryCount() + 1 >= attempts)
        throw new Error('No retry token available')
      return inner.refreshRetryTokenForRetry(token, info)
    },
    recordSuccess: (token) => inner.recordSuccess(token),
  }
}
