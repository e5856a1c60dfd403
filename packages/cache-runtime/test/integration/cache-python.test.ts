/**
 * The Python helper exactly as the layer ships it (cache_helper.py + redis-py, from the
 * built zip), driven from node:test against a real redis-server.
 */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createInterface} from 'node:readline'
import {after, before, beforeEach, describe, it} from 'node:test'

import {callKey, createCache} from '../../src/cache/index.js'
import {DELETE_IF_EQUALS, INVALIDATE, MISS, RENEW_LOCK, WRITE_IF_CURRENT} from '../../src/cache/scripts.js'
import {buildLayer} from '../../scripts/layer/build.js'
import {extractLayer} from '../../scripts/layer/extract.js'
import {startRedis, type RedisServer} from '../support/redis.js'

// Scenarios run in a fresh python3 each, importing cache_helper from the layer's python/.
// Each prints one JSON line of results last; interactive ones talk over stdin/stdout.
const DRIVER = String.raw`
import json, sys, threading, time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import cache_helper as ch

LINES, LOGS = [], []
if "--runbook-env" not in sys.argv:
    ch.configure(metrics_sink=LINES.append, log=LOGS.append)

def metric(name):
    return sum(json.loads(l).get(name, 0) for l in LINES)

def pttl(key):
    return ch.redis_client.pttl(ch.redis_key(key))

def out(obj):
    print(json.dumps(obj), flush=True)

def wait_for(word):
    line = sys.stdin.readline().strip()
    assert line == word, line

def scenario_semantics():
    loads = []
    @ch.cache_decorator("falsy")
    def load(i):
        loads.append(i)
        return [0, "", False, []][i]
    first = [load(i) for i in range(4)]
    second = [load(i) for i in range(4)]
    got = [ch.cache_get(ch.call_key("falsy", (i,))) for i in range(4)]
    return {"first": first, "second": second, "got": got, "loads": len(loads), "absent": ch.cache_get("never-set")}

def scenario_not_found():
    loads = []
    @ch.cache_decorator("article", ttl=3600)
    def get_article(article_id):
        loads.append(article_id)
        return None
    a, b = get_article("nope"), get_article("nope")
    return {"a": a, "b": b, "loads": len(loads), "pttl": pttl("article:nope"), "get": ch.cache_get("article:nope")}

def scenario_ttls():
    ch.cache_set("video:1", "v", preset="videos")
    ch.cache_set("user:1", "u", preset="userProfiles")
    ch.cache_set("article:1", "a", preset="articles")
    ch.cache_set("plain", "p")
    ch.cache_set("explicit", "e", ttl=10)
    keys = ["video:1", "user:1", "article:1", "plain", "explicit"]
    return {"pttl": {k: pttl(k) for k in keys}, "ttl_for_videos": ch.ttl_for("videos")}

def scenario_jitter():
    for i in range(200):
        ch.cache_set("jitter:%d" % i, i, ttl=1000)
    return {"pttl": [pttl("jitter:%d" % i) for i in range(200)]}

def scenario_keys():
    loads = []
    @ch.cache_decorator("search", preset="lists")
    def search(query, sort="new", page=1):
        loads.append((query, sort, page))
        return ["r"]
    search({"tag": "news", "year": 2024}, "new", page=1)
    search({"year": 2024, "tag": "news"}, "new", page=1)
    n_same = len(loads)
    search({"tag": "news", "year": 2024}, "new", page=2)
    search({"tag": "news", "year": 2024}, "old", page=1)
    keys = {
        "one": ch.call_key("article", ("42",)),
        "num": ch.call_key("article", (42,)),
        "dec": ch.call_key("article", (Decimal("42"),)),
        "two": ch.call_key("search", ("news", 1)),
        "obj": ch.call_key("q", ({"b": 1, "a": [2, {"d": 1, "c": 2}]},)),
        "none": ch.call_key("articles:list", ()),
        "long": ch.call_key("p", ({"text": "x" * 500},)),
    }
    return {"same": n_same, "total": len(loads), "keys": keys}

def scenario_dynamodb_types():
    loads = []
    @ch.cache_decorator("article")
    def get_article(article_id):
        loads.append(article_id)
        return {"article_id": article_id, "views": Decimal("12"), "score": Decimal("4.5"), "tags": {"b", "a"}, "raw": b"hi"}
    miss = get_article("9")
    hit = get_article("9")
    return {"miss": miss, "hit": hit, "loads": len(loads), "stored": ch.redis_client.get(ch.redis_key("article:9"))}

def scenario_threads():
    loads = []
    @ch.cache_decorator("hot")
    def hot(x):
        loads.append(x)
        time.sleep(0.2)
        return {"hot": x}
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(lambda _: hot("1"), range(50)))
    return {"loads": len(loads), "distinct": len({json.dumps(r) for r in results})}

def scenario_stale_decorator():
    db = {"v": "v1"}
    gate = threading.Event()
    loading = threading.Event()
    @ch.cache_decorator("article")
    def get_article(article_id):
        seen = db["v"]
        loading.set()
        gate.wait(5)
        return {"v": seen}
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("slow", get_article("7")))
    t.start()
    # The update lands while the slow reader holds what it read (not after a sleep a loaded
    # machine can outlast before the reader even reads).
    loading.wait(5)
    db["v"] = "v2"
    ch.cache_delete("article:7")
    gate.set()
    t.join()
    after_race = ch.cache_get("article:7")
    fresh = get_article("7")
    return {"slow": result["slow"], "after": after_race, "fresh": fresh, "rejected": metric("CacheStaleWriteRejected")}

def scenario_stale_runbook_pattern():
    # The runbook's list_articles: cache_get -> miss -> scan -> cache_set, with an update
    # (cache_delete) landing between the scan and the cache_set.
    assert ch.cache_get("articles:list") is None
    scanned = ["old"]
    ch.cache_delete("articles:list")
    stored = ch.cache_set("articles:list", scanned, ttl=1800)
    after_race = ch.cache_get("articles:list")
    ch.cache_set("articles:list", ["new"], ttl=1800)
    return {"stored": stored, "after": after_race, "later": ch.cache_get("articles:list")}

def scenario_corrupt():
    ch.redis_client.set(ch.redis_key("article:5"), '{"title": "trunc')
    got = ch.cache_get("article:5")
    exists = ch.redis_client.exists(ch.redis_key("article:5"))
    ch.redis_client.set(ch.redis_key("article:6"), "garbage")
    loaded = ch.cache_get_or_load("article:6", lambda: {"title": "ok"})
    return {"got": got, "exists": exists, "loaded": loaded, "stored": ch.redis_client.get(ch.redis_key("article:6")), "corrupt": metric("CacheCorrupt")}

def scenario_oversize():
    loads = []
    def big():
        loads.append(1)
        return "x" * 2000
    a = ch.cache_get_or_load("big", big)
    b = ch.cache_get_or_load("big", big)
    stored = ch.cache_set("big", "x" * 2000)
    return {"len": [len(a), len(b)], "loads": len(loads), "exists": ch.redis_client.exists(ch.redis_key("big")), "stored": stored, "skip": metric("CacheSkip")}

def scenario_emf():
    ch.cache_get_or_load("emf", lambda: 1)
    ch.cache_get_or_load("emf", lambda: 1)
    @ch.cache_handler
    def handler(event, context):
        for i in event["ids"]:
            ch.cache_get_or_load("h:%s" % i, lambda: i)
        return len(event["ids"])
    before = len(LINES)
    handler({"ids": ["1", "2", "1"]}, None)
    return {"lines": [json.loads(l) for l in LINES], "handler_lines": len(LINES) - before}

def scenario_outage():
    # Parent stops or pauses Redis between the phases.
    loads = []
    def source():
        loads.append(1)
        return "from-dynamodb"
    ch.cache_get_or_load("down", source)
    ch.cache_get_or_load("down", source)
    out({"phase": "warm", "loads": len(loads)})
    wait_for("down")
    timings, values = [], []
    for i in range(10):
        t0 = time.perf_counter()
        values.append(ch.cache_get_or_load("down:%d" % (i % 3), source))
        timings.append((time.perf_counter() - t0) * 1000)
        if i == 5:
            time.sleep(0.45)  # let the breaker half-open: the probe must be bounded too
    out({"phase": "down", "timings": timings, "values": values, "breaker": ch.breaker_state(),
         "errors": metric("CacheError"), "bypass": metric("CacheBypass"), "logs": LOGS})
    wait_for("up")
    hit = False
    for _ in range(150):
        before = len(loads)
        ch.cache_get_or_load("down", source)
        ch.cache_get_or_load("down", source)
        if len(loads) - before <= 1:
            hit = True
            break
        time.sleep(0.1)
    before = len(loads)
    ch.cache_get_or_load("down", source)
    out({"phase": "up", "hit": hit, "breaker": ch.breaker_state(), "reloaded": len(loads) - before})

def scenario_stampede_child():
    ch.cache_get("warm-up")
    out({"ready": True})
    wait_for("go")
    loaded = []
    def slow():
        loaded.append(1)
        time.sleep(0.3)
        return "loaded"
    value = ch.cache_get_or_load("stampede:py", slow)
    out({"loaded": bool(loaded), "value": value})

def scenario_parity():
    return {"scripts": ch.SCRIPTS, "not_found": ch.NOT_FOUND_MARKER}

def scenario_read_node_entry():
    return {"article": ch.cache_get("shared:article:1"), "missing": ch.cache_get("shared:article:2")}

def scenario_invalidate_for_node():
    return {"ok": ch.cache_invalidate("shared:article:1")}

if __name__ == "__main__":
    name = sys.argv[1]
    result = globals()["scenario_" + name]()
    if result is not None:
        out(result)
`

let redis: RedisServer
let work: string
let pythonPath: string
let driver: string

before(async () => {
  redis = await startRedis()
  work = mkdtempSync(join(tmpdir(), 'cct-py-'))
  const {zipPath} = await buildLayer(join(work, 'dist'))
  extractLayer(zipPath, join(work, 'opt'))
  pythonPath = join(work, 'opt', 'python')
  driver = join(work, 'driver.py')
  writeFileSync(driver, DRIVER)
})

after(async () => {
  await redis.close()
  rmSync(work, {recursive: true, force: true})
})

beforeEach(async () => {
  await redis.command('FLUSHALL')
})

interface PythonRun {
  next(): Promise<any>
  send(line: string): void
  done(): Promise<number>
}

function python(scenario: string, env: Record<string, string> = {}): PythonRun {
  const proc = spawn('python3', ['-u', driver, scenario], {
    // Only the layer on the path: the helper and redis-py exactly as bundled.
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      PYTHONPATH: pythonPath,
      PYTHONDONTWRITEBYTECODE: '1',
      ...redis.env,
      ...env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stderr = ''
  proc.stderr!.on('data', (chunk) => (stderr += chunk))
  const exited = new Promise<number>((resolve) => proc.once('exit', (code) => resolve(code ?? -1)))
  const lines = createInterface({input: proc.stdout!})[Symbol.asyncIterator]()
  return {
    async next() {
      const line = await lines.next()
      if (line.done) {
        await exited
        throw new Error(`python ${scenario} ended without output:\n${stderr}`)
      }
      return JSON.parse(line.value)
    },
    send(line) {
      proc.stdin!.write(`${line}\n`)
    },
    async done() {
      const code = await exited
      assert.equal(code, 0, stderr)
      return code
    },
  }
}

async function run(scenario: string, env: Record<string, string> = {}): Promise<any> {
  const proc = python(scenario, env)
  const result = await proc.next()
  await proc.done()
  return result
}

describe('python cache_helper: semantics', () => {
  it('caches falsy values as values; a miss is only "no entry"', async () => {
    const r = await run('semantics')
    assert.deepEqual(r.first, [0, '', false, []])
    assert.deepEqual(r.second, [0, '', false, []])
    assert.deepEqual(r.got, [0, '', false, []])
    assert.equal(r.loads, 4)
    assert.equal(r.absent, null)
  })

  it('caches not-found briefly', async () => {
    const r = await run('not_found', {CACHE_TTL_NOT_FOUND: '60'})
    assert.equal(r.a, null)
    assert.equal(r.b, null)
    assert.equal(r.loads, 1)
    assert.equal(r.get, null)
    assert.ok(r.pttl > 0 && r.pttl <= 66_000, `not-found TTL ${r.pttl}`)
  })

  it('uses presets, env overrides and explicit TTLs, with jitter', async () => {
    const r = await run('ttls', {CACHE_TTL_VIDEOS: '120'})
    const within = (ms: number, s: number) => ms > s * 900 - 1000 && ms <= s * 1100
    assert.ok(within(r.pttl['video:1'], 120), `video ${r.pttl['video:1']}`)
    assert.ok(within(r.pttl['user:1'], 900), `user ${r.pttl['user:1']}`)
    assert.ok(within(r.pttl['article:1'], 3600), `article ${r.pttl['article:1']}`)
    assert.ok(within(r.pttl.plain, 3600), `plain ${r.pttl.plain}`)
    assert.ok(within(r.pttl.explicit, 10), `explicit ${r.pttl.explicit}`)
    assert.equal(r.ttl_for_videos, 120)
    const jitter = await run('jitter')
    const ttls = jitter.pttl as number[]
    assert.ok(
      Math.min(...ttls) >= 895_000 && Math.max(...ttls) <= 1_100_000,
      `${Math.min(...ttls)}..${Math.max(...ttls)}`,
    )
    assert.ok(new Set(ttls.map((t) => Math.round(t / 1000))).size > 50, 'TTLs are not spread')
  })

  it('keys decorated calls by all arguments, like the Node helper', async () => {
    const r = await run('keys')
    assert.equal(r.same, 1)
    assert.equal(r.total, 3)
    assert.equal(r.keys.one, 'article:42')
    assert.equal(r.keys.num, 'article:42')
    assert.equal(r.keys.dec, 'article:42')
    assert.equal(r.keys.two, callKey('search', ['news', 1]))
    assert.equal(r.keys.obj, callKey('q', [{b: 1, a: [2, {d: 1, c: 2}]}]))
    assert.equal(r.keys.none, 'articles:list')
    assert.equal(r.keys.long, callKey('p', [{text: 'x'.repeat(500)}]))
  })

  it('serializes DynamoDB Decimal, sets and binary, and returns one shape on miss and hit', async () => {
    const r = await run('dynamodb_types')
    const expected = {article_id: '9', views: 12, score: 4.5, tags: ['a', 'b'], raw: 'aGk='}
    assert.deepEqual(r.miss, expected)
    assert.deepEqual(r.hit, expected)
    assert.equal(r.loads, 1)
    assert.deepEqual(JSON.parse(r.stored), expected)
  })

  it('treats a corrupt entry as a miss and removes it', async () => {
    const r = await run('corrupt')
    assert.equal(r.got, null)
    assert.equal(r.exists, 0)
    assert.deepEqual(r.loaded, {title: 'ok'})
    assert.equal(r.stored, '{"title":"ok"}')
    assert.equal(r.corrupt, 2)
  })

  it('does not cache oversize values', async () => {
    const r = await run('oversize', {CACHE_MAX_VALUE_BYTES: '1000'})
    assert.deepEqual(r.len, [2000, 2000])
    assert.equal(r.loads, 2)
    assert.equal(r.exists, 0)
    assert.equal(r.stored, false)
    assert.equal(r.skip, 3)
  })

  it('writes EMF lines, one per invocation inside cache_handler', async () => {
    const r = await run('emf', {AWS_LAMBDA_FUNCTION_NAME: 'articles-api'})
    const [miss, hit] = r.lines
    const directive = miss._aws.CloudWatchMetrics[0]
    assert.equal(directive.Namespace, 'cct/cache')
    assert.deepEqual(directive.Dimensions, [['FunctionName']])
    assert.equal(miss.FunctionName, 'articles-api')
    for (const {Name} of directive.Metrics) assert.ok(Name in miss, Name)
    assert.equal(miss.CacheMiss, 1)
    assert.equal(miss.LoadTime.length, 1)
    assert.equal(hit.CacheHit, 1)
    assert.equal(r.handler_lines, 1)
    const last = r.lines.at(-1)
    assert.equal(last.CacheMiss, 2)
    assert.equal(last.CacheHit, 1)
  })
})

describe('python cache_helper: concurrency and races', () => {
  it('50 threads missing one key load it once', async () => {
    const r = await run('threads')
    assert.equal(r.loads, 1)
    assert.equal(r.distinct, 1)
  })

  it('4 processes missing one key load it once', async () => {
    const procs = Array.from({length: 4}, () => python('stampede_child', {CACHE_LOCK_WAIT_MS: '5000'}))
    for (const proc of procs) assert.deepEqual(await proc.next(), {ready: true})
    for (const proc of procs) proc.send('go')
    const results = await Promise.all(procs.map((proc) => proc.next()))
    await Promise.all(procs.map((proc) => proc.done()))
    assert.equal(results.filter((r) => r.loaded).length, 1, JSON.stringify(results))
    assert.ok(results.every((r) => r.value === 'loaded'))
  })

  it('a slow reader cannot write back a value invalidated during its load (decorator)', async () => {
    const r = await run('stale_decorator')
    assert.deepEqual(r.slow, {v: 'v1'})
    assert.equal(r.after, null)
    assert.deepEqual(r.fresh, {v: 'v2'})
    assert.equal(r.rejected, 1)
  })

  it("nor in the runbook's own cache_get -> load -> cache_set pattern", async () => {
    const r = await run('stale_runbook_pattern')
    assert.equal(r.stored, false)
    assert.equal(r.after, null)
    assert.deepEqual(r.later, ['new'])
  })
})

describe('python cache_helper: Redis failures', () => {
  for (const mode of ['stopped', 'paused'] as const) {
    it(`answers from the loader while Redis is ${mode}, each call bounded by the timeouts; resumes after`, async () => {
      const commandTimeoutMs = 200
      const connectTimeoutMs = 300
      const proc = python('outage', {
        CACHE_COMMAND_TIMEOUT_MS: String(commandTimeoutMs),
        CACHE_CONNECT_TIMEOUT_MS: String(connectTimeoutMs),
        CACHE_BREAKER_THRESHOLD: '3',
        CACHE_BREAKER_COOLDOWN_MS: '400',
      })
      const warm = await proc.next()
      assert.equal(warm.loads, 1)
      if (mode === 'stopped') await redis.stop()
      else redis.pause()
      proc.send('down')
      const down = await proc.next()
      if (mode === 'stopped') await redis.start()
      else redis.resume()
      proc.send('up')
      const up = await proc.next()
      await proc.done()

      assert.ok(down.values.every((v: string) => v === 'from-dynamodb'))
      const bound = connectTimeoutMs + commandTimeoutMs + 250
      for (const took of down.timings as number[])
        assert.ok(took < bound, `a call took ${took.toFixed(0)} ms (bound ${bound} ms)`)
      assert.equal(down.breaker, 'open')
      // Refused connects count up to the threshold; a command timeout (paused) opens it at once.
      if (mode === 'stopped') assert.ok(down.errors >= 3)
      else assert.equal(down.errors, 1, 'one command timeout, then the breaker skips Redis')
      assert.ok(down.bypass >= 1)
      assert.ok(down.logs.some((l: string) => l.includes('Redis unavailable')))
      assert.equal(up.hit, true, 'hits did not resume')
      assert.equal(up.breaker, 'closed')
      assert.equal(up.reloaded, 0)
    })
  }
})

describe('python and node helpers share one cache', () => {
  it('run the same Lua scripts and not-found marker', async () => {
    const r = await run('parity')
    assert.deepEqual(r.scripts, {
      MISS: MISS.lua,
      WRITE_IF_CURRENT: WRITE_IF_CURRENT.lua,
      INVALIDATE: INVALIDATE.lua,
      DELETE_IF_EQUALS: DELETE_IF_EQUALS.lua,
      RENEW_LOCK: RENEW_LOCK.lua,
    })
    assert.equal(r.not_found, '!not-found')
  })

  it("read each other's entries and invalidations", async () => {
    const node = createCache({env: {...redis.env, CACHE_METRICS: 'off'}, log: () => {}})
    try {
      await node.getOrLoad('shared:article:1', async () => ({title: 'from node'}))
      const read = await run('read_node_entry')
      assert.deepEqual(read.article, {title: 'from node'})
      assert.equal(read.missing, null)
      await run('invalidate_for_node')
      assert.equal(await node.get('shared:article:1'), undefined)
    } finally {
      await node.close()
    }
  })
})
