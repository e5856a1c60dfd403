/**
 * Invoke runs the function's code (sandbox/fidelity/invoke.py, sandbox/runtime/): checked
 * through the AWS SDK's Lambda client against the sandbox, as a user of Lambda sees it.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {createServer, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {CloudWatchClient, GetMetricStatisticsCommand} from '@aws-sdk/client-cloudwatch'
import {CreateRoleCommand, IAMClient} from '@aws-sdk/client-iam'
import {
  CreateFunctionCommand,
  InvokeCommand,
  LambdaClient,
  PublishLayerVersionCommand,
  PublishVersionCommand,
  PutFunctionConcurrencyCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  type InvokeCommandOutput,
  type Runtime,
} from '@aws-sdk/client-lambda'
import {strToU8, zipSync, type Zippable} from 'fflate'

import {alive, startSandbox} from '../../sandbox/launcher.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({redis: false})

function clients() {
  const {endpoint, region} = sandbox()
  const config = {endpoint, region, maxAttempts: 1, credentials: {accessKeyId: 'test', secretAccessKey: 'test'}}
  return {lambda: new LambdaClient(config), iam: new IAMClient(config), cloudwatch: new CloudWatchClient(config)}
}

/** A zip of text files; names ending in "*" are executable (mode 755), the star dropped. */
function zip(files: Record<string, string>): Uint8Array {
  const entries: Zippable = {}
  for (const [name, text] of Object.entries(files)) {
    entries[name.replace(/\*$/, '')] = [
      strToU8(text),
      name.endsWith('*') ? {os: 3, attrs: 0o755 << 16} : {os: 3, attrs: 0o644 << 16},
    ]
  }
  return zipSync(entries)
}

async function role(): Promise<string> {
  const trust = {
    Version: '2012-10-17',
    Statement: [{Effect: 'Allow', Principal: {Service: 'lambda.amazonaws.com'}, Action: 'sts:AssumeRole'}],
  }
  const {Role} = await clients().iam.send(
    new CreateRoleCommand({RoleName: `fn-role`, AssumeRolePolicyDocument: JSON.stringify(trust)}),
  )
  return Role!.Arn!
}

interface Fn {
  name: string
  runtime?: string
  handler?: string
  files: Record<string, string>
  env?: Record<string, string>
  layers?: string[]
  timeout?: number
}

async function createFunction(fn: Fn, roleArn?: string): Promise<void> {
  await clients().lambda.send(
    new CreateFunctionCommand({
      FunctionName: fn.name,
      Runtime: (fn.runtime ?? 'python3.12') as Runtime,
      Handler: fn.handler ?? 'index.handler',
      Role: roleArn ?? (await role()),
      Code: {ZipFile: zip(fn.files)},
      Environment: {Variables: fn.env ?? {}},
      Layers: fn.layers,
      Timeout: fn.timeout ?? 5,
    }),
  )
}

async function layer(name: string, files: Record<string, string>): Promise<string> {
  const out = await clients().lambda.send(
    new PublishLayerVersionCommand({LayerName: name, Content: {ZipFile: zip(files)}}),
  )
  return out.LayerVersionArn!
}

interface Invoked {
  out: InvokeCommandOutput
  payload: any
  log: string
}

async function invoke(name: string, event: unknown = {}, extra: {Qualifier?: string} = {}): Promise<Invoked> {
  const out = await clients().lambda.send(
    new InvokeCommand({FunctionName: name, Payload: JSON.stringify(event), LogType: 'Tail', ...extra}),
  )
  const text = Buffer.from(out.Payload ?? []).toString()
  return {out, payload: text ? JSON.parse(text) : undefined, log: Buffer.from(out.LogResult ?? '', 'base64').toString()}
}

const report = (log: string) => log.split('\n').find((l) => l.startsWith('REPORT '))!

/** CloudWatch Logs through its JSON API (the repo has no Logs client). */
async function logsCall(target: string, body: object): Promise<any> {
  const {endpoint, region} = sandbox()
  const res = await fetch(endpoint, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `Logs_20140328.${target}`,
      authorization: `AWS4-HMAC-SHA256 Credential=test/20260101/${region}/logs/aws4_request, SignedHeaders=host, Signature=0`,
    },
  })
  assert.equal(res.status, 200, await res.clone().text())
  return res.json()
}

async function metricSum(
  name: string,
  functionName: string,
  namespace = 'AWS/Lambda',
  dims?: Record<string, string>,
): Promise<number> {
  const {Datapoints = []} = await clients().cloudwatch.send(
    new GetMetricStatisticsCommand({
      Namespace: namespace,
      MetricName: name,
      Dimensions: Object.entries(dims ?? {FunctionName: functionName}).map(([Name, Value]) => ({Name, Value})),
      StartTime: new Date(Date.now() - 600_000),
      EndTime: new Date(Date.now() + 600_000),
      Period: 60,
      Statistics: ['Sum'],
    }),
  )
  return Datapoints.reduce((n, d) => n + (d.Sum ?? 0), 0)
}

const PY_ECHO = `import json, os, sys, time

def handler(event, context):
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("gate"):
        open(os.path.join(event["gate"], "started-%d" % os.getpid()), "w").close()
        while not os.path.exists(os.path.join(event["gate"], "open")):
            time.sleep(0.01)
    if event.get("fail"):
        raise ValueError("boom: " + event["fail"])
    print("emf-free line")
    return {
        "event": event,
        "pid": os.getpid(),
        "env": {k: os.environ.get(k) for k in ["AWS_REGION", "AWS_DEFAULT_REGION", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION",
                 "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "_HANDLER", "LAMBDA_TASK_ROOT", "AWS_EXECUTION_ENV", "AWS_ENDPOINT_URL",
                 "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN", "TZ", "MY_VAR", "AWS_LAMBDA_LOG_GROUP_NAME"]},
        "cwd": os.getcwd(),
        "path": sys.path[:3],
        "context": [context.function_name, context.aws_request_id, context.memory_limit_in_mb, context.log_group_name,
                    context.get_remaining_time_in_millis()],
    }
`

/**
 * A gate the test holds shut: an invocation of PY_ECHO given `{gate: dir}` writes
 * `started-<pid>` into dir, then waits until the test opens the gate. What runs at the same
 * time is then known, not hoped for from sleeps on a loaded machine.
 */
class Gate {
  readonly dir = mkdtempSync(join(tmpdir(), 'cct-gate-'))

  /** Until `n` invocations wait at the gate; fails if one of `running` ends first (none can while it is shut). */
  async started(n: number, running: Promise<unknown>[]): Promise<void> {
    let ended: unknown
    for (const p of running)
      p.then(
        (v) => (ended ??= v),
        (e: unknown) => (ended ??= e),
      )
    while (readdirSync(this.dir).filter((f) => f.startsWith('started-')).length < n) {
      if (ended !== undefined) throw new Error(`an invocation ended while the gate was shut: ${String(ended)}`)
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  open(): void {
    writeFileSync(join(this.dir, 'open'), '')
  }
}

describe('Lambda Invoke in the sandbox', () => {
  it('a Python function: cold then warm, Lambda env and context, logs, metrics', async () => {
    await createFunction({name: 'py-echo', files: {'index.py': PY_ECHO}, env: {MY_VAR: 'mine'}})
    const cold = await invoke('py-echo', {n: 1})
    const warm = await invoke('py-echo', {n: 2})
    assert.equal(cold.out.StatusCode, 200)
    assert.equal(cold.out.FunctionError, undefined)
    assert.equal(cold.out.ExecutedVersion, '$LATEST')
    assert.deepEqual(cold.payload.event, {n: 1})
    assert.deepEqual(warm.payload.event, {n: 2})
    assert.equal(warm.payload.pid, cold.payload.pid, 'the warm invocation ran in the same container')
    assert.match(
      report(cold.log),
      /^REPORT RequestId: \S+\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: \d+ MB\tInit Duration: \d+\.\d\d ms\t$/,
    )
    assert.doesNotMatch(report(warm.log), /Init Duration/)
    assert.match(cold.log, /^START RequestId: \S+ Version: \$LATEST\nemf-free line\nEND RequestId: \S+\nREPORT /)
    const env = cold.payload.env
    assert.equal(env.AWS_REGION, 'us-east-1')
    assert.equal(env.AWS_DEFAULT_REGION, 'us-east-1')
    assert.equal(env.AWS_LAMBDA_FUNCTION_NAME, 'py-echo')
    assert.equal(env.AWS_LAMBDA_FUNCTION_VERSION, '$LATEST')
    assert.equal(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE, '128')
    assert.equal(env._HANDLER, 'index.handler')
    assert.equal(env.AWS_EXECUTION_ENV, 'AWS_Lambda_python3.12')
    assert.equal(env.AWS_LAMBDA_LOG_GROUP_NAME, '/aws/lambda/py-echo')
    assert.equal(env.MY_VAR, 'mine')
    assert.equal(env.TZ, ':UTC')
    assert.equal(env.AWS_ENDPOINT_URL, null, "the sandbox's endpoint never leaks into the function")
    assert.ok(env.AWS_ACCESS_KEY_ID && env.AWS_SESSION_TOKEN, 'role credentials')
    assert.equal(cold.payload.cwd, env.LAMBDA_TASK_ROOT)
    assert.deepEqual(cold.payload.path.slice(1), [
      env.LAMBDA_TASK_ROOT.replace(/task$/, 'opt/python/lib/python3.12/site-packages'),
      env.LAMBDA_TASK_ROOT.replace(/task$/, 'opt/python'),
    ])
    assert.equal(cold.payload.path[0], env.LAMBDA_TASK_ROOT)
    const [fnName, requestId, memory, group, remaining] = cold.payload.context
    assert.deepEqual([fnName, memory, group], ['py-echo', 128, '/aws/lambda/py-echo'])
    assert.equal(requestId, cold.out.$metadata.requestId)
    assert.ok(remaining > 4000 && remaining <= 5000, `remaining ${remaining}`)

    const {logStreams} = await logsCall('DescribeLogStreams', {logGroupName: '/aws/lambda/py-echo'})
    assert.equal(logStreams.length, 1, 'one stream per container')
    assert.match(logStreams[0].logStreamName, /^\d{4}\/\d\d\/\d\d\/\[\$LATEST\][0-9a-f]{32}$/)
    const {events} = await logsCall('GetLogEvents', {
      logGroupName: '/aws/lambda/py-echo',
      logStreamName: logStreams[0].logStreamName,
    })
    assert.equal(events.filter((e: any) => e.message.startsWith('START RequestId:')).length, 2)
    assert.equal(await metricSum('Invocations', 'py-echo'), 2)
    assert.equal(await metricSum('Errors', 'py-echo'), 0)
    assert.ok((await metricSum('Duration', 'py-echo')) > 0)
  })

  it('unhandled errors have Lambda shape, in Python and in Node', async () => {
    const roleArn = await role()
    await createFunction({name: 'py-fail', files: {'index.py': PY_ECHO}}, roleArn)
    await createFunction(
      {
        name: 'node-fail',
        runtime: 'nodejs22.x',
        files: {'index.mjs': 'export const handler = async () => { throw new TypeError("bad input") }'},
      },
      roleArn,
    )
    const py = await invoke('py-fail', {fail: 'x'})
    assert.equal(py.out.FunctionError, 'Unhandled')
    assert.equal(py.out.StatusCode, 200)
    assert.deepEqual(Object.keys(py.payload), ['errorMessage', 'errorType', 'requestId', 'stackTrace'])
    assert.equal(py.payload.errorMessage, 'boom: x')
    assert.equal(py.payload.errorType, 'ValueError')
    assert.match(py.payload.stackTrace.at(-1), /File ".*index\.py", line \d+, in handler/)
    const node = await invoke('node-fail')
    assert.equal(node.out.FunctionError, 'Unhandled')
    assert.deepEqual(Object.keys(node.payload), ['errorType', 'errorMessage', 'trace'])
    assert.equal(node.payload.errorType, 'TypeError')
    assert.equal(node.payload.errorMessage, 'bad input')
    assert.equal(node.payload.trace[0], 'TypeError: bad input')
    assert.equal(await metricSum('Errors', 'node-fail'), 1)
    // The container survives a handled-by-the-runtime error.
    const again = await invoke('py-fail')
    assert.doesNotMatch(report(again.log), /Init Duration/)
  })

  it('a timeout kills the container: Lambda text, then a cold start', async () => {
    await createFunction({name: 'py-slow', files: {'index.py': PY_ECHO}, timeout: 1})
    const first = await invoke('py-slow')
    const slow = await invoke('py-slow', {sleep: 3})
    assert.equal(slow.out.FunctionError, 'Unhandled')
    const requestId = slow.out.$metadata.requestId
    assert.match(
      slow.payload.errorMessage,
      new RegExp(
        `^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z ${requestId} Task timed out after 1\\.00 seconds$`,
      ),
    )
    assert.deepEqual(Object.keys(slow.payload), ['errorMessage'])
    assert.match(slow.log, /Task timed out after 1\.00 seconds\n$/)
    assert.throws(() => process.kill(first.payload.pid, 0), 'the timed-out container is gone')
    const next = await invoke('py-slow')
    assert.notEqual(next.payload.pid, first.payload.pid)
    assert.match(report(next.log), /Init Duration/)
  })

  it('ES module, CommonJS (callback) and .cjs handlers in a folder; NODE_PATH and the runtime SDK as Lambda has them', async () => {
    const roleArn = await role()
    const probe = `const r = {nodePath: process.env.NODE_PATH, cwd: process.cwd()}
      try { await import('ioredis'); r.ioredis = true } catch { r.ioredis = false }`
    await createFunction(
      {
        name: 'node-esm',
        runtime: 'nodejs22.x',
        handler: 'src/app.handler',
        files: {
          'src/app.mjs': `import {DynamoDBClient} from '@aws-sdk/client-dynamodb'
        export const handler = async (event, context) => { ${probe}
          console.log('hello', {a: 1})
          return {kind: 'esm', sdk: typeof DynamoDBClient, fn: context.functionName, left: context.getRemainingTimeInMillis(), ...r} }`,
        },
      },
      roleArn,
    )
    await createFunction(
      {
        name: 'node-cjs',
        runtime: 'nodejs22.x',
        handler: 'lib/main.handler',
        files: {
          'lib/main.js': `const {DynamoDBDocumentClient} = require('@aws-sdk/lib-dynamodb')
        exports.handler = (event, context, callback) => setTimeout(() => callback(null, {kind: 'cjs', doc: typeof DynamoDBDocumentClient, id: context.awsRequestId}), 10)`,
        },
      },
      roleArn,
    )
    await createFunction(
      {
        name: 'node-cjs-ext',
        runtime: 'nodejs24.x',
        handler: 'index.handler',
        files: {
          'index.cjs': `module.exports.handler = async () => ({kind: 'cjs-ext', esm: typeof require})`,
        },
      },
      roleArn,
    )
    const esm = await invoke('node-esm')
    assert.equal(esm.out.FunctionError, undefined, JSON.stringify(esm.payload))
    assert.equal(esm.payload.kind, 'esm')
    assert.equal(esm.payload.sdk, 'function', 'the runtime provides the AWS SDK v3')
    assert.equal(esm.payload.ioredis, false, 'nothing else of the repository is reachable')
    assert.equal(esm.payload.fn, 'node-esm')
    const opt = esm.payload.cwd.replace(/task$/, 'opt')
    assert.match(
      esm.payload.nodePath,
      new RegExp(
        `^${opt}/nodejs/node22/node_modules:${opt}/nodejs/node_modules:[^:]+/node_modules:[^:]+:${esm.payload.cwd}$`,
      ),
    )
    assert.match(esm.log, /\n\d{4}-\d\d-\d\dT[\d:.]+Z\t\S+\tINFO\thello { a: 1 }\n/)
    const cjs = await invoke('node-cjs')
    assert.deepEqual(cjs.payload, {kind: 'cjs', doc: 'function', id: cjs.out.$metadata.requestId})
    const ext = await invoke('node-cjs-ext')
    assert.deepEqual(ext.payload, {kind: 'cjs-ext', esm: 'function'})
  })

  it('layers are unpacked in order into /opt: a later layer wins; an exec wrapper runs and can chain', async () => {
    const first = await layer('base', {
      'python/shared.py': 'WHO = "first"\n',
      'python/only_first.py': 'X = 1\n',
      'bin/wrap1*': '#!/bin/sh\nexport WRAPPED="one"\nexec "$(dirname "$0")/wrap2" "$@"\n',
    })
    const second = await layer('override', {
      'python/shared.py': 'WHO = "second"\n',
      'bin/wrap2*': '#!/bin/sh\nexport WRAPPED="$WRAPPED,two"\nexport PYTHONDONTWRITEBYTECODE=1\nexec "$@"\n',
    })
    await createFunction({
      name: 'py-layers',
      layers: [first, second],
      env: {AWS_LAMBDA_EXEC_WRAPPER: '/opt/bin/wrap1'},
      files: {
        'index.py':
          'import os, shared, only_first\n\ndef handler(e, c):\n    return [shared.WHO, only_first.X, os.environ.get("WRAPPED")]\n',
      },
    })
    const out = await invoke('py-layers')
    assert.deepEqual(out.payload, ['second', 1, 'one,two'])
  })

  it('a frozen container keeps its open sockets; it is stopped between invocations', async () => {
    const accepted: Socket[] = []
    const server = createServer((s) => {
      accepted.push(s)
      s.on('data', (d) => s.write(`echo:${d}`))
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as {port: number}).port
    try {
      await createFunction({
        name: 'node-socket',
        runtime: 'nodejs22.x',
        files: {
          'index.mjs': `import net from 'node:net'
        let socket
        export const handler = async (event) => {
          socket ??= net.connect(${port}, '127.0.0.1')
          await new Promise((r) => socket.connecting ? socket.once('connect', r) : r())
          const reply = new Promise((r) => socket.once('data', (d) => r(String(d))))
          socket.write(event.say)
          return {pid: process.pid, reply: await reply, local: socket.localPort}
        }`,
        },
      })
      const one = await invoke('node-socket', {say: 'a'})
      const state = readFileSync(`/proc/${one.payload.pid}/stat`, 'utf8').split(') ')[1]![0]
      assert.equal(state, 'T', 'frozen (stopped) between invocations')
      await new Promise((r) => setTimeout(r, 200))
      const two = await invoke('node-socket', {say: 'b'})
      assert.deepEqual([one.payload.reply, two.payload.reply], ['echo:a', 'echo:b'])
      assert.equal(two.payload.local, one.payload.local, 'the same connection')
      assert.equal(accepted.length, 1)
    } finally {
      for (const s of accepted) s.destroy()
      server.close()
    }
  })

  it('an env update gives a cold start with the new env; a published version keeps its code (Qualifier)', async () => {
    await createFunction({
      name: 'py-versions',
      files: {'index.py': 'import os\n\ndef handler(e, c):\n    return ["v1", os.environ.get("MY_VAR")]\n'},
      env: {MY_VAR: 'a'},
    })
    const before = await invoke('py-versions')
    assert.deepEqual(before.payload, ['v1', 'a'])
    const {lambda} = clients()
    await lambda.send(
      new UpdateFunctionConfigurationCommand({FunctionName: 'py-versions', Environment: {Variables: {MY_VAR: 'b'}}}),
    )
    const after = await invoke('py-versions')
    assert.deepEqual(after.payload, ['v1', 'b'])
    assert.match(report(after.log), /Init Duration/, 'a configuration change means a cold start')
    await lambda.send(new PublishVersionCommand({FunctionName: 'py-versions'}))
    await lambda.send(
      new UpdateFunctionCodeCommand({
        FunctionName: 'py-versions',
        ZipFile: zip({'index.py': 'def handler(e, c):\n    return ["v2"]\n'}),
      }),
    )
    const v1 = await invoke('py-versions', {}, {Qualifier: '1'})
    assert.equal(v1.out.ExecutedVersion, '1')
    assert.deepEqual(v1.payload, ['v1', 'b'])
    assert.match(v1.log, /^START RequestId: \S+ Version: 1\n/)
    const latest = await invoke('py-versions')
    assert.deepEqual(latest.payload, ['v2'])
  })

  it('concurrent invocations get separate containers; reserved concurrency throttles', async () => {
    await createFunction({name: 'py-conc', files: {'index.py': PY_ECHO}, timeout: 30})
    // The second is sent while the first waits at the gate: it cannot share its container.
    const gate = new Gate()
    const a = invoke('py-conc', {gate: gate.dir})
    await gate.started(1, [a])
    const b = invoke('py-conc', {gate: gate.dir})
    await gate.started(2, [a, b])
    gate.open()
    const [ra, rb] = await Promise.all([a, b])
    assert.notEqual(ra.payload.pid, rb.payload.pid)
    const c = await invoke('py-conc')
    assert.ok([ra.payload.pid, rb.payload.pid].includes(c.payload.pid), 'a warm one serves the next')
    await clients().lambda.send(
      new PutFunctionConcurrencyCommand({FunctionName: 'py-conc', ReservedConcurrentExecutions: 1}),
    )
    const isThrottle = (e: Error) => {
      assert.equal(e.name, 'TooManyRequestsException')
      return true
    }
    // One running (held at the gate): the next is refused, and the one running still answers.
    const held = new Gate()
    const running = invoke('py-conc', {gate: held.dir})
    await held.started(1, [running])
    await assert.rejects(invoke('py-conc'), isThrottle)
    held.open()
    assert.equal((await running).out.FunctionError, undefined)
    // Two sent together, both held at the gate if both were let in: exactly one is refused
    // (the gate opens once one has answered; if neither is refused, that is the timeout).
    const together = new Gate()
    const both = [invoke('py-conc', {gate: together.dir}), invoke('py-conc', {gate: together.dir})]
    await Promise.race(both.map((p) => p.catch(() => undefined)))
    together.open()
    const settled = await Promise.allSettled(both)
    const throttled = settled.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason)
    assert.equal(throttled.length, 1)
    isThrottle(throttled[0])
    assert.equal(await metricSum('Throttles', 'py-conc'), 2)
  })

  it('idle containers are reaped after containerIdleSeconds', async () => {
    await sandbox().configure({containerIdleSeconds: 0.3})
    await createFunction({name: 'py-idle', files: {'index.py': PY_ECHO}})
    const first = await invoke('py-idle')
    // Reaped by the sandbox's sweep once idle; on a loaded machine the sweep may run late.
    const alive = () => {
      try {
        process.kill(first.payload.pid, 0)
        return true
      } catch {
        return false
      }
    }
    for (let waited = 0; alive() && waited < 10_000; waited += 100) await new Promise((r) => setTimeout(r, 100))
    assert.equal(alive(), false, 'reaped')
    assert.match(report((await invoke('py-idle')).log), /Init Duration/)
  })

  it('Event runs in the background (202), DryRun runs nothing (204); an unknown function is ResourceNotFoundException', async () => {
    await createFunction({name: 'py-event', files: {'index.py': 'def handler(e, c):\n    print("ran", e["n"])\n'}})
    const {lambda} = clients()
    const dry = await lambda.send(new InvokeCommand({FunctionName: 'py-event', InvocationType: 'DryRun'}))
    assert.equal(dry.StatusCode, 204)
    const event = await lambda.send(
      new InvokeCommand({FunctionName: 'py-event', InvocationType: 'Event', Payload: '{"n": 7}'}),
    )
    assert.equal(event.StatusCode, 202)
    let messages: string[] = []
    for (let i = 0; i < 50 && !messages.includes('ran 7'); i++) {
      await new Promise((r) => setTimeout(r, 100))
      const found = await logsCall('FilterLogEvents', {logGroupName: '/aws/lambda/py-event'}).catch(() => ({
        events: [],
      }))
      messages = found.events.map((e: any) => e.message)
    }
    assert.ok(messages.includes('ran 7'), `the event ran: ${messages}`)
    assert.equal(messages.filter((m) => m.startsWith('START')).length, 1, 'DryRun did not run')
    await assert.rejects(lambda.send(new InvokeCommand({FunctionName: 'no-such-fn'})), (e: Error) => {
      assert.equal(e.name, 'ResourceNotFoundException')
      assert.equal(e.message, 'Function not found: arn:aws:lambda:us-east-1:123456789012:function:no-such-fn')
      return true
    })
  })

  it('EMF lines become CloudWatch metrics; reset kills the containers', async () => {
    await createFunction({
      name: 'node-emf',
      runtime: 'nodejs22.x',
      files: {
        'index.mjs': `export const handler = async () => {
      process.stdout.write(JSON.stringify({_aws: {Timestamp: Date.now(), CloudWatchMetrics: [{Namespace: 'cct-test', Dimensions: [['FunctionName']], Metrics: [{Name: 'CacheHit', Unit: 'Count'}]}]}, FunctionName: 'node-emf', CacheHit: 3}) + '\\n')
      return process.pid }`,
      },
    })
    const out = await invoke('node-emf')
    assert.equal(await metricSum('CacheHit', 'node-emf', 'cct-test'), 3)
    await sandbox().reset()
    assert.throws(() => process.kill(out.payload, 0), 'reset kills the containers')
  })
})

describe('containers die with the sandbox', () => {
  it('stopping the server kills its containers, frozen ones too', async () => {
    const own = await startSandbox({redis: false})
    try {
      const config = {
        endpoint: own.endpoint,
        region: own.region,
        maxAttempts: 1,
        credentials: {accessKeyId: 'test', secretAccessKey: 'test'},
      }
      const trust = {
        Version: '2012-10-17',
        Statement: [{Effect: 'Allow', Principal: {Service: 'lambda.amazonaws.com'}, Action: 'sts:AssumeRole'}],
      }
      const {Role} = await new IAMClient(config).send(
        new CreateRoleCommand({RoleName: 'r', AssumeRolePolicyDocument: JSON.stringify(trust)}),
      )
      const lambda = new LambdaClient(config)
      await lambda.send(
        new CreateFunctionCommand({
          FunctionName: 'f',
          Runtime: 'python3.12',
          Handler: 'index.handler',
          Role: Role!.Arn!,
          Code: {ZipFile: zip({'index.py': 'import os\n\ndef handler(e, c):\n    return os.getpid()\n'})},
        }),
      )
      const pid = JSON.parse(
        Buffer.from((await lambda.send(new InvokeCommand({FunctionName: 'f'}))).Payload!).toString(),
      )
      assert.doesNotThrow(() => process.kill(pid, 0))
      await own.stop()
      for (let i = 0; i < 40 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50))
      assert.equal(alive(pid), false)
    } finally {
      await own.stop()
    }
  })
})
