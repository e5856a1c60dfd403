/**
 * A sharded stack through the real CLI (issue #14): `cct setup --shards 3` makes a
 * cluster-mode-enabled replication group (sandbox/fidelity/elasticache_shards.py runs it as a
 * real redis cluster), the functions get REDIS_CLUSTER=true and the configuration endpoint,
 * and a seeded function with auto-cache reads through the sharded cache (DynamoDB reads
 * counted at the server). `cct cluster --shards 2` reshards online with one mutating call
 * and the cached keys stay readable, and so does `--shards 3` back up (a new shard takes its
 * share of the keys); rollback restores the functions exactly. (A stack of one shard grown to
 * several: shard-migration.test.ts.)
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {DynamoDBClient, ScanCommand} from '@aws-sdk/client-dynamodb'

import {SEED_FUNCTIONS} from '../../sandbox/seed.js'
import {cli} from '../support/cct.js'
import {useSandbox} from '../support/sandbox.js'
import {missingKeys, stackReads} from '../support/stack-reads.js'

const sandbox = useSandbox({
  seed: true,
  seedData: true,
  redis: false,
  fidelity: {replicationGroupCreateSeconds: 0, replicationGroupDeleteSeconds: 0, eniLingerSeconds: 0},
})
const SEEDED = Object.keys(SEED_FUNCTIONS)
const {config, group, snapshot, readsAtServer, cachedKeys, patientHelpers, ...reads} = stackReads(sandbox)
const readAll = (ids: string[]) => reads.readAll('articles-api', ids)

describe('a sharded stack (--shards)', () => {
  it('setup --shards 3 serves cached reads through the cluster; --shards 2 and back to 3 reshard online; rollback restores', async () => {
    const env = sandbox().env
    await patientHelpers(['articles-api'])
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
    assert.ok(keys.length >= ids.length, `the cache holds the entries (${keys.length})`)

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
    assert.deepEqual(missingKeys(keys, await cachedKeys()), [], 'every cached key moved to the shards that stay')
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
    assert.deepEqual(
      missingKeys(keys, await cachedKeys()),
      [],
      'every cached key is still held, some now by the new shard',
    )
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

  it('refuses bad --shards and too many nodes in the plan, with zero mutating calls', async () => {
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
  })
})
