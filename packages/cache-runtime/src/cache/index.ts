/**
 * cct-cache: cache-aside for Lambda functions in front of DynamoDB, on ElastiCache
 * (Redis/Valkey). Shipped in the cct layer as `cct-cache`:
 *
 *   import {getCache} from 'cct-cache'          // or: const {getCache} = require('cct-cache')
 *   const cache = getCache()                      // module scope: one client per container
 *
 *   export const handler = cache.handler(async (event) => {
 *     const article = await cache.getOrLoad(`article:${id}`, () => loadArticle(id), {preset: 'articles'})
 *     ...
 *     await cache.invalidate(`article:${id}`, 'articles:list')
 *   })
 *
 * Settings come from env vars (REDIS_HOST, REDIS_PORT, REDIS_TLS, CACHE_*; see config.ts).
 * Without REDIS_HOST the cache is off and every call goes straight to its loader.
 */
import {CacheAside, type Cache, type CacheOptions} from './cache.js'

export type {Cache, CacheOptions, LoadOptions, WrapOptions} from './cache.js'
export type {BreakerState} from './breaker.js'
export type {CacheClient} from './client.js'
export {readConfig, type CacheConfig} from './config.js'
export {callKey, stableStringify} from './keys.js'
export {COUNTERS as METRIC_NAMES, type MetricsSink} from './metrics.js'
export type {Env} from './env.js'
export {TTL_PRESETS, presetEnvName, type TtlPreset} from './presets.js'

/** Version of the helper shipped in the layer. */
export const VERSION: string = '1.0.0'

/** A new cache. Most functions want getCache() instead. */
export function createCache(options: CacheOptions = {}): Cache {
  return new CacheAside(options)
}

let shared: Cache | undefined

/**
 * The container's cache, created on first call from env vars. Call it at module scope:
 * the Redis connection then lives across invocations (it connects on first use).
 */
export function getCache(): Cache {
  shared ??= new CacheAside()
  return shared
}
