/**
 * The articles example (templates/functions/articles-api, Python and TypeScript) served
 * through the cache in the sandbox: deployed to the seeded articles-api after `cct setup`,
 * invoked 200 times over 20 keys; the cache node's AWS/ElastiCache CacheHits/CacheMisses in
 * CloudWatch equal what its redis-server counted, and the helper's EMF lines (cct/cache)
 * became CloudWatch metrics with the counts the invocations imply.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {CloudWatchClient, GetMetricStatisticsCommand} from '@aws-sdk/client-cloudwatch'
import {
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaClient,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionUpdatedV2,
  type Runtime,
} from '@aws-sdk/client-lambda'
import {build} from 'esbuild'
import {strToU8, zipSync} from 'fflate'

import {REPO_ROOT} from '../../sandbox/launcher.js'
import {seedAccount} from '../../sandbox/seed.js'
import {STACK_STEPS} from '../../src/stack-steps.js'
import {keyspace, primaryNode} from '../support/cache-node.js'
import {runSteps} from '../support/cct.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({redis: false})
const EXAMPLE = join(REPO_ROOT, 'templates/functions/articles-api')
const FUNCTION = 'articles-api'
const INVOCATIONS = 200
const KEYS = 20

function clients() {
  const {endpoint, region} = sandbox()
  const config = {endpoint, region, maxAttempts: 1, credentials: {accessKeyId: 'test', secretAccessKey: 'test'}}
  return {lambda: new LambdaClient(config), cloudwatch: new CloudWatchClient(config)}
}

async function metricSum(namespace: string, metric: string, dimensions: Record<string, string>): Promise<number> {
  const {Datapoints = []} = await clients().cloudwatch.send(
    new GetMetricStatisticsCommand({
      Namespace: namespace,
      MetricName: metric,
      Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({Name, Value})),
      StartTime: new Date(Date.now() - 600_000),
      EndTime: new Date(Date.now() + 60_000),
      Period: 60,
      Statistics: ['Sum'],
    }),
  )
  return Datapoints.reduce((n, d) => n + (d.Sum ?? 0), 0)
}

/** Polls until `read` gives `expected` (metrics land a period later), then returns what it read. */
async function settle<T>(read: () => Promise<T>, expected: T, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms
  let value = await read()
  while (!isDeepStrictEqual(value, expected) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200))
    value = await read()
  }
  return value
}
const isDeepStrictEqual = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

const get = (id: string) => ({
  version: '2.0',
  routeKey: 'GET /articles/{id}',
  rawPath: `/articles/${id}`,
  rawQueryString: '',
  headers: {accept: 'application/json'},
  pathParameters: {id},
  requestContext: {
    http: {method: 'GET', path: `/articles/${id}`, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test'},
    stage: '$default',
  },
  isBase64Encoded: false,
})

/**
 * After `cct setup` (every step, in process), the example replaces articles-api's code:
 * same function, so the VPC, the cct layer and REDIS_* stay as setup left them.
 */
async function deploy(code: Uint8Array, runtime: Runtime, handler: string) {
  await seedAccount(sandbox(), {data: true})
  await runSteps(sandbox(), STACK_STEPS)
  const {lambda} = clients()
  const before = await lambda.send(new GetFunctionConfigurationCommand({FunctionName: FUNCTION}))
  assert.ok(
    before.Layers?.some((l) => /cct/.test(l.Arn!)),
    'setup attached the cct layer',
  )
  assert.ok(before.Environment?.Variables?.REDIS_HOST)
  await lambda.send(new UpdateFunctionCodeCommand({FunctionName: FUNCTION, ZipFile: code}))
  await waitUntilFunctionUpdatedV2({client: lambda, maxWaitTime: 30, minDelay: 1}, {FunctionName: FUNCTION})
  await lambda.send(
    new UpdateFunctionConfigurationCommand({
      FunctionName: FUNCTION,
      Runtime: runtime,
      Handler: handler,
      Environment: {Variables: {...before.Environment!.Variables, ARTICLES_TABLE: 'articles'}},
    }),
  )
  await waitUntilFunctionUpdatedV2({client: lambda, maxWaitTime: 30, minDelay: 1}, {FunctionName: FUNCTION})
}

/** 200 GETs over 20 seeded articles, two at a time; every answer is the article. */
async function serve(): Promise<void> {
  const {lambda} = clients()
  const ids = Array.from({length: KEYS}, (_, i) => `a-${String(i + 1).padStart(3, '0')}`)
  const one = async (i: number) => {
    const id = ids[i % KEYS]!
    const out = await lambda.send(new InvokeCommand({FunctionName: FUNCTION, Payload: JSON.stringify(get(id))}))
    const payload = Buffer.from(out.Payload ?? []).toString()
    assert.equal(out.FunctionError, undefined, payload)
    const answer = JSON.parse(payload) as {statusCode: number; body: string}
    assert.equal(answer.statusCode, 200, payload)
    assert.equal((JSON.parse(answer.body) as {article_id: string}).article_id, id)
  }
  // The first read of each key alone (one miss each), then the rest two at a time.
  for (let i = 0; i < KEYS; i++) await one(i)
  for (let i = KEYS; i < INVOCATIONS; i += 2) await Promise.all([one(i), one(i + 1)])
}

async function servedThroughCache(
  t: {diagnostic(message: string): void},
  code: Uint8Array,
  runtime: Runtime,
  handler: string,
) {
  await deploy(code, runtime, handler)
  const node = await primaryNode(sandbox().endpoint)
  const began = Date.now()
  await serve()
  t.diagnostic(`${INVOCATIONS} invocations in ${Date.now() - began} ms`)

  // What the node's redis-server counted (every key lookup since it started, the helper's
  // own bookkeeping included) is what AWS/ElastiCache says for that node, once a short
  // metrics period has passed.
  const counted = await keyspace(sandbox().endpoint, node)
  t.diagnostic(`redis INFO of ${node.node_id}: keyspace_hits ${counted.hits}, keyspace_misses ${counted.misses}`)
  assert.ok(counted.hits >= INVOCATIONS - KEYS, `redis counted ${counted.hits} hits`)
  assert.ok(counted.misses >= KEYS, `redis counted ${counted.misses} misses`)
  await sandbox().configure({metricsPeriodSeconds: 0.5})
  const node_ = {CacheClusterId: node.node_id}
  const read = async () => ({
    hits: await metricSum('AWS/ElastiCache', 'CacheHits', node_),
    misses: await metricSum('AWS/ElastiCache', 'CacheMisses', node_),
  })
  assert.deepEqual(await settle(read, counted), counted, `AWS/ElastiCache of ${node.node_id} vs redis INFO`)
  assert.deepEqual(await keyspace(sandbox().endpoint, node), counted, 'nothing else read the cache meanwhile')

  // The helper's one EMF line per invocation: a miss for each key's first read, hits after.
  const fn = {FunctionName: FUNCTION}
  const emf = async () => ({
    hit: await metricSum('cct/cache', 'CacheHit', fn),
    miss: await metricSum('cct/cache', 'CacheMiss', fn),
    error: await metricSum('cct/cache', 'CacheError', fn),
  })
  const expected = {hit: INVOCATIONS - KEYS, miss: KEYS, error: 0}
  assert.deepEqual(await settle(emf, expected), expected)
}

describe('the articles example served through the cache', () => {
  it('Python (python/index.py on cache_helper): 200 GETs over 20 keys; ElastiCache metrics equal redis INFO; EMF metrics counted', async (t) => {
    const code = zipSync({'index.py': strToU8(readFileSync(join(EXAMPLE, 'python/index.py'), 'utf8'))})
    await servedThroughCache(t, code, 'python3.12', 'index.lambda_handler')
  })

  it('TypeScript (ts/index.ts bundled as its README says, on cct-cache): the same', async (t) => {
    const bundle = await build({
      entryPoints: [join(EXAMPLE, 'ts/index.ts')],
      bundle: true,
      platform: 'node',
      target: 'node22',
      format: 'esm',
      external: ['cct-cache', '@aws-sdk/*'],
      write: false,
      outfile: 'index.mjs',
      logLevel: 'silent',
    })
    assert.equal(bundle.outputFiles.length, 1)
    assert.doesNotMatch(
      bundle.outputFiles[0]!.text,
      /class DynamoDBClient|function getCache/,
      'the layer and the runtime provide those',
    )
    const code = zipSync({'index.mjs': bundle.outputFiles[0]!.contents})
    await servedThroughCache(t, code, 'nodejs22.x', 'index.handler')
  })
})
