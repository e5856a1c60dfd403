import {randomUUID} from 'node:crypto'
import {performance} from 'node:perf_hooks'
import {setTimeout as sleep} from 'node:timers/promises'

import {CircuitBreaker, type BreakerState} from './breaker.js'
import {createRedisClient, isReadOnlyError, type CacheClient} from './client.js'
import {LazyCluster} from './cluster.js'
import {NOT_FOUND_MARKER, decodeEntry, encodeValue} from './codec.js'
import {readConfig, type CacheConfig} from './config.js'
import type {Env} from './env.js'
import {callKey, keyNamespace, keySet, type KeySet} from './keys.js'
import {CacheMetrics, stdoutSink, type MetricsSink} from './metrics.js'
import {DELETE_IF_EQUALS, INVALIDATE, MISS, RENEW_LOCK, WRITE_IF_CURRENT, runScript} from './scripts.js'
import {SingleFlight} from './single-flight.js'
import {baseTtlSeconds, jitteredTtlMs, type TtlOptions} from './ttl.js'

export type LoadOptions = TtlOptions

export interface WrapOptions extends TtlOptions {
  /** First part of every key of the wrapped function: `article` gives `article:42`. */
  prefix: string
}

export interface CacheOptions {
  /** A ready client (tests, custom setups). Default: ioredis from REDIS_HOST/REDIS_PORT/REDIS_TLS/REDIS_CLUSTER. */
  client?: CacheClient
  /** Where settings are read from (default process.env). */
  env?: Env
  /** Settings that win over env. */
  config?: Partial<CacheConfig>
  /** Where EMF lines go (default stdout). */
  metricsSink?: MetricsSink
  /** Where the helper reports state changes (breaker opening, bad env values). Default console.warn. */
  log?: (message: string) => void
  /** For tests: randomness used by TTL and retry jitter. */
  random?: () => number
  /** For tests: the clock used by lock waits and the idle-connection check. */
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
  wrap<A extends unknown[], R>(
    fn: (...args: A) => Promise<R>,
    options: WrapOptions,
  ): (...args: A) => Promise<NonNullable<R> | null>
  handler<E, C, R>(fn: (event: E, context: C) => Promise<R>): (event: E, context: C) => Promise<R>
  flushMetrics(): void
  /** Stop using Redis: no reconnects, no probes; the connection closes, so a script can exit. */
  close(): Promise<void>
}

/** A connect that failed; `slow` when it used up its budget (a hung or unreachable Redis). */
class ConnectError extends Error {
  constructor(
    message: string,
    readonly slow: boolean,
  ) {
    super(message)
  }
}

/** ioredis' words for "this socket is gone", which hide the reason it went. */
const GENERIC = /^(Connection is closed\.?|Stream isn't writeable.*|Redis is already connecting\/connected)$/

function isCommandTimeout(error: unknown): boolean {
  return error instanceof Error && /^Command timed out/.test(error.message)
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
  private replaying: Promise<void> | undefined
  private nextReplayAt = 0
  private probeTimer: ReturnType<typeof setTimeout> | undefined
  private closed = false
  /** When a command last got a reply (or a connection was made): the idle-gap check. */
  private lastIo = 0
  private lastError: unknown
  /** The last error the socket itself reported (TLS, DNS, reset): the real cause behind "Connection is closed". */
  private socketError: Error | undefined

  constructor(options: CacheOptions = {}) {
    this.log = options.log ?? ((message) => console.warn(message))
    this.config = {...readConfig(options.env ?? process.env, this.log), ...options.config}
    this.random = options.random ?? Math.random
    this.now = options.now ?? Date.now
    this.namespace = keyNamespace(this.config.stack, this.config.schemaVersion)
    const enabled = !this.config.disabled && (options.client !== undefined || this.config.host !== undefined)
    this.client = enabled ? (options.client ?? createClient(this.config)) : undefined
    this.client?.on?.('error', (error) => {
      this.socketError = error
    })
    this.breaker = new CircuitBreaker(
      this.config.breakerThreshold,
      this.config.breakerCooldownMs,
      Math.max(this.config.breakerCooldownMs, this.config.breakerMaxCooldownMs),
      (state) => this.onBreakerChange(state),
      this.random,
    )
    this.metrics = new CacheMetrics({
      enabled: this.config.metrics && this.client !== undefined,
      namespace: this.config.metricsNamespace,
      service: this.config.serviceName,
      sink: options.metricsSink ?? stdoutSink,
    })
  }

  /** 'closed' (using Redis) or 'open' (skipping it after failures, probing in the background). */
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
   * caller; Redis errors never do. A loaded value is returned as a hit would return it
   * (its JSON round trip), so callers see one shape either way.
   */
  async getOrLoad<T>(
    key: string,
    loader: () => Promise<T | null | undefined>,
    options: LoadOptions = {},
  ): Promise<T | null> {
    const keys = keySet(this.namespace, key)
    const ttlSeconds = baseTtlSeconds(this.config, options)
    const call: CallState = {down: false}
    this.metrics.beginCall()
    try {
      if (this.pending.size > 0) await this.settlePending(key, call)
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
    this.metrics.beginCall()
    try {
      if (this.pending.size > 0) await this.settlePending(key, call)
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
    this.metrics.beginCall()
    try {
      const payload = this.payloadOf(value)
      if (payload === undefined) return false
      if (this.pending.size > 0) await this.settlePending(key, call)
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
      this.getOrLoad<NonNullable<R>>(
        callKey(prefix, args),
        () => fn(...args) as Promise<NonNullable<R> | undefined>,
        ttl,
      )
  }

  /** Wrap a Lambda handler so each invocation writes exactly one metrics line, when it ends. */
  handler<E, C, R>(fn: (event: E, context: C) => Promise<R>): (event: E, context: C) => Promise<R> {
    return (event, context) => this.metrics.batch(() => fn(event, context))
  }

  /** Write pending metrics now (one EMF line). */
  flushMetrics(): void {
    this.metrics.flush()
  }

  /**
   * Stop using Redis for good: no more reconnects or background probes, the connection
   * is closed (QUIT, bounded by the command timeout, then the socket), and later calls go
   * straight to their loaders. Nothing is left to keep the process alive.
   */
  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.probeTimer)
    this.probeTimer = undefined
    this.metrics.flush()
    this.metrics.dispose()
    const client = this.client
    if (client === undefined) return
    try {
      if (client.status === undefined || client.status === 'ready') {
        await withTimeout(client.quit?.(), this.config.commandTimeoutMs)
      }
    } catch {
      // Closing anyway.
    } finally {
      this.drop(client)
    }
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
          // Another container is loading this key: wait for its value while it holds the lock.
          const waited = await this.waitForValue(keys, call)
          if (waited !== NONE) return waited as T | null
        }
      }
    }

    const stopRenewing = lockToken ? this.keepLock(keys, lockToken) : () => {}
    const started = performance.now()
    let value: T | null | undefined
    try {
      value = await loader()
    } catch (error) {
      stopRenewing()
      if (lockToken) await this.redis(call, (client) => runScript(client, DELETE_IF_EQUALS, [keys.lock], [lockToken]))
      throw error
    }
    stopRenewing()
    this.metrics.loadTime(performance.now() - started)
    const result = value ?? null
    const text = result === null ? NOT_FOUND_MARKER : encodeValue(result)
    const payload = this.cacheable(text)
    if (generation !== undefined) await this.writeIfCurrent(keys, payload, ttlSeconds, generation, lockToken, call)
    // Return what a hit will return (Dates as strings, Maps as objects, no undefined
    // fields), so the caller sees one shape whether the value came from the table or Redis.
    // Only a value JSON cannot hold (a cycle) is returned as the loader gave it.
    if (text === undefined) return result
    const decoded = decodeEntry(text)
    return decoded.kind === 'value' ? (decoded.value as T) : null
  }

  /**
   * Renew our load lock every third of its TTL while the loader runs, so a loader slower
   * than the TTL keeps it and the other containers keep waiting instead of loading too.
   * Renewal only extends a lock still holding our token. Returns the stop function.
   */
  private keepLock(keys: KeySet, token: string): () => void {
    const client = this.client
    if (client === undefined) return () => {}
    const timer = setInterval(
      () => {
        if (client.status !== undefined && client.status !== 'ready') return
        runScript(client, RENEW_LOCK, [keys.lock], [token, this.config.lockTtlMs]).then(
          (renewed) => {
            if (renewed !== 1) clearInterval(timer) // no longer ours: it expired and someone else loads
          },
          () => {}, // a missed renewal is retried on the next tick; the TTL covers two of them
        )
      },
      Math.max(10, Math.floor(this.config.lockTtlMs / 3)),
    )
    timer.unref?.()
    return () => clearInterval(timer)
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
    payload: string | undefined,
    ttlSeconds: number,
    generation: string,
    lockToken: string,
    call: CallState,
  ): Promise<void> {
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
    return this.cacheable(encodeValue(value))
  }

  private cacheable(text: string | undefined): string | undefined {
    if (text === undefined || Buffer.byteLength(text) > this.config.maxValueBytes) {
      this.metrics.count('CacheSkip')
      return undefined
    }
    return text
  }

  private ttlMsFor(payload: string, ttlSeconds: number): number {
    const seconds = payload === NOT_FOUND_MARKER ? Math.min(ttlSeconds, this.config.notFoundTtlSeconds) : ttlSeconds
    return jitteredTtlMs(seconds, this.config.jitter, this.random)
  }

  private async invalidateKeys(keys: readonly string[]): Promise<boolean> {
    const sets = keys.map((key) => keySet(this.namespace, key))
    for (const set of sets) this.flights.forget(set.entry)
    if (this.client === undefined || this.closed) return false
    const call: CallState = {down: false}
    this.metrics.beginCall()
    try {
      const results = await Promise.all(
        sets.map((set) => this.redis(call, (client) => this.invalidateOne(client, set))),
      )
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
   * Redis is back. Keep it: it is replayed before later calls and by the background
   * probe, and until it lands its key is served from the source, not from Redis.
   */
  private remember(key: string): void {
    if (this.pending.size >= MAX_PENDING_INVALIDATIONS) {
      this.log(`[cct-cache] dropping invalidation of "${key}": ${MAX_PENDING_INVALIDATIONS} already pending`)
      return
    }
    this.pending.add(key)
  }

  /**
   * Before a call on `key`: try to land pending invalidations (at most one attempt in
   * flight, retried at most every 250 ms). A failed replay does not fail the call and
   * does not count against the breaker; only the keys still pending skip Redis.
   */
  private async settlePending(key: string, call: CallState): Promise<void> {
    if (this.pending.size === 0) return
    if (this.replaying === undefined && this.now() >= this.nextReplayAt && this.breaker.allow() && !this.closed) {
      this.replaying = this.replayInvalidations().finally(() => {
        this.replaying = undefined
      })
    }
    if (this.replaying !== undefined && this.pending.has(key)) await this.replaying
    if (this.pending.has(key)) {
      call.down = true
      this.metrics.count('CacheBypass')
    }
  }

  private async replayInvalidations(): Promise<void> {
    const client = this.client
    if (client === undefined || this.pending.size === 0) return
    const keys = [...this.pending]
    try {
      await this.ready(client)
      await Promise.all(
        keys.map((key) => this.attempt(client, (c) => this.invalidateOne(c, keySet(this.namespace, key)))),
      )
      for (const key of keys) this.pending.delete(key)
    } catch (error) {
      this.lastError = error
      this.nextReplayAt = this.now() + 250
      if (isCommandTimeout(error)) this.drop(client)
    }
  }

  /**
   * Every Redis call goes through here: skipped while the breaker is open or after an
   * earlier failure in the same call, connected on first use (and afresh after a long
   * idle gap), and any error turned into DOWN so it never reaches the caller.
   */
  private async redis<R>(call: CallState, op: (client: CacheClient) => Promise<R>): Promise<R | typeof DOWN> {
    const client = this.client
    if (client === undefined || call.down || this.closed) return DOWN
    if (!this.breaker.allow()) {
      call.down = true
      this.metrics.count('CacheBypass')
      return DOWN
    }
    try {
      // The hit path stays one await deep: no connect work, no extra async layers.
      const connecting = this.ready(client)
      if (connecting !== undefined) await connecting
      const result = await this.attempt(client, op)
      this.breaker.success()
      return result
    } catch (error) {
      call.down = true
      this.lastError = error
      this.metrics.count('CacheError')
      if (error instanceof ConnectError && error.slow) {
        // The connect used its whole budget: each further try would cost as much. Skip
        // Redis from now on and let the background probe find out when it is back.
        this.breaker.trip()
      } else if (isCommandTimeout(error)) {
        // A reply that never came: Redis is hung, or the socket died without knowing it (a
        // frozen container, a dropped NAT entry). Either way the next command would wait
        // as long, so skip Redis at once (a hung Redis costs one timeout per container, not
        // one per failure up to the threshold); drop the socket (ioredis would keep it) and
        // probe on a new connection now, which brings a merely dead socket back in ms.
        this.drop(client)
        this.breaker.trip(true)
      } else {
        this.breaker.failure()
      }
      return DOWN
    }
  }

  /** Run one command; after a failover (READONLY: we reach the old primary) reconnect once and retry. */
  private attempt<R>(client: CacheClient, op: (client: CacheClient) => Promise<R>): Promise<R> {
    return op(client).then(
      (result) => {
        this.lastIo = this.now()
        return result
      },
      async (error: unknown) => {
        if (!isReadOnlyError(error) || client.status === undefined) throw error
        // The endpoint's DNS name now points at the new primary: a new connection resolves it.
        await this.reconnect(client)
        const result = await op(client)
        this.lastIo = this.now()
        return result
      },
    )
  }

  /**
   * A connection able to take a command now: connect on first use, or after a long idle
   * gap. Returns undefined (synchronously) when the connection is usable as it is.
   */
  private ready(client: CacheClient): Promise<void> | undefined {
    const status = client.status
    if (status === undefined || client.connect === undefined) return undefined
    // 'ready' with a socket already ending (ioredis' reconnectOnError closes it) is not ready.
    if (status === 'ready' && this.connecting === undefined && client.stream?.writable !== false) {
      const idle = this.config.idleReconnectMs
      if (idle > 0 && this.lastIo > 0 && this.now() - this.lastIo > idle) return this.reconnect(client)
      return undefined
    }
    return this.connect(client)
  }

  /** Replace the connection now (idle gap, failover). */
  private async reconnect(client: CacheClient): Promise<void> {
    if (this.connecting === undefined) this.drop(client)
    await this.connect(client)
  }

  /**
   * Connect within the budget (DNS + TCP + TLS); one attempt at a time, shared by every
   * caller. ioredis' connectTimeout bounds the handshake too; the deadline here also
   * covers waiting for a dropped socket to close.
   */
  private connect(client: CacheClient): Promise<void> {
    if (this.connecting !== undefined) return this.connecting
    const budget = this.config.connectTimeoutMs
    const started = performance.now()
    const attempt = (async () => {
      await this.socketClosed(client)
      if (client.status === 'ready' && client.stream?.writable !== false) return
      this.socketError = undefined
      await client.connect!()
    })()
    attempt.catch(() => {}) // it may lose the race below and fail later
    let timer: ReturnType<typeof setTimeout> | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ConnectError(`connect timed out after ${budget} ms`, true)), budget)
    })
    this.connecting = Promise.race([attempt, deadline])
      .then(() => {
        this.lastIo = this.now()
      })
      .catch((error: unknown) => {
        this.drop(client) // do not leave a half-made connection behind
        const took = performance.now() - started
        const cause = this.cause(error)
        const timedOut = (error instanceof ConnectError && error.slow) || /ETIMEDOUT|timed out/i.test(cause.message)
        const where = `${this.config.host ?? 'redis'}:${this.config.port}${this.config.tls ? ' (TLS)' : ''}`
        throw new ConnectError(`connect to ${where}: ${cause.message}`, timedOut || took >= budget * 0.9)
      })
      .finally(() => {
        clearTimeout(timer)
        this.connecting = undefined
      })
    return this.connecting
  }

  /** Wait until a dropped socket has really closed (ioredis refuses to connect before). */
  private async socketClosed(client: CacheClient): Promise<void> {
    const status = client.status
    if (status === 'wait' || status === 'end' || client.once === undefined) return
    if (status === 'ready' && client.stream?.writable !== false) return
    await new Promise<void>((resolve) => client.once!('end', resolve))
  }

  /** Close the socket at once, without reconnecting and without waiting for the peer. */
  private drop(client: CacheClient): void {
    if (client.status === 'wait' || client.status === 'end') return
    client.disconnect?.()
    client.stream?.destroy()
  }

  /** Probe Redis in the background after a jittered backoff; no request ever waits on it. */
  private scheduleProbe(): void {
    if (this.closed || this.probeTimer !== undefined || this.client === undefined) return
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined
      void this.probe()
    }, this.breaker.nextDelay())
    this.probeTimer.unref?.()
  }

  private async probe(): Promise<void> {
    const client = this.client
    if (client === undefined || this.closed) return
    try {
      await this.ready(client)
      await withTimeout(
        client.ping ? client.ping() : client.get(`${this.namespace}probe`),
        this.config.commandTimeoutMs,
      )
      this.lastIo = this.now()
      if (this.pending.size > 0) await this.replayInvalidations()
      if (!this.closed) this.breaker.close()
    } catch (error) {
      this.lastError = error
      if (isCommandTimeout(error) || (error instanceof Error && error.message === 'timed out')) this.drop(client)
      this.scheduleProbe()
    }
  }

  /** The error worth reporting: the socket's own error when ioredis only says the socket closed. */
  private cause(error: unknown): Error {
    const err = error instanceof Error ? error : new Error(String(error))
    if (GENERIC.test(err.message) && this.socketError !== undefined) return this.socketError
    return err
  }

  private onBreakerChange(state: BreakerState): void {
    if (state === 'open') {
      const reason = this.cause(this.lastError).message
      this.log(`[cct-cache] Redis unavailable (${reason}); serving from the source and retrying in the background`)
      this.scheduleProbe()
    } else if (state === 'closed') {
      this.log('[cct-cache] Redis reachable again; caching resumed')
    }
  }
}

/** The client env asks for: one node (or a replication group's primary endpoint), or a sharded cluster. */
function createClient(config: CacheConfig): CacheClient {
  return config.cluster ? new LazyCluster(config) : createRedisClient(config)
}

/** A promise bounded in time (rejects with "timed out"); the timer never outlives it. */
async function withTimeout<T>(promise: Promise<T> | undefined, ms: number): Promise<T | undefined> {
  if (promise === undefined) return undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}
