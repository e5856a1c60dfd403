/**
 * Zero-code caching (issue 10) where users get it: the sandbox runs the seeded functions'
 * unchanged code in containers, `cct setup --yes --auto-cache` (the real CLI) turns the
 * layer's exec wrapper on, and DynamoDB requests are counted at the server (the sandbox's
 * edge). Extra functions beside the five seeded ones: a copy of articles-api that already
 * had an exec wrapper of its own, a Node one reading `articles` with the runtime's
 * DocumentClient, and a Node one that bundles its own SDK copy.
 */
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {
  CreateFunctionCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaClient,
  ListTagsCommand,
  PublishLayerVersionCommand,
  type FunctionConfiguration,
} from '@aws-sdk/client-lambda'
import {build} from 'esbuild'
import {strToU8, zipSync} from 'fflate'

import {REPO_ROOT, startSandbox, type Sandbox} from '../../sandbox/launcher.js'
import {SEED_FUNCTIONS, SEED_TAGS, seedAccount, seedFunctionZip, type SeedInfo} from '../../sandbox/seed.js'
import {planTraffic, runTraffic, type InvokeAnswer, type PlannedRequest} from '../../sandbox/traffic.js'
import {cli} from '../support/cct.js'

const SEEDED = Object.keys(SEED_FUNCTIONS)
const WRAPPED = 'articles-reader' // articles-api's code, and a wrapper of the user's own
const NODE = 'articles-node' // the runtime's @aws-sdk/lib-dynamodb DocumentClient
const BUNDLED = 'bundled-node' // its own SDK copy in its bundle: cannot be hooked
const ALL = [...SEEDED, WRAPPED, NODE, BUNDLED]
const READ_OPS = ['GetItem', 'BatchGetItem', 'Query', 'Scan']
/** Same seed, same requests: the warm-up brings the cache to steady state, the window is compared. */
const TRAFFIC = {seed: 3, rate: 1000, durationSeconds: 600, putRatio: 0}
const WARMUP = 2000
const WINDOW = 200

let sandbox: Sandbox
let seed: SeedInfo
let lambda: LambdaClient
let work: string

const NODE_HANDLER = `import {DynamoDBClient} from '@aws-sdk/client-dynamodb'
import {DynamoDBDocumentClient, GetCommand} from '@aws-sdk/lib-dynamodb'

const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}))

export const handler = async (event) => {
  const id = event.pathParameters.id
  const {Item} = await doc.send(new GetCommand({TableName: process.env.TABLE_NAME, Key: {article_id: id}}))
  return Item ? {statusCode: 200, body: JSON.stringify(Item, (k, v) => (v instanceof Set ? [...v].sort() : v))} : {statusCode: 404, body: '{}'}
}
`
const USER_WRAPPER = '#!/bin/sh\n# The user\'s own exec wrapper: says so in the log and sets a variable.\necho "[user-wrapper] ran with $#" >&2\nexport USER_WRAPPER=1\nexec "$@"\n'

const zip = (files: Record<string, string | Uint8Array>, executables: string[] = []) =>
  zipSync(Object.fromEntries(Object.entries(files).map(([name, data]) => [name, [typeof data === 'string' ? strToU8(data) : data, {mtime: new Date('2024-01-01T00:00:00Z'), os: 3, attrs: (executables.includes(name) ? 0o100755 : 0o100644) << 16}]])))

async function fidelity<T>(path: string): Promise<T> {
  return (await (await fetch(`${sandbox.endpoint}/cct-fidelity/${path}`)).json()) as T
}

/** DynamoDB read requests the server has answered, per table. */
async function readsAtServer(): Promise<Record<string, number>> {
  const {requests} = await fidelity<{requests: Record<string, Record<string, number>>}>('dynamodb-requests')
  return Object.fromEntries(Object.entries(requests).map(([table, ops]) => [table, READ_OPS.reduce((n, op) => n + (ops[op] ?? 0), 0)]))
}
const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0)
const delta = (a: Record<string, number>, b: Record<string, number>) => total(b) - total(a)

/** Everything a user can read back about a function, minus what every update changes. */
async function snapshot(name: string) {
  const config: FunctionConfiguration = await lambda.send(new GetFunctionConfigurationCommand({FunctionName: name}))
  const {RevisionId: _r, LastModified: _m, LastUpdateStatus: _s, LastUpdateStatusReason: _sr, LastUpdateStatusReasonCode: _sc, $metadata: _md, ...rest} = config as Record<string, unknown>
  // Lambda reports "no VPC" for a function taken out of one as empty lists and VpcId '',
  // and may leave VpcConfig out for one that never was in one: the same configuration,
  // and no API call can bring back the absence.
  const vpc = rest.VpcConfig as {SubnetIds?: string[]; SecurityGroupIds?: string[]; VpcId?: string} | undefined
  if (vpc && !vpc.SubnetIds?.length && !vpc.SecurityGroupIds?.length && !vpc.VpcId) delete rest.VpcConfig
  const {Tags} = await lambda.send(new ListTagsCommand({Resource: config.FunctionArn!}))
  return {config: rest, tags: Tags ?? {}}
}

/** Invoke answering the traffic runner, keeping each answer's body by the request id. */
function recordingInvoker(bodies: Map<string, string>, logs: string[]) {
  return async (functionName: string, payload: string, signal: AbortSignal): Promise<InvokeAnswer> => {
    const out = await lambda.send(new InvokeCommand({FunctionName: functionName, Payload: strToU8(payload), LogType: 'Tail'}), {abortSignal: signal})
    const requestId = (JSON.parse(payload) as {requestContext: {requestId: string}}).requestContext.requestId
    bodies.set(requestId, Buffer.from(out.Payload ?? []).toString())
    if (out.LogResult) logs.push(`${functionName}\n${Buffer.from(out.LogResult, 'base64').toString()}`)
    return out
  }
}

/** The plan's requests [from, to) sent at `concurrency`, with their bodies by request id. */
async function send(plan: PlannedRequest[], concurrency: number) {
  const bodies = new Map<string, string>()
  const logs: string[] = []
  const requests = new Map(plan.map((p) => [p.event.requestContext.requestId, p]))
  const summary = await runTraffic({
    ...TRAFFIC,
    maxInvocations: plan.length,
    concurrency,
    // runTraffic plans from the options; a window later in the sequence is sent by id.
    invoke: (fn, payload, signal) => {
      const event = JSON.parse(payload) as PlannedRequest['event']
      const index = Number(event.requestContext.requestId.split('-').pop()) - 1
      const wanted = plan[index]!
      return recordingInvoker(bodies, logs)(wanted.functionName, JSON.stringify({...wanted.event, requestContext: {...wanted.event.requestContext, time: event.requestContext.time, timeEpoch: event.requestContext.timeEpoch}}), signal)
    },
  })
  assert.equal(summary.errors, 0, summary.sampleErrors.join('\n'))
  assert.equal(bodies.size, requests.size)
  return {bodies, logs, summary}
}

const invokeJson = async (name: string, event: unknown) => {
  const out = await lambda.send(new InvokeCommand({FunctionName: name, Payload: strToU8(JSON.stringify(event)), LogType: 'Tail'}))
  const text = Buffer.from(out.Payload ?? []).toString()
  assert.equal(out.FunctionError, undefined, text)
  return {answer: JSON.parse(text) as {statusCode: number; body: string}, log: Buffer.from(out.LogResult ?? '', 'base64').toString()}
}

const http = (method: string, id: string, body?: unknown) => ({
  version: '2.0',
  routeKey: `${method} /articles/{id}`,
  rawPath: `/articles/${id}`,
  rawQueryString: '',
  headers: {'content-type': 'application/json'},
  pathParameters: {id},
  requestContext: {http: {method, path: `/articles/${id}`}, requestId: `${method}-${id}`},
  ...(body === undefined ? {} : {body: JSON.stringify(body)}),
  isBase64Encoded: false,
})

/** Each distinct request of the plan once, in order: the cache holds what the whole plan would leave in it. */
function distinct(plan: PlannedRequest[]): PlannedRequest[] {
  const seen = new Set<string>()
  return plan.filter((p) => {
    const key = `${p.functionName} ${p.event.rawPath}?${p.event.rawQueryString}`
    return !seen.has(key) && (seen.add(key), true)
  })
}

function reportDuration(log: string): number {
  return Number(/REPORT RequestId:.*?\bDuration: ([\d.]+) ms/.exec(log)![1])
}

describe('auto-cache in the sandbox, through the real CLI and the built layer', () => {
  const original: Record<string, Awaited<ReturnType<typeof snapshot>>> = {}
  const plan = planTraffic({...TRAFFIC, maxInvocations: WARMUP + WINDOW})
  const window = plan.slice(WARMUP)
  let uncached: {bodies: Map<string, string>; reads: number; p50: number; p95: number}
  const setup = (extra: string[]) => cli(['setup', '--yes', '--nat', ...extra, '--functions', ALL.join(',')], sandbox.env)

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'cct-auto-cache-sandbox-'))
    sandbox = await startSandbox({redis: false})
    Object.assign(process.env, {AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true'})
    lambda = new LambdaClient({endpoint: sandbox.endpoint, region: sandbox.region, maxAttempts: 1})
    seed = await seedAccount(sandbox, {data: true})
    const wrapperLayer = await lambda.send(new PublishLayerVersionCommand({LayerName: 'user-wrapper', Content: {ZipFile: zip({'user-wrapper': USER_WRAPPER}, ['user-wrapper'])}}))
    const bundled = await build({
      stdin: {contents: "import {DynamoDBClient, GetItemCommand} from '@aws-sdk/client-dynamodb'\nconst ddb = new DynamoDBClient({})\nexport const handler = async (e) => { const {Item} = await ddb.send(new GetItemCommand({TableName: 'articles', Key: {article_id: {S: e.pathParameters.id}}})); return {statusCode: Item ? 200 : 404, body: JSON.stringify(Item ?? {})} }\n", resolveDir: REPO_ROOT, loader: 'js'},
      bundle: true, platform: 'node', format: 'cjs', target: 'node22', write: false, logLevel: 'silent',
    })
    const common = {Role: seed.roleArn, Timeout: 10, MemorySize: 256, Tags: SEED_TAGS}
    await Promise.all([
      lambda.send(new CreateFunctionCommand({...common, FunctionName: WRAPPED, Runtime: 'python3.12', Handler: 'index.lambda_handler', Code: {ZipFile: seedFunctionZip('articles-api')}, Layers: [seed.layerArn, wrapperLayer.LayerVersionArn!], Environment: {Variables: {TABLE_NAME: 'articles', AWS_LAMBDA_EXEC_WRAPPER: '/opt/user-wrapper'}}})),
      lambda.send(new CreateFunctionCommand({...common, FunctionName: NODE, Runtime: 'nodejs22.x', Handler: 'index.handler', Code: {ZipFile: zip({'index.mjs': NODE_HANDLER})}, Environment: {Variables: {TABLE_NAME: 'articles'}}})),
      lambda.send(new CreateFunctionCommand({...common, FunctionName: BUNDLED, Runtime: 'nodejs22.x', Handler: 'index.handler', Code: {ZipFile: zip({'index.js': bundled.outputFiles[0]!.contents})}})),
    ])
    for (const name of ALL) original[name] = await snapshot(name)
  })
  after(async () => {
    lambda?.destroy()
    await sandbox?.stop()
    if (work) rmSync(work, {recursive: true, force: true})
  })

  it('without auto-cache (cct setup --yes): the traffic window, its reads counted at the server', async () => {
    const result = await setup([])
    assert.equal(result.code, 0, result.stderr + result.stdout)
    const start = await readsAtServer()
    const {bodies, summary} = await send(window, 4)
    uncached = {bodies, reads: delta(start, await readsAtServer()), p50: summary.perFunction['articles-api']!.p50!, p95: summary.perFunction['articles-api']!.p95!}
    assert.equal(uncached.reads, window.length, 'one read per GET')
    const {log} = await invokeJson(WRAPPED, http('GET', 'a-001'))
    assert.match(log, /\[user-wrapper\] ran/, "the user's own wrapper runs")
  })

  it('cct setup --yes --auto-cache: the wrapper on every function, code unchanged, theirs chained', async () => {
    const result = await setup(['--auto-cache'])
    assert.equal(result.code, 0, result.stderr + result.stdout)
    for (const name of ALL) {
      const now = await snapshot(name)
      assert.equal(now.config.CodeSha256, original[name]!.config.CodeSha256, `${name}: code changed`)
      const env = (now.config.Environment as {Variables: Record<string, string>}).Variables
      assert.equal(env.AWS_LAMBDA_EXEC_WRAPPER, '/opt/cct-auto-cache', name)
    }
    const env = ((await snapshot(WRAPPED)).config.Environment as {Variables: Record<string, string>}).Variables
    assert.equal(env.CCT_NEXT_EXEC_WRAPPER, '/opt/user-wrapper')
    const {answer, log} = await invokeJson(WRAPPED, http('GET', 'a-001'))
    assert.equal(answer.statusCode, 200)
    assert.match(log, /\[user-wrapper\] ran/, "the user's wrapper still runs, after cct's")
  })

  it('the same window with auto-cache: identical bodies, at least 80% fewer reads at the server', async (t) => {
    // Steady state: every distinct request of the 2,000 before the window, once (what those
    // 2,000 would have left in the cache), then the window exactly as sent without.
    await send(distinct(plan.slice(0, WARMUP)), 4)
    const start = await readsAtServer()
    const {bodies} = await send(window, 4)
    const reads = delta(start, await readsAtServer())
    const differing = [...bodies].filter(([id, body]) => uncached.bodies.get(id) !== body)
    assert.deepEqual(differing.slice(0, 3), [], `${differing.length} of ${bodies.size} bodies differ from the uncached run`)
    const reduction = 1 - reads / uncached.reads
    t.diagnostic(`DynamoDB reads at the server over the same ${WINDOW} GETs: ${uncached.reads} without, ${reads} with auto-cache (${(reduction * 100).toFixed(1)}% fewer)`)
    assert.ok(reduction >= 0.8, `only ${(reduction * 100).toFixed(1)}% fewer reads (${uncached.reads} -> ${reads})`)
  })

  it('Node (runtime SDK, DocumentClient) and Python share entries on one table', async () => {
    for (const [first, second, id] of [['articles-api', NODE, 'a-006'], [NODE, 'articles-api', 'a-007']] as const) {
      await invokeJson(first, http('GET', id)) // fills (or hits) the entry
      const start = await readsAtServer()
      const {answer} = await invokeJson(second, http('GET', id))
      assert.equal(answer.statusCode, 200)
      assert.equal((JSON.parse(answer.body) as {article_id: string}).article_id, id)
      assert.equal(delta(start, await readsAtServer()), 0, `${second} read ${id} from the entry ${first} filled`)
    }
  })

  it('1,000 requests: PUTs through one function, concurrent GETs through three others (Node too): zero stale reads', async (t) => {
    const ids = ['a-001', 'a-002', 'a-003', 'a-004', 'a-005']
    const acked = new Map(ids.map((id) => [id, -1]))
    const readers = ['articles-api', WRAPPED, NODE]
    let stale = 0
    let gets = 0
    let version = 0
    const writer = async () => {
      for (let i = 0; i < 100; i++) {
        const id = ids[i % ids.length]!
        const v = ++version
        const {answer} = await invokeJson('articles-api', http('PUT', id, {title: `v${v}`, author: 'stale-check', body: 'x', views: v}))
        assert.ok([200, 201].includes(answer.statusCode), answer.body)
        acked.set(id, v)
      }
    }
    const reader = async (lane: number) => {
      for (let i = 0; i < 300; i++) {
        const id = ids[(lane * 7 + i) % ids.length]!
        const fn = readers[(lane + i) % readers.length]!
        const floor = acked.get(id)!
        const {answer} = await invokeJson(fn, http('GET', id))
        gets++
        const views = Number((JSON.parse(answer.body) as {views: number}).views)
        const seen = (JSON.parse(answer.body) as {author?: string}).author === 'stale-check' ? views : -1
        if (seen < floor) stale++
      }
    }
    const began = performance.now()
    // Four in flight, as the traffic runner's default: a burst of Python cold starts on a
    // small machine starves itself past Lambda's 10 s init limit.
    await Promise.all([writer(), ...Array.from({length: 3}, (_, lane) => reader(lane))])
    t.diagnostic(`${gets + 100} requests (100 PUTs, ${gets} GETs) in ${((performance.now() - began) / 1000).toFixed(1)} s: ${stale} stale`)
    assert.equal(gets + 100, 1000)
    assert.equal(stale, 0)
  })

  it('a function bundling its own SDK answers, says once that it cannot be hooked; cct verify names it', async () => {
    const first = await invokeJson(BUNDLED, http('GET', 'a-001'))
    assert.equal(first.answer.statusCode, 200)
    assert.match(first.log, /bundles its own AWS SDK copy/)
    const second = await invokeJson(BUNDLED, http('GET', 'a-001'))
    assert.doesNotMatch(second.log, /bundles its own AWS SDK copy/, 'logged once per container')
    const result = await cli(['verify', '--json', '--hours', '1', '--functions', ALL.join(',')], sandbox.env)
    // A failed criterion fails verify: the report is then the envelope's result, beside the error.
    assert.notEqual(result.code, 0, result.stdout)
    const envelope = JSON.parse(result.stdout) as {ok: boolean; result: {
      measurements: {perFunction: {name: string; helperReads: number; helperHits: number; unhookable: boolean}[]}
      criteria: {criterion: string; verdict: string; measured: string; why?: string}[]
    }}
    assert.equal(envelope.ok, false)
    const report = envelope.result
    const per = new Map(report.measurements.perFunction.map((f) => [f.name, f]))
    for (const name of [...SEEDED, WRAPPED, NODE]) assert.ok(per.get(name)!.helperReads > 0 && per.get(name)!.helperHits > 0, `${name}: ${JSON.stringify(per.get(name))}`)
    assert.equal(per.get(BUNDLED)!.unhookable, true)
    const row = report.criteria.find((c) => c.criterion === 'Cache helper in the code')!
    assert.equal(row.verdict, 'failed')
    assert.match(row.why ?? '', new RegExp(`${BUNDLED} bundles its own AWS SDK: auto-cache cannot hook it`))
    assert.equal(row.measured, `${ALL.length - 1}/${ALL.length} functions report cache reads`)
  })

  it('Redis hung (SIGSTOP): every request answers; the first pays one timeout, the rest nothing', async (t) => {
    const nodes = await fidelity<{kind: string; real: string}[]>('caches')
    const port = nodes.find((n) => n.kind === 'primary')!.real.split(':')[1]
    const listening = execFileSync('ss', ['-ltnpH', `sport = :${port}`], {encoding: 'utf8'})
    const pid = Number(/pid=(\d+)/.exec(listening)![1])
    assert.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /redis-server/)
    const id = 'a-010'
    const warm = await invokeJson('articles-api', http('GET', id)) // the container and its connection are warm
    process.kill(pid, 'SIGSTOP')
    const durations: number[] = []
    try {
      for (let i = 0; i < 10; i++) {
        const {answer, log} = await invokeJson('articles-api', http('GET', id))
        assert.equal(answer.body, warm.answer.body)
        durations.push(reportDuration(log))
      }
    } finally {
      process.kill(pid, 'SIGCONT')
    }
    t.diagnostic(`Duration with Redis hung: ${durations.map((d) => d.toFixed(0)).join(', ')} ms; uncached p50 ${uncached.p50.toFixed(0)}, p95 ${uncached.p95.toFixed(0)} ms`)
    assert.ok(durations[0]! <= uncached.p95 + 500, `the first request took ${durations[0]} ms`)
    const rest = durations.slice(1)
    assert.ok(rest.every((d) => d < uncached.p95 + 100), `later requests still wait on Redis: ${rest.join(', ')} ms`)
  })

  it('cct rollback: every function byte-identical to before setup, the user\'s wrapper back', async () => {
    const result = await cli(['rollback', '--yes'], sandbox.env)
    assert.equal(result.code, 0, result.stderr + result.stdout)
    for (const name of ALL) assert.deepEqual(await snapshot(name), original[name], name)
  })
})
