import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, readFileSync, existsSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'

import {CallLog, type ApiCall} from '../../src/aws/call-log.js'
import type {StepId} from '../../src/engine/step.js'
import {defaultOptions, type StackOptions} from '../../src/options.js'
import {converge, type ConvergeReport} from '../../src/services/converge.js'

export interface Located {
  endpoint: string
  region: string
}

/** Runs steps in process against the sandbox, counting every API call. */
export async function runSteps(
  sandbox: Located,
  targets: StepId[],
  options: Partial<StackOptions> = {},
  mode: 'apply' | 'plan' | 'destroy' | 'unplan' = 'apply',
): Promise<{report: ConvergeReport; calls: ApiCall[]; mutating: ApiCall[]}> {
  const log = new CallLog('')
  const report = await converge({
    targets,
    mode,
    settings: {endpoint: sandbox.endpoint, region: sandbox.region, maxAttempts: 1},
    options: defaultOptions({pollIntervalMs: 200, ...options}),
    log,
  })
  return {report, calls: log.calls, mutating: log.mutating}
}

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
  calls: ApiCall[]
  mutating: ApiCall[]
}

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'run.js')

/**
 * Runs the real `cct` process (compiled dist/, as a user would) with the sandbox's
 * environment; CCT_CALL_LOG counts its API calls.
 */
export interface CliOptions {
  input?: string
  /** Send `signal` to the process as soon as its output matches (an interrupt at a known point). */
  killOn?: RegExp
  signal?: NodeJS.Signals
  /** Called when the signal is sent (to time how long the process takes to stop). */
  onKill?: () => void
  /** Files to write into the empty working directory first (a `cct.json`), by name. */
  files?: Record<string, string>
  /** Environment variables the process must not have (e.g. AWS_REGION, so cct.json's region is read). */
  unset?: string[]
  /** Called with the process once started (a fault proxy that kills it at an exact call). */
  onSpawn?: (child: ChildProcess) => void
}

export async function cli(
  args: string[],
  env: Record<string, string>,
  options: CliOptions = {},
): Promise<CliResult & {killed: boolean}> {
  const {childEnv, cwd, logFile} = prepareRun(env, options)
  const child = spawn(process.execPath, [BIN, ...args], {
    env: childEnv,
    stdio: ['pipe', 'pipe', 'pipe'],
    cwd,
  })
  options.onSpawn?.(child)
  let stdout = ''
  let stderr = ''
  let killed = false
  const watch = () => {
    if (options.killOn && !killed && options.killOn.test(stdout + stderr)) {
      killed = true
      options.onKill?.()
      child.kill(options.signal ?? 'SIGINT')
    }
  }
  child.stdout.on('data', (d) => {
    stdout += d
    watch()
  })
  child.stderr.on('data', (d) => {
    stderr += d
    watch()
  })
  child.stdin.end(options.input ?? '')
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  return {code, stdout, stderr, ...callsIn(logFile), killed}
}

/**
 * What a cct run gets besides its arguments: the environment (the sandbox's, the call log,
 * no colours), and an empty working directory of its own (a cct.json left in the checkout
 * must not leak into a test) holding `files`. Shared by cli() and the in-process host
 * (test/support/cli-host.ts).
 */
export function prepareRun(
  env: Record<string, string>,
  options: Pick<CliOptions, 'files' | 'unset'>,
): {childEnv: NodeJS.ProcessEnv; cwd: string; logFile: string} {
  if (!existsSync(join(import.meta.dirname, '..', '..', 'dist', 'commands')))
    throw new Error('dist/ is missing: run `npm run build` first')
  const logFile = join(mkdtempSync(join(tmpdir(), 'cct-calls-')), 'calls.jsonl')
  for (const [name, text] of Object.entries(options.files ?? {})) writeFileSync(join(dirname(logFile), name), text)
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    ...env,
    CCT_CALL_LOG: logFile,
    CCT_POLL_INTERVAL_MS: '200',
    NO_COLOR: '1',
    FORCE_COLOR: '0',
  }
  for (const name of options.unset ?? []) delete childEnv[name]
  return {childEnv, cwd: dirname(logFile), logFile}
}

/** The calls a run recorded in its call log (CCT_CALL_LOG), and which of them were mutating. */
export function callsIn(logFile: string): Pick<CliResult, 'calls' | 'mutating'> {
  const calls: ApiCall[] = existsSync(logFile)
    ? readFileSync(logFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as ApiCall)
    : []
  return {calls, mutating: calls.filter((c) => c.mutating)}
}

/** The `result` of a `cct … --json` run's envelope (README "JSON output"); throws unless stdout is one envelope. */
export function jsonResult<T>(run: Pick<CliResult, 'stdout'>): T {
  const envelope = JSON.parse(run.stdout) as {ok?: unknown; result?: unknown}
  if (typeof envelope.ok !== 'boolean' || !('result' in envelope))
    throw new Error(`not a cct --json envelope: ${run.stdout.slice(0, 300)}`)
  return envelope.result as T
}
