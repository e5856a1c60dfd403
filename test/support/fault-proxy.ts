/**
 * A loopback proxy in front of the sandbox that decides, per call and once the sandbox has
 * answered (so the change is made), what the client gets: the answer, a lost reply (a 500
 * instead), or nothing at all because the process was killed (SIGKILL) first. The kill
 * points and lost replies of issue #12 item 14, at exact calls instead of at output lines.
 */
import type {ChildProcess} from 'node:child_process'
import {createServer, request, type IncomingMessage, type Server, type ServerResponse} from 'node:http'

import {isMutating} from '../../src/aws/call-log.js'

export interface ProxiedCall {
  /** The API operation (CreateVpc), as far as the request shows it. */
  operation: string
  mutating: boolean
  /** 1-based: this call's place among the mutating calls answered so far (0 for a read). */
  n: number
  /** The request's path and body (which role, which function). */
  request: string
}

export type Fate = 'relay' | 'lose' | 'kill'
/** What happens to a call before it reaches the sandbox: passed on, refused (AccessDenied), or the process killed first. */
export type Intercept = 'pass' | 'deny' | 'kill'

export class FaultProxy {
  url = ''
  readonly calls: ProxiedCall[] = []
  /** What the client gets for a call the sandbox has answered. */
  decide: (call: ProxiedCall) => Fate = () => 'relay'
  /**
   * Asked before a call goes to the sandbox (`n` is 0 then): 'deny' refuses it as AWS
   * refuses a call the caller may not make (403 AccessDenied, IAM's query-protocol error),
   * 'kill' kills the process instead (the crash right before the call); nothing changes.
   */
  intercept: (call: ProxiedCall) => Intercept = () => 'pass'
  readonly denied: ProxiedCall[] = []
  /** The process a 'kill' fate kills (set from cli()'s onSpawn). */
  child?: ChildProcess
  killed = false
  /** The call the process was killed at (after its answer, or before it was passed on). */
  killedAt?: ProxiedCall
  private server?: Server
  private mutatingAnswered = 0

  constructor(private readonly target: string) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res))
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    const address = this.server.address()
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
    return this
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server?.closeAllConnections()
      this.server?.close(() => resolve())
    })
  }

  /** Counting starts again (for the next command run through the proxy). */
  reset(
    decide: (call: ProxiedCall) => Fate = () => 'relay',
    intercept: (call: ProxiedCall) => Intercept = () => 'pass',
  ): void {
    this.decide = decide
    this.intercept = intercept
    this.calls.length = 0
    this.denied.length = 0
    this.mutatingAnswered = 0
    this.killed = false
    this.killedAt = undefined
    this.child = undefined
  }

  private kill(res: ServerResponse, at: ProxiedCall): void {
    this.killed = true
    this.killedAt = at
    this.child?.kill('SIGKILL')
    res.destroy()
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    try {
      for await (const chunk of req) chunks.push(chunk as Buffer)
    } catch {
      // The client went away mid-request (killed while sending): nothing to pass on.
      res.destroy()
      return
    }
    const body = Buffer.concat(chunks)
    const text = body.toString('utf8')
    const operation = operationOf(req, text)
    const asked = {operation, mutating: isMutating(operation), n: 0, request: `${req.url} ${text}`}
    const before = this.killed ? 'pass' : this.intercept(asked)
    if (before === 'kill') {
      this.calls.push(asked)
      this.kill(res, asked)
      return
    }
    if (before === 'deny') {
      this.denied.push(asked)
      res.writeHead(403, {'content-type': 'text/xml'})
      res.end(
        `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/cct-test is not authorized to perform: iam:${operation} on resource: ${req.url}</Message></Error><RequestId>denied</RequestId></ErrorResponse>`,
      )
      return
    }
    const target = new URL(this.target)
    const upstream = request({
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: {...req.headers, host: target.host},
    })
    upstream.on('error', () => res.destroy())
    upstream.on('response', (answer) => {
      const parts: Buffer[] = []
      answer.on('data', (d: Buffer) => parts.push(d))
      answer.on('end', () => {
        const ok = (answer.statusCode ?? 500) < 400
        const mutating = isMutating(operation) && ok
        const call = {operation, mutating, n: mutating ? ++this.mutatingAnswered : 0, request: `${req.url} ${text}`}
        this.calls.push(call)
        const fate = this.killed ? 'relay' : this.decide(call)
        if (fate === 'kill') {
          this.kill(res, call)
          return
        }
        if (fate === 'lose') {
          const text = `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>InternalError</Code><Message>An internal error has occurred</Message></Error></Errors><RequestID>lost-reply</RequestID></Response>`
          res.writeHead(500, {'content-type': 'text/xml'})
          res.end(text)
          return
        }
        res.writeHead(answer.statusCode ?? 500, answer.headers)
        res.end(Buffer.concat(parts))
      })
    })
    upstream.end(body)
  }
}

/** The operation a request is for: Action= (query APIs), X-Amz-Target (JSON APIs), or method and path (Lambda's REST API). */
export function operationOf(req: IncomingMessage, body: string): string {
  const action = /(?:^|&)Action=([A-Za-z]+)/.exec(body) ?? /[?&]Action=([A-Za-z]+)/.exec(req.url ?? '')
  if (action) return action[1]!
  const target = req.headers['x-amz-target']
  if (typeof target === 'string') return target.split('.').pop()!
  const cbor = /\/operation\/([A-Za-z]+)$/.exec(req.url ?? '')
  if (cbor) return cbor[1]!
  const method = req.method ?? 'GET'
  const path = (req.url ?? '').split('?')[0]!
  if (method === 'GET' || method === 'HEAD') return `Get${path.split('/').filter(Boolean).slice(-1)[0] ?? ''}`
  if (path.endsWith('/invocations')) return 'Invoke'
  return `${method}${path}`
}
