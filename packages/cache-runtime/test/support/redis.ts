import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {createConnection, createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

/**
 * A real redis-server on a free loopback port, owned by one test file. It can be stopped
 * and started again on the same port (Redis down / back), or paused with SIGSTOP so the
 * socket stays open but nothing answers (the "slow network" case that only timeouts catch).
 */
export interface RedisServer {
  readonly host: string
  readonly port: number
  /** REDIS_HOST/REDIS_PORT for a helper under test. */
  readonly env: {REDIS_HOST: string; REDIS_PORT: string}
  /** Send one command over a fresh connection (works without any client library). */
  command(...args: Array<string | number>): Promise<RespValue>
  /** Start again on the same port after stop(). */
  start(): Promise<void>
  stop(): Promise<void>
  /** SIGSTOP: connections stay open, replies stop. */
  pause(): void
  /** SIGCONT. */
  resume(): void
  /** Stop for good and remove the data dir. */
  close(): Promise<void>
}

export type RespValue = string | number | null | RespValue[] | Error

const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? 'redis-server'

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      )
    })
  })
}

export async function startRedis(): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'cct-redis-'))
  const host = '127.0.0.1'
  let port = 0
  let child: ChildProcess | undefined
  let paused = false

  const killOnExit = (): void => {
    child?.kill('SIGKILL')
  }
  process.once('exit', killOnExit)

  async function launch(): Promise<void> {
    const proc = spawn(
      REDIS_SERVER,
      [
        '--port',
        String(port),
        '--bind',
        host,
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        '--dir',
        dir,
        '--loglevel',
        'warning',
      ],
      {stdio: ['ignore', 'ignore', 'pipe']},
    )
    child = proc
    let exited = false
    proc.once('exit', () => {
      exited = true
    })
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline) {
      if (exited) throw new Error(`redis-server exited at start (port ${port})`)
      const reply = await sendCommand(host, port, ['PING']).catch(() => undefined)
      if (reply === 'PONG') return
      await sleep(25)
    }
    throw new Error(`redis-server did not answer on ${host}:${port}`)
  }

  async function stop(): Promise<void> {
    const proc = child
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return
    if (paused) proc.kill('SIGCONT')
    paused = false
    const exited = new Promise((resolve) => proc.once('exit', resolve))
    proc.kill('SIGKILL')
    await exited
    child = undefined
  }

  // A port can be taken between freePort() and redis binding it: try a few.
  for (let attempt = 0; ; attempt++) {
    port = await freePort()
    try {
      await launch()
      break
    } catch (error) {
      await stop()
      if (attempt >= 4) throw error
    }
  }

  return {
    host,
    port,
    env: {REDIS_HOST: host, REDIS_PORT: String(port)},
    command: (...args) => sendCommand(host, port, args),
    start: launch,
    stop,
    pause() {
      child?.kill('SIGSTOP')
      paused = true
    },
    resume() {
      child?.kill('SIGCONT')
      paused = false
    },
    async close() {
      await stop()
      process.removeListener('exit', killOnExit)
      rmSync(dir, {recursive: true, force: true})
    },
  }
}

/** One RESP command over a new socket, 2 s budget. Enough for test setup and inspection. */
export function sendCommand(host: string, port: number, args: ReadonlyArray<string | number>): Promise<RespValue> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({host, port})
    let buffer = Buffer.alloc(0)
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error('redis command timed out'))
    }, 2000)
    socket.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk])
      const parsed = parseResp(buffer, 0)
      if (!parsed) return
      clearTimeout(timer)
      socket.end()
      resolve(parsed.value)
    })
    const parts = args.map((arg) => Buffer.from(String(arg)))
    socket.write(
      Buffer.concat([
        Buffer.from(`*${parts.length}\r\n`),
        ...parts.flatMap((part) => [Buffer.from(`$${part.length}\r\n`), part, Buffer.from('\r\n')]),
      ]),
    )
  })
}

function parseResp(buffer: Buffer, offset: number): {value: RespValue; end: number} | undefined {
  const lineEnd = buffer.indexOf('\r\n', offset)
  if (lineEnd === -1) return undefined
  const type = String.fromCharCode(buffer[offset]!)
  const line = buffer.toString('utf8', offset + 1, lineEnd)
  switch (type) {
    case '+':
      return {value: line, end: lineEnd + 2}
    case '-':
      return {value: new Error(line), end: lineEnd + 2}
    case ':':
      return {value: Number(line), end: lineEnd + 2}
    case '$': {
      const length = Number(line)
      if (length < 0) return {value: null, end: lineEnd + 2}
      const start = lineEnd + 2
      if (buffer.length < start + length + 2) return undefined
      return {value: buffer.toString('utf8', start, start + length), end: start + length + 2}
    }
    case '*': {
      const count = Number(line)
      if (count < 0) return {value: null, end: lineEnd + 2}
      const items: RespValue[] = []
      let end = lineEnd + 2
      for (let i = 0; i < count; i++) {
        const item = parseResp(buffer, end)
        if (!item) return undefined
        items.push(item.value)
        end = item.end
      }
      return {value: items, end}
    }
    default:
      throw new Error(`unexpected RESP type ${type}`)
  }
}
