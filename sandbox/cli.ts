/**
 * The local sandbox for trying cct without an AWS account:
 *
 *   eval "$(node --import tsx sandbox/cli.ts start)"   # moto + redis in the background, seeded
 *   cct setup ...                                       # talks to the sandbox via AWS_ENDPOINT_URL
 *   eval "$(node --import tsx sandbox/cli.ts stop)"
 *
 * start [--no-seed] [--no-redis] [--create-seconds N] [--delete-seconds N] [--eni-linger-seconds N] [--lambda-update-seconds N]
 *       [--lambda-rate N (control-plane requests/s, 0 = unlimited)] [--functions N (seed N functions, default 5)]
 * stop  stops the servers recorded in .sandbox/state.json and prints `unset` lines
 * env   prints the `export` lines again
 * traffic [--rate R] [--duration S] [--max N] [--functions a,b] [--seed N] [--put-ratio F] [--list-ratio F]
 *         [--concurrency N] [--json]
 *       invokes the seeded functions (sandbox/traffic.ts) and prints a summary; progress on stderr
 *
 * stdout carries only shell lines (for eval), or traffic's summary; messages go to stderr.
 */
import {existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {parseArgs} from 'node:util'

import {alive, launch, runs, SANDBOX_HOME, stopPid, type FidelityConfig, type SandboxState} from './launcher.js'
import {seedAccount} from './seed.js'
import {formatSummary, runTraffic, type TrafficProgress} from './traffic.js'

const STATE_FILE = join(SANDBOX_HOME, 'state.json')

/**
 * Slow enough to watch cct wait, fast enough to try the whole flow in a minute; metrics every
 * 10 s (AWS: 60) so `cct verify` right after the demo's traffic already has figures.
 */
const DEMO_FIDELITY: Required<FidelityConfig> = {
  replicationGroupCreateSeconds: 20,
  replicationGroupDeleteSeconds: 10,
  eniLingerSeconds: 30,
  lambdaUpdateSeconds: 2,
  containerIdleSeconds: 300,
  metricsPeriodSeconds: 10,
  pricingAccessDenied: false,
  lambdaUpdatesFail: '',
  replicationGroupCreateFails: false,
  // AWS: "create a cache in under a minute".
  serverlessCacheCreateSeconds: 10,
  serverlessCacheModifySeconds: 5,
  serverlessCacheDeleteSeconds: 10,
  natGatewayDeleteSeconds: 5,
  lambdaControlPlaneRate: 15,
  lambdaGetFunctionRate: 100,
}

const quote = (v: string) => `'${v.replaceAll("'", `'\\''`)}'`
const exportsOf = (env: Record<string, string>) =>
  Object.entries(env)
    .map(([k, v]) => `export ${k}=${quote(v)}`)
    .join('\n')

function readState(): SandboxState | undefined {
  if (!existsSync(STATE_FILE)) return undefined
  return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as SandboxState
}

function running(state: SandboxState | undefined): state is SandboxState {
  if (!state) return false
  const motoUp = alive(state.motoPid) && runs(state.motoPid, 'moto_server.py')
  const redisUp = state.redisPid === null || (alive(state.redisPid) && runs(state.redisPid, 'redis-server'))
  return motoUp && redisUp
}

function seconds(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${flag} must be a number of seconds >= 0, got "${value}"`)
  return n
}

async function start(argv: string[]): Promise<void> {
  const {values} = parseArgs({
    args: argv,
    options: {
      'no-seed': {type: 'boolean', default: false},
      'no-redis': {type: 'boolean', default: false},
      'create-seconds': {type: 'string'},
      'delete-seconds': {type: 'string'},
      'eni-linger-seconds': {type: 'string'},
      'lambda-update-seconds': {type: 'string'},
      'lambda-rate': {type: 'string'},
      functions: {type: 'string'},
    },
  })
  const functions = number(values.functions, 'functions', (n) => Number.isInteger(n) && n > 0, 'a whole number above 0')
  const existing = readState()
  if (running(existing)) {
    console.error(`cct sandbox: already running at ${existing.endpoint}`)
    console.log(exportsOf(existing.env))
    return
  }
  await stopAll(existing) // a half-dead sandbox: clean up what is left
  const fidelity: FidelityConfig = {
    replicationGroupCreateSeconds: seconds(
      values['create-seconds'],
      DEMO_FIDELITY.replicationGroupCreateSeconds,
      'create-seconds',
    ),
    replicationGroupDeleteSeconds: seconds(
      values['delete-seconds'],
      DEMO_FIDELITY.replicationGroupDeleteSeconds,
      'delete-seconds',
    ),
    eniLingerSeconds: seconds(values['eni-linger-seconds'], DEMO_FIDELITY.eniLingerSeconds, 'eni-linger-seconds'),
    lambdaUpdateSeconds: seconds(
      values['lambda-update-seconds'],
      DEMO_FIDELITY.lambdaUpdateSeconds,
      'lambda-update-seconds',
    ),
    containerIdleSeconds: DEMO_FIDELITY.containerIdleSeconds,
    metricsPeriodSeconds: DEMO_FIDELITY.metricsPeriodSeconds,
    serverlessCacheCreateSeconds: DEMO_FIDELITY.serverlessCacheCreateSeconds,
    serverlessCacheModifySeconds: DEMO_FIDELITY.serverlessCacheModifySeconds,
    serverlessCacheDeleteSeconds: DEMO_FIDELITY.serverlessCacheDeleteSeconds,
    lambdaControlPlaneRate: number(values['lambda-rate'], 'lambda-rate', (n) => n >= 0, 'requests per second >= 0'),
  }
  const began = Date.now()
  const {state} = await launch({redis: !values['no-redis'], fidelity}, true)
  mkdirSync(SANDBOX_HOME, {recursive: true})
  writeFileSync(STATE_FILE, JSON.stringify(state, null, 2) + '\n')
  if (!values['no-seed']) {
    // The tables' few hundred rows too: the demo sends traffic to every function.
    const seed = await seedAccount(state, {data: true, functions})
    console.error(
      `cct sandbox: seeded role ${seed.roleName}, layer ${seed.layerArn}, tables ${seed.tables.join(', ')}, functions ${seed.functionNames.join(', ')}`,
    )
  }
  console.error(
    `cct sandbox: moto at ${state.endpoint}` +
      (state.redisPid === null ? '' : `, redis at ${state.redisHost}:${state.redisPort}`) +
      ` (${((Date.now() - began) / 1000).toFixed(1)}s; logs in ${state.logDir})`,
  )
  console.log(exportsOf(state.env))
}

function number(
  value: string | undefined,
  flag: string,
  check: (n: number) => boolean,
  what: string,
): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value.replace(/\/s$/, ''))
  if (!Number.isFinite(n) || !check(n)) throw new Error(`--${flag} must be ${what}, got "${value}"`)
  return n
}

async function traffic(argv: string[], state: SandboxState | undefined): Promise<void> {
  const {values} = parseArgs({
    args: argv,
    options: {
      rate: {type: 'string'},
      duration: {type: 'string'},
      max: {type: 'string'},
      functions: {type: 'string'},
      seed: {type: 'string'},
      'put-ratio': {type: 'string'},
      'list-ratio': {type: 'string'},
      concurrency: {type: 'string'},
      json: {type: 'boolean', default: false},
    },
  })
  if (!running(state)) throw new Error('not running; start it with: node --import tsx sandbox/cli.ts start')
  const positive = (n: number) => n > 0
  const ratio = (n: number) => n >= 0 && n <= 1
  const whole = (n: number) => Number.isInteger(n) && n > 0
  const tty = process.stderr.isTTY
  let lastLine = 0
  const onProgress = (p: TrafficProgress) => {
    // One updating line on a terminal; elsewhere (CI, pipes) a line every 5 s.
    const now = Date.now()
    const finished = p.done === p.planned
    if (now - lastLine < (tty ? 100 : 5000) && !finished) return
    lastLine = now
    const line = `traffic: ${p.done}/${p.planned} done, ${p.inFlight} in flight, ${p.errors} errors, ${(p.elapsedMs / 1000).toFixed(1)} s`
    if (tty) process.stderr.write(`\r\x1b[2K${line}${finished ? '\n' : ''}`)
    else process.stderr.write(line + '\n')
  }
  const summary = await runTraffic({
    endpoint: state.endpoint,
    region: state.region,
    rate: number(values.rate, 'rate', positive, 'a rate per second above 0'),
    durationSeconds: number(values.duration, 'duration', positive, 'a number of seconds above 0'),
    maxInvocations: number(values.max, 'max', whole, 'a whole number above 0'),
    functions: values.functions
      ?.split(',')
      .map((f) => f.trim())
      .filter(Boolean),
    seed: number(values.seed, 'seed', Number.isInteger, 'a whole number'),
    putRatio: number(values['put-ratio'], 'put-ratio', ratio, 'between 0 and 1'),
    listRatio: number(values['list-ratio'], 'list-ratio', ratio, 'between 0 and 1'),
    concurrency: number(values.concurrency, 'concurrency', whole, 'a whole number above 0'),
    onProgress,
  })
  if (tty && lastLine && summary.invocations < summary.planned) process.stderr.write('\n')
  console.log(values.json ? JSON.stringify(summary, null, 2) : formatSummary(summary))
}

async function stopAll(state: SandboxState | undefined): Promise<void> {
  if (!state) return
  await Promise.all([
    stopPid(state.motoPid, 'moto_server.py'),
    state.redisPid === null ? undefined : stopPid(state.redisPid, 'redis-server'),
  ])
  rmSync(STATE_FILE, {force: true})
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2)
  const state = readState()
  switch (command) {
    case 'start':
      return start(rest)
    case 'stop':
      await stopAll(state)
      console.error(state ? 'cct sandbox: stopped' : 'cct sandbox: not running')
      if (state)
        console.log(
          Object.keys(state.env)
            .map((k) => `unset ${k}`)
            .join('\n'),
        )
      return
    case 'env':
      if (!running(state)) throw new Error('not running; start it with: node --import tsx sandbox/cli.ts start')
      console.log(exportsOf(state.env))
      return
    case 'traffic':
      return traffic(rest, state)
    default:
      throw new Error(`usage: node --import tsx sandbox/cli.ts start|stop|env|traffic (got ${command ?? 'nothing'})`)
  }
}

main().catch((error: unknown) => {
  console.error(String(error instanceof Error ? error.message : error).replace(/^(cct sandbox: )?/, 'cct sandbox: '))
  process.exitCode = 1
})
