/**
 * The local AWS: moto's server (with sandbox/fidelity/) and a redis-server, each a child
 * process on a free loopback port. Used by the integration tests (test/support/sandbox.ts)
 * and by `node --import tsx sandbox/cli.ts start` (the README's first command).
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {closeSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, unlinkSync} from 'node:fs'
import {connect, createServer} from 'node:net'
import {join, resolve} from 'node:path'

import {waitReady} from './ready.js'
import {forkMoto, type ServerProcess} from './zygote.js'

export interface SandboxOptions {
  /** Start a redis-server too (default true). */
  redis?: boolean
  /** Delays the sandbox starts with, and returns to on reset(). All default to 0. */
  fidelity?: Partial<FidelityConfig>
  /** Where the servers' logs go (default `.sandbox/logs` in the repository). */
  logDir?: string
  /**
   * moto's INITIAL_NO_AUTH_ACTION_COUNT: after this many requests (counted again from each
   * reset) every request is checked against the caller's IAM policies, as AWS does (0: from
   * the start). Default: never (any credentials work). `enforceIam()` switches it at run time;
   * sandbox/fidelity/iam_auth.py says where moto's check differs from AWS's.
   */
  noAuthActions?: number
}

/** How long AWS takes, in seconds; 0 = at once (and a switch or two). See sandbox/fidelity/. */
export interface FidelityConfig {
  replicationGroupCreateSeconds: number
  replicationGroupDeleteSeconds: number
  /** How long a Lambda VPC ENI outlives the VpcConfig that needed it. */
  eniLingerSeconds: number
  /**
   * How long a Lambda function stays `LastUpdateStatus: InProgress` after
   * UpdateFunctionConfiguration / UpdateFunctionCode; meanwhile another update (or
   * PublishVersion) of it fails with ResourceConflictException. Optional so existing
   * full configs stay valid; defaults to 0 like the others.
   */
  lambdaUpdateSeconds?: number
  /** How long a NAT gateway stays `deleting` (holding its Elastic IP) after DeleteNatGateway. */
  natGatewayDeleteSeconds?: number
  /**
   * How often each cache node's redis INFO becomes AWS/ElastiCache metrics (60 on AWS,
   * the default; tests use about 1). See sandbox/fidelity/caches.py.
   */
  metricsPeriodSeconds?: number
  /** How long a warm Lambda container may sit idle before it is reaped (default 300, as AWS keeps them minutes). */
  containerIdleSeconds?: number
  /**
   * A switch, not a delay: the Price List API's GetProducts answers AccessDeniedException,
   * as for a caller without pricing:GetProducts (sandbox/fidelity/pricing.py). Default false.
   */
  pricingAccessDenied?: boolean
  /**
   * Function names ("a,b") whose configuration updates end `LastUpdateStatus: Failed`
   * (SubnetOutOfIPAddresses) instead of Successful (sandbox/fidelity/lambda_updates.py).
   */
  lambdaUpdatesFail?: string
  /**
   * A switch: replication groups created from now on end in `create-failed`
   * (InsufficientCacheClusterCapacity) instead of available (sandbox/fidelity/elasticache.py).
   */
  replicationGroupCreateFails?: boolean
  /** How long a serverless cache stays creating, modifying and deleting (sandbox/fidelity/elasticache_serverless.py). */
  serverlessCacheCreateSeconds?: number
  serverlessCacheModifySeconds?: number
  serverlessCacheDeleteSeconds?: number
  /**
   * Lambda's control-plane rate limit per account and Region, requests per second (AWS: 15,
   * the default): above it TooManyRequestsException with Retry-After. 0 = no limit. GetFunction
   * has its own, `lambdaGetFunctionRate` (AWS: 100). See sandbox/fidelity/lambda_throttle.py;
   * `lambdaThrottles()` counts the refusals.
   */
  lambdaControlPlaneRate?: number
  lambdaGetFunctionRate?: number
}

/** The TooManyRequestsException answers the sandbox's Lambda gave since the last reset, per action. */
export async function lambdaThrottles(endpoint: string): Promise<{total: number; byOperation: Record<string, number>}> {
  const res = await fetch(`${endpoint}/cct-fidelity/lambda-throttles`, {signal: AbortSignal.timeout(5000)})
  return (await res.json()) as {total: number; byOperation: Record<string, number>}
}

export interface Sandbox {
  /** http://127.0.0.1:<port> of moto. */
  endpoint: string
  region: string
  redisHost: string
  redisPort: number
  /** What a child `cct` process needs: AWS_ENDPOINT_URL, AWS_REGION, dummy credentials, ... */
  env: Record<string, string>
  /** Change the delays at run time (they apply to resources created or deleted afterwards). */
  configure(f: Partial<FidelityConfig>): Promise<void>
  /**
   * Check every request against the caller's IAM policies (on), or let any credentials do
   * anything (off), from now until the next reset, which restores `noAuthActions`.
   */
  enforceIam(on: boolean): Promise<void>
  /** Empty moto (POST /moto-api/reset), restore the start-up delays and IAM checking, FLUSHALL redis. */
  reset(): Promise<void>
  /** Stop both servers and wait for them to exit; idempotent. */
  stop(): Promise<void>
}

/** What `sandbox/cli.ts` records in .sandbox/state.json. */
export interface SandboxState {
  endpoint: string
  region: string
  motoPort: number
  motoPid: number
  redisHost: string
  redisPort: number
  redisPid: number | null
  env: Record<string, string>
  logDir: string
  startedAt: string
  /** moto's INITIAL_NO_AUTH_ACTION_COUNT ("inf": never checked). */
  noAuthActions?: string
}

export const REGION = 'us-east-1'
export const REPO_ROOT = resolve(import.meta.dirname, '..')
export const SANDBOX_HOME = join(REPO_ROOT, '.sandbox')
const HERE = import.meta.dirname
const READY_TIMEOUT_MS = 30_000
const MOTO_HINT = 'Install it: pip install "moto[server]>=5.2,<5.3"'
const REDIS_HINT = 'Install it: apt-get install redis-server (macOS: brew install redis)'

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const launched = await launch(opts, false)
  return attach(launched)
}

interface Launched {
  state: SandboxState
  children: ServerProcess[]
}

/**
 * Starts both servers and waits until they answer. `detached` servers outlive this
 * process (sandbox/cli.ts start); attached ones die with it, however it ends.
 */
export async function launch(opts: SandboxOptions, detached: boolean): Promise<Launched> {
  const logDir = resolve(opts.logDir ?? join(SANDBOX_HOME, 'logs'))
  mkdirSync(logDir, {recursive: true})
  pruneOldLogs(logDir)
  const wantRedis = opts.redis ?? true
  const started: ServerProcess[] = []
  // allSettled, not all: when one server fails, the other must have finished spawning
  // before we clean up, or it would outlive the failure.
  const [motoResult, redisResult] = await Promise.allSettled([
    startMoto(logDir, opts.fidelity ?? {}, detached, started, opts.noAuthActions),
    wantRedis ? startRedis(logDir, detached, started) : undefined,
  ])
  try {
    if (motoResult.status === 'rejected') throw motoResult.reason
    if (redisResult.status === 'rejected') throw redisResult.reason
    const moto = motoResult.value
    const redis = redisResult.value
    const endpoint = `http://127.0.0.1:${moto.port}`
    const env: Record<string, string> = {
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_EC2_METADATA_DISABLED: 'true',
    }
    if (redis) env.CCT_SANDBOX_REDIS_URL = `redis://127.0.0.1:${redis.port}`
    return {
      children: started,
      state: {
        endpoint,
        region: REGION,
        motoPort: moto.port,
        motoPid: moto.child.pid!,
        redisHost: '127.0.0.1',
        redisPort: redis?.port ?? 0,
        redisPid: redis?.child.pid ?? null,
        env,
        logDir,
        startedAt: new Date().toISOString(),
        noAuthActions: String(opts.noAuthActions ?? 'inf'),
      },
    }
  } catch (error) {
    await Promise.all(started.map((c) => stopChild(c)))
    throw error
  }
}

function attach({state, children}: Launched): Sandbox {
  const entry = {children}
  live.add(entry)
  installExitHandlers()
  let stopping: Promise<void> | undefined
  return {
    endpoint: state.endpoint,
    region: state.region,
    redisHost: state.redisHost,
    redisPort: state.redisPort,
    env: state.env,
    configure: (f) => configureFidelity(state.endpoint, f),
    enforceIam: (on) => post(`${state.endpoint}/moto-api/reset-auth`, on ? '0' : 'inf'),
    async reset() {
      await post(`${state.endpoint}/moto-api/reset`, '')
      await post(`${state.endpoint}/moto-api/reset-auth`, state.noAuthActions ?? 'inf')
      if (state.redisPid !== null) await redisCommand(state.redisPort, 'FLUSHALL', '+OK')
    },
    stop() {
      stopping ??= Promise.all(children.map((c) => stopChild(c))).then(() => {
        live.delete(entry)
      })
      return stopping
    },
  }
}

export async function configureFidelity(endpoint: string, f: Partial<FidelityConfig>): Promise<void> {
  await post(`${endpoint}/cct-fidelity/config`, JSON.stringify(f))
}

// --- the two servers -------------------------------------------------------------------

async function startMoto(
  logDir: string,
  fidelity: Partial<FidelityConfig>,
  detached: boolean,
  started: ServerProcess[],
  noAuthActions?: number,
) {
  return startWithRetry(async () => {
    const port = await freePort()
    const log = join(logDir, `moto-${port}.log`)
    // CCT_SANDBOX_NODE: the Node that runs nodejs22.x/24.x functions (sandbox/fidelity/invoke.py).
    const env = {
      MOTO_IAM_LOAD_MANAGED_POLICIES: 'true',
      CCT_SANDBOX_NODE: process.execPath,
      ...(noAuthActions === undefined ? {} : {INITIAL_NO_AUTH_ACTION_COUNT: String(noAuthActions)}),
    }
    const hint = (code: number | string | null) =>
      code === 'ENOENT'
        ? `python3 was not found on PATH. Install Python 3.11+, then: pip install "moto[server]>=5.2,<5.3"`
        : code === 3
          ? `moto is not installed for python3. ${MOTO_HINT}`
          : undefined
    // Attached servers fork from a warm zygote; a detached one (sandbox/cli.ts start) must
    // outlive every process here, so it starts cold.
    const forked = detached
      ? undefined
      : await forkMoto(SANDBOX_HOME, {port, fidelity, env: {...process.env, ...env}, log}, hint, READY_TIMEOUT_MS)
    const child =
      forked ??
      spawnLogged(
        'python3',
        [
          join(HERE, 'moto_server.py'),
          '--port',
          String(port),
          '--fidelity',
          JSON.stringify(fidelity),
          ...(detached ? [] : ['--tied']),
        ],
        log,
        detached,
        env,
      )
    started.push(child)
    await waitReady(
      'moto server',
      child,
      log,
      // Ours, not another sandbox's that bound the port between freePort() and our server's bind
      // (ours then exits with "address already in use", and startWithRetry picks another port).
      async () => {
        const res = await fetch(`http://127.0.0.1:${port}/cct-fidelity/pid`, {signal: AbortSignal.timeout(1000)})
        return res.ok && ((await res.json()) as {pid?: number}).pid === child.pid
      },
      hint,
    )
    return {port, child}
  })
}

async function startRedis(logDir: string, detached: boolean, started: ServerProcess[]) {
  return startWithRetry(async () => {
    const port = await freePort()
    const log = join(logDir, `redis-${port}.log`)
    // A name of this start's own, asked back when it answers: ours, not another sandbox's
    // redis that bound the port first (with --save '' nothing is ever written to it).
    const dbfilename = `cct-${process.pid}-${port}-${Date.now()}.rdb`
    const redisArgs = [
      'redis-server',
      '--port',
      String(port),
      '--dbfilename',
      dbfilename,
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
    ]
    // Attached: run it through tied.py, so it dies with this process even on SIGKILL.
    const child = detached
      ? spawnLogged(redisArgs[0]!, redisArgs.slice(1), log, true)
      : spawnLogged('python3', [join(HERE, 'tied.py'), ...redisArgs], log, false)
    started.push(child)
    await waitReady(
      'redis-server',
      child,
      log,
      () => redisConfigIs(port, 'dbfilename', dbfilename),
      (code) =>
        code === 'ENOENT' && detached
          ? `redis-server was not found on PATH. ${REDIS_HINT}`
          : code === 'ENOENT'
            ? `python3 was not found on PATH (it runs redis-server). Install Python 3.11+.`
            : code === 127
              ? `redis-server was not found on PATH. ${REDIS_HINT}`
              : undefined,
    )
    return {port, child}
  })
}

/** A free port can be taken between our check and the server's bind: try again then. */
async function startWithRetry<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start()
    } catch (error) {
      if (attempt >= 3 || !/address already in use|EADDRINUSE/i.test(String(error))) throw error
    }
  }
}

function spawnLogged(
  cmd: string,
  args: string[],
  log: string,
  detached: boolean,
  env: Record<string, string> = {},
): ChildProcess {
  const fd = openSync(log, 'w')
  try {
    const child = spawn(cmd, args, {
      stdio: ['ignore', fd, fd],
      detached,
      env: {...process.env, ...env},
    })
    child.on('error', () => {}) // reported by waitReady
    if (detached) child.unref()
    return child
  } finally {
    closeSync(fd)
  }
}

function pruneOldLogs(dir: string): void {
  const dayAgo = Date.now() - 24 * 3600_000
  for (const name of readdirSync(dir)) {
    const file = join(dir, name)
    try {
      if (name.endsWith('.log') && statSync(file).mtimeMs < dayAgo) unlinkSync(file)
    } catch {
      // another sandbox may be pruning the same file
    }
  }
}

// --- stopping, and dying with the parent --------------------------------------------------

const live = new Set<{children: ServerProcess[]}>()
let handlersInstalled = false

/** Kill attached servers when this process ends: normally, by exception, or by signal. */
function installExitHandlers(): void {
  if (handlersInstalled) return
  handlersInstalled = true
  const killAll = () => {
    for (const entry of live) for (const child of entry.children) if (child.exitCode === null) child.kill('SIGKILL')
    live.clear()
  }
  process.on('exit', killAll)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      killAll()
      // Listening to a signal replaces node's default (exit); restore it if we were the only listener.
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, onSignal)
        process.kill(process.pid, signal)
      }
    }
    process.on(signal, onSignal)
  }
}

async function stopChild(child: ServerProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

/** Stop a detached server by pid, only if that pid still runs what we started. */
export async function stopPid(pid: number, marker: string): Promise<void> {
  if (!alive(pid) || !runs(pid, marker)) return
  process.kill(pid, 'SIGTERM')
  const deadline = Date.now() + 5000
  while (alive(pid)) {
    if (Date.now() > deadline) process.kill(pid, 'SIGKILL')
    await sleep(50)
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Guards against pid reuse where /proc exists (Linux); elsewhere trusts the pid. */
export function runs(pid: number, marker: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)
  } catch {
    return process.platform !== 'linux'
  }
}

// --- small network helpers ---------------------------------------------------------------

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address() as {port: number}
      server.close(() => resolvePort(port))
    })
  })
}

async function post(url: string, body: string): Promise<void> {
  const res = await fetch(url, {method: 'POST', body, headers: {'content-type': 'application/json'}})
  if (!res.ok) throw new Error(`cct sandbox: POST ${url} answered ${res.status}: ${await res.text()}`)
}

/** Sends one inline redis command and checks the one-line reply (PING, FLUSHALL). */
export async function redisCommand(port: number, command: string, expect: string): Promise<void> {
  const line = (await redisAsk(port, command, (reply) => reply.includes('\r\n'))).split('\r\n')[0]
  if (line !== expect) throw new Error(`redis ${command}: expected ${expect}, got ${line}`)
}

/** Whether redis on `port` answers CONFIG GET `name` with `value`. */
async function redisConfigIs(port: number, name: string, value: string): Promise<boolean> {
  // CONFIG GET's answer: *2, then the name and the value as bulk strings.
  const reply = await redisAsk(port, `CONFIG GET ${name}`, (r) => r.split('\r\n').length >= 6)
  return reply.split('\r\n')[4] === value
}

/** One inline command to redis on `port`; its reply once `whole` says all of it has come. */
function redisAsk(port: number, command: string, whole: (reply: string) => boolean): Promise<string> {
  return new Promise((resolveReply, reject) => {
    const socket = connect({host: '127.0.0.1', port})
    let reply = ''
    socket.setTimeout(1000, () => socket.destroy(new Error(`redis ${command}: timed out`)))
    socket.on('error', reject)
    socket.on('connect', () => socket.write(`${command}\r\n`))
    socket.on('data', (chunk) => {
      reply += chunk.toString()
      if (!whole(reply)) return
      socket.end()
      resolveReply(reply)
    })
  })
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}
