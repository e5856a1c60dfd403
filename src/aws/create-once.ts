import {isAwsError} from './errors.js'
import {THROTTLED_ATTEMPTS} from './retry.js'

/**
 * A create AWS gives no idempotency token for, and that no name keeps unique (CreateVpc,
 * CreateSubnet, CreateInternetGateway, AllocateAddress, PublishLayerVersion), must not be
 * sent again blindly: its reply can be lost after the resource was made (a 5xx, a timeout,
 * a reset connection), and the SDK's retry of the same request makes a second one. So it is
 * sent through a client that does not retry, and before each retry the resource is looked
 * up by the tags (or, for a layer version, the description) it is created with: found, it
 * is the answer; not found, the create is sent again.
 */
export async function createOnce<T>(
  send: () => Promise<T>,
  find: () => Promise<T | undefined>,
  attempts = 4,
  baseDelayMs = 300,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send()
    } catch (error) {
      // A refusal for the rate (429) was not carried out: sent again, with the patience the
      // other calls have for it (retry.ts), and nothing to look up.
      const refused = isThrottled(error)
      if (attempt >= (refused ? THROTTLED_ATTEMPTS : attempts) || !mayHaveHappened(error)) throw error
      const delay = baseDelayMs * 2 ** Math.min(attempt - 1, 4) * (0.5 + Math.random())
      await new Promise((resolve) => setTimeout(resolve, delay))
      if (refused) continue
      const found = await find()
      if (found !== undefined) return found
    }
  }
}

/** Refused for the request rate (HTTP 429, or the service's throttling error): not carried out. */
function isThrottled(error: unknown): boolean {
  const e = error as {name?: string; $metadata?: {httpStatusCode?: number}} | undefined
  return (
    e?.$metadata?.httpStatusCode === 429 ||
    /^(TooManyRequestsException|Throttling|ThrottlingException)$/.test(e?.name ?? '')
  )
}

/** A failure after which the request may have been carried out, or is worth sending again: 5xx, throttling, no answer. */
export function mayHaveHappened(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false
  const e = error as {name?: string; code?: string; $metadata?: {httpStatusCode?: number}; $retryable?: unknown}
  if ((e.$metadata?.httpStatusCode ?? 0) >= 500) return true
  if (e.$retryable) return true
  return /Throttl|RequestLimitExceeded|TimeoutError|RequestTimeout|ECONNRESET|EPIPE|ETIMEDOUT|socket hang up/i.test(
    `${e.name ?? ''} ${e.code ?? ''} ${(error as Error).message ?? ''}`,
  )
}

/**
 * A create keyed by a name AWS keeps unique (a security group in its VPC, a cache subnet
 * group, a replication group, a role, a function) needs no lookup before the SDK's retry:
 * after a lost reply the retry is refused as already existing. That refusal is the create's
 * own answer when what has the name is the stack's (`ours` finds it by the name and returns
 * it only when it carries the stack's tags); anything else stays the refusal it was.
 */
export async function createNamed<T>(
  send: () => Promise<T>,
  alreadyExists: string[],
  ours: () => Promise<T | undefined>,
): Promise<T> {
  try {
    return await send()
  } catch (error) {
    if (!isAwsError(error, ...alreadyExists)) throw error
    const found = await ours()
    if (found === undefined) throw error
    return found
  }
}
