import type {Cluster, ClusterOptions} from 'ioredis'

import {isReadOnlyError, type CacheClient} from './client.js'
import type {CacheConfig} from './config.js'

/**
 * The ioredis Cluster options for a sharded ElastiCache cache, on the same Lambda terms as
 * the single-node client (createRedisClient): connect on first use, short timeouts, no
 * reconnect loop of its own (the cache's breaker probes), RESP2 without a ready check.
 *
 * - The configuration endpoint is the only startup node; CLUSTER SLOTS names the shards.
 * - dnsLookup keeps names as names: with TLS, ElastiCache answers CLUSTER SLOTS with node
 *   host names, and the certificate is checked against the name the client connected to
 *   (ioredis would otherwise resolve the endpoint and connect to a bare IP).
 * - No periodic slot refresh: MOVED and ASK already lead to the right shard while slots
 *   move, and a timer would keep a script's process alive.
 * - Node connections queue until connected (ioredis needs it to reach a shard it has not
 *   connected to yet); the command timeout bounds that wait as it bounds a reply.
 */
export function clusterOptions(config: CacheConfig): ClusterOptions {
  return {
    lazyConnect: true,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    clusterRetryStrategy: () => null,
    slotsRefreshTimeout: config.connectTimeoutMs,
    slotsRefreshInterval: 0,
    maxRedirections: 8,
    retryDelayOnMoved: 0,
    retryDelayOnClusterDown: 50,
    retryDelayOnTryAgain: 50,
    dnsLookup: (address, callback) => callback(null, address),
    redisOptions: {
      tls: config.tls ? {} : undefined,
      connectTimeout: config.connectTimeoutMs,
      commandTimeout: config.commandTimeoutMs,
      maxRetriesPerRequest: 1,
      keepAlive: 10_000,
      noDelay: true,
      protocol: 2,
      enableReadyCheck: false,
      disableClientInfo: true,
      reconnectOnError: (error) => isReadOnlyError(error),
    },
  }
}

type Listener<A extends unknown[]> = (...args: A) => void

/**
 * ioredis rejects connect() with only "None of startup nodes is available" when CLUSTER SLOTS
 * fails; why is in the lastNodeError of the error it emits just before. A configuration
 * endpoint that accepts the connection and never answers (a hung node) fails by command
 * timeout, which must read as such: the cache then opens the breaker at once, as for a hung
 * single node, instead of paying a timeout on each of the next requests.
 */
function withNodeError(error: unknown, refreshError: unknown): unknown {
  const last = (refreshError as {lastNodeError?: unknown} | undefined)?.lastNodeError
  if (!(error instanceof Error) || !(last instanceof Error)) return error
  return new Error(`${error.message} (${last.message})`, {cause: error})
}

/**
 * A CacheClient over an ioredis Cluster that is created on the first connect, when its
 * code is loaded (await import), so neither the module nor the constructor of a cache
 * pays for cluster support. Before that its status is 'wait', as a lazy ioredis client's is.
 */
export class LazyCluster implements CacheClient {
  private cluster: Cluster | undefined
  private loading: Promise<Cluster> | undefined
  private readonly errorListeners: Array<Listener<[Error]>> = []
  /** What the last slots refresh failed with, while connecting. */
  private refreshError: unknown

  constructor(private readonly config: CacheConfig) {}

  get status(): string {
    return this.cluster?.status ?? 'wait'
  }

  async connect(): Promise<void> {
    const cluster = this.cluster ?? (await this.load())
    this.refreshError = undefined
    await cluster.connect().catch((error: unknown) => {
      throw withNodeError(error, this.refreshError)
    })
  }

  disconnect(reconnect?: boolean): void {
    this.cluster?.disconnect(reconnect)
  }

  on(event: 'error', listener: Listener<[Error]>): this {
    this.errorListeners.push(listener)
    this.cluster?.on(event, listener)
    return this
  }

  once(event: 'end', listener: () => void): this {
    if (this.cluster === undefined) listener()
    else this.cluster.once(event, listener)
    return this
  }

  ping(): Promise<unknown> {
    return this.live().ping()
  }

  get(key: string): Promise<string | null> {
    return this.live().get(key)
  }

  mget(...keys: string[]): Promise<Array<string | null>> {
    return this.live().mget(...keys)
  }

  set(key: string, value: string, unit: 'PX', ttlMs: number): Promise<unknown> {
    return this.live().set(key, value, unit, ttlMs)
  }

  evalsha(sha: string, numKeys: number, ...args: Array<string | number>): Promise<unknown> {
    return this.live().evalsha(sha, numKeys, ...args)
  }

  eval(script: string, numKeys: number, ...args: Array<string | number>): Promise<unknown> {
    return this.live().eval(script, numKeys, ...args)
  }

  async quit(): Promise<unknown> {
    return this.cluster?.quit()
  }

  /** The cluster, for commands: they only run after connect(), which creates it. */
  private live(): Cluster {
    if (this.cluster === undefined) throw new Error('Connection is closed.')
    return this.cluster
  }

  private load(): Promise<Cluster> {
    this.loading ??= import('./ioredis-cluster.js').then(({Cluster}) => {
      const host = this.config.host ?? '127.0.0.1'
      const cluster = new Cluster([{host, port: this.config.port}], clusterOptions(this.config))
      // Counted where commands fail, as for a single node; kept to say why a connect failed.
      cluster.on('error', (error) => {
        this.refreshError = error
      })
      for (const listener of this.errorListeners) cluster.on('error', listener)
      this.cluster = cluster
      return cluster
    })
    this.loading.catch(() => {
      this.loading = undefined // tried again on the next connect
    })
    return this.loading
  }
}
