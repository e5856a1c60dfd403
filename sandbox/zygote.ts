/**
 * Attached moto servers forked from a warm zygote (sandbox/zygote.py) instead of started
 * cold: importing moto and its services is about 3 s of CPU, paid once per zygote rather
 * than once per test file. The zygote is shared by every process of this checkout whose
 * sandbox sources are the same (its socket is named by their digest), and exits when idle.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {createHash} from 'node:crypto'
import {EventEmitter} from 'node:events'
import {appendFileSync, closeSync, mkdirSync, openSync, readdirSync, readFileSync} from 'node:fs'
import {connect, type Socket} from 'node:net'
import {join} from 'node:path'

import {waitReady} from './ready.js'

const HERE = import.meta.dirname
// sun_path holds 108 bytes on Linux; a longer path cannot be bound.
const MAX_SOCKET_PATH = 100

/** What the launcher needs of a server process, whether spawned or forked. */
export interface ServerProcess {
  readonly pid?: number
  readonly exitCode: number | null
  readonly signalCode: NodeJS.Signals | null
  kill(signal?: NodeJS.Signals | number): boolean
  once(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown
  once(event: 'error', listener: (error: NodeJS.ErrnoException) => void): unknown
}

export interface ForkRequest {
  port: number
  fidelity: object
  env: Record<string, string | undefined>
  log: string
}

/**
 * A moto server forked for this process. It exits when this process closes its connection
 * or dies; the connection's end is its 'exit'. Undefined when this checkout's path is too
 * long for a Unix socket (the launcher then spawns moto_server.py cold).
 */
export async function forkMoto(
  home: string,
  request: ForkRequest,
  hint: (code: number | string | null) => string | undefined,
  timeoutMs: number,
): Promise<ServerProcess | undefined> {
  const path = join(home, `zygote-${sourcesDigest()}.sock`)
  if (path.length > MAX_SOCKET_PATH) return undefined
  mkdirSync(home, {recursive: true})
  for (let attempt = 1; ; attempt++) {
    const socket = await openZygote(path, home, hint, timeoutMs)
    const pid = await ask(socket, {...request, cwd: process.cwd()}).catch(() => undefined)
    // An idle zygote may exit between accepting our connection and answering it.
    if (pid !== undefined) return new ForkedServer(pid, socket)
    socket.destroy()
    if (attempt >= 3) throw new Error('cct sandbox: the sandbox zygote closed three requests without an answer')
  }
}

class ForkedServer extends EventEmitter {
  exitCode: number | null = null
  signalCode: NodeJS.Signals | null = null

  constructor(
    readonly pid: number,
    socket: Socket,
  ) {
    super()
    socket.on('error', () => {})
    socket.resume() // read to the end, which is the server's
    socket.once('close', () => {
      this.exitCode = 0
      this.emit('exit', 0, null)
    })
    // The server lives as long as this connection; it must not keep this process alive.
    socket.unref()
  }

  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    recordCpu(this.pid)
    try {
      return process.kill(this.pid, signal)
    } catch {
      return false
    }
  }
}

/**
 * The suite's benchmark (bench/suite/run.ts) counts each test file's CPU from the processes
 * it waits for; a forked server is the zygote's child, not the test's, so with
 * CCT_SANDBOX_CPU_LOG set its CPU (and that of the children it reaped: function runtimes,
 * cache nodes) is appended there, in seconds, as it is stopped.
 */
function recordCpu(pid: number): void {
  const log = process.env.CCT_SANDBOX_CPU_LOG
  if (!log) return
  try {
    // /proc/<pid>/stat after the command's ")": utime, stime, cutime, cstime are fields 12-15, in ticks (100 a second).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    const ticks = fields.slice(11, 15).reduce((sum, f) => sum + Number(f), 0)
    appendFileSync(log, `${ticks / 100}\n`)
  } catch {
    // Already gone: nothing to count.
  }
}

/** Connect to the zygote, starting one when none answers. */
async function openZygote(
  path: string,
  home: string,
  hint: (code: number | string | null) => string | undefined,
  timeoutMs: number,
): Promise<Socket> {
  const first = await connectUnix(path)
  if (first) return first
  const logDir = join(home, 'logs')
  mkdirSync(logDir, {recursive: true})
  const log = join(logDir, `zygote-${process.pid}.log`)
  const fd = openSync(log, 'w')
  let zygote: ChildProcess
  try {
    zygote = spawn('python3', [join(HERE, 'zygote.py'), path], {stdio: ['ignore', fd, fd], detached: true})
  } finally {
    closeSync(fd)
  }
  zygote.unref()
  return waitReady('the sandbox zygote', zygote, log, () => connectUnix(path), hint, {timeoutMs, exitOk: true})
}

function connectUnix(path: string): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const socket = connect(path)
    socket.once('connect', () => resolve(socket))
    socket.once('error', () => resolve(undefined))
  })
}

function ask(socket: Socket, request: ForkRequest & {cwd: string}): Promise<number> {
  return new Promise((resolve, reject) => {
    let answer = ''
    const onData = (chunk: Buffer) => {
      answer += chunk.toString()
      const end = answer.indexOf('\n')
      if (end < 0) return
      socket.off('data', onData)
      socket.off('close', onClose)
      resolve((JSON.parse(answer.slice(0, end)) as {pid: number}).pid)
    }
    const onClose = () => reject(new Error('the zygote closed without an answer'))
    socket.on('data', onData)
    socket.once('close', onClose)
    socket.write(`${JSON.stringify(request)}\n`)
  })
}

let digest: string | undefined
/** The Python the zygote has imported: a changed file needs a zygote of its own. */
function sourcesDigest(): string {
  if (digest) return digest
  const hash = createHash('sha256')
  for (const dir of [HERE, join(HERE, 'fidelity')])
    for (const name of readdirSync(dir).sort())
      if (name.endsWith('.py')) hash.update(`${dir}/${name}\n`).update(readFileSync(join(dir, name)))
  digest = hash.digest('hex').slice(0, 16)
  return digest
}
