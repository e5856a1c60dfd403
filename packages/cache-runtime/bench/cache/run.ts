/**
 * Cache helper benchmark, one command, everything against a local redis-server it starts:
 *
 *   node --import tsx packages/cache-runtime/bench/cache/run.ts [--quick]
 *
 * 1. hit path latency (p50/p99): the layer's bundled helper, default metrics (EMF to
 *    stdout, as users get it), vs raw ioredis GET + JSON.parse
 * 2. throughput at concurrency 1/16/64 vs redis-benchmark GET on the same server
 * 3. loader calls under a 200-way stampede: our helpers vs the runbook's cache_helper.py;
 *    and a 5 s loader (longer than the 3 s load lock) across 4 containers (2 Node, 2 Python)
 * 4. cold init of the bundled module in a fresh node process (median of N): require and
 *    ESM import, with an empty ES module's import as the loader's own cost
 * 5. layer zip size and bundled helper size
 *
 * Ratios are against baselines measured in the same run. Results go to
 * packages/cache-runtime/bench/results/cache-<date>.json and .md with the machine they ran on.
 * Loops are bounded by count; all traffic is on 127.0.0.1.
 */
import {execFile} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import os from 'node:os'
import {dirname, join} from 'node:path'
import {performance} from 'node:perf_hooks'
import {promisify} from 'node:util'

import {Redis} from 'ioredis'

import {PACKAGE_ROOT, buildLayer} from '../../scripts/layer/build.js'
import {extractLayer} from '../../scripts/layer/extract.js'
import {createCache, readConfig} from '../../src/cache/index.js'
import {createRedisClient} from '../../src/cache/client.js'
import {startRedis, type RedisServer} from '../../test/support/redis.js'

const exec = promisify(execFile)
const quick = process.argv.includes('--quick')
const N_LATENCY = quick ? 5_000 : 20_000
const N_THROUGHPUT = quick ? 10_000 : 50_000
const N_INIT = quick ? 7 : 21
const STAMPEDE = 200
const SLOW_LOADER_MS = 5000

// A typical cached article: ~1 KB of JSON.
const ARTICLE = {
  article_id: 'a-0001',
  title: 'ElastiCache in front of DynamoDB',
  author: 'cct',
  tags: ['aws', 'lambda', 'redis', 'dynamodb'],
  views: 12345,
  content: 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(15),
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
const median = (values: number[]) => percentile([...values].sort((a, b) => a - b), 50)
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits

async function main(): Promise<void> {
  const redis = await startRedis()
  const work = mkdtempSync(join(os.tmpdir(), 'cct-bench-'))
  try {
    const machine = await describeMachine()
    log(`machine: ${machine.cpu} x${machine.cores}, ${machine.memoryGiB} GiB, node ${machine.node}, ${machine.redis}`)
    const layer = await buildLayer(join(work, 'layer'))
    extractLayer(layer.zipPath, join(work, 'opt'))

    const bundledDir = join(work, 'opt', 'nodejs', 'node_modules', 'cct-cache')
    const latency = await hitLatency(redis, bundledDir)
    const throughput = await throughputVsRedisBenchmark(redis)
    const stampede = await stampedes(redis, join(work, 'opt', 'python'))
    const slowLoader = await slowLoaderStampede(redis, work)
    const init = await coldInit(bundledDir, work)
    const size = {
      layerZipBytes: layer.manifest.size,
      nodeHelperBytes: layer.manifest.node.helperBytes,
      layerSha256: layer.manifest.sha256,
    }

    const aims = {
      hitPathWithin10PercentOfRawIoredis: latency.ratio.p50 <= 1.1,
      slowLoaderLoadsOnce: slowLoader.loads === 1,
      nodeHelperUnder150KB: size.nodeHelperBytes < 150 * 1000,
      initUnder30ms: init.bundled.medianMs < 30,
    }
    const result = {date: new Date().toISOString(), command: 'node --import tsx packages/cache-runtime/bench/cache/run.ts', quick, machine, latency, throughput, stampede, slowLoader, init, size, aims}
    const day = result.date.slice(0, 10)
    const outDir = join(PACKAGE_ROOT, 'bench/results')
    mkdirSync(outDir, {recursive: true})
    writeFileSync(join(outDir, `cache-${day}.json`), `${JSON.stringify(result, null, 2)}\n`)
    writeFileSync(join(outDir, `cache-${day}.md`), markdown(result))
    log(`\nwrote packages/cache-runtime/bench/results/cache-${day}.json and .md`)
    log(JSON.stringify(aims))
  } finally {
    await redis.close()
    rmSync(work, {recursive: true, force: true})
  }
}

function log(line: string): void {
  process.stdout.write(`${line}\n`)
}

async function describeMachine() {
  const {stdout} = await exec('redis-server', ['--version'])
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: round(os.totalmem() / 2 ** 30),
    node: process.version,
    redis: stdout.trim().split(' ').slice(0, 3).join(' '),
    platform: `${os.platform()} ${os.release()}`,
    // The machine is shared: how busy it was when the run started, to read the numbers by.
    loadAverage1m: round(os.loadavg()[0]!, 2),
  }
}

/** Same Lambda client settings for both sides, so only the helper's own work differs. */
function lambdaClient(redis: RedisServer): Redis {
  return createRedisClient(readConfig(redis.env))
}

async function hitLatency(redis: RedisServer, bundledDir: string) {
  log('\n1. hit path latency (sequential, one connection each, ~1 KB article)')
  const rawClient = lambdaClient(redis)
  await rawClient.connect()
  // The helper as a function gets it: the layer's bundle, settings from env only.
  const bundled = createRequire(import.meta.url)(bundledDir) as typeof import('../../src/cache/index.js')
  const cacheMetricsOff = bundled.createCache({env: {...redis.env, CACHE_METRICS: 'off'}})
  // Default metrics, default sink: EMF lines on this process's stdout (a few show below).
  const cacheEmf = bundled.createCache({env: redis.env})
  const key = 'bench:article'
  const load = async () => ARTICLE
  await cacheEmf.getOrLoad(key, load)
  await cacheMetricsOff.getOrLoad(key, load)
  const rawKey = cacheEmf.redisKey(key)

  const variants: Record<string, () => Promise<unknown>> = {
    raw: async () => JSON.parse((await rawClient.get(rawKey))!),
    helper: () => cacheEmf.getOrLoad(key, load),
    helperMetricsOff: () => cacheMetricsOff.getOrLoad(key, load),
  }
  const samples: Record<string, number[]> = {raw: [], helper: [], helperMetricsOff: []}
  // Interleave blocks so drift (GC, CPU frequency, the other process) hits all sides alike.
  const block = 500
  for (let done = 0; done < N_LATENCY + 2000; done += block) {
    for (const [name, op] of Object.entries(variants)) {
      for (let i = 0; i < block; i++) {
        const started = performance.now()
        await op()
        if (done >= 2000) samples[name]!.push((performance.now() - started) * 1000)
      }
    }
  }
  const stats = Object.fromEntries(
    Object.entries(samples).map(([name, values]) => {
      const sorted = values.sort((a, b) => a - b)
      return [name, {p50Us: round(percentile(sorted, 50)), p99Us: round(percentile(sorted, 99)), n: sorted.length}]
    }),
  ) as Record<'raw' | 'helper' | 'helperMetricsOff', {p50Us: number; p99Us: number; n: number}>
  const ratio = {
    p50: round(stats.helper.p50Us / stats.raw.p50Us, 3),
    p99: round(stats.helper.p99Us / stats.raw.p99Us, 3),
    p50MetricsOff: round(stats.helperMetricsOff.p50Us / stats.raw.p50Us, 3),
  }
  log('')
  for (const [name, s] of Object.entries(stats)) log(`   ${name.padEnd(17)} p50 ${s.p50Us} us  p99 ${s.p99Us} us`)
  log(`   helper/raw: p50 x${ratio.p50}, p99 x${ratio.p99} (metrics off: p50 x${ratio.p50MetricsOff})`)
  rawClient.disconnect()
  await cacheEmf.close()
  await cacheMetricsOff.close()
  return {...stats, ratio}
}

async function throughputVsRedisBenchmark(redis: RedisServer) {
  log('\n2. hit throughput (ops/s) vs redis-benchmark GET, same server, ~1 KB values')
  const cache = createCache({env: redis.env, metricsSink: () => {}})
  const keys = Array.from({length: 100}, (_, i) => `bench:tp:${i}`)
  for (const key of keys) await cache.getOrLoad(key, async () => ARTICLE)
  const rows: Array<{concurrency: number; helperOps: number; redisBenchmarkOps: number; ratio: number}> = []
  for (const concurrency of [1, 16, 64]) {
    let next = 0
    const worker = async () => {
      while (next < N_THROUGHPUT) {
        const i = next++
        await cache.getOrLoad(keys[i % keys.length]!, async () => ARTICLE)
      }
    }
    const started = performance.now()
    await Promise.all(Array.from({length: concurrency}, worker))
    const helperOps = Math.round(N_THROUGHPUT / ((performance.now() - started) / 1000))
    const {stdout} = await exec('redis-benchmark', [
      '-h', '127.0.0.1', '-p', String(redis.port), '-t', 'get', '-n', String(N_THROUGHPUT), '-c', String(concurrency), '-d', '1000', '--csv',
    ])
    const line = stdout.trim().split('\n').find((l) => l.startsWith('"GET"'))
    const redisBenchmarkOps = Math.round(Number(line?.split(',')[1]?.replace(/"/g, '') ?? 0))
    const ratio = round(helperOps / redisBenchmarkOps, 3)
    rows.push({concurrency, helperOps, redisBenchmarkOps, ratio})
    log(`   c=${String(concurrency).padEnd(3)} helper ${helperOps} ops/s   redis-benchmark ${redisBenchmarkOps} ops/s   x${ratio}`)
  }
  await cache.close()
  return rows
}

/** Loader calls when 200 callers miss one key at once (loader takes 50 ms). */
async function stampedes(redis: RedisServer, layerPython: string) {
  log(`\n3. loader calls under a ${STAMPEDE}-way stampede on one key (loader 50 ms)`)
  await redis.command('FLUSHALL')
  const cache = createCache({env: {...redis.env, CACHE_METRICS: 'off'}})
  let nodeCalls = 0
  await Promise.all(
    Array.from({length: STAMPEDE}, () =>
      cache.getOrLoad('bench:stampede:node', async () => {
        nodeCalls++
        await new Promise((r) => setTimeout(r, 50))
        return ARTICLE
      }),
    ),
  )
  await cache.close()

  // The runbook's helper, run as written (bench/cache/runbook/cache_helper.py), and ours,
  // each with 200 threads in one Python process, on the layer's redis-py.
  const script = `
import json, sys, time
from concurrent.futures import ThreadPoolExecutor
import cache_helper
calls = []
@cache_helper.cache_decorator("bench-stampede", ttl=3600)
def load(article_id):
    calls.append(1)
    time.sleep(0.05)
    return {"article_id": article_id}
with ThreadPoolExecutor(max_workers=${STAMPEDE}) as pool:
    list(pool.map(lambda _: load("a1"), range(${STAMPEDE})))
falsy = []
@cache_helper.cache_decorator("bench-falsy", ttl=3600)
def empty_list(x):
    falsy.append(1)
    return []
for _ in range(100):
    empty_list("all")
print(json.dumps({"stampede": len(calls), "falsy100": len(falsy)}))
`
  const runPython = async (helperDir: string) => {
    const {stdout} = await exec('python3', ['-c', script], {
      env: {PATH: process.env.PATH, HOME: process.env.HOME, PYTHONPATH: `${helperDir}:${layerPython}`, ...redis.env, CACHE_METRICS: 'off'},
    })
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as {stampede: number; falsy100: number}
  }
  await redis.command('FLUSHALL')
  const runbook = await runPython(join(PACKAGE_ROOT, 'bench/cache/runbook'))
  await redis.command('FLUSHALL')
  const ours = await runPython(layerPython)
  log(`   node helper (200 concurrent calls):       ${nodeCalls} loader call(s)`)
  log(`   python cache_helper, cct (200 threads):   ${ours.stampede}`)
  log(`   python cache_helper, runbook (200 threads): ${runbook.stampede}`)
  log(`   100 calls of a function returning []:     cct ${ours.falsy100} load(s), runbook ${runbook.falsy100}`)
  return {
    callers: STAMPEDE,
    loaderMs: 50,
    nodeHelper: nodeCalls,
    pythonHelper: ours.stampede,
    runbookHelper: runbook.stampede,
    falsyValue100Calls: {pythonHelper: ours.falsy100, runbookHelper: runbook.falsy100},
  }
}

/**
 * A loader slower than the load lock's TTL (5 s vs 3 s), four containers missing one key
 * together, 50 callers in each: 2 Node processes and 2 Python processes on the layer's
 * helpers with default settings. The lock holder renews its lock, so the others wait.
 */
async function slowLoaderStampede(redis: RedisServer, work: string) {
  log(`\n3b. a ${SLOW_LOADER_MS / 1000} s loader, 4 containers x 50 callers, default settings`)
  await redis.command('FLUSHALL')
  const nodeScript = `
const {createCache} = require('cct-cache')
const cache = createCache({metricsSink: () => {}})
let loads = 0
const started = Date.now() + Number(process.argv[1])
setTimeout(async () => {
  await Promise.all(Array.from({length: 50}, () => cache.getOrLoad('bench:slow', async () => {
    loads++; await new Promise((r) => setTimeout(r, ${SLOW_LOADER_MS})); return {loadedBy: process.pid}
  })))
  console.log(JSON.stringify({loads, ms: Date.now() - started}))
  await cache.close()
}, Math.max(0, started - Date.now()))
`
  const pyScript = `
import json, os, sys, time
from concurrent.futures import ThreadPoolExecutor
import cache_helper as ch
ch.configure(metrics_sink=lambda line: None)
loads = []
def slow():
    loads.append(1)
    time.sleep(${SLOW_LOADER_MS / 1000})
    return {"loadedBy": os.getpid()}
start = time.time() + float(sys.argv[1]) / 1000
time.sleep(max(0, start - time.time()))
with ThreadPoolExecutor(max_workers=50) as pool:
    list(pool.map(lambda _: ch.cache_get_or_load("bench:slow", slow), range(50)))
print(json.dumps({"loads": len(loads), "ms": int((time.time() - start) * 1000)}))
`
  const env = {PATH: process.env.PATH, HOME: process.env.HOME, ...redis.env}
  // Everyone starts at the same wall-clock moment, after their imports are done.
  const startIn = 1500
  const runs = await Promise.all([
    exec(process.execPath, ['-e', nodeScript, String(startIn)], {env: {...env, NODE_PATH: join(work, 'opt', 'nodejs', 'node_modules')}}),
    exec(process.execPath, ['-e', nodeScript, String(startIn)], {env: {...env, NODE_PATH: join(work, 'opt', 'nodejs', 'node_modules')}}),
    exec('python3', ['-c', pyScript, String(startIn)], {env: {...env, PYTHONPATH: join(work, 'opt', 'python')}}),
    exec('python3', ['-c', pyScript, String(startIn)], {env: {...env, PYTHONPATH: join(work, 'opt', 'python')}}),
  ])
  const results = runs.map((r) => JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {loads: number; ms: number})
  const loads = results.reduce((sum, r) => sum + r.loads, 0)
  const slowestMs = Math.max(...results.map((r) => r.ms))
  log(`   loader calls: ${loads} (per container: ${results.map((r) => r.loads).join(', ')}); slowest container ${slowestMs} ms`)
  return {containers: 4, callersPerContainer: 50, loaderMs: SLOW_LOADER_MS, loads, perContainer: results.map((r) => r.loads), slowestMs}
}

/** Fresh node process: load the module and create the client (lazy: no connect yet). */
async function coldInit(bundledDir: string, work: string) {
  log(`\n4. cold init in a fresh node process (median of ${N_INIT})`)
  const measure = async (code: string) => {
    const runs: number[] = []
    for (let i = 0; i < N_INIT; i++) {
      const {stdout} = await exec(process.execPath, ['-e', code], {env: {PATH: process.env.PATH, REDIS_HOST: '127.0.0.1'}})
      runs.push(Number(stdout.trim()))
    }
    return {medianMs: round(median(runs), 2), minMs: round(Math.min(...runs), 2), maxMs: round(Math.max(...runs), 2)}
  }
  const timed = (body: string) =>
    `const t0 = performance.now(); ${body}; process.stdout.write(String(performance.now() - t0)); process.exit(0)`
  const bundled = await measure(timed(`const {getCache} = require(${JSON.stringify(bundledDir)}); getCache()`))
  const bundledEsm = await measure(
    `const t0 = performance.now(); import(${JSON.stringify(`${bundledDir}/index.mjs`)}).then(({getCache}) => { getCache(); process.stdout.write(String(performance.now() - t0)); process.exit(0) })`,
  )
  // What importing any ES module costs from a CommonJS -e script (the ESM loader itself).
  const emptyEsm = join(work, 'empty.mjs')
  writeFileSync(emptyEsm, 'export const x = 1\n')
  const esmBaseline = await measure(
    `const t0 = performance.now(); import(${JSON.stringify(emptyEsm)}).then(() => { process.stdout.write(String(performance.now() - t0)); process.exit(0) })`,
  )
  // Baseline: ioredis from node_modules, unbundled, with the same lazy client.
  const ioredisDir = dirname(createRequire(import.meta.url).resolve('ioredis/package.json'))
  const ioredis = await measure(timed(`const {Redis} = require(${JSON.stringify(ioredisDir)}); new Redis({lazyConnect: true})`))
  log(`   bundled cct-cache (require): median ${bundled.medianMs} ms  (min ${bundled.minMs}, max ${bundled.maxMs})`)
  log(`   bundled cct-cache (import):  median ${bundledEsm.medianMs} ms`)
  log(`   empty ES module (import):    median ${esmBaseline.medianMs} ms (the ESM loader alone)`)
  log(`   ioredis from node_modules:   median ${ioredis.medianMs} ms (baseline)`)
  return {
    bundled,
    bundledEsm,
    emptyEsm: esmBaseline,
    ioredisUnbundled: ioredis,
    ratioVsIoredis: round(bundled.medianMs / ioredis.medianMs, 3),
    esmOverRequire: round(bundledEsm.medianMs / bundled.medianMs, 3),
  }
}

function markdown(r: any): string {
  const l = r.latency
  return `# Cache helper benchmark, ${r.date.slice(0, 10)}

\`${r.command}\`${r.quick ? ' (--quick)' : ''}

Machine: ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGiB} GiB, node ${r.machine.node}, ${r.machine.redis}, ${r.machine.platform}.
Redis, the benchmark and redis-benchmark share this machine (load average ${r.machine.loadAverage1m} at the start); all traffic is loopback.

## Hit path (sequential, ~1 KB article, µs)

| | p50 | p99 |
|---|---|---|
| raw ioredis GET + JSON.parse | ${l.raw.p50Us} | ${l.raw.p99Us} |
| layer helper getOrLoad, default metrics (EMF to stdout, one line per quiet point) | ${l.helper.p50Us} | ${l.helper.p99Us} |
| helper getOrLoad, metrics off | ${l.helperMetricsOff.p50Us} | ${l.helperMetricsOff.p99Us} |

helper / raw: p50 ×${l.ratio.p50}, p99 ×${l.ratio.p99} (metrics off: p50 ×${l.ratio.p50MetricsOff}). Aim ≤ ×1.10: ${r.aims.hitPathWithin10PercentOfRawIoredis ? 'met' : 'NOT met'}.

## Hit throughput vs redis-benchmark GET (ops/s)

| concurrency | helper (1 connection) | redis-benchmark (c connections) | ratio |
|---|---|---|---|
${r.throughput.map((t: any) => `| ${t.concurrency} | ${t.helperOps} | ${t.redisBenchmarkOps} | ×${t.ratio} |`).join('\n')}

## Stampede: ${r.stampede.callers} callers miss one key at once (loader ${r.stampede.loaderMs} ms)

| helper | loader calls |
|---|---|
| Node cct-cache (200 concurrent calls, one process) | ${r.stampede.nodeHelper} |
| Python cache_helper.py, cct (200 threads) | ${r.stampede.pythonHelper} |
| Python cache_helper.py, the runbook's (200 threads) | ${r.stampede.runbookHelper} |

A ${r.slowLoader.loaderMs / 1000} s loader (longer than the 3 s load lock, which its holder renews), ${r.slowLoader.containers} containers (2 Node, 2 Python, layer helpers, default settings) × ${r.slowLoader.callersPerContainer} callers missing one key together: **${r.slowLoader.loads} load(s)** (per container ${r.slowLoader.perContainer.join(', ')}); the slowest container had its value after ${r.slowLoader.slowestMs} ms.

A function returning \`[]\`, called 100 times: cct ${r.stampede.falsyValue100Calls.pythonHelper} load(s), runbook ${r.stampede.falsyValue100Calls.runbookHelper} (it treats falsy values as misses).

## Cold init (fresh node process: load module + create client, no connect)

| | median ms | min | max |
|---|---|---|---|
| bundled cct-cache, require | ${r.init.bundled.medianMs} | ${r.init.bundled.minMs} | ${r.init.bundled.maxMs} |
| bundled cct-cache, import | ${r.init.bundledEsm.medianMs} | ${r.init.bundledEsm.minMs} | ${r.init.bundledEsm.maxMs} |
| an empty ES module, import (the ESM loader alone) | ${r.init.emptyEsm.medianMs} | ${r.init.emptyEsm.minMs} | ${r.init.emptyEsm.maxMs} |
| ioredis from node_modules (baseline) | ${r.init.ioredisUnbundled.medianMs} | ${r.init.ioredisUnbundled.minMs} | ${r.init.ioredisUnbundled.maxMs} |

Aim < 30 ms (require): ${r.aims.initUnder30ms ? 'met' : 'NOT met'}. import / require: ×${r.init.esmOverRequire}. The import row also pays for starting Node's ESM loader
from a CommonJS \`-e\` script (the empty-module row), which an ES module handler has already paid for.

## Size

Layer zip ${(r.size.layerZipBytes / 1024).toFixed(1)} KiB (sha256 ${r.size.layerSha256.slice(0, 16)}…); bundled Node helper ${r.size.nodeHelperBytes} bytes (${(r.size.nodeHelperBytes / 1000).toFixed(1)} kB). Aim < 150 kB: ${r.aims.nodeHelperUnder150KB ? 'met' : 'NOT met'}.
`
}

await main()
process.exit(0)
