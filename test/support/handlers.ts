/**
 * Calling the seeded functions' code, two ways, behind traffic's `Invoker` shape:
 *
 * - `lambdaInvoke`: Lambda Invoke against the sandbox (RequestResponse, LogType Tail), once
 *   the sandbox runs function code (sandbox/fidelity/invoke.py);
 * - `directInvoker`: the same index.py and shared-utils layer run by python3 on this
 *   machine (test/support/run_handler.py), talking to the sandbox's moto through
 *   AWS_ENDPOINT_URL. One process per function, one event at a time, as one warm
 *   container would. For the time before Invoke runs code; no REPORT lines.
 *
 * `realInvokeWorks` tells which one the sandbox supports: Invoke must run the code and the
 * code must reach the sandbox's DynamoDB through its own AWS endpoints (edge.py).
 */
import {spawn, type ChildProcessWithoutNullStreams} from 'node:child_process'
import {join} from 'node:path'
import {createInterface} from 'node:readline'

import {REPO_ROOT} from '../../sandbox/launcher.js'
import {SEED_FUNCTIONS, seedFunctionZip} from '../../sandbox/seed.js'
import type {InvokeAnswer, Invoker} from '../../sandbox/traffic.js'

const creds = {accessKeyId: 'test', secretAccessKey: 'test'}

export async function lambdaInvoke(target: {endpoint: string; region: string}): Promise<{invoke: Invoker; close(): void}> {
  const {LambdaClient, InvokeCommand} = await import('@aws-sdk/client-lambda')
  const client = new LambdaClient({endpoint: target.endpoint, region: target.region, credentials: creds, maxAttempts: 1})
  return {
    invoke: (FunctionName, payload, abortSignal) =>
      client.send(new InvokeCommand({FunctionName, Payload: new TextEncoder().encode(payload), LogType: 'Tail'}), {abortSignal}),
    close: () => client.destroy(),
  }
}

/**
 * Does Invoke run the seeded code *and* can that code reach DynamoDB (the sandbox's edge)?
 * Asked of a throwaway copy of articles-api with a 3 s Timeout, so "no" costs seconds,
 * not the seeded functions' 10.
 */
export async function realInvokeWorks(target: {endpoint: string; region: string}, seed: {roleArn: string; layerArn: string}): Promise<boolean> {
  const {LambdaClient, CreateFunctionCommand, DeleteFunctionCommand, waitUntilFunctionActiveV2} = await import('@aws-sdk/client-lambda')
  const lambda = new LambdaClient({endpoint: target.endpoint, region: target.region, credentials: creds, maxAttempts: 1})
  const {invoke, close} = await lambdaInvoke(target)
  const FunctionName = 'cct-test-invoke-probe'
  try {
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName, Runtime: 'python3.12', Handler: 'index.lambda_handler', Role: seed.roleArn, Timeout: 3,
        Code: {ZipFile: seedFunctionZip('articles-api')}, Layers: [seed.layerArn], Environment: {Variables: SEED_FUNCTIONS['articles-api']!},
      }),
    )
    await waitUntilFunctionActiveV2({client: lambda, maxWaitTime: 30, minDelay: 1}, {FunctionName})
    const answer = await invoke(FunctionName, JSON.stringify({rawPath: '/articles/a-001', requestContext: {http: {method: 'GET'}}}), AbortSignal.timeout(30_000))
    const payload = Buffer.from(answer.Payload ?? []).toString()
    return !answer.FunctionError && (JSON.parse(payload) as {statusCode?: number}).statusCode === 200
  } catch {
    return false
  } finally {
    await lambda.send(new DeleteFunctionCommand({FunctionName})).catch(() => {})
    close()
    lambda.destroy()
  }
}

interface Worker {
  child: ChildProcessWithoutNullStreams
  /** The previous event's answer: one event at a time per process. */
  queue: Promise<unknown>
  read(): Promise<string>
}

export function directInvoker(target: {endpoint: string; region: string}, envOverrides: Record<string, Record<string, string>> = {}): {invoke: Invoker; close(): void} {
  const workers = new Map<string, Worker>()
  const worker = (name: string): Worker => {
    const existing = workers.get(name)
    if (existing) return existing
    const variables = SEED_FUNCTIONS[name]
    if (!variables) throw new Error(`no seeded function ${name}`)
    const child = spawn('python3', [join(REPO_ROOT, 'test/support/run_handler.py'), join(REPO_ROOT, 'sandbox/seed/functions', name), join(REPO_ROOT, 'sandbox/seed/layers/shared-utils/python')], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        ...variables,
        ...envOverrides[name],
        AWS_ENDPOINT_URL: target.endpoint,
        AWS_REGION: target.region,
        AWS_DEFAULT_REGION: target.region,
        AWS_ACCESS_KEY_ID: creds.accessKeyId,
        AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
        AWS_LAMBDA_FUNCTION_NAME: name,
      },
    })
    const lines: string[] = []
    let waiting: ((line: string) => void) | undefined
    const deliver = (line: string) => {
      if (!waiting) return void lines.push(line)
      const resolve = waiting
      waiting = undefined
      resolve(line)
    }
    createInterface({input: child.stdout}).on('line', deliver)
    let log = ''
    child.stderr.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)))
    child.on('exit', (code) => deliver(JSON.stringify({errorType: 'ProcessExit', errorMessage: `python3 exited ${code}: ${log}`})))
    const w: Worker = {
      child,
      queue: Promise.resolve(),
      read: () => new Promise<string>((resolve) => (lines.length ? resolve(lines.shift()!) : (waiting = resolve))),
    }
    workers.set(name, w)
    return w
  }
  const invoke: Invoker = (name, payload) => {
    const w = worker(name)
    const answer = w.queue.then(async (): Promise<InvokeAnswer> => {
      w.child.stdin.write(payload + '\n') // JSON.stringify never emits a raw newline
      const out = JSON.parse(await w.read()) as {result?: unknown; errorType?: string; errorMessage?: string; stackTrace?: string[]}
      if ('result' in out) return {Payload: new TextEncoder().encode(JSON.stringify(out.result))}
      const {errorType, errorMessage, stackTrace} = out
      return {FunctionError: 'Unhandled', Payload: new TextEncoder().encode(JSON.stringify({errorType, errorMessage, stackTrace}))}
    })
    w.queue = answer.catch(() => {})
    return answer
  }
  return {
    invoke,
    close: () => {
      for (const {child} of workers.values()) child.kill()
      workers.clear()
    },
  }
}
