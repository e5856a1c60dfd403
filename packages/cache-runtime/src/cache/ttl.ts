import type {CacheConfig} from './config.js'
import {isTtlPreset, type TtlPreset} from './presets.js'

export interface TtlOptions {
  /** Seconds. Wins over preset. */
  ttl?: number
  /** One of TTL_PRESETS (env-overridable). */
  preset?: TtlPreset
}

/** The TTL a call asked for, in seconds, before jitter. */
export function baseTtlSeconds(config: CacheConfig, options: TtlOptions = {}): number {
  if (options.ttl !== undefined) {
    if (!(options.ttl > 0)) throw new RangeError(`cache ttl must be > 0 seconds, got ${options.ttl}`)
    return options.ttl
  }
  if (options.preset !== undefined) {
    if (!isTtlPreset(options.preset)) throw new RangeError(`unknown cache preset "${String(options.preset)}"`)
    return config.presets[options.preset]
  }
  return config.defaultTtlSeconds
}

/**
 * Milliseconds with +/- `jitter` spread, so keys filled together (a cold start, a deploy)
 * do not all expire in the same second and stampede DynamoDB together.
 */
export function jitteredTtlMs(seconds: number, jitter: number, random: () => number = Math.random): number {
  const spread = 1 + (random() * 2 - 1) * jitter
  return Math.max(1, Math.round(seconds * 1000 * spread))
}
