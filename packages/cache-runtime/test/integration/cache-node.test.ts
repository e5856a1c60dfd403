/**
 * The Node helper against a real redis-server: what a Lambda handler using it would see.
 */
import assert from 'node:assert/strict'
import {performance} from 'node:perf_hooks'
import {after, before, beforeEach, describe, it} from 'node:test'
import {setImmediate as tick, setTimeout as sleep} from 'node:timers/promises'

import {createCache, type Cache, type CacheOptions} from '../../src/cache/index.js'
import {startRedis, type RedisServer} from '../support/redis.js'

let redis: RedisServer
const open: Cache[] = []

before(async () => {
  redis = await startRedis()
})

after(async () => {
  await Promise.all(open.map((cache) => cache.close()))
  await redis.close()
})

beforeEach(async () => {
  await redis.command('FLUSHALL')
})

interface Harness {
  cache: Cache
  lines: Array<Record<string, unknown>>
  logs: string[]
  /** Sum of one metric over every EMF line written so far. */
  metric(name: string): number
}

function harness(env: Record<string, string> = {}, options: CacheOptions = {}): Harness {
  const lines: Array<Record<string, unknown>> = []
  const logs: string[] = []
  const cache = createCache({
    env: {...redis.env, ...env},
    metricsSink: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
    log: (message) => logs.push(message),
    ...options,
  })
  open.push(cache)
  // Lines are written once the cache is quiet; a test reading counts wants them as of now.
  const metric = (name: string) =>
    (cache.flushMetrics(), lines).reduce(
      (sum, line) => sum + (typeof line[name] === 'number' ? (line[name] as number) : 0),
      0,
    )
  return {cache, lines, logs, metric}
}

function counter<T>(produce: () => T | Promise<T>, delayMs = 0): {load: () => Promise<T>; calls: () => number} {
  let calls = 0
  return {
    load: async () => {
      calls += 1
      if (delayMs > 0) await sleep(delayMs)
      return produce()
    },
    calls: () => calls,
  }
}

/** Read through a function: assert.equal narrows a property read, and the state changes. */
function breakerOf(cache: Cache): string {
  return cache.breakerState
}

async function pttl(cache: Cache, key: string): Promise<number> {
  return (await redis.command('PTTL', cache.redisKey(key))) as number
}

describe('cache hits and misses', () => {
  it('loads once, then answers from Redis', async () => {
    const {cache} = harness()
    const article = counter(() => ({article_id: '42', title: 'Hello'}))
    assert.deepEqual(await cache.getOrLoad('article:42', article.load), {article_id: '42', title: 'Hello'})
    assert.deepEqual(await cache.getOrLoad('article:42', article.load), {article_id: '42', title: 'Hello'})
    assert.equal(article.calls(), 1)
    assert.equal(await redis.command('GET', 'cct:v1:{article:42}'), '{"article_id":"42","title":"Hello"}')
  })

  it('caches falsy values as values: 0, "", false, []', async () => {
    const {cache} = harness()
    for (const [i, value] of ([0, '', false, []] as unknown[]).entries()) {
      const loader = counter(() => value)
      assert.deepEqual(await cache.getOrLoad(`falsy:${i}`, loader.load), value)
      assert.deepEqual(await cache.getOrLoad(`falsy:${i}`, loader.load), value)
      assert.equal(loader.calls(), 1, `value ${JSON.stringify(value)} was reloaded`)
      assert.deepEqual(await cache.get(`falsy:${i}`), value)
    }
    assert.equal(await cache.get('never-set'), undefined)
  })

  it('caches "not found" briefly and returns it as null', async () => {
    const {cache} = harness({CACHE_TTL_NOT_FOUND: '30'})
    const missing = counter(() => undefined)
    assert.equal(await cache.getOrLoad('article:nope', missing.load, {preset: 'articles'}), null)
    assert.equal(await cache.getOrLoad('article:nope', missing.load, {preset: 'articles'}), null)
    assert.equal(missing.calls(), 1)
    assert.equal(await cache.get('article:nope'), null)
    const ttl = await pttl(cache, 'article:nope')
    assert.ok(ttl > 0 && ttl <= 33_000, `not-found TTL ${ttl} ms should be at most 30 s + 10%`)
  })

  it('passes loader errors to the caller and caches nothing', async () => {
    const {cache} = harness()
    await assert.rejects(
      cache.getOrLoad('boom', async () => {
        throw new Error('DynamoDB throttled')
      }),
      /DynamoDB throttled/,
    )
    assert.equal(await redis.command('EXISTS', cache.redisKey('boom'), `${cache.redisKey('boom')}:lock`), 0)
    assert.equal(await cache.getOrLoad('boom', async () => 'fine'), 'fine')
  })

  it('set/get/delete work as explicit operations', async () => {
    const {cache} = harness()
    assert.equal(await cache.set('user:7', {name: 'Ann'}, {preset: 'userProfiles'}), true)
    assert.deepEqual(await cache.get('user:7'), {name: 'Ann'})
    assert.equal(await cache.delete('user:7'), true)
    assert.equal(await cache.get('user:7'), undefined)
  })

  it('serializes DynamoDB shapes: Sets, bigints, binary', async () => {
    const {cache} = harness()
    const value = {tags: new Set(['a', 'b']), views: 12n, blob: new Uint8Array([1, 2, 3])}
    await cache.getOrLoad('shapes', async () => value)
    assert.deepEqual(await cache.get('shapes'), {tags: ['a', 'b'], views: 12, blob: 'AQID'})
  })
})

describe('TTLs', () => {
  it('uses the runbook presets, within +/-10%', async () => {
    const {cache} = harness()
    const expected = {articles: 3600, videos: 1800, userProfiles: 900, election: 86400, resources: 7200, lists: 1800}
    for (const [preset, seconds] of Object.entries(expected)) {
      await cache.set(`preset:${preset}`, 1, {preset: preset as keyof typeof expected})
      const ttl = await pttl(cache, `preset:${preset}`)
      assert.ok(ttl >= seconds * 900 - 1000 && ttl <= seconds * 1100, `${preset}: ${ttl} ms vs ${seconds} s`)
    }
  })

  it('lets an env var override a preset, and an explicit ttl win', async () => {
    const {cache} = harness({CACHE_TTL_VIDEOS: '120', CACHE_TTL_USER_PROFILES: '60'})
    await cache.getOrLoad('video:1', async () => 'v', {preset: 'videos'})
    await cache.getOrLoad('user:1', async () => 'u', {preset: 'userProfiles'})
    await cache.getOrLoad('video:2', async () => 'v', {preset: 'videos', ttl: 10})
    const video = await pttl(cache, 'video:1')
    const user = await pttl(cache, 'user:1')
    const explicit = await pttl(cache, 'video:2')
    assert.ok(video > 100_000 && video <= 132_000, `video TTL ${video}`)
    assert.ok(user > 50_000 && user <= 66_000, `user TTL ${user}`)
    assert.ok(explicit > 8_000 && explicit <= 11_000, `explicit TTL ${explicit}`)
  })

  it('spreads TTLs of keys written together by up to +/-10%', async () => {
    const {cache} = harness()
    const ttls: number[] = []
    for (let i = 0; i < 200; i++) await cache.getOrLoad(`jitter:${i}`, async () => i, {ttl: 1000})
    for (let i = 0; i < 200; i++) ttls.push(await pttl(cache, `jitter:${i}`))
    const low = Math.min(...ttls)
    const high = Math.max(...ttls)
    assert.ok(low >= 900_000 - 5_000, `lowest TTL ${low} ms is below -10%`)
    assert.ok(high <= 1_100_000, `highest TTL ${high} ms is above +10%`)
    assert.ok(new Set(ttls.map((t) => Math.round(t / 1000))).size > 50, 'TTLs are not spread')
  })
})

describe('keys of wrapped functions', () => {
  it('cover every argument, with object keys in any order', async () => {
    const {cache} = harness()
    const search = counter(() => ['result'])
    const cachedSearch = cache.wrap(
      async (query: {tag: string; page: number}, sort: string) => {
        void query
        void sort
        return search.load()
      },
      {prefix: 'search', preset: 'lists'},
    )
    await cachedSearch({tag: 'news', page: 1}, 'new')
    await cachedSearch({page: 1, tag: 'news'} as {tag: string; page: number}, 'new')
    assert.equal(search.calls(), 1)
    await cachedSearch({tag: 'news', page: 2}, 'new')
    await cachedSearch({tag: 'news', page: 1}, 'old')
    assert.equal(search.calls(), 3)
  })

  it('keep the runbook shape for one id, so invalidate("article:42") reaches it', async () => {
    const {cache} = harness()
    let title = 'v1'
    const loads = counter(() => ({title}))
    const getArticle = cache.wrap(
      async (id: string) => {
        void id
        return loads.load()
      },
      {prefix: 'article', preset: 'articles'},
    )
    assert.deepEqual(await getArticle('42'), {title: 'v1'})
    assert.equal(await redis.command('EXISTS', 'cct:v1:{article:42}'), 1)
    title = 'v2'
    await cache.invalidate('article:42')
    assert.deepEqual(await getArticle('42'), {title: 'v2'})
    assert.equal(loads.calls(), 2)
  })
})

describe('stampedes', () => {
  it('200 concurrent misses on one key call the loader once', async () => {
    const {cache} = harness()
    const loader = counter(() => ({hot: true}), 50)
    const results = await Promise.all(Array.from({length: 200}, () => cache.getOrLoad('hot', loader.load)))
    assert.equal(loader.calls(), 1)
    assert.equal(results.length, 200)
    for (const result of results) assert.deepEqual(result, {hot: true})
  })

  it('two containers missing together load once: the second waits for the first', async () => {
    const a = harness().cache
    const b = harness().cache
    const loader = counter(() => 'shared', 200)
    const [fromA, fromB] = await Promise.all([
      a.getOrLoad('pair', loader.load),
      sleep(20).then(() => b.getOrLoad('pair', loader.load)),
    ])
    assert.equal(fromA, 'shared')
    assert.equal(fromB, 'shared')
    assert.equal(loader.calls(), 1)
  })
})

describe('invalidation races', () => {
  it('a slow reader cannot write back a value read before an update (two containers)', async () => {
    const reader = harness()
    const writer = harness().cache
    let db = 'v1'
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const slowRead = reader.cache.getOrLoad('article:7', async () => {
      const seen = db // the read happens now...
      await gate // ...the write and invalidation happen while it is in flight
      return seen
    })
    await sleep(50)
    db = 'v2'
    await writer.invalidate('article:7')
    release()
    assert.equal(await slowRead, 'v1') // its own caller gets what it read
    assert.equal(await writer.get('article:7'), undefined, 'the old value was written back')
    assert.equal(await writer.getOrLoad('article:7', async () => db), 'v2')
    assert.equal(reader.metric('CacheStaleWriteRejected'), 1)
  })

  it('a call after an invalidation does not join a load that started before it (one container)', async () => {
    const {cache} = harness()
    let db = 'v1'
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const slow = cache.getOrLoad('article:8', async () => {
      const seen = db
      await gate
      return seen
    })
    await sleep(50)
    db = 'v2'
    await cache.invalidate('article:8')
    const fresh = cache.getOrLoad('article:8', async () => db)
    release()
    assert.equal(await slow, 'v1')
    assert.equal(await fresh, 'v2')
    assert.equal(await cache.get('article:8'), 'v2')
  })
})

describe('bad entries and big values', () => {
  it('treats a corrupt entry as a miss and removes it', async () => {
    const {cache, metric} = harness()
    await redis.command('SET', cache.redisKey('article:9'), '{"title": "trunc')
    assert.equal(await cache.get('article:9'), undefined)
    assert.equal(await redis.command('EXISTS', cache.redisKey('article:9')), 0)
    await redis.command('SET', cache.redisKey('article:9'), 'garbage')
    assert.deepEqual(await cache.getOrLoad('article:9', async () => ({title: 'ok'})), {title: 'ok'})
    assert.equal(await redis.command('GET', cache.redisKey('article:9')), '{"title":"ok"}')
    assert.equal(metric('CacheCorrupt'), 2)
  })

  it('does not cache values over CACHE_MAX_VALUE_BYTES', async () => {
    const {cache, metric} = harness({CACHE_MAX_VALUE_BYTES: '1000'})
    const big = counter(() => 'x'.repeat(2000))
    assert.equal((await cache.getOrLoad('big', big.load))?.length, 2000)
    assert.equal((await cache.getOrLoad('big', big.load))?.length, 2000)
    assert.equal(big.calls(), 2)
    assert.equal(await redis.command('EXISTS', cache.redisKey('big'), `${cache.redisKey('big')}:lock`), 0)
    assert.equal(await cache.set('big', 'x'.repeat(2000)), false)
    assert.equal(metric('CacheSkip'), 3)
  })
})

describe('metrics', () => {
  it('writes CloudWatch EMF lines', async () => {
    const {cache, lines} = harness({AWS_LAMBDA_FUNCTION_NAME: 'articles-api'})
    // Two invocations: each line is written once the cache goes quiet after its call.
    await cache.getOrLoad('emf', async () => 1)
    await tick()
    await cache.getOrLoad('emf', async () => 1)
    await tick()
    assert.equal(lines.length, 2)
    const [miss, hit] = lines as [Record<string, any>, Record<string, any>]
    const directive = miss._aws.CloudWatchMetrics[0]
    assert.equal(typeof miss._aws.Timestamp, 'number')
    assert.equal(directive.Namespace, 'cct/cache')
    assert.deepEqual(directive.Dimensions, [['FunctionName']])
    assert.equal(miss.FunctionName, 'articles-api')
    for (const {Name, Unit} of directive.Metrics as Array<{Name: string; Unit: string}>) {
      assert.ok(Name in miss, `metric ${Name} is declared but has no value`)
      assert.equal(Unit, Name === 'LoadTime' ? 'Milliseconds' : 'Count')
    }
    assert.equal(miss.CacheMiss, 1)
    assert.equal(miss.CacheHit, 0)
    assert.ok(Array.isArray(miss.LoadTime) && miss.LoadTime.length === 1 && miss.LoadTime[0] >= 0)
    assert.equal(hit.CacheHit, 1)
    assert.equal(hit.CacheMiss, 0)
    assert.ok(!('LoadTime' in hit))
  })

  it('writes one line per invocation inside cache.handler', async () => {
    const {cache, lines} = harness()
    const handler = cache.handler(async (event: {ids: string[]}) => {
      for (const id of event.ids) await cache.getOrLoad(`h:${id}`, async () => id)
      return event.ids.length
    })
    assert.equal(await handler({ids: ['1', '2', '1']}, {}), 3)
    assert.equal(lines.length, 1)
    assert.equal(lines[0]!.CacheMiss, 2)
    assert.equal(lines[0]!.CacheHit, 1)
  })
})

describe('without Redis', () => {
  it('answers from the loader when REDIS_HOST is unset', async () => {
    const lines: string[] = []
    const cache = createCache({env: {}, metricsSink: (line) => lines.push(line)})
    const loader = counter(() => 'direct')
    assert.equal(await cache.getOrLoad('x', loader.load), 'direct')
    assert.equal(await cache.getOrLoad('x', loader.load), 'direct')
    assert.equal(loader.calls(), 2)
    assert.equal(await cache.set('x', 1), false)
    assert.deepEqual(lines, [])
  })

  it('keeps answering while Redis is down, each call bounded by the timeouts; opens the breaker; resumes', async () => {
    const connectTimeoutMs = 300
    const commandTimeoutMs = 150
    const {cache, metric, logs} = harness({
      CACHE_CONNECT_TIMEOUT_MS: String(connectTimeoutMs),
      CACHE_COMMAND_TIMEOUT_MS: String(commandTimeoutMs),
      CACHE_BREAKER_THRESHOLD: '3',
      CACHE_BREAKER_COOLDOWN_MS: '300',
    })
    const source = counter(() => 'from-dynamodb')
    await cache.getOrLoad('down', source.load)
    assert.equal(await cache.getOrLoad('down', source.load), 'from-dynamodb')
    assert.equal(source.calls(), 1)

    await redis.stop()
    const bound = connectTimeoutMs + commandTimeoutMs + 250
    for (let i = 0; i < 10; i++) {
      const started = performance.now()
      assert.equal(await cache.getOrLoad('down', source.load), 'from-dynamodb')
      const took = performance.now() - started
      assert.ok(took < bound, `call ${i} took ${took.toFixed(0)} ms with Redis down (bound ${bound} ms)`)
    }
    assert.equal(source.calls(), 11)
    assert.equal(cache.breakerState, 'open')
    assert.ok(metric('CacheError') >= 3)
    assert.ok(metric('CacheBypass') >= 1)
    assert.ok(logs.some((line) => line.includes('Redis unavailable')))

    await redis.start()
    // ioredis reconnects in the background and the breaker half-opens after its cooldown:
    // poll (bounded) until values are served from Redis again.
    let hit = false
    for (let i = 0; i < 150 && !hit; i++) {
      const before = source.calls()
      await cache.getOrLoad('down', source.load)
      await cache.getOrLoad('down', source.load)
      hit = source.calls() === before + 1 || source.calls() === before
      if (!hit) await sleep(100)
    }
    assert.ok(hit, 'hits did not resume after Redis came back')
    assert.equal(breakerOf(cache), 'closed')
    const before = source.calls()
    assert.equal(await cache.getOrLoad('down', source.load), 'from-dynamodb')
    assert.equal(source.calls(), before)
  })

  it('bounds every call by the command timeout when Redis hangs (SIGSTOP)', async () => {
    const commandTimeoutMs = 200
    const {cache} = harness({
      CACHE_COMMAND_TIMEOUT_MS: String(commandTimeoutMs),
      CACHE_BREAKER_THRESHOLD: '2',
      CACHE_BREAKER_COOLDOWN_MS: '400',
    })
    const source = counter(() => 'fresh')
    await cache.getOrLoad('hang', source.load) // connected, cached
    redis.pause()
    try {
      const timings: number[] = []
      for (let i = 0; i < 8; i++) {
        const started = performance.now()
        assert.equal(await cache.getOrLoad(`hang:${i}`, source.load), 'fresh')
        timings.push(performance.now() - started)
        if (i === 4) await sleep(450) // let the breaker half-open: the probe must also be bounded
      }
      for (const took of timings) {
        assert.ok(
          took < commandTimeoutMs * 2 + 150,
          `a call took ${took.toFixed(0)} ms; command timeout is ${commandTimeoutMs} ms`,
        )
      }
      assert.equal(cache.breakerState, 'open')
    } finally {
      redis.resume()
    }
    let hit = false
    for (let i = 0; i < 100 && !hit; i++) {
      await sleep(100)
      const before = source.calls()
      await cache.getOrLoad('hang', source.load)
      hit = source.calls() === before
    }
    assert.ok(hit, 'hits did not resume after Redis answered again')
  })

  it('replays an invalidation that could not reach Redis once it is back', async () => {
    const {cache} = harness({
      CACHE_COMMAND_TIMEOUT_MS: '150',
      CACHE_BREAKER_THRESHOLD: '1',
      CACHE_BREAKER_COOLDOWN_MS: '500',
    })
    await cache.set('article:11', 'old')
    redis.pause()
    let confirmed: boolean
    try {
      assert.equal(await cache.get('other'), undefined) // times out: the breaker opens
      assert.equal(cache.breakerState, 'open')
      confirmed = await cache.delete('article:11') // skipped: never sent
    } finally {
      redis.resume()
    }
    assert.equal(confirmed, false)
    assert.equal(await redis.command('GET', cache.redisKey('article:11')), '"old"')
    let gone = false
    for (let i = 0; i < 50 && !gone; i++) {
      await sleep(100)
      gone = (await cache.get('article:11')) === undefined && breakerOf(cache) === 'closed'
    }
    assert.ok(gone, 'the old value survived the outage')
    assert.equal(await redis.command('EXISTS', cache.redisKey('article:11')), 0)
  })
})
