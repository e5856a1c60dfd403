/** What a round trip to the cache showed. */
export interface EndpointCheck {
  ok: boolean
  /** The URL with any password masked: secrets are never printed. */
  url: string
  detail: string
  pingMs?: {p50: number; max: number}
  version?: string
}

export function maskUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '****'
    return u.toString()
  } catch {
    return '(unparseable URL)'
  }
}

/**
 * Connects as a Lambda function would (short timeouts, no offline queue), then PING x10,
 * a SET/GET/DEL round trip on a throwaway key, and INFO's server version.
 */
export async function probeEndpoint(url: string, timeoutMs = 2000): Promise<EndpointCheck> {
  const {Redis} = await import('ioredis')
  const masked = maskUrl(url)
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  })
  client.on('error', () => {}) // reported through the awaited calls
  try {
    await client.connect()
    const times: number[] = []
    for (let i = 0; i < 10; i++) {
      const start = process.hrtime.bigint()
      await client.ping()
      times.push(Number(process.hrtime.bigint() - start) / 1e6)
    }
    const key = `cct:verify:${process.pid}:${Date.now()}`
    await client.set(key, 'ok', 'EX', 30)
    const value = await client.get(key)
    await client.del(key)
    if (value !== 'ok') return {ok: false, url: masked, detail: `wrote "ok", read back ${JSON.stringify(value)}`}
    const version = /redis_version:(\S+)/.exec(await client.info('server'))?.[1]
    times.sort((a, b) => a - b)
    const round = (n: number) => Math.round(n * 100) / 100
    return {
      ok: true,
      url: masked,
      detail: 'PING, SET, GET, DEL answered',
      pingMs: {p50: round(times[5]!), max: round(times[9]!)},
      version,
    }
  } catch (error) {
    return {ok: false, url: masked, detail: (error as Error).message}
  } finally {
    client.disconnect()
  }
}
