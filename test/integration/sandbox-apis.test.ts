/**
 * The seeded account's five APIs (sandbox/seed/functions) and the traffic that drives them
 * (sandbox/traffic.ts), run for real: Lambda Invoke on the sandbox runs the handlers, which
 * reach the sandbox's DynamoDB through their normal AWS endpoint (the sandbox's edge).
 */
import assert from 'node:assert/strict'
import {createServer, type Server} from 'node:http'
import type {AddressInfo, Socket} from 'node:net'
import {after, before, describe, it} from 'node:test'

import {startSandbox, type Sandbox} from '../../sandbox/launcher.js'
import {idOf, type Row} from '../../sandbox/seed-data.js'
import {DEFAULT_DATA_SEED, makeRow, seedAccount, seedRows, SEED_FUNCTIONS, SEED_TABLES} from '../../sandbox/seed.js'
import {formatSummary, lambdaInvoker, planTraffic, runTraffic, type Invoker} from '../../sandbox/traffic.js'

let sandbox: Sandbox
let api: {invoke: Invoker; close(): void}
let feed: Server
let feedMode: 'rss' | 'hang' = 'rss'
const hanging = new Set<Socket>()

const RSS = `<?xml version="1.0"?><rss version="2.0"><channel><title>Partner news</title>
<item><title>Council passes budget</title><link>https://news.example.com/1</link></item>
<item><title>Library opens late</title><link>https://news.example.com/2</link></item>
</channel></rss>`

before(async () => {
  // The news partner's feed on loopback: RSS, or a connection that is never answered
  // (what a function without an internet route sees).
  feed = createServer((req, res) => {
    if (feedMode === 'hang') return void hanging.add(req.socket)
    res.writeHead(200, {'content-type': 'application/rss+xml'}).end(RSS)
  })
  await new Promise<void>((resolve) => feed.listen(0, '127.0.0.1', resolve))
  const feedUrl = `http://127.0.0.1:${(feed.address() as AddressInfo).port}/feed.xml`

  sandbox = await startSandbox({redis: false})
  await seedAccount(sandbox, {data: true})
  // The feed on loopback instead of news.example.com (the edge's stand-in internet):
  // this test decides what the feed does.
  const {LambdaClient, UpdateFunctionConfigurationCommand, waitUntilFunctionUpdatedV2} =
    await import('@aws-sdk/client-lambda')
  const lambda = new LambdaClient({
    endpoint: sandbox.endpoint,
    region: sandbox.region,
    credentials: {accessKeyId: 'test', secretAccessKey: 'test'},
    maxAttempts: 1,
  })
  await lambda.send(
    new UpdateFunctionConfigurationCommand({
      FunctionName: 'news-api',
      Environment: {Variables: {...SEED_FUNCTIONS['news-api'], NEWS_FEED_URL: feedUrl}},
    }),
  )
  await waitUntilFunctionUpdatedV2({client: lambda, maxWaitTime: 30, minDelay: 1}, {FunctionName: 'news-api'})
  lambda.destroy()
  api = await lambdaInvoker(sandbox)
})

after(async () => {
  api?.close()
  for (const socket of hanging) socket.destroy()
  feed?.close()
  await sandbox?.stop()
})

interface HttpAnswer {
  statusCode: number
  body: Record<string, unknown> & {items?: Record<string, unknown>[]; next_token?: string | null; message?: string}
}

async function call(
  fn: string,
  method: string,
  path: string,
  extra: {query?: Record<string, string>; body?: string} = {},
): Promise<HttpAnswer> {
  const event = {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: new URLSearchParams(extra.query ?? {}).toString(),
    headers: {accept: 'application/json'},
    ...(extra.query ? {queryStringParameters: extra.query} : {}),
    requestContext: {
      http: {method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test'},
      stage: '$default',
    },
    ...(extra.body === undefined ? {} : {body: extra.body}),
    isBase64Encoded: false,
  }
  const answer = await api.invoke(fn, JSON.stringify(event), AbortSignal.timeout(30_000))
  const payload = Buffer.from(answer.Payload ?? []).toString()
  assert.equal(answer.FunctionError, undefined, `${fn} ${method} ${path}: ${payload}`)
  const result = JSON.parse(payload) as {statusCode: number; headers: Record<string, string>; body: string}
  assert.equal(result.headers['content-type'], 'application/json')
  return {statusCode: result.statusCode, body: JSON.parse(result.body) as HttpAnswer['body']}
}

/** A row as the API returns it: sets as sorted lists. */
const asJson = (row: Row) =>
  Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Array.isArray(v) ? [...new Set(v)].sort() : v]))

describe('seeded APIs: GET list, GET by id, PUT, as API Gateway HTTP API v2 calls them', () => {
  for (const table of SEED_TABLES) {
    it(`${table.functionName}: pages of ${table.tableName}, one by id, 404, PUT creates then replaces, 400s`, async () => {
      const fn = table.functionName
      const path = table.path

      // List: a page of the asked size and a token; the token gives the next page, disjoint.
      // (news-api's list also reads the partner feed, here on loopback.)
      const first = await call(fn, 'GET', path, {query: {limit: '5'}})
      assert.equal(first.statusCode, 200, JSON.stringify(first.body))
      assert.equal(first.body.items?.length, 5)
      assert.equal(first.body.count, 5)
      assert.equal(typeof first.body.next_token, 'string')
      const second = await call(fn, 'GET', path, {query: {limit: '5', next_token: first.body.next_token!}})
      assert.equal(second.statusCode, 200)
      const ids = (page: HttpAnswer) => page.body.items!.map((item) => item[table.key])
      assert.equal(ids(second).length, 5)
      assert.equal(ids(first).filter((id) => ids(second).includes(id)).length, 0, 'pages do not overlap')

      // By id: exactly the seeded row (Decimal numbers as JSON numbers, sets as lists).
      const firstGenerated = table.tableName === 'articles' ? 11 : 1
      const expected = asJson(seedRows(table, DEFAULT_DATA_SEED, firstGenerated)[42 - firstGenerated]!)
      assert.equal(expected[table.key], idOf(table, 42))
      const one = await call(fn, 'GET', `${path}/${idOf(table, 42)}`)
      assert.equal(one.statusCode, 200)
      if (table.tableName === 'contributors') {
        assert.equal(one.body.email, undefined, 'emails stay private')
        delete expected.email
      }
      for (const [field, value] of Object.entries(expected)) assert.deepEqual(one.body[field], value, field)
      assert.ok(
        Object.values(one.body).some((v) => typeof v === 'number' && !Number.isInteger(v)) ||
          !Object.values(expected).some((v) => typeof v === 'number' && !Number.isInteger(v)),
      )

      const missing = await call(fn, 'GET', `${path}/${table.idPrefix}-nope`)
      assert.equal(missing.statusCode, 404)
      assert.match(missing.body.message!, /not found/)

      // PUT: a new id is created (201), the same id again replaced (200), and GET returns it.
      const newId = `${table.idPrefix}-900`
      const {[table.key]: _key, ...body} = asJson(makeRow(table.tableName, newId, () => 0.5))
      const created = await call(fn, 'PUT', `${path}/${newId}`, {body: JSON.stringify(body)})
      assert.equal(created.statusCode, 201, JSON.stringify(created.body))
      const replaced = await call(fn, 'PUT', `${path}/${newId}`, {body: JSON.stringify(body)})
      assert.equal(replaced.statusCode, 200)
      const readBack = await call(fn, 'GET', `${path}/${newId}`)
      for (const [field, value] of Object.entries(body))
        if (field !== 'email') assert.deepEqual(readBack.body[field], value, field)

      // 400s: not JSON, not an object, a required field missing, a wrong type, an unknown
      // field, a token or limit the API never gave out. None is an unhandled error.
      const bad = async (
        method: string,
        p: string,
        extra: {query?: Record<string, string>; body?: string},
        message: RegExp,
      ) => {
        const answer = await call(fn, method, p, extra)
        assert.equal(answer.statusCode, 400, `${method} ${p} ${JSON.stringify(extra)}`)
        assert.match(answer.body.message!, message)
      }
      await bad('PUT', `${path}/${newId}`, {body: '{"title": '}, /not valid JSON/)
      await bad('PUT', `${path}/${newId}`, {body: '[1, 2]'}, /JSON object/)
      await bad('PUT', `${path}/${newId}`, {}, /body is required/)
      const required = Object.keys(body).find((k) => typeof body[k] === 'string')!
      await bad('PUT', `${path}/${newId}`, {body: JSON.stringify({...body, [required]: undefined})}, /is required/)
      const numeric = Object.keys(body).find((k) => typeof body[k] === 'number')!
      await bad('PUT', `${path}/${newId}`, {body: JSON.stringify({...body, [numeric]: 'many'})}, /must be a number/)
      await bad('PUT', `${path}/${newId}`, {body: JSON.stringify({...body, colour: 'red'})}, /unknown field/)
      await bad('GET', path, {query: {next_token: 'not-a-token'}}, /next_token/)
      await bad('GET', path, {query: {limit: '0'}}, /limit/)

      const noRoute = await call(fn, 'DELETE', `${path}/${newId}`)
      assert.equal(noRoute.statusCode, 404)
    })
  }

  it('news-api: a section is an index query, newest first; the partner feed adds headlines, and a feed that never answers is a 502 before the function times out', async () => {
    const politics = await call('news-api', 'GET', '/news', {query: {category: 'politics', limit: '30'}})
    assert.equal(politics.statusCode, 200)
    const items = politics.body.items!
    assert.ok(items.length > 5)
    assert.ok(items.every((item) => item.category === 'politics'))
    const dates = items.map((item) => item.published_at as string)
    assert.deepEqual(dates, [...dates].sort().reverse())
    assert.deepEqual(politics.body.headlines, [
      {title: 'Council passes budget', link: 'https://news.example.com/1'},
      {title: 'Library opens late', link: 'https://news.example.com/2'},
    ])

    feedMode = 'hang'
    try {
      const began = Date.now()
      const answer = await call('news-api', 'GET', '/news')
      const seconds = (Date.now() - began) / 1000
      assert.equal(answer.statusCode, 502)
      assert.match(answer.body.message!, /feed is unavailable/)
      assert.ok(
        seconds >= 2.5 && seconds < 10,
        `answered after ${seconds} s: the feed's 3 s timeout, under the function's 10 s`,
      )
    } finally {
      feedMode = 'rss'
    }
  })
})

describe('traffic', () => {
  it('plans the same requests for the same seed: Poisson arrivals within the duration, the mix asked for, Zipf-like popularity', () => {
    const options = {rate: 200, durationSeconds: 10, seed: 7}
    const plan = planTraffic(options)
    assert.deepEqual(planTraffic(options), plan)
    assert.notDeepEqual(planTraffic({...options, seed: 8}), plan)
    assert.ok(plan.length > 1800 && plan.length < 2200, `${plan.length} arrivals at 200/s for 10 s`)
    assert.ok(plan.every((r, i) => r.atMs < 10_000 && (i === 0 || r.atMs >= plan[i - 1]!.atMs)))
    const share = (kind: string) => plan.filter((r) => r.kind === kind).length / plan.length
    assert.ok(Math.abs(share('put') - 0.05) < 0.02, `puts ${share('put')}`)
    assert.ok(Math.abs(share('list') - 0.1) < 0.03, `lists ${share('list')}`)
    assert.ok(share('get') > 0.75)

    // The hottest tenth of the articles gets most reads, as on a real site.
    const reads = plan.filter((r) => r.functionName === 'articles-api' && r.kind === 'get').map((r) => r.event.rawPath)
    const counts = [...reads.reduce((m, p) => m.set(p, (m.get(p) ?? 0) + 1), new Map<string, number>()).values()].sort(
      (a, b) => b - a,
    )
    const top = counts.slice(0, 30).reduce((a, b) => a + b, 0)
    assert.ok(top / reads.length > 0.5, `top 30 of 300 articles: ${((100 * top) / reads.length).toFixed(0)}% of reads`)

    // Bounded by count as well as time; only the functions asked for.
    assert.equal(planTraffic({...options, maxInvocations: 25}).length, 25)
    assert.ok(planTraffic({...options, functions: ['news-api']}).every((r) => r.functionName === 'news-api'))
    assert.throws(() => planTraffic({functions: ['nope-api']}), /no seeded function nope-api/)
    assert.throws(() => planTraffic({rate: 0}), /rate/)
    // PUT bodies are whole, valid items; events are HTTP API v2.
    const put = plan.find((r) => r.kind === 'put')!
    assert.equal(put.event.requestContext.http.method, 'PUT')
    assert.equal(put.event.version, '2.0')
    assert.ok(Object.keys(JSON.parse(put.event.body!) as object).length >= 3)
  })

  it('runs a plan through the functions and sums up what came back', async () => {
    // Warm one container per function first, as a site that is already serving would have.
    for (const table of SEED_TABLES)
      assert.equal((await call(table.functionName, 'GET', `${table.path}/${idOf(table, 1)}`)).statusCode, 200)
    const options = {rate: 5, durationSeconds: 3, seed: 3, invoke: api.invoke, concurrency: 3}
    const plan = planTraffic(options)
    const progress: number[] = []
    const summary = await runTraffic({...options, onProgress: (p) => progress.push(p.done)})
    assert.equal(summary.planned, plan.length)
    // Requests go out in plan order, so what was sent is a prefix of the plan (the rest is
    // dropped only if slow answers held every slot until the end: cold starts on a busy
    // machine can, so how many were sent is not asserted).
    assert.equal(summary.invocations + summary.notSent, plan.length, formatSummary(summary))
    assert.ok(summary.invocations > 0, formatSummary(summary))
    const sent = plan.slice(0, summary.invocations)
    assert.equal(summary.errors, 0, summary.sampleErrors.join('\n'))
    for (const kind of ['get', 'missing', 'list', 'put'] as const)
      assert.equal(summary.kinds[kind], sent.filter((r) => r.kind === kind).length)
    for (const [name, f] of Object.entries(summary.perFunction))
      assert.equal(f.invocations, sent.filter((r) => r.functionName === name).length)
    const status = (code: number) => summary.statusCodes[code] ?? 0
    assert.equal(status(404), summary.kinds.missing)
    assert.equal(
      status(200) + status(201),
      summary.kinds.get + summary.kinds.list + summary.kinds.put,
      JSON.stringify(summary.statusCodes),
    )
    assert.equal(progress.length, summary.invocations)
    assert.equal(progress.at(-1), summary.invocations)
    assert.ok(summary.latencyMs.p50! <= summary.latencyMs.p95!)
    // REPORT lines: a Duration for each; Init Duration only where a new container started.
    assert.ok(summary.durationMs.p50! > 0 && summary.durationMs.p50! <= summary.durationMs.p95!)
    assert.ok(summary.coldStarts < summary.invocations)
    for (const f of Object.values(summary.perFunction)) assert.ok(f.p50! > 0)
  })

  it('stays bounded in time when functions hang: the rest of the plan is dropped, the last answers abandoned after the drain time', async () => {
    // Functions that never answer (no route, waiting for their timeout), as the caller sees them.
    const hang: Invoker = (_fn, _payload, signal) =>
      new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error)))
    const began = Date.now()
    const summary = await runTraffic({
      rate: 50,
      durationSeconds: 1,
      seed: 1,
      concurrency: 2,
      drainSeconds: 0.5,
      invoke: hang,
    })
    const seconds = (Date.now() - began) / 1000
    assert.ok(seconds < 2.5, `took ${seconds} s for 1 s of traffic and 0.5 s of drain`)
    assert.equal(summary.invocations, 2)
    assert.equal(summary.errors, 2)
    assert.equal(summary.notSent, summary.planned - 2)
    assert.match(summary.sampleErrors[0]!, /gave up waiting/)
  })
})
