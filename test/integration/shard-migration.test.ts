/**
 * A stack of one shard grown to three online (issue #14): `cct setup` makes the default one
 * shard (cluster mode disabled, primary endpoint), a Python function (articles-api, cct's
 * Python helper through auto-cache) and a Node one (articles-node, the Node helper) cache
 * their reads, and `cct cluster --shards 3` moves the cache to cluster mode as ElastiCache
 * allows it, one way (sandbox/fidelity/elasticache_cluster_mode.py): compatible, both helpers
 * to the configuration endpoint in cluster mode, enabled, then the online reshard. The
 * functions are read all along; every key cached before is still served after with no
 * DynamoDB read; a re-run makes no call; rollback restores both functions exactly. A move cut
 * short after its first call is finished by `cct setup --shards 3`; what ElastiCache cannot move
 * (Redis OSS 6.2) is refused before any change.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'

import {DynamoDBClient, ScanCommand} from '@aws-sdk/client-dynamodb'
import {ElastiCacheClient, ModifyReplicationGroupCommand} from '@aws-sdk/client-elasticache'
import {CreateFunctionCommand, LambdaClient, waitUntilFunctionActiveV2} from '@aws-sdk/client-lambda'
import {strToU8, zipSync} from 'fflate'

import {cli, runSteps, type CliResult} from '../support/cct.js'
import {useSandbox} from '../support/sandbox.js'
import {missingKeys, stackReads} from '../support/stack-reads.js'

const sandbox = useSandbox({
  seed: true,
  seedData: true,
  redis: false,
  fidelity: {replicationGroupCreateSeconds: 0, replicationGroupDeleteSeconds: 0, eniLingerSeconds: 0},
})
const {config, group, snapshot, readsAtServer, readAll, cachedKeys, patientHelpers} = stackReads(sandbox)

/** The seeded articles-api's answer, from Node: its DynamoDB reads go through the Node helper with auto-cache. */
const NODE_HANDLER = `import {DynamoDBClient} from '@aws-sdk/client-dynamodb'
import {DynamoDBDocumentClient, GetCommand} from '@aws-sdk/lib-dynamodb'
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}))
export const handler = async (event) => {
  const {Item} = await doc.send(new GetCommand({TableName: process.env.TABLE_NAME, Key: {article_id: event.pathParameters.id}}))
  return Item ? {statusCode: 200, body: JSON.stringify(Item, (k, v) => (v instanceof Set ? [...v].sort() : v))} : {statusCode: 404, body: '{}'}
}
`
const FUNCTIONS = ['articles-api', 'articles-node']

/** The mutating calls of a run, counted by operation. */
const tally = (run: Pick<CliResult, 'mutating'>) =>
  run.mutating.reduce<Record<string, number>>((n, c) => ({...n, [c.operation]: (n[c.operation] ?? 0) + 1}), {})

describe('one shard grown to three (cluster mode, one-way)', () => {
  it('cct cluster --shards 3 moves a one-shard stack online: both helpers keep serving, every key stays, rollback restores', async (t) => {
    const env = sandbox().env
    const lambda = new LambdaClient(config())
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'articles-node',
        Runtime: 'nodejs22.x',
        Handler: 'index.handler',
        Role: sandbox.seed().roleArn,
        Timeout: 10,
        Code: {ZipFile: zipSync({'index.mjs': [strToU8(NODE_HANDLER), {mtime: new Date('2024-01-01T00:00:00Z')}]})},
        Environment: {Variables: {TABLE_NAME: 'articles'}},
      }),
    )
    await waitUntilFunctionActiveV2({client: lambda, maxWaitTime: 30}, {FunctionName: 'articles-node'})
    await patientHelpers(FUNCTIONS)
    const before = Object.fromEntries(await Promise.all(FUNCTIONS.map(async (n) => [n, await snapshot(n)])))
    const {Items = []} = await new DynamoDBClient(config()).send(new ScanCommand({TableName: 'articles', Limit: 3}))
    const ids = Items.map((i) => i.article_id!.S!)
    assert.equal(ids.length, 3)

    // One shard, as setup makes it by default (a replica: ElastiCache moves only a group with failover).
    const flags = ['--nat', '--replicas', '1']
    const setup = await cli(['setup', '--yes', '--auto-cache', '--functions', FUNCTIONS.join(','), ...flags], env)
    assert.equal(setup.code, 0, setup.stderr + setup.stdout)
    let g = await group()
    assert.equal(g.ClusterEnabled, false)
    const primary = g.NodeGroups![0]!.PrimaryEndpoint!.Address!
    for (const fn of FUNCTIONS) assert.equal((await snapshot(fn)).env.REDIS_HOST, primary)

    // Each helper caches its reads: the first reach DynamoDB, the second do not.
    const first: Record<string, string[]> = {}
    for (const fn of FUNCTIONS) first[fn] = await readAll(fn, ids)
    assert.deepEqual(
      first['articles-node']!.map((b) => JSON.parse(b) as unknown),
      first['articles-api']!.map((b) => JSON.parse(b) as unknown),
    )
    const cached = await readsAtServer()
    for (const fn of FUNCTIONS) assert.deepEqual(await readAll(fn, ids), first[fn])
    assert.equal(await readsAtServer(), cached, 'the second reads are served by the cache')
    const keys = await cachedKeys()

    // The plan says what it does, what the new shards cost and that it is one-way; nothing is changed.
    const grow = ['cluster', '--shards', '3', ...flags]
    const plan = await cli([...grow, '--dry-run', '--json'], env)
    assert.equal(plan.code, 0, plan.stderr + plan.stdout)
    assert.deepEqual(plan.mutating, [])
    const changes = (
      JSON.parse(plan.stdout) as {
        result: {steps: {changes: {detail: string; oneWay: string | null; operation: {kind: string}}[]}[]}
      }
    ).result.steps.flatMap((s) => s.changes)
    assert.deepEqual(
      changes.map((c) => c.operation.kind),
      ['set-cluster-mode', 'move-helper', 'move-helper', 'set-cluster-mode', 'reshard'],
    )
    assert.match(changes[0]!.oneWay ?? '', /cluster mode cannot be turned off again/)
    assert.match(changes.at(-1)!.detail, /1 -> 3 shards, .*4 nodes in all.*; about \$[\d.]+\/month \(4 nodes/)
    // Without a terminal to ask on, a one-way change needs --yes: one line, nothing changed.
    const unasked = await cli(grow, env)
    assert.equal(unasked.code, 2, unasked.stderr)
    assert.match(unasked.stderr, /This cannot be undone: cluster mode cannot be turned off again/)
    assert.match(unasked.stderr, /--yes/)
    assert.deepEqual(unasked.mutating, [])

    // The move, while both functions keep reading the first article: every answer right.
    let moving = true
    let during = 0
    const readsBefore = await readsAtServer()
    const reader = (async () => {
      while (moving) {
        for (const fn of FUNCTIONS) {
          assert.deepEqual(await readAll(fn, ids.slice(0, 1)), first[fn]!.slice(0, 1))
          during++
        }
        await sleep(50) // a steady trickle, not a load test on two cores
      }
    })()
    const moved = await cli([...grow, '--yes'], env).finally(() => (moving = false))
    await reader
    assert.equal(moved.code, 0, moved.stderr + moved.stdout)
    const fromDynamo = (await readsAtServer()) - readsBefore
    t.diagnostic(`reads during the move: ${during}, from DynamoDB: ${fromDynamo}`)
    assert.ok(fromDynamo < during, `the cache served reads during the move (${fromDynamo} of ${during} from DynamoDB)`)
    // Two mode changes, each helper recorded then updated once, one reshard: nothing else, nothing twice.
    assert.deepEqual(tally(moved), {
      ModifyReplicationGroup: 2,
      TagResource: 2,
      UpdateFunctionConfiguration: 2,
      ModifyReplicationGroupShardConfiguration: 1,
    })

    g = await group()
    assert.equal(g.ClusterEnabled, true)
    assert.equal(g.ClusterMode, 'enabled')
    assert.deepEqual(
      g.NodeGroups!.map((ng) => [ng.NodeGroupId, ng.NodeGroupMembers!.length, ng.PrimaryEndpoint]),
      [
        ['0001', 2, undefined],
        ['0002', 2, undefined],
        ['0003', 2, undefined],
      ],
    )
    const endpoint = g.ConfigurationEndpoint!.Address!
    for (const fn of FUNCTIONS) {
      const {env: vars} = await snapshot(fn)
      assert.equal(vars.REDIS_HOST, endpoint, `${fn}: the configuration endpoint`)
      assert.equal(vars.REDIS_CLUSTER, 'true', fn)
    }
    // Every key cached before the move is there, spread over the shards, and served: no DynamoDB read.
    assert.deepEqual(missingKeys(keys, await cachedKeys()), [], 'no cached key was lost')
    const after = await readsAtServer()
    for (const fn of FUNCTIONS) assert.deepEqual(await readAll(fn, ids), first[fn])
    assert.equal(await readsAtServer(), after, 'every read after the move is served by the cache')

    const again = await cli([...grow, '--yes'], env)
    assert.equal(again.code, 0, again.stderr + again.stdout)
    assert.deepEqual(again.mutating, [])

    const rollback = await cli(['rollback', '--yes'], env)
    assert.equal(rollback.code, 0, rollback.stderr + rollback.stdout)
    for (const fn of FUNCTIONS) assert.deepEqual(await snapshot(fn), before[fn], `${fn} as it was`)
  })

  it('cut short right after its first call, the move is finished by cct setup --shards 3, nothing made twice', async () => {
    const fn = 'articles-api'
    await runSteps(sandbox(), ['vpc', 'sg', 'subnet-group', 'cluster', 'env'], {replicas: 1, functions: [fn]})
    // As if cct had been stopped just after asking for compatible: the group is still modifying.
    await new ElastiCacheClient(config()).send(
      new ModifyReplicationGroupCommand({
        ReplicationGroupId: 'cct-cache',
        ClusterMode: 'compatible',
        ApplyImmediately: true,
      }),
    )
    const args = ['--yes', '--replicas', '1', '--shards', '3', '--functions', fn]
    const resumed = await cli(['setup', ...args], sandbox().env)
    assert.equal(resumed.code, 0, resumed.stderr + resumed.stdout)
    const cache = resumed.mutating
      .filter((c) => c.service.toLowerCase().includes('elasticache'))
      .map((c) => c.operation)
    assert.deepEqual(
      cache,
      ['ModifyReplicationGroup', 'ModifyReplicationGroupShardConfiguration'],
      'enabled, then the reshard',
    )
    const g = await group()
    assert.deepEqual([g.ClusterMode, g.NodeGroups!.length], ['enabled', 3])
    const {env: vars} = await snapshot(fn)
    assert.deepEqual([vars.REDIS_HOST, vars.REDIS_CLUSTER], [g.ConfigurationEndpoint!.Address, 'true'])
    const again = await cli(['setup', ...args], sandbox().env)
    assert.deepEqual(again.mutating, [])
  })

  it('an engine ElastiCache cannot move to cluster mode (Redis OSS 6.2) is refused in the plan, no call made', async () => {
    await runSteps(sandbox(), ['vpc', 'sg', 'subnet-group', 'cluster'], {engineVersion: '6.2', replicas: 1})
    const r = await cli(
      ['cluster', '--shards', '3', '--replicas', '1', '--engine-version', '6.2', '--yes'],
      sandbox().env,
    )
    assert.equal(r.code, 5, r.stderr)
    const lines = r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('⚠ '))
    assert.equal(lines.length, 1, r.stderr)
    assert.match(
      lines[0]!,
      /^✖ cct-cache runs Redis OSS 6\.2; ElastiCache moves a group to cluster mode \(--shards 3\) from Redis OSS 7\.0 or Valkey 7\.2/,
    )
    assert.match(lines[0]!, /--engine-version 7\.1/)
    assert.deepEqual(r.mutating, [])
  })
})
