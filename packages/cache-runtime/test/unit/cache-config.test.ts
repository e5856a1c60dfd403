import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {TTL_PRESETS, presetEnvName, readConfig} from '../../src/cache/index.js'
import {baseTtlSeconds, jitteredTtlMs} from '../../src/cache/ttl.js'

describe('cache config', () => {
  it('has the runbook TTL presets', () => {
    assert.deepEqual(TTL_PRESETS, {
      articles: 3600,
      videos: 1800,
      userProfiles: 900,
      election: 86400,
      resources: 7200,
      lists: 1800,
    })
    assert.deepEqual(readConfig({}).presets, TTL_PRESETS)
  })

  it('reads Lambda-friendly defaults', () => {
    const config = readConfig({})
    assert.equal(config.host, undefined)
    assert.equal(config.port, 6379)
    assert.equal(config.tls, false)
    assert.equal(config.cluster, false)
    // The whole connect budget (TCP + TLS) stays under the 0.5 s a hung Redis may cost.
    assert.equal(config.connectTimeoutMs, 400)
    assert.equal(config.commandTimeoutMs, 300)
    // A slow loader (5 s) must keep other containers waiting for it, not loading again.
    assert.ok(config.lockWaitMs >= 5000)
    assert.equal(config.jitter, 0.1)
  })

  it('overrides presets and settings from env', () => {
    assert.equal(presetEnvName('userProfiles'), 'CACHE_TTL_USER_PROFILES')
    const config = readConfig({
      REDIS_HOST: 'cct-cache.abc.use1.cache.amazonaws.com',
      REDIS_PORT: '6380',
      REDIS_TLS: 'true',
      REDIS_CLUSTER: 'true',
      CACHE_TTL_ARTICLES: '600',
      CACHE_TTL_USER_PROFILES: '60',
      CACHE_COMMAND_TIMEOUT_MS: '250',
    })
    assert.equal(config.host, 'cct-cache.abc.use1.cache.amazonaws.com')
    assert.equal(config.port, 6380)
    assert.equal(config.tls, true)
    assert.equal(config.cluster, true)
    assert.equal(config.presets.articles, 600)
    assert.equal(config.presets.userProfiles, 60)
    assert.equal(config.presets.videos, 1800)
    assert.equal(config.commandTimeoutMs, 250)
    assert.equal(baseTtlSeconds(config, {preset: 'articles'}), 600)
    assert.equal(baseTtlSeconds(config, {preset: 'articles', ttl: 5}), 5)
    assert.equal(baseTtlSeconds(config), 3600)
  })

  it('ignores a bad value, keeps the default, and says so', () => {
    const warnings: string[] = []
    const config = readConfig({CACHE_TTL_ARTICLES: 'an hour', REDIS_PORT: '-1'}, (m) => warnings.push(m))
    assert.equal(config.presets.articles, 3600)
    assert.equal(config.port, 6379)
    assert.equal(warnings.length, 2)
    assert.match(warnings[0]!, /CACHE_TTL_ARTICLES/)
  })

  it('rejects an unknown preset or a non-positive ttl', () => {
    const config = readConfig({})
    assert.throws(() => baseTtlSeconds(config, {preset: 'comments' as never}), /unknown cache preset/)
    assert.throws(() => baseTtlSeconds(config, {ttl: 0}), /ttl must be > 0/)
  })

  it('jitters TTLs within +/-10%', () => {
    assert.equal(
      jitteredTtlMs(100, 0.1, () => 0),
      90_000,
    )
    assert.equal(
      jitteredTtlMs(100, 0.1, () => 0.5),
      100_000,
    )
    assert.equal(
      jitteredTtlMs(100, 0.1, () => 0.999999),
      110_000,
    )
    const samples = Array.from({length: 1000}, () => jitteredTtlMs(100, 0.1))
    assert.ok(samples.every((ms) => ms >= 90_000 && ms <= 110_000))
    assert.ok(new Set(samples).size > 100)
  })
})
