import {envFlag, envNumber, type Env, type Warn} from './env.js'
import {TTL_PRESETS, presetEnvName, type TtlPreset} from './presets.js'

/**
 * Everything the helper can be tuned with. Defaults suit a Lambda function calling an
 * ElastiCache node in the same VPC; every field has an env var so operators can change
 * behaviour per function without a code change. The Python helper reads the same names.
 */
export interface CacheConfig {
  /** REDIS_HOST. Unset: the cache is off and every call goes to the loader. */
  host: string | undefined
  /** REDIS_PORT (6379). */
  port: number
  /** REDIS_TLS=true: in-transit encryption (ElastiCache replication groups). */
  tls: boolean
  /**
   * REDIS_CLUSTER=true: a sharded (cluster mode enabled) cache. REDIS_HOST/REDIS_PORT are
   * then its configuration endpoint; the client learns the shards from it (CLUSTER SLOTS)
   * and follows MOVED/ASK while slots move. Keys need no change: an entry, its
   * generation and its lock share a hash tag, so each script runs on one shard.
   */
  cluster: boolean
  /**
   * CACHE_CONNECT_TIMEOUT_MS (400): the whole connect budget, DNS + TCP + TLS handshake.
   * A request never waits longer for a connection; a connect that runs out of it opens
   * the breaker at once, so a hung or unreachable Redis costs this once per container.
   */
  connectTimeoutMs: number
  /**
   * CACHE_COMMAND_TIMEOUT_MS (300): longest a request waits for one Redis reply. A reply
   * that does not come drops the socket (it may be dead without knowing it); the next
   * request connects afresh.
   */
  commandTimeoutMs: number
  /**
   * CACHE_IDLE_RECONNECT_MS (240000): a connection unused this long is replaced before
   * its next command. A container frozen for minutes often wakes with a socket that a
   * NAT or ENI dropped silently (idle timeout 350 s); one handshake beats a timeout.
   * 0 turns it off.
   */
  idleReconnectMs: number
  /** CACHE_STACK (cct): first part of every key, so stacks sharing a node never collide. */
  stack: string
  /** CACHE_SCHEMA_VERSION (1): bump when cached shapes change; old entries are then ignored. */
  schemaVersion: string
  /** CACHE_TTL_DEFAULT (3600 s): TTL when a call names neither ttl nor preset. */
  defaultTtlSeconds: number
  /** CACHE_TTL_NOT_FOUND (60 s): how long "no such item" is remembered. */
  notFoundTtlSeconds: number
  /** CACHE_TTL_<PRESET> overrides, resolved. */
  presets: Record<TtlPreset, number>
  /** CACHE_TTL_JITTER (0.1): TTLs are spread by +/- this fraction. */
  jitter: number
  /** CACHE_MAX_VALUE_BYTES (1 MiB): larger serialized values are returned but not cached. */
  maxValueBytes: number
  /**
   * CACHE_LOCK_TTL_MS (3000): lifetime of the cross-container load lock. The loader renews
   * it every third of this while it runs, so a slow load keeps it; a loader that dies
   * (container frozen or killed) loses it within this time.
   */
  lockTtlMs: number
  /**
   * CACHE_LOCK_WAIT_MS (10000): longest others wait for that loader's value. They stop
   * waiting earlier when the lock disappears without a value (that load failed).
   */
  lockWaitMs: number
  /** CACHE_LOCK_POLL_MS (50): how often a waiter looks for the value. */
  lockPollMs: number
  /** CACHE_BREAKER_THRESHOLD (5): consecutive Redis failures that open the breaker (a connect that spends its budget, or a command timeout, opens it at once). */
  breakerThreshold: number
  /**
   * CACHE_BREAKER_COOLDOWN_MS (500): first delay before the breaker probes Redis again, in
   * the background (no request waits for a probe). Each failed probe doubles it, up to
   * CACHE_BREAKER_MAX_COOLDOWN_MS; each delay is jittered (50-100%) so containers do not
   * reconnect in step.
   */
  breakerCooldownMs: number
  /** CACHE_BREAKER_MAX_COOLDOWN_MS (4000): the longest delay between background probes. */
  breakerMaxCooldownMs: number
  /** CACHE_GENERATION_TTL_SECONDS (86400): lifetime of invalidation counters; must exceed any load. */
  generationTtlSeconds: number
  /** CACHE_METRICS (on): off silences the EMF lines. */
  metrics: boolean
  /** CACHE_METRICS_NAMESPACE (cct/cache). */
  metricsNamespace: string
  /** Dimension value: CACHE_SERVICE_NAME, else AWS_LAMBDA_FUNCTION_NAME, else "local". */
  serviceName: string
  /** CACHE_DISABLED=true: a kill switch that sends every call to the loader. */
  disabled: boolean
}

const positive = (n: number): boolean => n > 0

export function readConfig(env: Env = process.env, warn: Warn = console.warn): CacheConfig {
  const presets = {} as Record<TtlPreset, number>
  for (const [name, seconds] of Object.entries(TTL_PRESETS) as Array<[TtlPreset, number]>) {
    presets[name] = envNumber(env, presetEnvName(name), seconds, warn, positive)
  }
  const host = env.REDIS_HOST?.trim()
  return {
    host: host === '' ? undefined : host,
    port: envNumber(env, 'REDIS_PORT', 6379, warn, (n) => Number.isInteger(n) && n > 0 && n < 65536),
    tls: envFlag(env, 'REDIS_TLS', false),
    cluster: envFlag(env, 'REDIS_CLUSTER', false),
    connectTimeoutMs: envNumber(env, 'CACHE_CONNECT_TIMEOUT_MS', 400, warn, positive),
    commandTimeoutMs: envNumber(env, 'CACHE_COMMAND_TIMEOUT_MS', 300, warn, positive),
    idleReconnectMs: envNumber(env, 'CACHE_IDLE_RECONNECT_MS', 240_000, warn),
    stack: env.CACHE_STACK?.trim() || 'cct',
    schemaVersion: env.CACHE_SCHEMA_VERSION?.trim() || '1',
    defaultTtlSeconds: envNumber(env, 'CACHE_TTL_DEFAULT', 3600, warn, positive),
    notFoundTtlSeconds: envNumber(env, 'CACHE_TTL_NOT_FOUND', 60, warn, positive),
    presets,
    jitter: envNumber(env, 'CACHE_TTL_JITTER', 0.1, warn, (n) => n >= 0 && n < 1),
    maxValueBytes: envNumber(env, 'CACHE_MAX_VALUE_BYTES', 1024 * 1024, warn, positive),
    lockTtlMs: envNumber(env, 'CACHE_LOCK_TTL_MS', 3000, warn, positive),
    lockWaitMs: envNumber(env, 'CACHE_LOCK_WAIT_MS', 10_000, warn),
    lockPollMs: envNumber(env, 'CACHE_LOCK_POLL_MS', 50, warn, positive),
    breakerThreshold: envNumber(env, 'CACHE_BREAKER_THRESHOLD', 5, warn, (n) => Number.isInteger(n) && n > 0),
    breakerCooldownMs: envNumber(env, 'CACHE_BREAKER_COOLDOWN_MS', 500, warn),
    breakerMaxCooldownMs: envNumber(env, 'CACHE_BREAKER_MAX_COOLDOWN_MS', 4000, warn),
    generationTtlSeconds: envNumber(env, 'CACHE_GENERATION_TTL_SECONDS', 86_400, warn, positive),
    metrics: envFlag(env, 'CACHE_METRICS', true),
    metricsNamespace: env.CACHE_METRICS_NAMESPACE?.trim() || 'cct/cache',
    serviceName: env.CACHE_SERVICE_NAME?.trim() || env.AWS_LAMBDA_FUNCTION_NAME?.trim() || 'local',
    disabled: envFlag(env, 'CACHE_DISABLED', false),
  }
}
