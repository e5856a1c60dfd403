/**
 * The local sandbox for trying cct without an AWS account:
 *
 *   eval "$(node --import tsx sandbox/cli.ts start)"   # moto + redis in the background, seeded
 *   cct setup ...                                       # talks to the sandbox via AWS_ENDPOINT_URL
 *   eval "$(node --import tsx sandbox/cli.ts stop)"
 *
 * start [--no-seed] [--no-redis] [--create-seconds N] [--delete-seconds N] [--eni-linger-seconds N] [--lambda-update-seconds N]
 * stop  stops the servers recorded in .sandbox/state.json and prints `unset` lines
 * env   prints the `export` lines again
 *
 * stdout carries only shell lines (for eval); messages go to stderr.
 */
import {existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {parseArgs} from 'node:util'

import {alive, launch, runs, SANDBOX_HOME, stopPid, type FidelityConfig, type SandboxState} from './launcher.js'
import {seedAccount} from './seed.js'

const STATE_FILE = join(SANDBOX_HOME, 'state.json')

/** Slow enough to watch cct wait, fast enough to try the whole flow in a minute. */
const DEMO_FIDELITY: Required<FidelityConfig> = {replicationGroupCreateSeconds: 20, replicationGroupDeleteSeconds: 10, eniLingerSeconds: 30, lambdaUpdateSeconds: 2, containerIdleSeconds: 300}

const quote = (v: string) => `'${v.replaceAll("'", `'\\''`)}'`
const exportsOf = (env: Record<string, string>) => Object.entries(env).map(([k, v]) => `export ${k}=${quote(v)}`).join('\n')

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
    },
  })
  const existing = readState()
  if (running(existing)) {
    console.error(`cct sandbox: already running at ${existing.endpoint}`)
    console.log(exportsOf(existing.env))
    return
  }
  await stopAll(existing) // a half-dead sandbox: clean up what is left
  const fidelity: FidelityConfig = {
    replicationGroupCreateSeconds: seconds(values['create-seconds'], DEMO_FIDELITY.replicationGroupCreateSeconds, 'create-seconds'),
    replicationGroupDeleteSeconds: seconds(values['delete-seconds'], DEMO_FIDELITY.replicationGroupDeleteSeconds, 'delete-seconds'),
    eniLingerSeconds: seconds(values['eni-linger-seconds'], DEMO_FIDELITY.eniLingerSeconds, 'eni-linger-seconds'),
    lambdaUpdateSeconds: seconds(values['lambda-update-seconds'], DEMO_FIDELITY.lambdaUpdateSeconds, 'lambda-update-seconds'),
  }
  const began = Date.now()
  const {state} = await launch({redis: !values['no-redis'], fidelity}, true)
  mkdirSync(SANDBOX_HOME, {recursive: true})
  writeFileSync(STATE_FILE, JSON.stringify(state, null, 2) + '\n')
  if (!values['no-seed']) {
    const seed = await seedAccount(state)
    console.error(`cct sandbox: seeded role ${seed.roleName}, layer ${seed.layerArn}, table ${seed.tableName}, functions ${seed.functionNames.join(', ')}`)
  }
  console.error(
    `cct sandbox: moto at ${state.endpoint}` +
      (state.redisPid === null ? '' : `, redis at ${state.redisHost}:${state.redisPort}`) +
      ` (${((Date.now() - began) / 1000).toFixed(1)}s; logs in ${state.logDir})`,
  )
  console.log(exportsOf(state.env))
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
      if (state) console.log(Object.keys(state.env).map((k) => `unset ${k}`).join('\n'))
      return
    case 'env':
      if (!running(state)) throw new Error('not running; start it with: node --import tsx sandbox/cli.ts start')
      console.log(exportsOf(state.env))
      return
    default:
      throw new Error(`usage: node --import tsx sandbox/cli.ts start|stop|env (got ${command ?? 'nothing'})`)
  }
}

main().catch((error: unknown) => {
  console.error(String(error instanceof Error ? error.message : error).replace(/^(cct sandbox: )?/, 'cct sandbox: '))
  process.exitCode = 1
})
