/**
 * What Lambda and ElastiCache do to a cache client, done to the helpers exactly as the
 * layer ships them (built zip, `cct-cache` resolved through NODE_PATH=/opt/nodejs/
 * node_modules, cache_helper.py + redis-py on PYTHONPATH=/opt/python), each in its own
 * process (a "container"), against real redis-servers on loopback:
 *
 * - a container frozen (SIGSTOP) while the network drops its socket silently;
 * - a failover: the primary becomes a replica (REPLICAOF swap) and the endpoint name
 *   moves to the new primary (a TCP proxy plays the endpoint's DNS name);
 * - a hung TLS endpoint (redis-server --tls-port, SIGSTOPped), and a TLS certificate the
 *   container does not trust;
 * - a loader slower than the load lock's TTL, across Node and Python containers;
 * - the value shapes, metrics lines, Python cache_get and Decimal/date behaviour, and a
 *   process that must exit after close().
 *
 * Timeouts are set short through the helpers' env vars where a bound is not the point.
 */
import assert from 'node:assert/strict'
import {execFileSync, spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {createConnection, createServer, type Server, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createInterface} from 'node:readline'
import {after, before, describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'
import {connect as tlsConnect} from 'node:tls'

import {buildLayer} from '../../scripts/layer/build.js'
import {extractLayer} from '../../scripts/layer/extract.js'
import {freePort, startRedis, type RedisServer} from '../support/redis.js'

// --- the two "containers": one driver per runtime, commands as JSON lines on stdin -------

const NODE_DRIVER = String.raw`
const {getCache} = require('cct-cache')
const cache = getCache() // module scope, as in a function
const {performance} = require('node:perf_hooks')
const out = (o) => process.stdout.write('RESULT ' + JSON.stringify(o) + '\n')
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const ops = {
  async load({key, value, delayMs = 0}) {
    let loaded = false
    const t0 = performance.now()
    // No timer at all for an instant loader: setTimeout(0) alone costs a millisecond.
    const got = await cache.getOrLoad(key, async () => { loaded = true; if (delayMs > 0) await sleep(delayMs); return value })
    return {value: got, loaded, ms: performance.now() - t0}
  },
  async invalidate({key}) {
    const t0 = performance.now()
    const ok = await cache.delete(key)
    return {ok, ms: performance.now() - t0}
  },
  async breaker() { return {state: cache.breakerState} },
  async shape({key}) {
    const loader = async () => ({when: new Date(0), tags: new Map([['a', 1]]), gone: undefined, n: 1})
    const miss = await cache.getOrLoad(key, loader)
    const hit = await cache.getOrLoad(key, loader)
    return {miss, hit}
  },
  async invocation({keys}) {
    // An unwrapped handler, as the runbook writes them: several cache calls in a row.
    for (const key of keys) await cache.getOrLoad(key, async () => key)
    return {}
  },
  async close() { await cache.close(); return {} },
}
require('node:readline').createInterface({input: process.stdin}).on('line', async (line) => {
  const cmd = JSON.parse(line)
  out(await ops[cmd.op](cmd))
})
out({ready: true})
`

const PYTHON_DRIVER = String.raw`
import datetime, json, sys, threading, time
from decimal import Decimal
import cache_helper as ch

def out(obj):
    sys.stdout.write("RESULT " + json.dumps(obj, default=str) + "\n")
    sys.stdout.flush()

def load(cmd):
    loaded = []
    def loader():
        loaded.append(1)
        time.sleep(cmd.get("delayMs", 0) / 1000.0)
        return cmd.get("value")
    t0 = time.perf_counter()
    got = ch.cache_get_or_load(cmd["key"], loader)
    return {"value": got, "loaded": bool(loaded), "ms": (time.perf_counter() - t0) * 1000}

def get(cmd):
    t0 = time.perf_counter()
    got = ch.cache_get(cmd["key"])
    return {"value": got, "ms": (time.perf_counter() - t0) * 1000}

def invalidate(cmd):
    t0 = time.perf_counter()
    ok = ch.cache_delete(cmd["key"])
    return {"ok": ok, "ms": (time.perf_counter() - t0) * 1000}

def breaker(cmd):
    return {"state": ch.breaker_state()}

def types(cmd):
    item = {
        "big": Decimal("12345678901234567.89"),
        "price": Decimal("19.99"),
        "tenth": Decimal("0.1"),
        "views": Decimal("12"),
        "when": datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.timezone.utc),
        "day": datetime.date(2024, 5, 1),
    }
    miss = ch.cache_get_or_load(cmd["key"], lambda: item)
    hit = ch.cache_get_or_load(cmd["key"], lambda: item)
    def described(v):
        return {k: [type(x).__name__, str(x)] for k, x in v.items()}
    return {"miss": described(miss), "hit": described(hit), "equal": miss == hit,
            "exact": hit["big"] == item["big"] and Decimal(repr(hit["price"])) == item["price"],
            "dumps": json.dumps(hit["price"]), "stored": ch.redis_client.get(ch.redis_key(cmd["key"]))}

def close(cmd):
    ch.cache_close()
    return {}

out({"ready": True})
for line in sys.stdin:
    cmd = json.loads(line)
    out(globals()[cmd["op"]](cmd))
`

// --- fixtures ------------------------------------------------------------------------

let work: string
let nodeModules: string
let pythonPath: string
let nodeDriver: string
let pythonDriver: string
let tlsDir: string

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'cct-resilience-'))
  const {zipPath} = await buildLayer(join(work, 'dist'))
  extractLayer(zipPath, join(work, 'opt'))
  nodeModules = join(work, 'opt', 'nodejs', 'node_modules')
  pythonPath = join(work, 'opt', 'python')
  nodeDriver = join(work, 'driver.cjs')
  pythonDriver = join(work, 'driver.py')
  writeFileSync(nodeDriver, NODE_DRIVER)
  writeFileSync(pythonDriver, PYTHON_DRIVER)
  tlsDir = join(work, 'tls')
  makeCertificates(tlsDir)
})

after(() => {
  rmSync(work, {recursive: true, force: true})
})

type Runtime = 'node' | 'python'

interface Container {
  readonly proc: ChildProcess
  /** Send one command, get its result. */
  run(cmd: Record<string, unknown>): Promise<any>
  /** Everything written to stderr (the helpers' log lines). */
  stderr(): string
  /** Metrics lines (EMF JSON) written to stdout so far. */
  emf(): any[]
  freeze(): void
  thaw(): void
  /** Resolves with the exit code once the process has ended by itself. */
  exited: Promise<number | null>
  kill(): void
}

async function container(runtime: Runtime, env: Record<string, string>): Promise<Container> {
  const base = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    AWS_LAMBDA_FUNCTION_NAME: 'articles-api',
  }
  const proc =
    runtime === 'node'
      ? spawn(process.execPath, [nodeDriver], {
          env: {...base, NODE_PATH: nodeModules, ...env},
          stdio: ['pipe', 'pipe', 'pipe'],
        })
      : spawn('python3', ['-u', pythonDriver], {
          env: {...base, PYTHONPATH: pythonPath, PYTHONDONTWRITEBYTECODE: '1', ...env},
          stdio: ['pipe', 'pipe', 'pipe'],
        })
  let stderr = ''
  const emf: any[] = []
  proc.stderr!.on('data', (chunk) => (stderr += chunk))
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
  const results: string[] = []
  const waiting: Array<(line: string) => void> = []
  createInterface({input: proc.stdout!}).on('line', (line) => {
    if (line.startsWith('{')) emf.push(JSON.parse(line))
    if (!line.startsWith('RESULT ')) return
    const next = waiting.shift()
    if (next) next(line.slice(7))
    else results.push(line.slice(7))
  })
  const nextResult = () =>
    new Promise<any>((resolve, reject) => {
      const take = (line: string) => resolve(JSON.parse(line))
      const queued = results.shift()
      if (queued !== undefined) return take(queued)
      waiting.push(take)
      void exited.then(() => reject(new Error(`${runtime} container ended:\n${stderr}`)))
    })
  const ready = await nextResult()
  assert.deepEqual(ready, {ready: true})
  return {
    proc,
    run(cmd) {
      proc.stdin!.write(`${JSON.stringify(cmd)}\n`)
      return nextResult()
    },
    stderr: () => stderr,
    emf: () => emf,
    freeze: () => proc.kill('SIGSTOP'),
    thaw: () => proc.kill('SIGCONT'),
    exited,
    kill: () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
    },
  }
}

/** Kill every container a test started, whatever happened. */
function containers(): {start: typeof container; stopAll(): void} {
  const started: Container[] = []
  return {
    async start(runtime, env) {
      const c = await container(runtime, env)
      started.push(c)
      return c
    },
    stopAll() {
      for (const c of started) c.kill()
    },
  }
}

/**
 * A TCP endpoint in front of Redis, standing for the ElastiCache endpoint's DNS name:
 * retarget() moves new connections elsewhere (a failover's DNS change), blackhole()
 * silently stops every existing connection (a NAT or ENI that dropped its state while
 * the container was frozen: no FIN, no RST, packets just vanish).
 */
interface Endpoint {
  readonly port: number
  retarget(port: number): void
  blackhole(): void
  close(): Promise<void>
}

async function endpoint(targetPort: number): Promise<Endpoint> {
  let target = targetPort
  const pairs = new Set<{client: Socket; upstream: Socket; dead: boolean}>()
  const server: Server = createServer((client) => {
    const upstream = createConnection({host: '127.0.0.1', port: target})
    const pair = {client, upstream, dead: false}
    pairs.add(pair)
    client.on('data', (d) => pair.dead || upstream.write(d))
    upstream.on('data', (d) => pair.dead || client.write(d))
    const end = () => {
      pairs.delete(pair)
      if (pair.dead) return // a dead path tells nobody anything
      client.destroy()
      upstream.destroy()
    }
    client.on('close', end).on('error', end)
    upstream.on('close', end).on('error', end)
  })
  const port = await freePort()
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return {
    port,
    retarget(port) {
      target = port
    },
    blackhole() {
      for (const pair of pairs) pair.dead = true
    },
    async close() {
      for (const {client, upstream} of pairs) {
        client.destroy()
        upstream.destroy()
      }
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

function makeCertificates(dir: string): void {
  execFileSync('mkdir', ['-p', dir])
  const ssl = (...args: string[]) => execFileSync('openssl', args, {cwd: dir, stdio: 'pipe'})
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  ssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=cct test CA')
  ssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost')
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
  ssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '2',
    '-extfile',
    'san.ext',
  )
}

/** redis-server speaking only TLS, with the throwaway certificate. */
async function startTlsRedis(): Promise<{port: number; pause(): void; resume(): void; close(): Promise<void>}> {
  const port = await freePort()
  const proc = spawn(
    process.env.REDIS_SERVER_BIN ?? 'redis-server',
    [
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--tls-cert-file',
      join(tlsDir, 'server.crt'),
      '--tls-key-file',
      join(tlsDir, 'server.key'),
      '--tls-ca-cert-file',
      join(tlsDir, 'ca.crt'),
      '--tls-auth-clients',
      'no',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      tlsDir,
      '--loglevel',
      'warning',
    ],
    {stdio: 'ignore'},
  )
  const killOnExit = () => proc.kill('SIGKILL')
  process.once('exit', killOnExit)
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = tlsConnect({host: '127.0.0.1', port, rejectUnauthorized: false}, () => {
        socket.end()
        resolve(true)
      })
      socket.on('error', () => resolve(false))
    })
    if (up) break
    if (i > 200) throw new Error('TLS redis-server did not start')
    await sleep(25)
  }
  return {
    port,
    pause: () => proc.kill('SIGSTOP'),
    resume: () => proc.kill('SIGCONT'),
    async close() {
      proc.kill('SIGCONT')
      const gone = new Promise((resolve) => proc.once('exit', resolve))
      proc.kill('SIGKILL')
      await gone
      process.removeListener('exit', killOnExit)
    },
  }
}

const RUNTIMES: Runtime[] = ['node', 'python']

// --- the tests -----------------------------------------------------------------------

describe('a container frozen while its socket dies silently', () => {
  let redis: RedisServer
  before(async () => {
    redis = await startRedis()
  })
  after(async () => {
    await redis.close()
  })

  for (const runtime of RUNTIMES) {
    it(`${runtime}: the first request after the thaw is a hit, within 0.5 s`, async () => {
      const edge = await endpoint(redis.port)
      const pool = containers()
      try {
        // The idle gap that counts as "frozen" is shortened from minutes to 1 s.
        const fn = await pool.start(runtime, {
          REDIS_HOST: '127.0.0.1',
          REDIS_PORT: String(edge.port),
          CACHE_IDLE_RECONNECT_MS: '1000',
        })
        const key = `frozen:${runtime}`
        assert.equal((await fn.run({op: 'load', key, value: 'v1'})).loaded, true)
        fn.freeze()
        edge.blackhole() // while frozen, the path of its only connection disappears
        await sleep(1300)
        fn.thaw()
        const first = await fn.run({op: 'load', key, value: 'reloaded'})
        assert.equal(first.value, 'v1')
        assert.equal(first.loaded, false, 'the first request after the thaw was not a hit')
        assert.ok(first.ms < 500, `the first request after the thaw took ${first.ms.toFixed(0)} ms`)
        const second = await fn.run({op: 'load', key, value: 'reloaded'})
        assert.equal(second.loaded, false)
      } finally {
        pool.stopAll()
        await edge.close()
      }
    })
  }

  it('node: without the idle check, one command timeout replaces the dead socket', async () => {
    const edge = await endpoint(redis.port)
    const pool = containers()
    try {
      const fn = await pool.start('node', {
        REDIS_HOST: '127.0.0.1',
        REDIS_PORT: String(edge.port),
        CACHE_IDLE_RECONNECT_MS: '0',
        CACHE_COMMAND_TIMEOUT_MS: '150',
      })
      await fn.run({op: 'load', key: 'dead', value: 'v1'})
      edge.blackhole()
      const timedOut = await fn.run({op: 'load', key: 'dead', value: 'fallback'})
      assert.equal(timedOut.value, 'fallback') // answered from the source, not an error
      // ioredis alone kept the dead socket: every later command timed out, 0 hits in 30.
      // The timeout opens the breaker and probes on a new connection at once; requests
      // skip Redis (none waits, none times out) until the probe closes it a few ms later.
      const next: Array<{loaded: boolean; ms: number}> = []
      const began = performance.now()
      while (performance.now() - began < 200 && !next.some((r) => r.loaded === false)) {
        next.push(await fn.run({op: 'load', key: 'dead', value: 'x'}))
        await sleep(5)
      }
      assert.ok(
        next.some((r) => r.loaded === false),
        `no hit within 200 ms of the timeout: ${JSON.stringify(next)}`,
      )
      assert.ok(
        next.every((r) => r.ms < 50),
        `a request waited on Redis: ${JSON.stringify(next)}`,
      )
    } finally {
      pool.stopAll()
      await edge.close()
    }
  })
})

describe('failover: the primary becomes a replica and the endpoint moves', () => {
  for (const runtime of RUNTIMES) {
    it(`${runtime}: the invalidation lands on the new primary and hits resume within 5 s`, async () => {
      const a = await startRedis()
      const b = await startRedis()
      const edge = await endpoint(a.port)
      const pool = containers()
      try {
        // Redis waits 5 s for more replicas before a diskless sync by default: not here.
        for (const server of [a, b]) await server.command('CONFIG', 'SET', 'repl-diskless-sync-delay', '0')
        await b.command('REPLICAOF', '127.0.0.1', a.port)
        const fn = await pool.start(runtime, {REDIS_HOST: '127.0.0.1', REDIS_PORT: String(edge.port)})
        const key = `article:${runtime}`
        await fn.run({op: 'load', key, value: 'v1'})
        await waitFor(async () => (await b.command('EXISTS', `cct:v1:{${key}}`)) === 1)

        // ElastiCache promotes the replica and points the primary endpoint at it.
        await b.command('REPLICAOF', 'NO', 'ONE')
        await a.command('REPLICAOF', '127.0.0.1', b.port)
        edge.retarget(b.port)

        // An update's invalidation, sent over the connection that still reaches the old primary.
        const invalidated = await fn.run({op: 'invalidate', key})
        assert.equal(invalidated.ok, true, 'the invalidation was not confirmed')
        assert.equal(await b.command('EXISTS', `cct:v1:{${key}}`), 0, 'the new primary still holds the old value')

        const started = Date.now()
        const reload = await fn.run({op: 'load', key, value: 'v2'})
        assert.deepEqual([reload.value, reload.loaded], ['v2', true])
        let hit = false
        while (!hit && Date.now() - started < 5000) {
          hit = (await fn.run({op: 'load', key, value: 'v3'})).loaded === false
          if (!hit) await sleep(100)
        }
        assert.ok(hit, 'no hits within 5 s of the failover')
        assert.equal(await b.command('GET', `cct:v1:{${key}}`), '"v2"')
        assert.equal((await fn.run({op: 'breaker'})).state, 'closed')
      } finally {
        pool.stopAll()
        await edge.close()
        await a.close()
        await b.close()
      }
    })
  }
})

describe('TLS (cct default) to a hung or untrusted endpoint', () => {
  let tls: Awaited<ReturnType<typeof startTlsRedis>>
  before(async () => {
    tls = await startTlsRedis()
  })
  after(async () => {
    await tls.close()
  })

  const tlsEnv = () => ({
    REDIS_HOST: '127.0.0.1',
    REDIS_PORT: String(tls.port),
    REDIS_TLS: 'true',
    NODE_EXTRA_CA_CERTS: join(tlsDir, 'ca.crt'),
    SSL_CERT_FILE: join(tlsDir, 'ca.crt'),
  })

  for (const runtime of RUNTIMES) {
    it(`${runtime}: caches over TLS; a hung endpoint costs at most 0.5 s once, then under 1 ms`, async () => {
      const pool = containers()
      try {
        const healthy = await pool.start(runtime, tlsEnv())
        // A new container's first request also pays what a cold start costs with a healthy
        // cache (the client, the TLS context, the handshake): measured here, in this run.
        const coldStart = (await healthy.run({op: 'load', key: `tls:${runtime}`, value: 'v'})).ms
        assert.equal(
          (await healthy.run({op: 'load', key: `tls:${runtime}`, value: 'x'})).loaded,
          false,
          'no hit over TLS',
        )

        tls.pause()
        try {
          const fn = await pool.start(runtime, tlsEnv()) // a new container, default timeouts
          const timings: number[] = []
          for (let i = 0; i < 20; i++) {
            const r = await fn.run({op: 'load', key: `hung:${i}`, value: i})
            assert.equal(r.value, i) // always answered, from the source
            timings.push(r.ms)
          }
          assert.ok(
            timings[0]! - coldStart <= 500,
            `the first request took ${timings[0]!.toFixed(0)} ms, ${(timings[0]! - coldStart).toFixed(0)} ms more than a healthy cold start`,
          )
          const later = timings.slice(1)
          // Skipping Redis costs well under 1 ms on a quiet machine (bench/cache); under CI
          // load a few ms of scheduling remain. Any Redis wait would cost a timeout (>= 100 ms).
          assert.ok(
            later.every((ms) => ms < 50),
            `later requests should skip Redis: ${later.map((ms) => ms.toFixed(2)).join(', ')} ms`,
          )
          assert.match(fn.stderr(), /Redis unavailable \(.*(timed out|Timeout).*\)/)
        } finally {
          tls.resume()
        }
      } finally {
        pool.stopAll()
      }
    })

    it(`${runtime}: an untrusted certificate is what the log names`, async () => {
      const pool = containers()
      try {
        const {NODE_EXTRA_CA_CERTS: _n, SSL_CERT_FILE: _s, ...untrusting} = tlsEnv()
        const fn = await pool.start(runtime, {...untrusting, CACHE_BREAKER_THRESHOLD: '1'})
        assert.equal((await fn.run({op: 'load', key: 'cert', value: 'v'})).value, 'v')
        await waitFor(async () => /Redis unavailable/.test(fn.stderr()))
        assert.match(fn.stderr(), /Redis unavailable \(.*certificate/i)
        assert.doesNotMatch(fn.stderr(), /Stream isn't writeable|Connection is closed/)
      } finally {
        pool.stopAll()
      }
    })
  }
})

describe('slow loaders and other containers', () => {
  let redis: RedisServer
  before(async () => {
    redis = await startRedis()
  })
  after(async () => {
    await redis.close()
  })

  it('a loader 4x slower than the lock TTL still loads once across Node and Python containers', async () => {
    const pool = containers()
    try {
      // The lock lives 300 ms unless renewed; the loader takes 1.2 s.
      const env = {...redis.env, CACHE_LOCK_TTL_MS: '300', CACHE_METRICS: 'off'}
      const fns = await Promise.all((['node', 'node', 'python', 'python'] as const).map((r) => pool.start(r, env)))
      const results = await Promise.all(
        fns.map((fn, i) => fn.run({op: 'load', key: 'slow', value: `from ${i}`, delayMs: 1200})),
      )
      assert.equal(results.filter((r) => r.loaded).length, 1, JSON.stringify(results))
      assert.equal(new Set(results.map((r) => r.value)).size, 1, 'containers got different values')
    } finally {
      pool.stopAll()
    }
  })

  it('python: cache_get never takes the load lock, so a caller that never cache_sets blocks nobody', async () => {
    const pool = containers()
    try {
      const env = {...redis.env, CACHE_METRICS: 'off'}
      const first = await pool.start('python', env)
      const other = await pool.start('python', env)
      // The runbook's pattern: cache_get, then the item does not exist (404): no cache_set.
      assert.equal((await first.run({op: 'get', key: 'article:404'})).value, null)
      assert.equal(await redis.command('EXISTS', 'cct:v1:{article:404}:lock'), 0)
      const meanwhile = await other.run({op: 'load', key: 'article:404', value: 'created'})
      assert.equal(meanwhile.loaded, true)
      assert.ok(meanwhile.ms < 1500, `another container waited ${meanwhile.ms.toFixed(0)} ms for a lock`)
    } finally {
      pool.stopAll()
    }
  })
})

describe('values, metrics and the end of a process', () => {
  let redis: RedisServer
  before(async () => {
    redis = await startRedis()
  })
  after(async () => {
    await redis.close()
  })

  it('node: a miss returns what a hit returns (Date as text, Map as object, no undefined fields)', async () => {
    const pool = containers()
    try {
      const fn = await pool.start('node', {...redis.env, CACHE_METRICS: 'off'})
      const {miss, hit} = await fn.run({op: 'shape', key: 'shape'})
      assert.deepEqual(hit, {when: '1970-01-01T00:00:00.000Z', tags: {a: 1}, n: 1})
      assert.deepEqual(miss, hit)
    } finally {
      pool.stopAll()
    }
  })

  it('python: Decimal digits survive exactly, dates are ISO 8601 text, a miss looks like a hit', async () => {
    const pool = containers()
    try {
      const fn = await pool.start('python', {...redis.env, CACHE_METRICS: 'off'})
      const r = await fn.run({op: 'types', key: 'types'})
      assert.deepEqual(r.hit, {
        big: ['Decimal', '12345678901234567.89'],
        price: ['float', '19.99'],
        tenth: ['float', '0.1'],
        views: ['int', '12'],
        when: ['str', '2024-05-01T12:30:00+00:00'],
        day: ['str', '2024-05-01'],
      })
      assert.deepEqual(r.miss, r.hit)
      assert.equal(r.equal, true)
      assert.equal(r.exact, true)
      assert.equal(r.dumps, '19.99') // json.dumps of a cached item prints the table's digits
      assert.match(r.stored, /"big":12345678901234567\.89[,}]/)
    } finally {
      pool.stopAll()
    }
  })

  it('node: default metrics write one line per invocation, even without cache.handler', async () => {
    const pool = containers()
    try {
      const fn = await pool.start('node', redis.env)
      await fn.run({op: 'invocation', keys: ['m:1', 'm:2', 'm:1']})
      await fn.run({op: 'invocation', keys: ['m:1', 'm:2', 'm:3']})
      await fn.run({op: 'breaker'}) // a round trip: the second invocation's line is out
      const lines = fn.emf()
      assert.deepEqual(
        lines.map((l) => [l.CacheHit, l.CacheMiss]),
        [
          [1, 2],
          [2, 1],
        ],
      )
    } finally {
      pool.stopAll()
    }
  })

  for (const runtime of RUNTIMES) {
    it(`${runtime}: after close() the process exits by itself, even with Redis unreachable`, async () => {
      const pool = containers()
      try {
        // Nothing listens on this port: connections are refused, reconnects would go on forever.
        const fn = await pool.start(runtime, {
          REDIS_HOST: '127.0.0.1',
          REDIS_PORT: String(await freePort()),
          CACHE_BREAKER_THRESHOLD: '2',
        })
        for (let i = 0; i < 4; i++) await fn.run({op: 'load', key: 'k', value: i})
        await fn.run({op: 'close'})
        fn.proc.stdin!.end() // the driver has nothing else to do
        const code = await Promise.race([fn.exited, sleep(5000).then(() => 'still running')])
        assert.equal(code, 0)
      } finally {
        pool.stopAll()
      }
    })
  }
})

async function waitFor(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await sleep(25)
  }
}
