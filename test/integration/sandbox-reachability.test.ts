/**
 * What a function can reach in the sandbox follows its VPC, proved from the function's side:
 * the seeded APIs (sandbox/seed) and small functions of our own are invoked through the AWS
 * SDK before and after cct sets the stack up, and after a hop is broken by hand.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {
  CreateSecurityGroupCommand,
  DeleteVpcEndpointsCommand,
  DescribeVpcEndpointsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2'
import {
  CreateFunctionCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaClient,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
  type FunctionConfiguration,
} from '@aws-sdk/client-lambda'
import {strToU8, zipSync} from 'fflate'

import {REPO_ROOT} from '../../sandbox/launcher.js'
import {seedAccount} from '../../sandbox/seed.js'
import {STACK_STEPS} from '../../src/stack-steps.js'
import {keyspace, primaryNode} from '../support/cache-node.js'
import {runSteps} from '../support/cct.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({redis: false})

function clients() {
  const {endpoint, region} = sandbox()
  const config = {endpoint, region, maxAttempts: 1, credentials: {accessKeyId: 'test', secretAccessKey: 'test'}}
  return {lambda: new LambdaClient(config), ec2: new EC2Client(config)}
}

interface Answer {
  error?: string
  errorType?: string
  status?: number
  body?: any
  seconds: number
  log: string
}

/** Invokes `fn` with an API Gateway HTTP API (v2) event, as the API would. */
async function api(fn: string, method: string, path: string, query?: Record<string, string>): Promise<Answer> {
  return invoke(fn, {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: new URLSearchParams(query ?? {}).toString(),
    ...(query ? {queryStringParameters: query} : {}),
    headers: {accept: 'application/json'},
    requestContext: {
      http: {method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test'},
      stage: '$default',
    },
    isBase64Encoded: false,
  })
}

async function invoke(fn: string, event: unknown): Promise<Answer> {
  const began = Date.now()
  const out = await clients().lambda.send(
    new InvokeCommand({FunctionName: fn, Payload: JSON.stringify(event), LogType: 'Tail'}),
  )
  const seconds = (Date.now() - began) / 1000
  const payload = JSON.parse(Buffer.from(out.Payload ?? []).toString() || 'null')
  const log = Buffer.from(out.LogResult ?? '', 'base64').toString()
  if (out.FunctionError) return {error: payload.errorMessage, errorType: payload.errorType, seconds, log}
  if (payload && typeof payload.statusCode === 'number')
    return {status: payload.statusCode, body: JSON.parse(payload.body), seconds, log}
  return {body: payload, seconds, log}
}

async function configure(
  fn: string,
  change: Partial<Pick<FunctionConfiguration, 'Timeout'>> & {env?: Record<string, string>},
) {
  const {lambda} = clients()
  const current = await lambda.send(new GetFunctionConfigurationCommand({FunctionName: fn}))
  await lambda.send(
    new UpdateFunctionConfigurationCommand({
      FunctionName: fn,
      ...(change.Timeout ? {Timeout: change.Timeout} : {}),
      ...(change.env ? {Environment: {Variables: {...current.Environment?.Variables, ...change.env}}} : {}),
    }),
  )
  await waitUntilFunctionUpdatedV2({client: lambda, maxWaitTime: 30, minDelay: 1}, {FunctionName: fn})
}

async function cctEndpoints(): Promise<{id: string; service: string}[]> {
  const {VpcEndpoints = []} = await clients().ec2.send(
    new DescribeVpcEndpointsCommand({Filters: [{Name: 'tag:cct:stack', Values: ['cct']}]}),
  )
  return VpcEndpoints.filter((e) => !/deleted|deleting/i.test(String(e.State))).map((e) => ({
    id: e.VpcEndpointId!,
    service: e.ServiceName!,
  }))
}

async function deleteEndpoints(services: RegExp) {
  const doomed = (await cctEndpoints()).filter((e) => services.test(e.service))
  assert.ok(doomed.length > 0, 'cct made the gateway endpoint(s)')
  await clients().ec2.send(new DeleteVpcEndpointsCommand({VpcEndpointIds: doomed.map((e) => e.id)}))
  assert.deepEqual(
    (await cctEndpoints()).filter((e) => services.test(e.service)),
    [],
  )
}

/** Lambda's own words for a timeout, after about that long (a hang, not a fast refusal). */
function assertTimedOut(answer: Answer, seconds: number) {
  assert.equal(answer.status, undefined, `answered ${answer.status} ${JSON.stringify(answer.body)}`)
  assert.match(answer.error ?? '', new RegExp(`Task timed out after ${seconds}\\.00 seconds`))
  // At least its Timeout (a hang, not a refusal); the slack above it is the loaded machine's.
  assert.ok(
    answer.seconds >= seconds - 0.05 && answer.seconds < seconds + 10,
    `Invoke took ${answer.seconds} s for a ${seconds} s Timeout`,
  )
}

const ARTICLE = '/articles/a-042'

describe('reachability from the functions, before and after cct setup', () => {
  it('articles-api reads its table before setup, after setup (gateway endpoint), and hangs to its Timeout once the endpoint is deleted', async () => {
    await seedAccount(sandbox(), {data: true})
    const before = await api('articles-api', 'GET', ARTICLE)
    assert.equal(before.status, 200, JSON.stringify(before))
    assert.equal(before.body.article_id, 'a-042')
    assert.equal(typeof before.body.title, 'string')

    await runSteps(sandbox(), STACK_STEPS)
    const moved = await clients().lambda.send(new GetFunctionConfigurationCommand({FunctionName: 'articles-api'}))
    assert.ok(moved.VpcConfig?.VpcId, 'setup put the function in the VPC')
    const after = await api('articles-api', 'GET', ARTICLE)
    assert.equal(after.status, 200, JSON.stringify(after))
    assert.deepEqual(after.body, before.body)

    await configure('articles-api', {Timeout: 3})
    assert.equal((await api('articles-api', 'GET', ARTICLE)).status, 200, 'a warm container')
    await deleteEndpoints(/\.dynamodb$/)
    // The warm container's next read hangs too. (The sandbox's edge answers every request
    // with Connection: close, so this read opens a new connection; a kept-alive one that
    // outlived the route would not be cut here, unlike on AWS.)
    const broken = await api('articles-api', 'GET', ARTICLE)
    assertTimedOut(broken, 3)
    assert.match(broken.log, /^REPORT .*Duration/m)
    assert.doesNotMatch(broken.log, /Init Duration/, 'the same warm container')
    const cold = await api('articles-api', 'GET', ARTICLE)
    assertTimedOut(cold, 3)
    assert.match(cold.log, /Init Duration/, 'a timed-out container is not reused: a cold one hangs the same')
  })

  it('in the VPC, a function with only another security group cannot reach the cache; one with the lambda group PINGs it', async () => {
    const seed = await seedAccount(sandbox())
    await runSteps(sandbox(), STACK_STEPS)
    const {lambda, ec2} = clients()
    const articles = await lambda.send(new GetFunctionConfigurationCommand({FunctionName: 'articles-api'}))
    const vpc = articles.VpcConfig!
    const env = articles.Environment!.Variables!
    assert.ok(env.REDIS_HOST && env.REDIS_PORT && env.REDIS_TLS, 'setup wrote the cache settings')
    const other = await ec2.send(
      new CreateSecurityGroupCommand({GroupName: 'reports-sg', Description: 'some other group', VpcId: vpc.VpcId!}),
    )
    const base = {
      Runtime: 'python3.12' as const,
      Handler: 'index.handler',
      Role: seed.roleArn,
      Timeout: 5,
      Code: {ZipFile: zip({'index.py': REDIS_PING})},
      Environment: {Variables: {REDIS_HOST: env.REDIS_HOST!, REDIS_PORT: env.REDIS_PORT!, REDIS_TLS: env.REDIS_TLS!}},
    }
    await lambda.send(
      new CreateFunctionCommand({
        ...base,
        FunctionName: 'ping-lambda-sg',
        VpcConfig: {SubnetIds: vpc.SubnetIds, SecurityGroupIds: vpc.SecurityGroupIds},
      }),
    )
    await lambda.send(
      new CreateFunctionCommand({
        ...base,
        FunctionName: 'ping-other-sg',
        VpcConfig: {SubnetIds: vpc.SubnetIds, SecurityGroupIds: [other.GroupId!]},
      }),
    )
    for (const FunctionName of ['ping-lambda-sg', 'ping-other-sg'])
      await waitUntilFunctionActiveV2({client: lambda, maxWaitTime: 30, minDelay: 1}, {FunctionName})

    const [admitted, outsider] = await Promise.all([invoke('ping-lambda-sg', {}), invoke('ping-other-sg', {})])
    assert.equal(admitted.error, undefined, admitted.log)
    assert.deepEqual(admitted.body.reply, '+PONG', JSON.stringify(admitted.body))
    assert.equal(admitted.body.tls, env.REDIS_TLS === 'true')
    assert.equal(outsider.error, undefined, outsider.log)
    assert.equal(outsider.body.reply, undefined)
    assert.equal(outsider.body.stage, 'connect', JSON.stringify(outsider.body))
    assert.match(outsider.body.error, /timeout|timed out/i, 'the connect hangs (no answer), it is not refused')
    assert.ok(outsider.body.seconds >= 1.4, `gave up after ${outsider.body.seconds} s: its own 1.5 s connect timeout`)
  })

  it("the runbook's order (functions into the VPC, cache, layer, env, no gateway endpoint): the first cache-miss read of DynamoDB hangs until the Timeout", async () => {
    await seedAccount(sandbox())
    await runSteps(sandbox(), ['vpc', 'sg'])
    await deleteEndpoints(/\.(dynamodb|s3)$/) // the runbook never makes them
    await runSteps(sandbox(), ['subnet-group', 'cluster', 'attach', 'layer', 'layer-attach', 'env'])
    assert.deepEqual(await cctEndpoints(), [], 'the later steps left the VPC without endpoints')
    const {lambda} = clients()
    await lambda.send(
      new UpdateFunctionCodeCommand({
        FunctionName: 'articles-api',
        ZipFile: zip({
          'index.py': readFileSync(join(REPO_ROOT, 'templates/functions/articles-api/python/index.py'), 'utf8'),
        }),
      }),
    )
    await waitUntilFunctionUpdatedV2({client: lambda, maxWaitTime: 30, minDelay: 1}, {FunctionName: 'articles-api'})
    await configure('articles-api', {Timeout: 3, env: {ARTICLES_TABLE: 'articles'}})

    const node = await primaryNode(sandbox().endpoint)
    const before = await keyspace(sandbox().endpoint, node)
    const hung = await api('articles-api', 'GET', '/articles/a-004')
    assertTimedOut(hung, 3)
    const during = await keyspace(sandbox().endpoint, node)
    assert.ok(during.misses > before.misses, 'the cache was reached and missed; the DynamoDB read behind it hung')

    // The gateway endpoint is the fix: the same read is served, then served from the cache.
    await runSteps(sandbox(), ['vpc'])
    const served = await api('articles-api', 'GET', '/articles/a-004')
    assert.equal(served.status, 200, JSON.stringify(served))
    assert.equal(served.body.article_id, 'a-004')
    const loaded = await keyspace(sandbox().endpoint, node)
    const again = await api('articles-api', 'GET', '/articles/a-004')
    assert.deepEqual(again.body, served.body)
    const cached = await keyspace(sandbox().endpoint, node)
    assert.ok(cached.hits > loaded.hits, 'the second read is a cache hit')
    assert.equal(cached.misses, loaded.misses)
  })

  it('news-api reaches the stand-in internet (its NEWS_FEED_URL) outside a VPC, and not inside one without a NAT', async () => {
    await seedAccount(sandbox(), {data: true})
    const outside = await api('news-api', 'GET', '/news', {limit: '3'})
    assert.equal(outside.status, 200, JSON.stringify(outside))
    assert.ok(outside.body.headlines.length > 0, 'the partner feed, fetched from https://news.example.com/feed.xml')

    await runSteps(sandbox(), ['vpc', 'sg', 'attach'])
    const inside = await api('news-api', 'GET', '/news', {limit: '3'})
    assert.equal(inside.status, 502, JSON.stringify(inside))
    assert.match(inside.body.message, /feed is unavailable/)
    assert.ok(inside.seconds >= 2.9, `the feed hung for its 3 s timeout (${inside.seconds} s), no fast refusal`)
    const story = await api('news-api', 'GET', '/news/n-001')
    assert.equal(story.status, 200, 'DynamoDB still answers through the gateway endpoint')
  })
})

/** A function's zip of text files. */
function zip(files: Record<string, string>): Uint8Array {
  return zipSync(Object.fromEntries(Object.entries(files).map(([name, text]) => [name, strToU8(text)])))
}

/** Connects to the cache as the env says (TLS when REDIS_TLS), with a 1.5 s budget, and PINGs. */
const REDIS_PING = `import os, socket, ssl, time

def handler(event, context):
    host, port, tls = os.environ["REDIS_HOST"], int(os.environ["REDIS_PORT"]), os.environ.get("REDIS_TLS") == "true"
    began, stage = time.monotonic(), "connect"
    try:
        sock = socket.create_connection((host, port), timeout=1.5)
        if tls:
            stage = "tls"
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        stage = "command"
        sock.sendall(b"PING\\r\\n")
        reply = sock.recv(64).decode().strip()
        sock.close()
        return {"reply": reply, "tls": tls, "seconds": time.monotonic() - began}
    except Exception as e:
        return {"stage": stage, "error": "%s: %s" % (type(e).__name__, e), "seconds": time.monotonic() - began}
`
