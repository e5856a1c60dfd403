/**
 * Both helpers on a sharded cache (REDIS_CLUSTER=true): a real 3-shard Redis Cluster on
 * loopback. Entries land on every shard, and what the helpers guarantee on one node holds
 * on each shard: one load for a stampede of cold reads across containers, no write-back
 * of a value loaded before an invalidation, negative caching, invalidating keys of
 * several shards in one call, and fail-open when the cluster cannot be reached, or when a
 * node hangs (the Node helper's cold connect and command stay within the single-node bounds).
 */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, beforeEach, describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'

import {createCache, type Cache} from '../../src/cache/index.js'
import {PACKAGE_ROOT} from '../../scripts/layer/build.js'
import {embedLua} from '../../scripts/layer/lua.js'
import {REDIS_PY, redisPyFiles} from '../../scripts/layer/python-deps.js'
import {startRedisCluster, type RedisCluster} from '../support/redis-cluster.js'
import {freePort} from '../support/redis.js'

let cluster: RedisCluster
let work: string
const open: Cache[] = []

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'cct-cluster-'))
  const [started] = await Promise.all([startRedisCluster(3), redisPyFiles(join(PACKAGE_ROOT, 'build/layer-cache'))])
  cluster = started
  // The Python helper as the layer ships it: its Lua filled in, redis-py beside it.
  const helper = readFileSync(join(PACKAGE_ROOT, 'layer/python/cache_helper.py'), 'utf8')
  writeFileSync(join(work, 'cache_helper.py'), embedLua(helper, PACKAGE_ROOT))
})

after(async () => {
  await Promise.all(open.map((cache) => cache.close()))
  await cluster?.close()
  rmSync(work, {recursive: true, force: true})
})

beforeEach(async () => {
  await cluster.each('FLUSHALL')
})

/** A container's cache on the cluster. */
function container(env: Record<string, string> = {}): Cache {
  const cache = createCache({env: {...cluster.env, CACHE_METRICS: 'false', ...env}, log: () => {}})
  open.push(cache)
  return cache
}

/** One logical key per shard: `<prefix>:<n>` for the first n whose entry lands there. */
async function keyPerShard(cache: Cache, prefix: string): Promise<string[]> {
  const found: Array<string | undefined> = [undefined, undefined, undefined]
  for (let n = 0; n < 500; n++) {
    const key = `${prefix}:${n}`
    found[await cluster.shardOf(cache.redisKey(key))] ??= key
    if (found.every((k) => k !== undefined)) return found as string[]
  }
  throw new Error('no key found for every shard')
}

async function slot(key: string): Promise<number> {
  return Number(await cluster.commandFor(key, 'CLUSTER', 'KEYSLOT', key))
}

describe('Node helper on a 3-shard cluster', () => {
  it("caches a key on each shard, with its generation and lock in the entry's slot", async () => {
    const cache = container()
    const keys = await keyPerShard(cache, 'article')
    assert.deepEqual(await Promise.all(keys.map((k) => cluster.shardOf(cache.redisKey(k)))), [0, 1, 2])
    let loads = 0
    for (const key of keys) {
      assert.deepEqual(await cache.getOrLoad(key, async () => ({id: key, loads: ++loads})), {id: key, loads})
      assert.deepEqual(await cache.getOrLoad(key, async () => ({id: key, loads: ++loads})), {id: key, loads}, 'a hit')
      const entry = cache.redisKey(key)
      // Read on the shard itself: the entry is there (no MOVED), and its companions hash alike.
      assert.match(String(await cluster.commandFor(entry, 'GET', entry)), new RegExp(key))
      assert.equal(await slot(`${entry}:gen`), await slot(entry))
      assert.equal(await slot(`${entry}:lock`), await slot(entry))
    }
    assert.equal(loads, 3)
    assert.equal(cache.breakerState, 'closed')
  })

  it('a stampede of cold reads from 8 containers loads each key once, on every shard', async () => {
    const caches = Array.from({length: 8}, () => container())
    const keys = await keyPerShard(caches[0]!, 'hot')
    // Warm containers, as after a key expires: a cold connect that misses its budget on a
    // loaded machine fails open and loads by itself, which is the breaker's test, not this one.
    await Promise.all(caches.map((cache) => cache.getOrLoad('warm-up', async () => 'ok')))
    assert.deepEqual(new Set(caches.map((cache) => cache.breakerState)), new Set(['closed']))
    const loads = new Map<string, number>()
    const results = await Promise.all(
      keys.flatMap((key) =>
        caches.flatMap((cache) =>
          [0, 1].map(() =>
            cache.getOrLoad(key, async () => {
              loads.set(key, (loads.get(key) ?? 0) + 1)
              await sleep(150)
              return `value of ${key}`
            }),
          ),
        ),
      ),
    )
    assert.deepEqual(Object.fromEntries(loads), Object.fromEntries(keys.map((k) => [k, 1])))
    assert.deepEqual(new Set(results), new Set(keys.map((k) => `value of ${k}`)))
  })

  it('an invalidation during a load stops its write-back, on every shard; one call invalidates keys of all shards', async () => {
    const [writer, reader] = [container(), container()]
    const keys = await keyPerShard(writer, 'video')
    for (const key of keys) {
      let release!: () => void
      let started!: () => void
      const gate = new Promise<void>((resolve) => (release = resolve))
      const loading = new Promise<void>((resolve) => (started = resolve))
      const slow = reader.getOrLoad(key, async () => {
        started() // the miss has read the generation: invalidate during the load
        await gate
        return 'old'
      })
      await loading
      await writer.invalidate(key)
      release()
      assert.equal(await slow, 'old', 'the caller still gets what it loaded')
      assert.equal(await reader.get(key), undefined, 'but it was not written back')
      assert.equal(await reader.getOrLoad(key, async () => 'new'), 'new')
    }
    // Entries on three shards, one invalidate call (one script per key, each in its own slot).
    for (const key of keys) assert.equal(await writer.get(key), 'new')
    await writer.invalidate(...keys)
    for (const key of keys) assert.equal(await writer.get(key), undefined)
    assert.equal(writer.breakerState, 'closed')
  })

  it('caches not-found on each shard', async () => {
    const cache = container()
    const keys = await keyPerShard(cache, 'missing')
    let loads = 0
    for (const key of keys) {
      assert.equal(await cache.getOrLoad(key, async () => (loads++, undefined)), null)
      assert.equal(await cache.getOrLoad(key, async () => (loads++, 'x')), null, 'the not-found is cached')
    }
    assert.equal(loads, 3)
  })

  it('fails open when the configuration endpoint does not answer', async () => {
    const port = await freePort()
    const cache = container({REDIS_PORT: String(port), CACHE_BREAKER_THRESHOLD: '1'})
    assert.equal(await cache.getOrLoad('article:1', async () => 'from the table'), 'from the table')
    assert.equal(cache.breakerState, 'open')
  })
})

describe('Node helper on a cluster with a hung node (SIGSTOP): a cold connect costs what it costs on one node', () => {
  // The defaults (400 ms connect budget, 300 ms command timeout), as a container runs them. A
  // stopped node still accepts connections (the kernel completes the handshake) and never
  // replies, as a hung ElastiCache node does. The bound is the single-node one
  // (cache-node.test.ts): the budget, one command timeout, and scheduling slack.
  const CONNECT_BUDGET_MS = 400
  const COMMAND_TIMEOUT_MS = 300
  const bound = CONNECT_BUDGET_MS + COMMAND_TIMEOUT_MS + 250

  /** What one cold request costs: the value, the time, and the breaker after. */
  async function coldRead(cache: Cache, key: string) {
    const started = performance.now()
    const value = await cache.getOrLoad(key, async () => 'from the table')
    return {value, ms: performance.now() - started, breaker: cache.breakerState}
  }

  it('the configuration endpoint hangs: the connect gives up within the budget and fails open', async () => {
    cluster.pause(0) // the startup node: CLUSTER SLOTS never answers
    try {
      const cache = container()
      const first = await coldRead(cache, 'article:1')
      assert.equal(first.value, 'from the table')
      assert.ok(first.ms < bound, `the cold request took ${first.ms.toFixed(0)} ms (bound ${bound} ms)`)
      assert.equal(first.breaker, 'open', 'a connect that spends its budget opens the breaker at once')
      const next = await coldRead(cache, 'article:2')
      assert.ok(next.ms < 50, `with the breaker open the next request skips Redis (${next.ms.toFixed(0)} ms)`)
    } finally {
      cluster.resume(0)
    }
  })

  it('a shard hangs: a request for its key is bounded too, and the other shards keep serving', async () => {
    const probe = container()
    const [onFirst, , onHung] = await keyPerShard(probe, 'hung')
    cluster.pause(2)
    try {
      const cache = container()
      const hung = await coldRead(cache, onHung!)
      assert.equal(hung.value, 'from the table')
      assert.ok(hung.ms < bound, `the request on the hung shard took ${hung.ms.toFixed(0)} ms (bound ${bound} ms)`)
      assert.equal(hung.breaker, 'open', 'a reply that never came opens the breaker at once')
    } finally {
      cluster.resume(2)
    }
    // Answering again: a new container caches on every shard, the one that hung included.
    const cache = container()
    for (const key of [onFirst!, onHung!]) {
      await cache.getOrLoad(key, async () => 'loaded')
      assert.equal(await cache.getOrLoad(key, async () => 'again'), 'loaded', `${key} is a hit`)
    }
  })
})

// --- Python -------------------------------------------------------------------------------

const DRIVER = String.raw`
import json, sys, threading, time
import cache_helper as ch

def make(**overrides):
    config = ch.read_config()
    config.update(metrics=False, **overrides)
    return ch._Cache(config, log=lambda m: None)

args = json.loads(sys.argv[1])
scenario = args["scenario"]
out = {}
if scenario == "shards":
    cache = make()
    loads = []
    for key in args["keys"]:
        first = cache.get_or_load(key, lambda key=key: loads.append(key) or {"id": key})
        second = cache.get_or_load(key, lambda key=key: loads.append(key) or {"id": "again"})
        out[key] = [first, second]
    out["node"] = cache.get(args["node_key"])
    out["loads"] = len(loads)
    out["breaker"] = cache.breaker.state
elif scenario == "stampede":
    caches = [make() for _ in range(6)]  # six containers
    loads = {}
    lock = threading.Lock()
    results = []
    def load(key):
        with lock:
            loads[key] = loads.get(key, 0) + 1
        time.sleep(0.15)
        return "value of " + key
    def read(cache, key):
        value = cache.get_or_load(key, lambda: load(key))
        with lock:
            results.append(value)
    threads = [threading.Thread(target=read, args=(c, k)) for k in args["keys"] for c in caches for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    out = {"loads": loads, "results": sorted(set(results))}
elif scenario == "invalidate":
    writer, reader = make(), make()
    for key in args["keys"]:
        gate, started = threading.Event(), threading.Event()
        loaded = []
        def slow(key=key):
            started.set()  # the miss has read the generation: invalidate during the load
            gate.wait()
            return "old"
        t = threading.Thread(target=lambda key=key: loaded.append(reader.get_or_load(key, slow)))
        t.start()
        started.wait(10)
        writer.invalidate([key])
        gate.set()
        t.join()
        # The runbook's cache_get -> load -> cache_set across an invalidation, too.
        missed = reader.get(key + ":runbook")
        writer.invalidate([key + ":runbook"])
        reader.set(key + ":runbook", "stale")
        out[key] = {"loaded": loaded[0], "after": reader.get(key), "missed": missed,
                    "runbook": reader.get(key + ":runbook"),
                    "fresh": reader.get_or_load(key, lambda: "new")}
    writer.invalidate(args["keys"])
    out["gone"] = [reader.get(k) for k in args["keys"]]
    out["breaker"] = [writer.breaker.state, reader.breaker.state]
elif scenario == "down":
    cache = make(breaker_threshold=1)
    out = {"value": cache.get_or_load("article:1", lambda: "from the table"), "breaker": cache.breaker.state}
print(json.dumps(out), flush=True)
`

async function python(args: Record<string, unknown>, env: Record<string, string> = {}): Promise<any> {
  const driver = join(work, 'driver.py')
  writeFileSync(driver, DRIVER)
  const pythonPath = [work, join(PACKAGE_ROOT, `build/layer-cache/redis-py-${REDIS_PY.version}`)].join(':')
  const child = spawn('python3', [driver, JSON.stringify(args)], {
    env: {PATH: process.env.PATH, PYTHONPATH: pythonPath, PYTHONDONTWRITEBYTECODE: '1', ...cluster.env, ...env},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.on('data', (chunk) => (stderr += chunk))
  const code = await new Promise((resolve) => child.once('exit', resolve))
  assert.equal(code, 0, stderr)
  return JSON.parse(stdout.trim().split('\n').pop()!)
}

describe('Python helper on a 3-shard cluster', () => {
  it('caches a key on each shard and reads what the Node helper wrote', async () => {
    const node = container()
    const keys = await keyPerShard(node, 'py')
    await node.set('shared:1', {from: 'node'})
    const got = await python({scenario: 'shards', keys, node_key: 'shared:1'})
    for (const key of keys) assert.deepEqual(got[key], [{id: key}, {id: key}])
    assert.equal(got.loads, 3)
    assert.deepEqual(got.node, {from: 'node'})
    assert.equal(got.breaker, 'closed')
    for (const key of keys) assert.deepEqual(await node.get(key), {id: key}, 'and Node reads what Python wrote')
  })

  it('a stampede from 6 containers (12 threads) loads each key once, on every shard', async () => {
    const keys = await keyPerShard(container(), 'pyhot')
    const got = await python({scenario: 'stampede', keys})
    assert.deepEqual(got.loads, Object.fromEntries(keys.map((k) => [k, 1])))
    assert.deepEqual(got.results, keys.map((k) => `value of ${k}`).sort())
  })

  it('an invalidation during a load stops its write-back, on every shard', async () => {
    const keys = await keyPerShard(container(), 'pyinv')
    const got = await python({scenario: 'invalidate', keys})
    for (const key of keys) {
      assert.deepEqual(got[key], {loaded: 'old', after: null, missed: null, runbook: null, fresh: 'new'}, key)
    }
    assert.deepEqual(got.gone, [null, null, null])
    assert.deepEqual(got.breaker, ['closed', 'closed'])
  })

  it('fails open when the configuration endpoint does not answer', async () => {
    const got = await python({scenario: 'down'}, {REDIS_PORT: String(await freePort())})
    assert.deepEqual(got, {value: 'from the table', breaker: 'open'})
  })
})
