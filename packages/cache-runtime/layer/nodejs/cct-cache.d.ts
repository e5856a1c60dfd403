// Types of `cct-cache`, the Node helper in the cct layer (nodejs/node_modules/cct-cache).
// The layer build ships this block as the package's index.d.ts; in this repository the
// ambient form lets templates typecheck their `import ... from 'cct-cache'`.
// test/unit/cache-api-types.test.ts fails the typecheck if it drifts from src/cache.

declare module 'cct-cache' {
  export type Env = Readonly<Record<string, string | undefined>>

  export const TTL_PRESETS: {
    readonly articles: 3600
    readonly videos: 1800
    readonly userProfiles: 900
    readonly election: 86400
    readonly resources: 7200
    readonly lists: 1800
  }
  /** Per-entity TTLs; each is overridable with CACHE_TTL_<NAME> (userProfiles: CACHE_TTL_USER_PROFILES). */
  export type TtlPreset = keyof typeof TTL_PRESETS

  export interface LoadOptions {
    /** Seconds. Wins over preset. */
    ttl?: number
    preset?: TtlPreset
  }

  export interface WrapOptions extends LoadOptions {
    /** First part of every key of the wrapped function: `article` gives `article:42`. */
    prefix: string
  }

  export type BreakerState = 'closed' | 'open' | 'half-open'

  /** One EMF line (JSON) per call, or per invocation inside cache.handler(). */
  export type MetricsSink = (line: string) => void

  /** The Redis commands the helper needs; an ioredis client fits. */
  export interface CacheClient {
    readonly status?: string
    connect?(): Promise<void>
    /** Close now without reconnecting (ioredis: manual close). */
    disconnect?(reconnect?: boolean): void
    /** The socket, so a dead one can be destroyed at once. */
    readonly stream?: {destroy(): void; readonly writable?: boolean}
    /** Connection events: 'error' gives the real cause of a failure, 'end' a closed socket. */
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

  /** Settings, from env vars (REDIS_HOST, REDIS_PORT, REDIS_TLS, CACHE_*). */
  export interface CacheConfig {
    host: string | undefined
    port: number
    tls: boolean
    /** CACHE_CONNECT_TIMEOUT_MS (400): the whole connect budget, TCP + TLS handshake. */
    connectTimeoutMs: number
    /** CACHE_COMMAND_TIMEOUT_MS (300); a reply that does not come drops the socket. */
    commandTimeoutMs: number
    /** CACHE_IDLE_RECONNECT_MS (240000): replace a connection idle this long before using it (0: never). */
    idleReconnectMs: number
    stack: string
    schemaVersion: string
    defaultTtlSeconds: number
    notFoundTtlSeconds: number
    presets: Record<TtlPreset, number>
    jitter: number
    maxValueBytes: number
    /** CACHE_LOCK_TTL_MS (3000), renewed while the loader runs. */
    lockTtlMs: number
    /** CACHE_LOCK_WAIT_MS (10000): longest wait for another container's load. */
    lockWaitMs: number
    lockPollMs: number
    breakerThreshold: number
    /** CACHE_BREAKER_COOLDOWN_MS (500): first background probe delay, doubled per failure, jittered. */
    breakerCooldownMs: number
    /** CACHE_BREAKER_MAX_COOLDOWN_MS (4000). */
    breakerMaxCooldownMs: number
    generationTtlSeconds: number
    metrics: boolean
    metricsNamespace: string
    serviceName: string
    disabled: boolean
  }

  export interface CacheOptions {
    client?: CacheClient
    env?: Env
    config?: Partial<CacheConfig>
    metricsSink?: MetricsSink
    log?: (message: string) => void
    random?: () => number
    now?: () => number
  }

  export interface Cache {
    readonly config: CacheConfig
    readonly breakerState: BreakerState
    /** The Redis key an entry is stored under (redis-cli, debugging). */
    redisKey(key: string): string
    /**
     * The cached value, or the loader's result, cached. undefined/null from the loader is
     * "not found": cached briefly and returned as null. Redis errors never reach you.
     */
    getOrLoad<T>(key: string, loader: () => Promise<T | null | undefined>, options?: LoadOptions): Promise<T | null>
    /** undefined: no entry; null: cached not-found. */
    get<T = unknown>(key: string): Promise<T | null | undefined>
    /** A blind write; prefer getOrLoad/wrap. Returns whether it reached Redis. */
    set(key: string, value: unknown, options?: LoadOptions): Promise<boolean>
    delete(key: string): Promise<boolean>
    /** After writing to the source: running loads of these keys will not write back. */
    invalidate(...keys: string[]): Promise<void>
    /** Cache a function by prefix + ALL its arguments (one plain argument: `prefix:arg`). */
    wrap<A extends unknown[], R>(fn: (...args: A) => Promise<R>, options: WrapOptions): (...args: A) => Promise<NonNullable<R> | null>
    /**
     * Wrap a Lambda handler: one metrics line per invocation, when it ends. Without it,
     * lines are still one per quiet point (after the calls made together have finished).
     */
    handler<E, C, R>(fn: (event: E, context: C) => Promise<R>): (event: E, context: C) => Promise<R>
    flushMetrics(): void
    /** Stop using Redis: no reconnects or probes, the connection closes, so a script can exit. */
    close(): Promise<void>
  }

  export const VERSION: string
  export const METRIC_NAMES: readonly [
    'CacheHit',
    'CacheMiss',
    'CacheError',
    'CacheBypass',
    'CacheSkip',
    'CacheCorrupt',
    'CacheStaleWriteRejected',
  ]

  /** The container's cache (call at module scope); created from env vars on first call. */
  export function getCache(): Cache
  export function createCache(options?: CacheOptions): Cache
  export function readConfig(env?: Env, warn?: (message: string) => void): CacheConfig
  /** The key wrap() uses for a call: `prefix`, `prefix:arg`, or `prefix:<stable JSON of args>`. */
  export function callKey(prefix: string, args: readonly unknown[]): string
  /** JSON with object keys (and Set members) sorted. */
  export function stableStringify(value: unknown): string
  /** `userProfiles` -> `CACHE_TTL_USER_PROFILES`. */
  export function presetEnvName(preset: string): string
}
