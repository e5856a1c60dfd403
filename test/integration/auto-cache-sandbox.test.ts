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
import {BatchWriteItemCommand, DynamoDBClient, ScanCommand, type AttributeValue} from '@aws-sdk/client-dynamodb'
import {build} from 'esbuild'
import {strToU8, zipSync} from 'fflate'

import {REPO_ROOT, startSandbox, type Sandbox} from '../../sandbox/launcher.js'
import {SEED_FUNCTIONS, SEED_TAGS, seedAccount, seedFunctionZip, type SeedInfo} from '../../sandbox/seed.js'
import {SEED_TABLES} from '../../sandbox/seed-data.js'
import {planTraffic, unavoidableReads, type PlannedRequest} from '../../sandbox/traffic.js'
import {cli} from '../support/cct.js'

const SEEDED = Object.keys(SEED_FUNCTIONS)
const WRAPPED = 'articles-reader' // articles-api's code, and a wrapper of the user's own
const NODE = 'articles-node' // the runtime's @aws-sdk/lib-dynamodb DocumentClient
const BUNDLED = 'bundled-node' // its own SDK copy in its bundle: cannot be hooked
const ALL = [...SEEDED, WRAPPED, NODE, BUNDLED]
const READ_OPS = ['GetItem', 'BatchGetItem', 'Query', 'Scan']
/**
 * The sandbox traffic's default mix (5% PUTs, 10% list pages, 2% missing ids). Same seed,
 * same requests: a history of WARMUP requests brings data and cache to steady state, then
 * the WINDOW requests that follow are sent as planned and compared. A perfect cache saves
 * 86.3% of this window's reads (`unavoidableReads`); after a history of 1,500 it could save
 * only 70.7%: the Zipf tail is still being read for the first time.
 */
const TRAFFIC = {seed: 3, rate: 1000, durationSeconds: 600}
const WARMUP = 20_000
const WINDOW = 400

let sandbox: Sandbox
let seed: SeedInfo
let lambda: LambdaClient
let dynamodb: DynamoDBClient
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
const USER_WRAPPER =
  '#!/bin/sh\n# The user\'s own exec wrapper: says so in the log and sets a variable.\necho "[user-wrapper] ran with $#" >&2\nexport USER_WRAPPER=1\nexec "$@"\n'

const zip = (files: Record<string, string | Uint8Array>, executables: string[] = []) =>
  zipSync(
    Object.fromEntries(
      Object.entries(files).map(([name, data]) => [
        name,
        [
          typeof data === 'string' ? strToU8(data) : data,
          {
            mtime: new Date('2024-01-01T00:00:00Z'),
            os: 3,
            attrs: (executables.includes(name) ? 0o100755 : 0o100644) << 16,
          },
        ],
      ]),
    ),
  )

async function fidelity<T>(path: string): Promise<T> {
  return (await (await fetch(`${sandbox.endpoint}/cct-fidelity/${path}`)).json()) as T
}

/** DynamoDB read requests the server has answered, per table. */
async function readsAtServer(): Promise<Record<string, number>> {
  const {requests} = await fidelity<{requests: Record<string, Record<string, number>>}>('dynamodb-requests')
  return Object.fromEntries(
    Object.entries(requests).map(([table, ops]) => [table, READ_OPS.reduce((n, op) => n + (ops[op] ?? 0), 0)]),
  )
}
const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0)
const delta = (a: Record<string, number>, b: Record<string, number>) => total(b) - total(a)

/** Everything a user can read back about a function, minus what every update changes. */
async function snapshot(name: string) {
  const config: FunctionConfiguration = await lambda.send(new GetFunctionConfigurationCommand({FunctionName: name}))
  const {
    RevisionId: _r,
    LastModified: _m,
    LastUpdateStatus: _s,
    LastUpdateStatusReason: _sr,
    LastUpdateStatusReasonCode: _sc,
    $metadata: _md,
    ...rest
  } = config as Record<string, unknown>
  // Lambda reports "no VPC" for a function taken out of one as empty lists and VpcId '',
  // and may leave VpcConfig out for one that never was in one: the same configuration,
  // and no API call can bring back the absence.
  const vpc = rest.VpcConfig as {SubnetIds?: string[]; SecurityGroupIds?: string[]; VpcId?: string} | undefined
  if (vpc && !vpc.SubnetIds?.length && !vpc.SecurityGroupIds?.length && !vpc.VpcId) delete rest.VpcConfig
  const {Tags} = await lambda.send(new ListTagsCommand({Resource: config.FunctionArn!}))
  return {config: rest, tags: Tags ?? {}}
}

/**
 * The plan in the order of its writes: the reads between two PUTs go `concurrency` at a
 * time, each PUT alone. So every request sees the same data in every run, and the bodies
 * of two runs can be compared one by one. `anyOrder`: PUTs of distinct items go together.
 */
async function send(plan: PlannedRequest[], concurrency: number, anyOrder = false) {
  const bodies = new Map<string, string>()
  const durations: Record<string, number[]> = {}
  for (let i = 0; i < plan.length;) {
    let j = i + 1
    if (anyOrder) j = plan.length
    else if (plan[i]!.kind !== 'put') while (j < plan.length && plan[j]!.kind !== 'put') j++
    const segment = plan.slice(i, j)
    i = j
    let next = 0
    await Promise.all(
      Array.from({length: Math.min(concurrency, segment.length)}, async () => {
        while (next < segment.length) {
          const {functionName, event} = segment[next++]!
          const out = await lambda.send(
            new InvokeCommand({FunctionName: functionName, Payload: strToU8(JSON.stringify(event)), LogType: 'Tail'}),
          )
          const body = Buffer.from(out.Payload ?? []).toString()
          assert.equal(out.FunctionError, undefined, `${functionName} ${event.rawPath}: ${body}`)
          bodies.set(event.requestContext.requestId, body)
          ;(durations[functionName] ??= []).push(reportDuration(Buffer.from(out.LogResult ?? '', 'base64').toString()))
        }
      }),
    )
  }
  return {bodies, durations}
}

/**
 * What a history leaves behind, in few requests: the last PUT of each item (a PUT writes
 * the whole item, so the data ends the same), then each read the cache would still hold at
 * the end, once: an item read since its last PUT, a list page read since the last PUT on
 * its table. Entries outlive the history (it spans seconds, the TTL is 5 minutes).
 */
function steadyState(history: PlannedRequest[]): {puts: PlannedRequest[]; reads: PlannedRequest[]} {
  const lastPut = new Map<string, PlannedRequest>()
  const held = new Map<string, PlannedRequest>()
  for (const p of history) {
    const item = `${p.functionName} ${p.event.rawPath}`
    if (p.kind === 'put') {
      lastPut.set(item, p)
      held.delete(item)
      for (const key of held.keys()) if (key.startsWith(`${p.functionName} ?`)) held.delete(key)
    } else {
      held.set(p.kind === 'list' ? `${p.functionName} ?${p.event.rawQueryString}` : item, p)
    }
  }
  return {puts: [...lastPut.values()], reads: [...held.values()]}
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

/** Every item of the seeded tables, to put back what one run's PUTs changed before the next. */
async function tableItems(): Promise<Map<string, Record<string, AttributeValue>[]>> {
  const items = new Map<string, Record<string, AttributeValue>[]>()
  for (const {tableName} of SEED_TABLES) {
    const all: Record<string, AttributeValue>[] = []
    let start: Record<string, AttributeValue> | undefined
    do {
      const page = await dynamodb.send(
        new ScanCommand({TableName: tableName, ExclusiveStartKey: start, ConsistentRead: true}),
      )
      all.push(...(page.Items ?? []))
      start = page.LastEvaluatedKey
    } while (start)
    items.set(tableName, all)
  }
  return items
}

async function restore(items: Map<string, Record<string, AttributeValue>[]>): Promise<void> {
  for (const [table, rows] of items)
    for (let i = 0; i < rows.length; i += 25)
      await dynamodb.send(
        new BatchWriteItemCommand({
          RequestItems: {[table]: rows.slice(i, i + 25).map((Item) => ({PutRequest: {Item}}))},
        }),
      )
  assert.deepEqual(await tableItems(), items, 'the tables are as seeded again')
}

const invokeJson = async (name: string, event: unknown) => {
  const out = await lambda.send(
    new InvokeCommand({FunctionName: name, Payload: strToU8(JSON.stringify(event)), LogType: 'Tail'}),
  )
  const text = Buffer.from(out.Payload ?? []).toString()
  assert.equal(out.FunctionError, undefined, text)
  return {
    answer: JSON.parse(text) as {statusCode: number; body: string},
    log: Buffer.from(out.LogResult ?? '', 'base64').toString(),
  }
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

function reportDuration(log: string): number {
  return Number(/REPORT RequestId:.*?\bDuration: ([\d.]+) ms/.exec(log)![1])
}

describe('auto-cache in the sandbox, through the real CLI and the built layer', () => {
  const original: Record<string, Awaited<ReturnType<typeof snapshot>>> = {}
  const plan = planTraffic({...TRAFFIC, maxInvocations: WARMUP + WINDOW})
  const window = plan.slice(WARMUP)
  const history = steadyState(plan.slice(0, WARMUP))
  let uncached: {bodies: Map<string, string>; reads: number; p50: number; p95: number}
  const setup = (extra: string[]) =>
    cli(['setup', '--yes', '--nat', ...extra, '--functions', ALL.join(',')], sandbox.env)

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'cct-auto-cache-sandbox-'))
    sandbox = await startSandbox({redis: false})
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_EC2_METADATA_DISABLED: 'true',
    })
    lambda = new LambdaClient({endpoint: sandbox.endpoint, region: sandbox.region, maxAttempts: 1})
    dynamodb = new DynamoDBClient({endpoint: sandbox.endpoint, region: sandbox.region, maxAttempts: 1})
    seed = await seedAccount(sandbox, {data: true})
    const wrapperLayer = await lambda.send(
      new PublishLayerVersionCommand({
        LayerName: 'user-wrapper',
        Content: {ZipFile: zip({'user-wrapper': USER_WRAPPER}, ['user-wrapper'])},
      }),
    )
    const bundled = await build({
      stdin: {
        contents:
          "import {DynamoDBClient, GetItemCommand} from '@aws-sdk/client-dynamodb'\nconst ddb = new DynamoDBClient({})\nexport const handler = async (e) => { const {Item} = await ddb.send(new GetItemCommand({TableName: 'articles', Key: {article_id: {S: e.pathParameters.id}}})); return {statusCode: Item ? 200 : 404, body: JSON.stringify(Item ?? {})} }\n",
        resolveDir: REPO_ROOT,
        loader: 'js',
      },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node22',
      write: false,
      logLevel: 'silent',
    })
    const common = {Role: seed.roleArn, Timeout: 10, MemorySize: 256, Tags: SEED_TAGS}
    await Promise.all([
      lambda.send(
        new CreateFunctionCommand({
          ...common,
          FunctionName: WRAPPED,
          Runtime: 'python3.12',
          Handler: 'index.lambda_handler',
          Code: {ZipFile: seedFunctionZip('articles-api')},
          Layers: [seed.layerArn, wrapperLayer.LayerVersionArn!],
          Environment: {Variables: {TABLE_NAME: 'articles', AWS_LAMBDA_EXEC_WRAPPER: '/opt/user-wrapper'}},
        }),
      ),
      lambda.send(
        new CreateFunctionCommand({
          ...common,
          FunctionName: NODE,
          Runtime: 'nodejs22.x',
          Handler: 'index.handler',
          Code: {ZipFile: zip({'index.mjs': NODE_HANDLER})},
          Environment: {Variables: {TABLE_NAME: 'articles'}},
        }),
      ),
      lambda.send(
        new CreateFunctionCommand({
          ...common,
          FunctionName: BUNDLED,
          Runtime: 'nodejs22.x',
          Handler: 'index.handler',
          Code: {ZipFile: zip({'index.js': bundled.outputFiles[0]!.contents})},
        }),
      ),
    ])
    for (const name of ALL) original[name] = await snapshot(name)
  })
  after(async () => {
    lambda?.destroy()
    dynamodb?.destroy()
    await sandbox?.stop()
    if (work) rmSync(work, {recursive: true, force: true})
  })

  it('without auto-cache (cct setup --yes): the traffic window, its reads counted at the server', async () => {
    const result = await setup([])
    assert.equal(result.code, 0, result.stderr + result.stdout)
    // The data the window meets: the history's writes (its reads change nothing).
    await send(history.puts, 4, true)
    const before = await tableItems()
    const start = await readsAtServer()
    const {bodies, durations} = await send(window, 4)
    const articles = durations['articles-api']!
    uncached = {
      bodies,
      reads: delta(start, await readsAtServer()),
      p50: percentile(articles, 50),
      p95: percentile(articles, 95),
    }
    assert.equal(uncached.reads, window.filter((p) => p.kind !== 'put').length, 'one read per GET')
    // Back to the data before the window while nothing is cached: the run with auto-cache
    // starts where this one started.
    await restore(before)
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
    // Steady state: the data already has the history's writes and the cache is empty (as
    // the writes would have left it); the history's reads since then fill it.
    await send(history.reads, 4, true)
    const start = await readsAtServer()
    const {bodies} = await send(window, 4)
    const reads = delta(start, await readsAtServer())
    const differing = [...bodies].filter(([id, body]) => uncached.bodies.get(id) !== body)
    assert.deepEqual(
      differing.slice(0, 3),
      [],
      `${differing.length} of ${bodies.size} bodies differ from the uncached run`,
    )
    const reduction = 1 - reads / uncached.reads
    const floor = unavoidableReads(plan, WARMUP)
    t.diagnostic(
      `DynamoDB reads at the server over the same ${WINDOW} requests (${window.filter((p) => p.kind === 'put').length} PUTs): ${uncached.reads} without, ${reads} with auto-cache (${(reduction * 100).toFixed(1)}% fewer); a perfect cache: ${floor} (${((1 - floor / uncached.reads) * 100).toFixed(1)}% fewer)`,
    )
    assert.ok(reduction >= 0.8, `only ${(reduction * 100).toFixed(1)}% fewer reads (${uncached.reads} -> ${reads})`)
  })

  it('Node (runtime SDK, DocumentClient) and Python share entries on one table', async () => {
    for (const [first, second, id] of [
      ['articles-api', NODE, 'a-006'],
      [NODE, 'articles-api', 'a-007'],
    ] as const) {
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
        const {answer} = await invokeJson(
          'articles-api',
          http('PUT', id, {title: `v${v}`, author: 'stale-check', body: 'x', views: v}),
        )
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
    t.diagnostic(
      `${gets + 100} requests (100 PUTs, ${gets} GETs) in ${((performance.now() - began) / 1000).toFixed(1)} s: ${stale} stale`,
    )
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
    const envelope = JSON.parse(result.stdout) as {
      ok: boolean
      result: {
        measurements: {perFunction: {name: string; helperReads: number; helperHits: number; unhookable: boolean}[]}
        criteria: {criterion: string; verdict: string; measured: string; why?: string}[]
      }
    }
    assert.equal(envelope.ok, false)
    const report = envelope.result
    const per = new Map(report.measurements.perFunction.map((f) => [f.name, f]))
    for (const name of [...SEEDED, WRAPPED, NODE])
      assert.ok(
        per.get(name)!.helperReads > 0 && per.get(name)!.helperHits > 0,
        `${name}: ${JSON.stringify(per.get(name))}`,
      )
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
    const errors: number[] = []
    const bypasses: number[] = []
    try {
      for (let i = 0; i < 10; i++) {
        const {answer, log} = await invokeJson('articles-api', http('GET', id))
        assert.equal(answer.body, warm.answer.body)
        durations.push(reportDuration(log))
        // The helper's own EMF lines in the log: Redis calls that failed, and calls that skipped it.
        const metrics = log
          .split('\n')
          .filter((l) => l.includes('"CacheError"'))
          .map((l) => JSON.parse(l.slice(l.indexOf('{'))) as Record<string, number>)
        errors.push(metrics.reduce((n, m) => n + (m.CacheError ?? 0), 0))
        bypasses.push(metrics.reduce((n, m) => n + (m.CacheBypass ?? 0), 0))
      }
    } finally {
      process.kill(pid, 'SIGCONT')
    }
    t.diagnostic(
      `Duration with Redis hung: ${durations.map((d) => d.toFixed(0)).join(', ')} ms; uncached p50 ${uncached.p50.toFixed(0)}, p95 ${uncached.p95.toFixed(0)} ms; Redis errors per request ${errors.join(' ')}`,
    )
    assert.ok(durations[0]! <= uncached.p95 + 500, `the first request took ${durations[0]} ms`)
    // "The rest nothing" as the helper reports it, not as a wall clock on a loaded machine
    // would: one command timed out in all, and every later request skipped Redis.
    assert.deepEqual(errors, [1, 0, 0, 0, 0, 0, 0, 0, 0, 0], 'one Redis timeout, in the first request')
    assert.ok(
      bypasses.slice(1).every((n) => n > 0),
      `later requests that still tried Redis: ${bypasses.join(' ')}`,
    )
  })

  it("cct rollback: every function byte-identical to before setup, the user's wrapper back", async () => {
    const result = await cli(['rollback', '--yes'], sandbox.env)
    assert.equal(result.code, 0, result.stderr + result.stdout)
    for (const name of ALL) assert.deepEqual(await snapshot(name), original[name], name)
  })
})
