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
  /** Close now without reconnecting (ioredis: manual close). */
  disconnect?(reconnect?: boolean): void
  /** The socket, so a dead one can be destroyed instead of waiting for a FIN nobody acks. */
  readonly stream?: {destroy(): void; readonly writable?: boolean}
  /** Connection events ('error', 'end'), for the real cause of a failure and for reconnects. */
  on?(event: 'error', listener: (error: Error) => void): unknown
  once?(event: 'end', listener: () => void): unknown
  ping?(): Promise<unknown>
  get(key: string): Promise<string | null>
  mget(...keys: string[]): Promise<Array<string | null>>
  set(key: string, value: string, unit: 'PX', ttlMs: number): Promise<unknown>
  evalsha(sha: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>
  eval(script: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>
  quit?(): Promise<unknown>
}

/** A reply that says the connection reaches a replica: after a failover, the old primary. */
export function isReadOnlyError(error: unknown): boolean {
  return error instanceof Error && /\bREADONLY\b/.test(error.message)
}

/**
 * An ioredis client set up for Lambda: created once per container (at module scope),
 * connecting on first use, with short timeouts so a sick cache costs a request at most
 * ~connect + command timeout, and without an offline queue, so while Redis is unreachable
 * commands fail at once instead of piling up (the caller then reads from the source).
 *
 * ioredis never reconnects by itself here (no retryStrategy): the cache connects on demand
 * and its breaker probes in the background, so a reconnect loop cannot keep a process
 * alive after close(), nor run on its own fixed schedule.
 */
export function createRedisClient(config: CacheConfig): Redis {
  const client = new Redis({
    host: config.host ?? '127.0.0.1',
    port: config.port,
    tls: config.tls ? {} : undefined,
    lazyConnect: true,
    // ioredis arms this before DNS/TCP and clears it on 'secureConnect' with TLS, so it
    // bounds the whole handshake. The cache adds its own deadline on top (connect()).
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
    retryStrategy: () => null,
    // After a failover the endpoint's DNS name points at the new primary, but this socket
    // still reaches the old one, now a replica: close it (re-resolved on the next connect).
    reconnectOnError: (error) => isReadOnlyError(error),
  })
  // Errors are counted where commands fail; without a listener ioredis would log each one.
  client.on('error', () => {})
  return client
}
