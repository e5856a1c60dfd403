/**
 * A sharded stack through the real CLI (issue #14): `cct setup --shards 3` makes a
 * cluster-mode-enabled replication group (sandbox/fidelity/elasticache_shards.py runs it as a
 * real redis cluster), the functions get REDIS_CLUSTER=true and the configuration endpoint,
 * and a seeded function with auto-cache reads through the sharded cache (DynamoDB reads
 * counted at the server). `cct cluster --shards 2` reshards online with one mutating call
 * and the cached keys stay readable, and so does `--shards 3` back up (a new shard takes its
 * share of the keys); rollback restores the functions exactly.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {connect as connectTls} from 'node:tls'

import {DescribeReplicationGroupsCommand, ElastiCacheClient} from '@aws-sdk/client-elasticache'
import {DynamoDBClient, ScanCommand} from '@aws-sdk/client-dynamodb'
import {
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaClient,
  ListTagsCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionUpdatedV2,
} from '@aws-sdk/client-lambda'
import {strToU8} from 'fflate'

import {SEED_FUNCTIONS} from '../../sandbox/seed.js'
import {cli, runSteps} from '../support/cct.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({
  seed: true,
  seedData: true,
  redis: false,
  fidelity: {replicationGroupCreateSeconds: 0, replicationGroupDeleteSeconds: 0, eniLingerSeconds: 0},
})
const SEEDED = Object.keys(SEED_FUNCTIONS)
const READ_OPS = ['GetItem', 'BatchGetItem', 'Query', 'Scan']

const config = () => ({endpoint: sandbox().endpoint, region: sandbox().region, maxAttempts: 1})
const group = async () =>
  (await new ElastiCacheClient(config()).send(new DescribeReplicationGroupsCommand({ReplicationGroupId: 'cct-cache'})))
    .ReplicationGroups![0]!

/** Everything a user can read back about a function's configuration that cct touches. */
async function snapshot(name: string) {
  const lambda = new LambdaClient(config())
  const c = await lambda.send(new GetFunctionConfigurationCommand({FunctionName: name}))
  const {Tags} = await lambda.send(new ListTagsCommand({Resource: c.FunctionArn!}))
  return {
    env: c.Environment?.Variables ?? {},
    layers: (c.Layers ?? []).map((l) => l.Arn),
    subnets: c.VpcConfig?.SubnetIds ?? [],
    tags: Tags,
  }
}

/** DynamoDB read requests the server has answered, all tables. */
async function readsAtServer(): Promise<number> {
  const res = await fetch(`${sandbox().endpoint}/cct-fidelity/dynamodb-requests`)
  const {requests} = (await res.json()) as {requests: Record<string, Record<string, number>>}
  return Object.values(requests).reduce((n, ops) => n + READ_OPS.reduce((m, op) => m + (ops[op] ?? 0), 0), 0)
}

const get = (id: string) => ({
  version: '2.0',
  routeKey: 'GET /articles/{id}',
  rawPath: `/articles/${id}`,
  rawQueryString: '',
  headers: {},
  pathParameters: {id},
  requestContext: {http: {method: 'GET', path: `/articles/${id}`}, requestId: `GET-${id}`},
  isBase64Encoded: false,
})

async function read(id: string): Promise<string> {
  const out = await new LambdaClient(config()).send(
    new InvokeCommand({FunctionName: 'articles-api', Payload: strToU8(JSON.stringify(get(id))), LogType: 'Tail'}),
  )
  const text = Buffer.from(out.Payload ?? []).toString()
  if (process.env.SHOW_LOGS) console.log(Buffer.from(out.LogResult ?? '', 'base64').toString())
  assert.equal(out.FunctionError, undefined, text)
  const answer = JSON.parse(text) as {statusCode: number; body: string}
  assert.equal(answer.statusCode, 200, text)
  return answer.body
}

/** Keys held by the primaries of the stack's cache (TLS, as cct creates it), all shards together. */
async function cachedKeys(): Promise<number> {
  const res = await fetch(`${sandbox().endpoint}/cct-fidelity/caches`)
  const nodes = (await res.json()) as {kind: string; role: string; real: string}[]
  const primaries = nodes.filter((n) => n.kind === 'node' && n.role === 'primary')
  const sizes = await Promise.all(primaries.map((n) => dbsize(Number(n.real.split(':')[1]))))
  return sizes.reduce((a, b) => a + b, 0)
}

function dbsize(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connectTls({host: '127.0.0.1', port, rejectUnauthorized: false}, () =>
      socket.write('*1\r\n$6\r\nDBSIZE\r\n'),
    )
    let reply = ''
    socket.setTimeout(5000, () => socket.destroy(new Error(`DBSIZE on ${port} timed out`)))
    socket.on('error', reject)
    socket.on('data', (chunk) => {
      reply += chunk.toString()
      const m = /^:(\d+)\r\n/.exec(reply)
      if (m) {
        socket.end()
        resolve(Number(m[1]))
      } else if (reply.includes('\r\n')) socket.destroy(new Error(`DBSIZE on ${port}: ${reply}`))
    })
  })
}

/** One after another: one container, whose cache connection is reused. */
async function readAll(ids: string[]): Promise<string[]> {
  const out = []
  for (const id of ids) out.push(await read(id))
  return out
}

describe('a sharded stack (--shards)', () => {
  it('setup --shards 3 serves cached reads through the cluster; --shards 2 and back to 3 reshard online; rollback restores', async () => {
    const env = sandbox().env
    // The sandbox runs six TLS redis-servers, a container and moto on two cores: a cold TLS
    // connect to each shard can exceed the helper's 400 ms default budget, which would open
    // the breaker. The function's own setting (kept by cct, restored as it is by rollback).
    const lambda = new LambdaClient(config())
    const fn = await lambda.send(new GetFunctionConfigurationCommand({FunctionName: 'articles-api'}))
    await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'articles-api',
        Environment: {Variables: {...fn.Environment?.Variables, CACHE_CONNECT_TIMEOUT_MS: '3000'}},
      }),
    )
    await waitUntilFunctionUpdatedV2({client: lambda, maxWaitTime: 30}, {FunctionName: 'articles-api'})
    const before = Object.fromEntries(await Promise.all(SEEDED.map(async (n) => [n, await snapshot(n)])))
    const {Items = []} = await new DynamoDBClient(config()).send(new ScanCommand({TableName: 'articles', Limit: 3}))
    const ids = Items.map((i) => i.article_id!.S!)
    assert.equal(ids.length, 3)

    const setup = await cli(['setup', '--yes', '--nat', '--auto-cache', '--shards', '3'], env)
    assert.equal(setup.code, 0, setup.stderr + setup.stdout)
    const created = setup.calls.find((c) => c.operation === 'CreateReplicationGroup')
    assert.ok(created, 'a replication group is created')
    let g = await group()
    assert.equal(g.ClusterEnabled, true)
    assert.equal(g.NodeGroups!.length, 3)
    const endpoint = g.ConfigurationEndpoint!.Address!
    assert.match(endpoint, /^clustercfg\.cct-cache\./)
    for (const name of SEEDED) {
      const {env: vars} = await snapshot(name)
      assert.equal(vars.REDIS_CLUSTER, 'true', name)
      assert.equal(vars.REDIS_HOST, endpoint, `${name}: the configuration endpoint`)
    }

    // The first read of each article goes to DynamoDB; the second is served by the sharded cache.
    const start = await readsAtServer()
    const first = await readAll(ids)
    const afterFirst = await readsAtServer()
    assert.ok(afterFirst - start >= ids.length, `the first reads reach DynamoDB (${afterFirst - start})`)
    assert.deepEqual(await readAll(ids), first)
    assert.equal(await readsAtServer(), afterFirst, 'the second reads are served by the cache')

    // Converged: a re-run makes no change.
    const again = await cli(['setup', '--yes', '--nat', '--auto-cache', '--shards', '3'], env)
    assert.equal(again.code, 0, again.stderr + again.stdout)
    assert.deepEqual(again.mutating, [])

    const keys = await cachedKeys()
    assert.ok(keys >= ids.length, `the cache holds the entries (${keys})`)

    // 3 -> 2 online: the plan names the reshard, the run makes exactly that call, and the keys stay cached.
    const plan = await cli(['cluster', '--shards', '2', '--nat', '--dry-run', '--json'], env)
    assert.equal(plan.code, 0, plan.stderr + plan.stdout)
    assert.deepEqual(plan.mutating, [])
    const ops = (JSON.parse(plan.stdout) as {result: {steps: {changes: {operation?: {kind: string}}[]}[]}}).result.steps
      .flatMap((s) => s.changes)
      .map((c) => c.operation)
    assert.deepEqual(ops, [{kind: 'reshard', id: 'cct-cache', from: 3, to: 2, remove: ['0003']}])
    const reshard = await cli(['cluster', '--shards', '2', '--nat'], env)
    assert.equal(reshard.code, 0, reshard.stderr + reshard.stdout)
    assert.deepEqual(
      reshard.mutating.map((c) => c.operation),
      ['ModifyReplicationGroupShardConfiguration'],
    )
    g = await group()
    assert.deepEqual(
      g.NodeGroups!.map((ng) => ng.NodeGroupId),
      ['0001', '0002'],
    )
    assert.equal(await cachedKeys(), keys, 'every cached key moved to the shards that stay')
    // A container idle during the move still maps some slots to the removed shard's nodes: its
    // first command there fails and that read is served from DynamoDB, once. Values never differ.
    assert.deepEqual(await readAll(ids), first)
    const converged = await cli(['cluster', '--shards', '2', '--nat'], env)
    assert.deepEqual(converged.mutating, [])

    // 2 -> 3 online: one call adds a node group, its share of the slots moves to it with the
    // keys, and every entry is still served by the cache (the helper follows MOVED), none from DynamoDB.
    // The helper's breaker, opened by that one failure, closes on a later read (its background
    // retry runs only while the container is thawed): read until the cache serves every read.
    for (let round = 0; ; round++) {
      const atStart = await readsAtServer()
      assert.deepEqual(await readAll(ids), first)
      if ((await readsAtServer()) === atStart) break
      assert.ok(round < 5, 'the breaker closes again')
    }

    const grow = await cli(['cluster', '--shards', '3', '--nat'], env)
    assert.equal(grow.code, 0, grow.stderr + grow.stdout)
    assert.deepEqual(
      grow.mutating.map((c) => c.operation),
      ['ModifyReplicationGroupShardConfiguration'],
    )
    g = await group()
    assert.deepEqual(
      g.NodeGroups!.map((ng) => [ng.NodeGroupId, ng.NodeGroupMembers!.length]),
      [
        ['0001', 1],
        ['0002', 1],
        ['0003', 1],
      ],
    )
    assert.equal(await cachedKeys(), keys, 'every cached key is still held, some now by the new shard')
    const beforeGrown = await readsAtServer()
    assert.deepEqual(await readAll(ids), first)
    assert.equal(await readsAtServer(), beforeGrown, 'every read after the growth is served by the cache')
    const grown = await cli(['cluster', '--shards', '3', '--nat'], env)
    assert.equal(grown.code, 0, grown.stderr + grown.stdout)
    assert.deepEqual(grown.mutating, [])

    const rollback = await cli(['rollback', '--yes'], env)
    assert.equal(rollback.code, 0, rollback.stderr + rollback.stdout)
    for (const name of SEEDED) assert.deepEqual(await snapshot(name), before[name], `${name} as it was`)
  })

  it('refuses bad --shards, too many nodes and 1 -> N in the plan, with zero mutating calls', async () => {
    const env = sandbox().env
    for (const bad of ['0', '501']) {
      const r = await cli(['setup', '--yes', '--shards', bad], env)
      assert.equal(r.code, 2, r.stderr)
      assert.match(r.stderr.trim().split('\n')[0]!, new RegExp(`--shards ${bad} is outside 1-500`))
      assert.deepEqual(r.mutating, [])
    }
    const nodes = await cli(['setup', '--yes', '--shards', '200', '--replicas', '2'], env)
    assert.equal(nodes.code, 2, nodes.stderr)
    assert.match(nodes.stderr, /--shards 200 with --replicas 2 is 600 nodes; a cluster-mode group has at most 500/)
    assert.deepEqual(nodes.mutating, [])
    const file = await cli(['setup', '--yes'], env, {files: {'cct.json': JSON.stringify({shards: 600})}})
    assert.match(file.stderr, /cct\.json "shards" 600 is outside 1-500/)
    assert.deepEqual(file.mutating, [])

    await runSteps(sandbox(), ['vpc', 'sg', 'subnet-group', 'cluster']) // one shard, cluster mode disabled
    const many = await cli(['cluster', '--shards', '3'], env)
    assert.notEqual(many.code, 0)
    assert.match(many.stderr, /one shard \(cluster mode disabled\).*one-way migration \(ClusterMode compatible/)
    assert.match(many.stderr, /cct rollback.*cct setup --shards 3/)
    assert.deepEqual(many.mutating, [])
  })
})
