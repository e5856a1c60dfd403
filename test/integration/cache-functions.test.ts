/**
 * Lambda functions on the layer, against redis-server and DynamoDB in a moto server:
 * - the runbook's own articles_api/index.py, verbatim, on our cache_helper.py;
 * - the example articles-api in Python and in TypeScript (templates/functions).
 * Each runs as a "container": one long-lived process fed API Gateway events one by one.
 */
import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createInterface} from 'node:readline'
import {after, before, describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'

import {
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb'
import {build} from 'esbuild'

import {PACKAGE_ROOT as RUNTIME_ROOT, buildLayer} from '@cct/cache-runtime/build'
import {extractLayer} from '@cct/cache-runtime/extract'
import {freePort, startRedis, type RedisServer} from '@cct/cache-runtime/test/redis'

import {REPO_ROOT} from '../../sandbox/launcher.js'

const RUNBOOK_DIR = join(RUNTIME_ROOT, 'bench/cache/runbook/articles_api')
const SEED = '000_168a8750a1cede05.txt'

let redis: RedisServer
let moto: ChildProcess
let motoUrl: string
let work: string
let opt: string
let ddb: DynamoDBClient

const awsEnv = (): Record<string, string> => ({
  AWS_ENDPOINT_URL: motoUrl,
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
})

before(async () => {
  redis = await startRedis()
  work = mkdtempSync(join(tmpdir(), 'cct-fn-'))
  const port = await freePort()
  motoUrl = `http://127.0.0.1:${port}`
  moto = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {stdio: 'ignore'})
  const {zipPath} = await buildLayer(join(work, 'dist'))
  opt = join(work, 'opt')
  extractLayer(zipPath, opt)
  for (let i = 0; ; i++) {
    const up = await fetch(`${motoUrl}/moto-api/`).then(
      (r) => r.ok,
      () => false,
    )
    if (up) break
    if (i > 200 || moto.exitCode !== null) throw new Error('moto server did not start')
    await sleep(100)
  }
  ddb = new DynamoDBClient({
    endpoint: motoUrl,
    region: 'us-east-1',
    credentials: {accessKeyId: 'testing', secretAccessKey: 'testing'},
    maxAttempts: 1,
  })
})

after(async () => {
  ddb?.destroy()
  if (moto && moto.exitCode === null) {
    const exited = new Promise((resolve) => moto.once('exit', resolve))
    moto.kill()
    await exited
  }
  await redis.close()
  rmSync(work, {recursive: true, force: true})
})

const ARTICLES = ['a1', 'a2', 'a3', 'a4', 'a5'].map((id, i) => ({
  article_id: id,
  title: `Title ${i + 1}`,
  content: `Body ${i + 1}`,
}))

async function resetTable(table: string): Promise<void> {
  await ddb.send(new DeleteTableCommand({TableName: table})).catch(() => {})
  await ddb.send(
    new CreateTableCommand({
      TableName: table,
      KeySchema: [{AttributeName: 'article_id', KeyType: 'HASH'}],
      AttributeDefinitions: [{AttributeName: 'article_id', AttributeType: 'S'}],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  )
  for (const a of ARTICLES) {
    await ddb.send(
      new PutItemCommand({
        TableName: table,
        Item: {article_id: {S: a.article_id}, title: {S: a.title}, content: {S: a.content}},
      }),
    )
  }
  await redis.command('FLUSHALL')
}

/** Change the table behind the cache's back: only a cache hit can still show the old title. */
async function sneakyUpdate(table: string, id: string, title: string): Promise<void> {
  await ddb.send(
    new UpdateItemCommand({
      TableName: table,
      Key: {article_id: {S: id}},
      UpdateExpression: 'SET title = :t',
      ExpressionAttributeValues: {':t': {S: title}},
    }),
  )
}

interface Container {
  invoke(event: object): Promise<{statusCode: number; body: string}>
  /** EMF lines printed so far. */
  emf: Array<Record<string, number>>
  stop(): Promise<void>
}

function container(command: string, args: string[], env: Record<string, string>): Container {
  const proc = spawn(command, args, {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      ...awsEnv(),
      ...redis.env,
      ...env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stderr = ''
  proc.stderr!.on('data', (chunk) => (stderr += chunk))
  const emf: Array<Record<string, number>> = []
  const results: string[] = []
  const waiters: Array<(line: string) => void> = []
  createInterface({input: proc.stdout!}).on('line', (line) => {
    if (line.startsWith('RESULT ')) {
      const waiter = waiters.shift()
      if (waiter) waiter(line.slice(7))
      else results.push(line.slice(7))
    } else if (line.startsWith('{"_aws"')) emf.push(JSON.parse(line))
  })
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
  return {
    emf,
    async invoke(event) {
      const next = new Promise<string>((resolve, reject) => {
        waiters.push(resolve)
        void exited.then(() => reject(new Error(`function process exited:\n${stderr}`)))
      })
      proc.stdin!.write(`${JSON.stringify(event)}\n`)
      return JSON.parse(results.shift() ?? (await next))
    },
    async stop() {
      proc.stdin!.end()
      const stuck = setTimeout(() => proc.kill(), 5000)
      await exited
      clearTimeout(stuck)
    },
  }
}

const PY_INVOKER = `
import json, sys
sys.path.insert(0, sys.argv[1])
import index
for line in sys.stdin:
    result = index.lambda_handler(json.loads(line), None)
    print("RESULT " + json.dumps(result), flush=True)
`

const NODE_INVOKER = `
import {createInterface} from 'node:readline'
const {handler} = await import(process.argv[2])
for await (const line of createInterface({input: process.stdin})) {
  const result = await handler(JSON.parse(line), {})
  process.stdout.write('RESULT ' + JSON.stringify(result) + '\\n')
}
// Like a Lambda container, the module keeps its Redis connection open: leave explicitly.
process.exit(0)
`

function pythonContainer(moduleDir: string, env: Record<string, string> = {}): Container {
  const invoker = join(work, 'invoke.py')
  writeFileSync(invoker, PY_INVOKER)
  // The layer's python/ first, as Lambda puts /opt/python on sys.path.
  return container('python3', ['-u', invoker, moduleDir], {
    PYTHONPATH: join(opt, 'python'),
    PYTHONDONTWRITEBYTECODE: '1',
    ...env,
  })
}

const v2 = (method: string, path: string, body?: object) => ({
  version: '2.0',
  rawPath: path,
  requestContext: {http: {method, path}},
  ...(body ? {body: JSON.stringify(body)} : {}),
})
const v1 = (method: string, path: string, body?: object) => ({
  httpMethod: method,
  path,
  ...(body ? {body: JSON.stringify(body)} : {}),
})

const byId = (items: typeof ARTICLES): typeof ARTICLES =>
  [...items].sort((a, b) => a.article_id.localeCompare(b.article_id))
const total = (c: Container, name: string) => c.emf.reduce((sum, line) => sum + (line[name] ?? 0), 0)

/** The scenario every variant must pass; `missingStatus` is where the runbook differs. */
async function articlesScenario(fn: Container, table: string, missingStatus: number): Promise<void> {
  const list = await fn.invoke(v2('GET', '/articles'))
  assert.equal(list.statusCode, 200)
  assert.deepEqual(byId(JSON.parse(list.body)), ARTICLES)

  const first = await fn.invoke(v1('GET', '/articles/a1'))
  assert.equal(first.statusCode, 200)
  assert.deepEqual(JSON.parse(first.body), ARTICLES[0])

  // Served from the cache: a change made behind its back is not visible yet...
  await sneakyUpdate(table, 'a1', 'changed behind the cache')
  assert.equal(JSON.parse((await fn.invoke(v2('GET', '/articles/a1'))).body).title, 'Title 1')
  assert.equal(byId(JSON.parse((await fn.invoke(v1('GET', '/articles'))).body))[0]!.title, 'Title 1')

  // ...an update through the API invalidates the item and the list.
  const put = await fn.invoke(v2('PUT', '/articles/a1', {title: 'Updated', content: 'New body'}))
  assert.equal(put.statusCode, 200)
  assert.deepEqual(JSON.parse(put.body), {success: true})
  assert.deepEqual(JSON.parse((await fn.invoke(v2('GET', '/articles/a1'))).body), {
    article_id: 'a1',
    title: 'Updated',
    content: 'New body',
  })
  assert.equal(byId(JSON.parse((await fn.invoke(v2('GET', '/articles'))).body))[0]!.title, 'Updated')

  // Not found is answered, and cached briefly: an item created right after stays unseen.
  const missing = await fn.invoke(v2('GET', '/articles/zz'))
  assert.equal(missing.statusCode, missingStatus)
  await ddb.send(
    new PutItemCommand({TableName: table, Item: {article_id: {S: 'zz'}, title: {S: 'late'}, content: {S: 'x'}}}),
  )
  assert.equal((await fn.invoke(v2('GET', '/articles/zz'))).statusCode, missingStatus)

  assert.ok(total(fn, 'CacheHit') >= 3, `hits ${total(fn, 'CacheHit')}`)
  assert.ok(total(fn, 'CacheMiss') >= 4, `misses ${total(fn, 'CacheMiss')}`)
  assert.equal(total(fn, 'CacheError'), 0)
}

describe("the runbook's articles_api/index.py, unchanged", () => {
  it('is the verbatim copy of the runbook (when the seed is at hand)', (t) => {
    const seed = [join(REPO_ROOT, '..', 'shared', 'seed', SEED), join('/work/shared/seed', SEED)].find((p) =>
      existsSync(p),
    )
    if (!seed) return t.skip('runbook seed not found beside the repository')
    const text = readFileSync(seed, 'utf8')
    const block = /### articles_api\/index\.py[^\n]*\n\n```python\n([\s\S]*?)```/.exec(text)
    assert.ok(block, 'articles_api/index.py block not found in the seed')
    assert.equal(readFileSync(join(RUNBOOK_DIR, 'index.py'), 'utf8'), block[1])
  })

  it('runs on cct cache_helper.py against Redis and DynamoDB', async () => {
    await resetTable('articles')
    const fn = pythonContainer(RUNBOOK_DIR)
    try {
      // The runbook answers 200 with "null" for a missing article; the helper keeps that.
      await articlesScenario(fn, 'articles', 200)
    } finally {
      await fn.stop()
    }
    // Its decorator key shape is kept, so its cache_delete reaches the decorated entry.
    assert.equal(await redis.command('EXISTS', 'cct:v1:{article:a1}'), 1)
  })
})

describe('example articles-api (templates/functions/articles-api)', () => {
  it('Python: list (paginated scan), get, update with invalidation', async () => {
    await resetTable('articles_py')
    const fn = pythonContainer(join(REPO_ROOT, 'templates/functions/articles-api/python'), {
      ARTICLES_TABLE: 'articles_py',
      SCAN_PAGE_SIZE: '2',
    })
    try {
      await articlesScenario(fn, 'articles_py', 404)
      assert.equal((await fn.invoke(v2('PUT', '/articles/a2', {title: 1}))).statusCode, 400)
      assert.equal((await fn.invoke(v2('DELETE', '/articles/a2'))).statusCode, 404)
    } finally {
      await fn.stop()
    }
    // One metrics line per invocation (cache_handler), not per cache call.
    assert.ok(fn.emf.length <= 12, `${fn.emf.length} EMF lines for 11 invocations`)
  })

  it('TypeScript: list (paginated scan), get, update with invalidation', async () => {
    await resetTable('articles_ts')
    const dir = join(work, 'ts-fn')
    mkdirSync(join(dir, 'node_modules'), {recursive: true})
    // As deployed: the handler bundled alone, cct-cache from the layer, the AWS SDK from the runtime.
    await build({
      entryPoints: [join(REPO_ROOT, 'templates/functions/articles-api/ts/index.ts')],
      outfile: join(dir, 'index.mjs'),
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node22',
      external: ['cct-cache', '@aws-sdk/*'],
      logLevel: 'silent',
    })
    symlinkSync(join(opt, 'nodejs/node_modules/cct-cache'), join(dir, 'node_modules/cct-cache'))
    symlinkSync(join(REPO_ROOT, 'node_modules/@aws-sdk'), join(dir, 'node_modules/@aws-sdk'))
    writeFileSync(join(dir, 'invoke.mjs'), NODE_INVOKER)
    const fn = container(process.execPath, [join(dir, 'invoke.mjs'), join(dir, 'index.mjs')], {
      ARTICLES_TABLE: 'articles_ts',
      SCAN_PAGE_SIZE: '2',
    })
    try {
      await articlesScenario(fn, 'articles_ts', 404)
      assert.equal((await fn.invoke(v2('PUT', '/articles/a2', {title: 1}))).statusCode, 400)
      assert.equal((await fn.invoke(v1('POST', '/articles'))).statusCode, 404)
    } finally {
      await fn.stop()
    }
    assert.ok(fn.emf.length <= 12, `${fn.emf.length} EMF lines for 11 invocations`)
  })
})
