/**
 * Auto-cache benchmark: the seeded account in the sandbox (default settings), the built
 * layer published by the real CLI, the same deterministic traffic twice:
 *
 *   npm run build && node --import tsx bench/auto-cache/run.ts [--requests 1500] [--seed 1]
 *
 * 1. `cct setup --yes --nat`: functions in the VPC with the layer, auto-cache off; the
 *    traffic (the sandbox mix: Zipf GETs, lists, 5% PUTs, 2% missing ids)
 * 2. `cct setup --yes --nat --auto-cache`: the same traffic again
 *
 * For each: DynamoDB read requests counted at the server (the sandbox edge), Duration p50
 * and p95 from the REPORT lines, cold starts. Ratios are between the two runs of this
 * one process. Results go to bench/results/auto-cache-<date>.{json,md} with the machine.
 */
import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'

import {REPO_ROOT, startSandbox} from '../../sandbox/launcher.js'
import {seedAccount, SEED_FUNCTIONS} from '../../sandbox/seed.js'
import {planTraffic, runTraffic, unavoidableReads, type TrafficSummary} from '../../sandbox/traffic.js'
import {machine} from '../machine.js'

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const REQUESTS = arg('requests', 1500)
const SEED = arg('seed', 1)
const READ_OPS = ['GetItem', 'BatchGetItem', 'Query', 'Scan']
const round = (n: number | null, digits = 1) => (n === null ? null : Math.round(n * 10 ** digits) / 10 ** digits)

async function main(): Promise<void> {
  const sandbox = await startSandbox({redis: false})
  try {
    await seedAccount(sandbox, {data: true})
    const reads = async () => {
      const {requests} = (await (await fetch(`${sandbox.endpoint}/cct-fidelity/dynamodb-requests`)).json()) as {
        requests: Record<string, Record<string, number>>
      }
      return Object.values(requests).reduce((n, ops) => n + READ_OPS.reduce((m, op) => m + (ops[op] ?? 0), 0), 0)
    }
    // In a directory of its own: setup saves cct.json where it runs, and a second setup
    // (or the next bench) would read the first one's choices, auto-cache among them.
    const cwd = mkdtempSync(join(tmpdir(), 'cct-bench-auto-cache-'))
    const cct = (args: string[]) =>
      execFileSync(process.execPath, [join(REPO_ROOT, 'bin/run.js'), ...args], {
        cwd,
        env: {...process.env, ...sandbox.env},
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    const traffic = {seed: SEED, rate: 1000, durationSeconds: 3600, maxInvocations: REQUESTS}
    const run = async (label: string, setupArgs: string[]) => {
      cct(['setup', '--yes', '--nat', ...setupArgs])
      const before = await reads()
      const summary: TrafficSummary = await runTraffic({endpoint: sandbox.endpoint, region: sandbox.region, ...traffic})
      const counted = (await reads()) - before
      const out = {
        label,
        dynamodbReads: counted,
        invocations: summary.invocations,
        errors: summary.errors,
        coldStarts: summary.coldStarts,
        kinds: summary.kinds,
        durationMs: {p50: round(summary.durationMs.p50), p95: round(summary.durationMs.p95)},
        elapsedSeconds: summary.elapsedSeconds,
        loadAverage: loadavg().map((l) => round(l, 2)),
      }
      console.error(
        `${label}: ${counted} DynamoDB reads, Duration p50 ${out.durationMs.p50} ms p95 ${out.durationMs.p95} ms, ${summary.errors} errors, ${summary.coldStarts} cold starts, ${summary.elapsedSeconds} s`,
      )
      return out
    }
    const without = await run('without auto-cache', [])
    const withCache = await run('with auto-cache', ['--auto-cache'])
    const ratio = (a: number | null, b: number | null) => (a && b ? round(a / b, 3) : null)
    const result = {
      date: new Date().toISOString(),
      command: `node --import tsx bench/auto-cache/run.ts --requests ${REQUESTS} --seed ${SEED}`,
      machine: {
        ...(machine() as {cpu: string; cores: number; memoryGiB: number; os: string; node: string; redis: string}),
        loadAverageAtEnd: loadavg().map((l) => round(l, 2)),
      },
      traffic: {
        seed: SEED,
        requests: REQUESTS,
        functions: Object.keys(SEED_FUNCTIONS),
        mix: 'sandbox default: Zipf GETs by id, 10% list pages, 5% PUTs, 2% missing ids; concurrency 4',
      },
      without,
      with: withCache,
      // The same plan's reads that a perfect cache (no TTL, exact invalidation) still sends.
      perfectCacheReads: unavoidableReads(planTraffic(traffic)),
      ratios: {
        readsWithOverWithout: ratio(withCache.dynamodbReads, without.dynamodbReads),
        readsFewerPercent: round((1 - withCache.dynamodbReads / without.dynamodbReads) * 100),
        perfectCacheFewerPercent: 0,
        p50WithOverWithout: ratio(withCache.durationMs.p50, without.durationMs.p50),
        p95WithOverWithout: ratio(withCache.durationMs.p95, without.durationMs.p95),
      },
    }
    result.ratios.perfectCacheFewerPercent = round((1 - result.perfectCacheReads / without.dynamodbReads) * 100)!
    const day = result.date.slice(0, 10)
    const dir = join(REPO_ROOT, 'bench/results')
    mkdirSync(dir, {recursive: true})
    writeFileSync(join(dir, `auto-cache-${day}.json`), `${JSON.stringify(result, null, 2)}\n`)
    const m = result.machine
    const row = (r: typeof without) =>
      `| ${r.label} | ${r.dynamodbReads} | ${r.durationMs.p50} | ${r.durationMs.p95} | ${r.invocations} | ${r.errors} | ${r.coldStarts} |`
    writeFileSync(
      join(dir, `auto-cache-${day}.md`),
      [
        `# auto-cache benchmark, ${day}`,
        '',
        `\`${result.command}\` (after \`npm run build\`): the five seeded functions in the sandbox, default settings, the built layer published by \`cct setup\`; the same ${REQUESTS} deterministic requests (seed ${SEED}) without and then with auto-cache.`,
        '',
        `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, node ${m.node}, ${m.os}; load average at the end ${m.loadAverageAtEnd.join(' ')}.`,
        '',
        '| run | DynamoDB reads (server) | Duration p50 ms | p95 ms | invocations | errors | cold starts |',
        '|---|---|---|---|---|---|---|',
        row(without),
        row(withCache),
        '',
        `Ratios (with / without, same run): reads ${result.ratios.readsWithOverWithout} (${result.ratios.readsFewerPercent}% fewer), Duration p50 ${result.ratios.p50WithOverWithout}, p95 ${result.ratios.p95WithOverWithout}.`,
        '',
        `The "with" run starts with an empty cache: its first read of each item and page is a miss. A perfect cache (no TTL, exact invalidation) would still send ${result.perfectCacheReads} of these reads (${result.ratios.perfectCacheFewerPercent}% fewer): what is left to save is the distance between the two.`,
        '',
      ].join('\n'),
    )
    console.log(JSON.stringify(result.ratios))
  } finally {
    await sandbox.stop()
  }
}

await main()
