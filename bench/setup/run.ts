/**
 * Setup and rollback against their floors, and against the runbook by the AWS CLI:
 *
 *   npm run build && node --import tsx bench/setup/run.ts [--functions 5,50] [--runbook 5,50] [--label name]
 *
 * The sandbox with the issue's delays (cache creation 20 s, deletion 10 s, Lambda updates 2 s,
 * ENI linger 10 s) and Lambda's control-plane rate limits at AWS's defaults (15/s, GetFunction
 * 100/s), seeded with N functions. For each N:
 * 1. the built CLI, default settings (with --nat, which two of the functions' internet calls
 *    need), in a directory of its own: `cct setup --yes` (timed),
 *    `cct setup --yes` again (converged: its calls counted), `cct rollback --yes` (timed);
 * 2. on a fresh sandbox, the runbook's commands by the AWS CLI (bench/setup/runbook.sh, timed).
 * Floors are the dependency graph's: setup = cache creation + the longest chain after it (one
 * function update), rollback = one function update + the longer of ENI linger and cache
 * deletion; with more functions than Lambda's rate admits in a second, + the seconds the rate
 * needs for the rest of the updates. Wall times are whole processes (node start included).
 * Results go to bench/results/setup-<date>[-<label>].{json,md} with the machine and its load.
 */
import {execFileSync, spawn} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {homedir, loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'

import {lambdaThrottles, REPO_ROOT, startSandbox, type Sandbox} from '../../sandbox/launcher.js'
import {SEED_ROLE, seedAccount} from '../../sandbox/seed.js'
import {machine} from '../machine.js'
import {BENCH_FIDELITY, DELAYS, GET_FUNCTION_RATE, LAMBDA_RATE} from './fidelity.js'

const list = (name: string, fallback: number[]) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1]!.split(',').filter(Boolean).map(Number) : fallback
}
const SIZES = list('functions', [5, 50])
const LABEL = process.argv.includes('--label') ? process.argv[process.argv.indexOf('--label') + 1] : undefined
const RUNBOOK_SIZES = list('runbook', [5])
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits

/** The AWS CLI: on PATH, or installed once with pip into a venv of the bench's own. */
function awsCli(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v aws'], {encoding: 'utf8'}).trim()
  } catch {
    const venv = join(homedir(), '.cache', 'cct', 'awscli-venv')
    const aws = join(venv, 'bin', 'aws')
    if (!existsSync(aws)) {
      console.error(`bench: the AWS CLI is not on PATH; installing awscli into ${venv}`)
      execFileSync('python3', ['-m', 'venv', venv], {stdio: 'inherit'})
      execFileSync(join(venv, 'bin', 'pip'), ['install', '--quiet', 'awscli'], {stdio: 'inherit'})
    }
    return aws
  }
}

/** Runs a command to its end; its wall time in seconds. Fails with its stderr when it fails. */
function timed(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint()
    const child = spawn(cmd, args, {cwd, env, stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('exit', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      if (code === 0) resolve(seconds)
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${stderr.slice(-3000)}`))
    })
  })
}

async function withSandbox<T>(functions: number, work: (sandbox: Sandbox, names: string[]) => Promise<T>): Promise<T> {
  const sandbox = await startSandbox({redis: false, fidelity: BENCH_FIDELITY})
  try {
    const {functionNames} = await seedAccount(sandbox, {functions})
    return await work(sandbox, functionNames)
  } finally {
    await sandbox.stop()
  }
}

/** What the rate admits beyond its one-second bucket: the seconds `writes` more requests take. */
const rateSeconds = (writes: number) => Math.max(0, writes - LAMBDA_RATE) / LAMBDA_RATE

interface CctRun {
  setupSeconds: number
  rollbackSeconds: number
  calls: {setup: number; setupMutating: number; rerun: number; rerunMutating: number; rollback: number}
  throttled: {setup: number; rerun: number; rollback: number}
}

async function cctRun(n: number): Promise<CctRun> {
  return withSandbox(n, async (sandbox, names) => {
    const cwd = mkdtempSync(join(tmpdir(), 'cct-bench-setup-'))
    const bin = join(REPO_ROOT, 'bin/run.js')
    // --nat: two of the seeded functions call the internet, and setup refuses to cut them off.
    const functions = ['--nat', ...(n === 5 ? [] : ['--functions', names.join(',')])]
    const run = async (label: string, args: string[]) => {
      const log = join(cwd, `${label}.calls.jsonl`)
      const before = (await lambdaThrottles(sandbox.endpoint)).total
      const seconds = await timed(process.execPath, [bin, ...args], cwd, {
        ...process.env,
        ...sandbox.env,
        CCT_CALL_LOG: log,
      })
      const calls = readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as {mutating: boolean})
      const throttled = (await lambdaThrottles(sandbox.endpoint)).total - before
      console.error(`  ${label}: ${round(seconds, 2)} s, ${calls.length} calls, ${throttled} throttled`)
      return {seconds, calls: calls.length, mutating: calls.filter((c) => c.mutating).length, throttled}
    }
    console.error(`cct, ${n} functions:`)
    const setup = await run('setup', ['setup', '--yes', ...functions])
    const rerun = await run('rerun', ['setup', '--yes', ...functions])
    const rollback = await run('rollback', ['rollback', '--yes'])
    rmSync(cwd, {recursive: true, force: true})
    return {
      setupSeconds: round(setup.seconds, 2),
      rollbackSeconds: round(rollback.seconds, 2),
      calls: {
        setup: setup.calls,
        setupMutating: setup.mutating,
        rerun: rerun.calls,
        rerunMutating: rerun.mutating,
        rollback: rollback.calls,
      },
      throttled: {setup: setup.throttled, rerun: rerun.throttled, rollback: rollback.throttled},
    }
  })
}

interface Row {
  functions: number
  cct: CctRun
  runbookSeconds: number | null
  runbookThrottled: number | null
  floors: {setup: number; rollback: number}
  ratios: {setupOverFloor: number; rollbackOverFloor: number; runbookOverSetup: number | null}
  loadAverage: number[]
}

async function runbookRun(n: number, aws: string): Promise<{seconds: number; throttled: number}> {
  return withSandbox(n, async (sandbox, names) => {
    console.error(`runbook by the AWS CLI, ${n} functions:`)
    const cwd = mkdtempSync(join(tmpdir(), 'cct-bench-runbook-'))
    const seconds = await timed('bash', [join(REPO_ROOT, 'bench/setup/runbook.sh')], cwd, {
      ...process.env,
      ...sandbox.env,
      PATH: `${join(aws, '..')}:${process.env.PATH}`,
      FUNCTIONS: names.join(' '),
      ROLE_NAME: SEED_ROLE,
      AWS_PAGER: '',
    })
    rmSync(cwd, {recursive: true, force: true})
    const throttled = (await lambdaThrottles(sandbox.endpoint)).total
    console.error(`  runbook: ${round(seconds, 2)} s, ${throttled} throttled`)
    return {seconds: round(seconds, 2), throttled}
  })
}

async function main(): Promise<void> {
  if (!existsSync(join(REPO_ROOT, 'dist'))) throw new Error('run `npm run build` first: the bench runs the built CLI')
  const aws = RUNBOOK_SIZES.length ? awsCli() : ''
  const rows: Row[] = []
  for (const n of SIZES) {
    const cct = await cctRun(n)
    const runbook = RUNBOOK_SIZES.includes(n) ? await runbookRun(n, aws) : undefined
    const setupFloor = round(DELAYS.replicationGroupCreateSeconds + DELAYS.lambdaUpdateSeconds + rateSeconds(n), 2)
    const rollbackFloor = round(
      DELAYS.lambdaUpdateSeconds +
        Math.max(DELAYS.eniLingerSeconds, DELAYS.replicationGroupDeleteSeconds) +
        rateSeconds(n),
      2,
    )
    rows.push({
      functions: n,
      cct,
      runbookSeconds: runbook?.seconds ?? null,
      runbookThrottled: runbook?.throttled ?? null,
      floors: {setup: setupFloor, rollback: rollbackFloor},
      ratios: {
        setupOverFloor: round(cct.setupSeconds / setupFloor, 2),
        rollbackOverFloor: round(cct.rollbackSeconds / rollbackFloor, 2),
        runbookOverSetup: runbook ? round(runbook.seconds / cct.setupSeconds, 2) : null,
      },
      loadAverage: loadavg().map((l) => round(l, 2)),
    })
  }
  const first = rows[0]!
  const last = rows.at(-1)!
  const result = {
    date: new Date().toISOString(),
    command: `node --import tsx bench/setup/run.ts --functions ${SIZES.join(',')} --runbook ${RUNBOOK_SIZES.join(',') || "''"}${LABEL ? ` --label ${LABEL}` : ''}`,
    machine: {...machine(), loadAverageAtEnd: loadavg().map((l) => round(l, 2))},
    sandbox: {...DELAYS, lambdaControlPlaneRate: LAMBDA_RATE, lambdaGetFunctionRate: GET_FUNCTION_RATE},
    runs: rows,
    scaling:
      rows.length > 1
        ? {
            setup: round(last.cct.setupSeconds / first.cct.setupSeconds, 2),
            rollback: round(last.cct.rollbackSeconds / first.cct.rollbackSeconds, 2),
          }
        : null,
  }
  const day = result.date.slice(0, 10)
  const name = `setup-${day}${LABEL ? `-${LABEL}` : ''}`
  const dir = join(REPO_ROOT, 'bench/results')
  mkdirSync(dir, {recursive: true})
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`)
  const m = result.machine as Record<string, unknown>
  const row = (r: Row) =>
    `| ${r.functions} | ${r.cct.setupSeconds} | ${r.floors.setup} | ×${r.ratios.setupOverFloor} | ${r.runbookSeconds ?? 'not run'} | ${r.cct.rollbackSeconds} | ${r.floors.rollback} | ×${r.ratios.rollbackOverFloor} | ${r.cct.calls.rerun} (${r.cct.calls.rerunMutating} mutating) | ${r.cct.throttled.setup} / ${r.cct.throttled.rerun} / ${r.cct.throttled.rollback} | ${r.loadAverage.join(' ')} |`
  writeFileSync(
    join(dir, `${name}.md`),
    [
      `# setup and rollback against their floors, ${day}`,
      '',
      `\`${result.command}\` (after \`npm run build\`): the sandbox with cache creation ${DELAYS.replicationGroupCreateSeconds} s, deletion ${DELAYS.replicationGroupDeleteSeconds} s, Lambda updates ${DELAYS.lambdaUpdateSeconds} s, ENI linger ${DELAYS.eniLingerSeconds} s, Lambda's control plane throttled at ${LAMBDA_RATE} requests/s (GetFunction ${GET_FUNCTION_RATE}/s); the built CLI with default settings; the runbook's commands by the AWS CLI (bench/setup/runbook.sh).`,
      '',
      `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, node ${m.node}, ${m.os}; load average at the end ${(m.loadAverageAtEnd as number[]).join(' ')}.`,
      '',
      '| functions | setup s | floor s | setup/floor | runbook s | rollback s | floor s | rollback/floor | converged re-run calls | TooManyRequests (setup / re-run / rollback) | load |',
      '|---|---|---|---|---|---|---|---|---|---|---|',
      ...rows.map(row),
      '',
      result.scaling
        ? `${last.functions} functions against ${first.functions}: setup ×${result.scaling.setup}, rollback ×${result.scaling.rollback}.`
        : '',
      '',
      `Floors: setup = cache creation + one function update (the longest chain after the cache); rollback = one function update + the longer of ENI linger and cache deletion; with more than ${LAMBDA_RATE} functions, + the seconds Lambda's rate needs for the other updates. Wall times are whole processes, node's start included.`,
      '',
    ].join('\n'),
  )
  console.log(JSON.stringify(rows.map((r) => ({functions: r.functions, ...r.ratios, rerunCalls: r.cct.calls.rerun}))))
}

await main()
