import {randomUUID} from 'node:crypto'
import {performance} from 'node:perf_hooks'
import {setTimeout as sleep} from 'node:timers/promises'

import {CircuitBreaker, type BreakerState} from './breaker.js'
import {createRedisClient, type CacheClient} from './client.js'
import {NOT_FOUND_MARKER, decodeEntry, encodeValue} from './codec.js'
import {readConfig, type CacheConfig} from './config.js'
import type {Env} from './env.js'
import {callKey, keyNamespace, keySet, type KeySet} from './keys.js'
import {CacheMetrics, stdoutSink, type MetricsSink} from './metrics.js'
import {DELETE_IF_EQUALS, INVALIDATE, MISS, WRITE_IF_CURRENT, runScript} from './scripts.js'
import {SingleFlight} from './single-flight.js'
import {baseTtlSeconds, jitteredTtlMs, type TtlOptions} from './ttl.js'

export type LoadOptions = TtlOptions

export interface WrapOptions extends TtlOptions {
  /** First part of every key of the wrapped function: `article` gives `article:42`. */
  prefix: string
}

export interface CacheOptions {
  /** A ready client (tests, custom setups). Default: ioredis from REDIS_HOST/REDIS_PORT/REDIS_TLS. */
  client?: CacheClient
  /** Where settings are read from (default process.env). */
  env?: Env
  /** Settings that win over env. */
  config?: Partial<CacheConfig>
  /** Where EMF lines go (default stdout). */
  metricsSink?: MetricsSink
  /** Where the helper reports state changes (breaker opening, bad env values). Default console.warn. */
  log?: (message: string) => void
  /** For tests: randomness used by TTL jitter. */
  random?: () => number
  /** For tests: the clock used by the breaker and lock waits. */
  now?: () => number
}

/** A value a Redis call could not produce: Redis failed, timed out, or is being skipped. */
const DOWN: unique symbol = Symbol('redis-down')
/** Nothing usable in the entry (absent or corrupt). */
const NONE: unique symbol = Symbol('none')

/** Per public call: once Redis fails during a call, the rest of the call skips it. */
interface CallState {
  down: boolean
}

/** Invalidations that could not reach Redis are retried, at most this many per container. */
const MAX_PENDING_INVALIDATIONS = 1000

/** What a handler uses. Every method answers even when Redis is down (fail open). */
export interface Cache {
  readonly config: CacheConfig
  /** 'closed' (using Redis), 'open' (skipping it after failures) or 'half-open' (probing). */
  readonly breakerState: BreakerState
  /** The Redis key an entry is stored under, for redis-cli and debugging. */
  redisKey(key: string): string
  getOrLoad<T>(key: string, loader: () => Promise<T | null | undefined>, options?: LoadOptions): Promise<T | null>
  get<T = unknown>(key: string): Promise<T | null | undefined>
  set(key: string, value: unknown, options?: LoadOptions): Promise<boolean>
  delete(key: string): Promise<boolean>
  invalidate(...keys: string[]): Promise<void>
  wrap<A extends unknown[], R>(fn: (...args: A) => Promise<R>, options: WrapOptions): (...args: A) => Promise<NonNullable<R> | null>
  handler<E, C, R>(fn: (event: E, context: C) => Promise<R>): (event: E, context: C) => Promise<R>
  flushMetrics(): void
  close(): Promise<void>
}

/**
 * Cache-aside in front of a loader (DynamoDB), tuned for Lambda. See index.ts for the
 * contract; the comments below say why each step is there.
 */
export class CacheAside implements Cache {
  readonly config: CacheConfig
  private readonly client: CacheClient | undefined
  private readonly namespace: string
  private readonly breaker: CircuitBreaker
  private readonly metrics: CacheMetrics
  private readonly flights = new SingleFlight()
  private readonly pending = new Set<string>()
  private readonly log: (message: string) => void
  private readonly random: () => number
  private readonly now: () => number
  private connecting: Promise<void> | undefined
  private lastError: unknown

  constructor(options: CacheOptions = {}) {
    this.log = options.log ?? ((message) => console.warn(message))
    this.config = {...readConfig(options.env ?? process.env, this.log), ...options.config}
    this.random = options.random ?? Math.random
    this.now = options.now ?? Date.now
    this.namespace = keyNamespace(this.config.stack, this.config.schemaVersion)
    const enabled = !this.config.disabled && (options.client !== undefined || this.config.host !== undefined)
    this.client = enabled ? (options.client ?? createRedisClient(this.config)) : undefined
    this.breaker = new CircuitBreaker(this.config.breakerThreshold, this.config.breakerCooldownMs, this.now, (state) =>
      this.onBreakerChange(state),
    )
    this.metrics = new CacheMetrics({
      enabled: this.config.metrics && this.client !== undefined,
      namespace: this.config.metricsNamespace,
      service: this.config.serviceName,
      sink: options.metricsSink ?? stdoutSink,
    })
  }

  /** 'closed' (using Redis), 'open' (skipping it after failures) or 'half-open' (probing). */
  get breakerState(): BreakerState {
    return this.breaker.state
  }

  /** The Redis key an entry is stored under, for redis-cli and debugging. */
  redisKey(key: string): string {
    return keySet(this.namespace, key).entry
  }

  /**
   * The cached value for `key`, or the loader's result, which is then cached. A loader
   * result of undefined/null means "not found": it is cached for CACHE_TTL_NOT_FOUND and
   * returned as null. Falsy values (0, '', false, []) are values. Loader errors reach the
   * caller; Redis errors never do.
   */
  async getOrLoad<T>(key: string, loader: () => Promise<T | null | undefined>, options: LoadOptions = {}): Promise<T | null> {
    const keys = keySet(this.namespace, key)
    const ttlSeconds = baseTtlSeconds(this.config, options)
    const call: CallState = {down: false}
    try {
      const cached = await this.read(keys, call)
      if (cached !== NONE) {
        this.metrics.count('CacheHit')
        return cached as T | null
      }
      this.metrics.count('CacheMiss')
      // Concurrent misses in this container share one load (and one Redis round of locking).
      return (await this.flights.run(keys.entry, () => this.load(keys, loader, ttlSeconds, call))) as T | null
    } finally {
      this.metrics.endCall()
    }
  }

  /** The cached value; undefined when there is no entry, null for a cached not-found. */
  async get<T = unknown>(key: string): Promise<T | null | undefined> {
    const keys = keySet(this.namespace, key)
    const call: CallState = {down: false}
    try {
      const cached = await this.read(keys, call)
      this.metrics.count(cached === NONE ? 'CacheMiss' : 'CacheHit')
      return cached === NONE ? undefined : (cached as T | null)
    } finally {
      this.metrics.endCall()
    }
  }

  /**
   * Store a value (null/undefined store "not found"). A blind write: prefer getOrLoad or
   * wrap, which also guard against writing back a value invalidated during the load.
   * Returns whether the value is now in Redis.
   */
  async set(key: string, value: unknown, options: LoadOptions = {}): Promise<boolean> {
    const keys = keySet(this.namespace, key)
    const ttlSeconds = baseTtlSeconds(this.config, options)
    const call: CallState = {down: false}
    try {
      const payload = this.payloadOf(value)
      if (payload === undefined) return false
      const ttlMs = this.ttlMsFor(payload, ttlSeconds)
      const result = await this.redis(call, (client) => client.set(keys.entry, payload, 'PX', ttlMs))
      return result !== DOWN
    } finally {
      this.metrics.endCall()
    }
  }

  /** Invalidate one key. Returns whether Redis confirmed it (else it is retried later). */
  async delete(key: string): Promise<boolean> {
    return this.invalidateKeys([key])
  }

  /**
   * Invalidate keys after a write to the source. Loads of these keys already running (here
   * or in other containers) will not write their results back.
   */
  async invalidate(...keys: string[]): Promise<void> {
    await this.invalidateKeys(keys)
  }

  /**
   * Cache a function: the key is `prefix` plus ALL its arguments (see callKey), so
   * `wrap(getArticle, {prefix: 'article'})(42)` is cached at `article:42` and
   * `invalidate('article:42')` clears it.
   */
  wrap<A extends unknown[], R>(
    fn: (...args: A) => Promise<R>,
    options: WrapOptions,
  ): (...args: A) => Promise<NonNullable<R> | null> {
    const {prefix, ...ttl} = options
    baseTtlSeconds(this.config, ttl) // reject a bad ttl/preset when wrapping, not on first call
    return (...args: A) =>
      this.getOrLoad<NonNullable<R>>(callKey(prefix, args), () => fn(...args) as Promise<NonNullable<R> | undefined>, ttl)
  }

  /** Wrap a Lambda handler so each invocation writes one metrics line instead of one per call. */
  handler<E, C, R>(fn: (event: E, context: C) => Promise<R>): (event: E, context: C) => Promise<R> {
    return (event, context) => this.metrics.batch(() => fn(event, context))
  }

  /** Write pending metrics now (one EMF line). */
  flushMetrics(): void {
    this.metrics.flush()
  }

  /** Close the Redis connection (tests, scripts). Lambda containers never need this. */
  async close(): Promise<void> {
    this.metrics.flush()
    await this.client?.quit?.().catch(() => {})
  }

  // --- internals ---------------------------------------------------------------------

  /** One GET: the decoded value, null for a cached not-found, or NONE. The hit path. */
  private async read(keys: KeySet, call: CallState): Promise<unknown> {
    const raw = await this.redis(call, (client) => client.get(keys.entry))
    if (raw === DOWN || raw === null) return NONE
    const decoded = decodeEntry(raw)
    if (decoded.kind === 'value') return decoded.value
    if (decoded.kind === 'not-found') return null
    return this.dropCorrupt(keys, raw, call)
  }

  /** Decode an entry read off the hit path (after a miss): value, null, or NONE. */
  private async decode(keys: KeySet, raw: string, call: CallState): Promise<unknown> {
    const decoded = decodeEntry(raw)
    if (decoded.kind === 'value') return decoded.value
    if (decoded.kind === 'not-found') return null
    return this.dropCorrupt(keys, raw, call)
  }

  /** A corrupt entry would otherwise be read (and fail) until it expires: count it, delete it. */
  private async dropCorrupt(keys: KeySet, raw: string, call: CallState): Promise<typeof NONE> {
    this.metrics.count('CacheCorrupt')
    await this.redis(call, (client) => runScript(client, DELETE_IF_EQUALS, [keys.entry], [raw]))
    return NONE
  }

  private async load<T>(
    keys: KeySet,
    loader: () => Promise<T | null | undefined>,
    ttlSeconds: number,
    call: CallState,
  ): Promise<T | null> {
    // The generation must be read BEFORE the loader reads the source: the write below only
    // lands if no invalidation happened in between.
    let generation: string | undefined
    let lockToken = ''
    const token = randomUUID()
    const miss = await this.redis(call, (client) =>
      runScript(client, MISS, [keys.entry, keys.gen, keys.lock], [token, this.config.lockTtlMs]),
    )
    if (miss !== DOWN) {
      const [found, valueOrGen, locked] = miss as [number, string, number?]
      if (found === 1) {
        const cached = await this.decode(keys, valueOrGen, call)
        if (cached !== NONE) return cached as T | null
      } else {
        generation = valueOrGen
        if (locked === 1) lockToken = token
        else {
          // Another container is loading this key: wait a bounded time for its value.
          const waited = await this.waitForValue(keys, call)
          if (waited !== NONE) return waited as T | null
        }
      }
    }

    const started = performance.now()
    let value: T | null | undefined
    try {
      value = await loader()
    } catch (error) {
      if (lockToken) await this.redis(call, (client) => runScript(client, DELETE_IF_EQUALS, [keys.lock], [lockToken]))
      throw error
    }
    this.metrics.loadTime(performance.now() - started)
    const result = value ?? null
    if (generation !== undefined) await this.writeIfCurrent(keys, result, ttlSeconds, generation, lockToken, call)
    return result
  }

  private async waitForValue(keys: KeySet, call: CallState): Promise<unknown> {
    const deadline = this.now() + this.config.lockWaitMs
    for (let left = this.config.lockWaitMs; left > 0; left = deadline - this.now()) {
      await sleep(Math.min(this.config.lockPollMs, left))
      const seen = await this.redis(call, (client) => client.mget(keys.entry, keys.lock))
      if (seen === DOWN) return NONE
      const [raw, lock] = seen
      if (raw !== null && raw !== undefined) {
        const cached = await this.decode(keys, raw, call)
        if (cached !== NONE) return cached
      }
      // The lock is gone without a value: that loader failed or could not cache. Load.
      if (lock === null || lock === undefined) return NONE
    }
    return NONE
  }

  private async writeIfCurrent(
    keys: KeySet,
    value: unknown,
    ttlSeconds: number,
    generation: string,
    lockToken: string,
    call: CallState,
  ): Promise<void> {
    const payload = this.payloadOf(value)
    if (payload === undefined) {
      if (lockToken) await this.redis(call, (client) => runScript(client, DELETE_IF_EQUALS, [keys.lock], [lockToken]))
      return
    }
    const ttlMs = this.ttlMsFor(payload, ttlSeconds)
    const written = await this.redis(call, (client) =>
      runScript(client, WRITE_IF_CURRENT, [keys.entry, keys.gen, keys.lock], [payload, ttlMs, generation, lockToken]),
    )
    if (written === 0) this.metrics.count('CacheStaleWriteRejected')
  }

  /** The serialized value, or undefined (counted) when it must not be cached. */
  private payloadOf(value: unknown): string | undefined {
    const payload = encodeValue(value)
    if (payload === undefined || Buffer.byteLength(payload) > this.config.maxValueBytes) {
      this.metrics.count('CacheSkip')
      return undefined
    }
    return payload
  }

  private ttlMsFor(payload: string, ttlSeconds: number): number {
    const seconds = payload === NOT_FOUND_MARKER ? Math.min(ttlSeconds, this.config.notFoundTtlSeconds) : ttlSeconds
    return jitteredTtlMs(seconds, this.config.jitter, this.random)
  }

  private async invalidateKeys(keys: readonly string[]): Promise<boolean> {
    const sets = keys.map((key) => keySet(this.namespace, key))
    for (const set of sets) this.flights.forget(set.entry)
    if (this.client === undefined) return false
    const call: CallState = {down: false}
    try {
      const results = await Promise.all(sets.map((set) => this.redis(call, (client) => this.invalidateOne(client, set))))
      let ok = true
      results.forEach((result, i) => {
        if (result !== DOWN) return
        ok = false
        this.remember(keys[i]!)
      })
      return ok
    } finally {
      this.metrics.endCall()
    }
  }

  private invalidateOne(client: CacheClient, set: KeySet): Promise<unknown> {
    return runScript(client, INVALIDATE, [set.entry, set.gen], [this.config.generationTtlSeconds * 1000])
  }

  /**
   * An invalidation that could not reach Redis would leave an old value readable once
   * Redis is back. Keep it and replay it before the next Redis call of this container.
   */
  private remember(key: string): void {
    if (this.pending.size >= MAX_PENDING_INVALIDATIONS) {
      this.log(`[cct-cache] dropping invalidation of "${key}": ${MAX_PENDING_INVALIDATIONS} already pending`)
      return
    }
    this.pending.add(key)
  }

  private async replayInvalidations(client: CacheClient): Promise<void> {
    const keys = [...this.pending]
    this.pending.clear()
    try {
      await Promise.all(keys.map((key) => this.invalidateOne(client, keySet(this.namespace, key))))
    } catch (error) {
      for (const key of keys) this.pending.add(key)
      throw error
    }
  }

  /**
   * Every Redis call goes through here: skipped while the breaker is open or after an
   * earlier failure in the same call, connected on first use, and any error turned into
   * DOWN so it never reaches the caller.
   */
  private async redis<R>(call: CallState, op: (client: CacheClient) => Promise<R>): Promise<R | typeof DOWN> {
    const client = this.client
    if (client === undefined || call.down) return DOWN
    if (!this.breaker.allow()) {
      call.down = true
      this.metrics.count('CacheBypass')
      return DOWN
    }
    try {
      if (this.connecting !== undefined || client.status === 'wait' || client.status === 'end') await this.connect(client)
      if (this.pending.size > 0) await this.replayInvalidations(client)
      const result = await op(client)
      this.breaker.success()
      return result
    } catch (error) {
      call.down = true
      this.lastError = error
      this.metrics.count('CacheError')
      this.breaker.failure()
      return DOWN
    }
  }

  /** Lazy connect: the first call connects; ioredis reconnects by itself after that. */
  private async connect(client: CacheClient): Promise<void> {
    if (this.connecting) return this.connecting
    if (client.connect) {
      this.connecting = client.connect().finally(() => {
        this.connecting = undefined
      })
      return this.connecting
    }
  }

  private onBreakerChange(state: BreakerState): void {
    if (state === 'open') {
      const reason = this.lastError instanceof Error ? this.lastError.message : String(this.lastError)
      this.log(`[cct-cache] Redis unavailable (${reason}); serving from the source for ${this.config.breakerCooldownMs} ms`)
    } else if (state === 'closed') {
      this.log('[cct-cache] Redis reachable again; caching resumed')
    }
  }
}
