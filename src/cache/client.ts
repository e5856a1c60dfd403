import {Redis} from 'ioredis'

import type {CacheConfig} from './config.js'

/**
 * The few Redis commands the helper uses. An ioredis `Redis` satisfies it; tests and
 * callers with their own client can pass anything that does.
 */
export interface CacheClient {
  /** ioredis connection status; 'wait' (lazy, never connected) and 'end' need connect(). */
  readonly status?: string
  connect?(): Promise<void>
  get(key: string): Promise<string | null>
  mget(...keys: string[]): Promise<Array<string | null>>
  set(key: string, value: string, unit: 'PX', ttlMs: number): Promise<unknown>
  evalsha(sha: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>
  eval(script: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>
  quit?(): Promise<unknown>
}

/**
 * An ioredis client set up for Lambda: created once per container (at module scope),
 * connecting on first use, with short timeouts so a sick cache costs a request at most
 * ~connect + command timeout, and without an offline queue, so while Redis is unreachable
 * commands fail at once instead of piling up (the caller then reads from the source).
 */
export function createRedisClient(config: CacheConfig): Redis {
  const client = new Redis({
    host: config.host ?? '127.0.0.1',
    port: config.port,
    tls: config.tls ? {} : undefined,
    lazyConnect: true,
    connectTimeout: config.connectTimeoutMs,
    commandTimeout: config.commandTimeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    keepAlive: 10_000,
    noDelay: true,
    // RESP2 and no ready check / CLIENT SETINFO: the connection is usable after the TCP
    // (and TLS) handshake alone, which keeps cold starts short. Works on every Redis/Valkey.
    protocol: 2,
    enableReadyCheck: false,
    disableClientInfo: true,
    // Keep reconnecting in the background (never give up): the breaker decides when to try.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
  })
  // Errors are counted where commands fail; without a listener ioredis would log each one.
  client.on('error', () => {})
  return client
}
