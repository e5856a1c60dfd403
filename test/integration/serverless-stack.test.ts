/**
 * A serverless cache end to end through the real CLI (issue #14): `cct setup --serverless`
 * shows what the cache costs before creating it (storage at its minimum, ECPUs per million),
 * makes an ElastiCache Serverless cache with the stack's subnets and security group and no
 * subnet group (sandbox/fidelity/elasticache_serverless.py runs it as a TLS redis cluster),
 * the function reads through it in cluster mode, `cct verify` and `cct cost` read its own
 * metrics (dimension clusterId), a re-run changes nothing, and rollback removes it and
 * restores the function exactly.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {CloudWatchClient, GetDashboardCommand} from '@aws-sdk/client-cloudwatch'
import {DynamoDBClient, ScanCommand} from '@aws-sdk/client-dynamodb'
import {
  DescribeCacheSubnetGroupsCommand,
  DescribeReplicationGroupsCommand,
  DescribeServerlessCachesCommand,
  ElastiCacheClient,
} from '@aws-sdk/client-elasticache'

import {allowedActions, iamAction} from '../../src/policy.js'
import {cli, type CliResult} from '../support/cct.js'
import {useSandbox} from '../support/sandbox.js'
import {stackReads} from '../support/stack-reads.js'

const sandbox = useSandbox({
  seed: true,
  seedData: true,
  redis: false,
  fidelity: {
    serverlessCacheCreateSeconds: 1,
    serverlessCacheDeleteSeconds: 1,
    eniLingerSeconds: 0,
    metricsPeriodSeconds: 1,
  },
})
const FN = 'articles-api'
const ARGS = ['--serverless', '--engine', 'valkey', '--max-data-gb', '5', '--auto-cache', '--functions', FN]
/** What setup saves to cct.json, which verify, cost and rollback read (cli() runs each in an empty directory). */
const SAVED = {files: {'cct.json': JSON.stringify({serverless: true, engine: 'valkey', maxDataGb: 5, functions: [FN]})}}
const {config, readsAtServer, ...reads} = stackReads(sandbox)
const elasticache = () => new ElastiCacheClient(config())
const snapshot = () => reads.snapshot(FN)
const read = (id: string) => reads.read(FN, id)

const ops = (calls: {operation: string}[]) => calls.map((c) => c.operation)

/** Calls of one run whose IAM action `cct policy <command>` lacks. */
function outsidePolicy(command: string, run: CliResult): string[] {
  const allowed = allowedActions(command)
  return [...new Set(run.calls.map((c) => iamAction(c.service, c.operation)))].filter((a) => !allowed.has(a))
}

describe('a serverless stack (--serverless)', () => {
  it('setup, traffic, verify, cost, a converged re-run and rollback', async () => {
    const env = sandbox().env
    const before = await snapshot()
    const {Items = []} = await new DynamoDBClient(config()).send(new ScanCommand({TableName: 'articles', Limit: 3}))
    const ids = Items.map((i) => i.article_id!.S!)

    // The price comes before anything is created: the storage floor and the ECPU rate.
    const plan = await cli(['setup', '--yes', '--dry-run', ...ARGS], env)
    assert.equal(plan.code, 0, plan.stderr + plan.stdout)
    assert.deepEqual(plan.mutating, [])
    assert.match(
      plan.stdout.replace(/\s+/g, ' '),
      /about \$6\.13\/month \(100 MB minimum storage at \$0\.084\/GB-hour, plus \$0\.0023 per million ECPUs, about one per KB read or written; storage at most \$306\.60\/month at --max-data-gb 5, Price List API, 2025-10-14\)/,
    )

    const setup = await cli(['setup', '--yes', ...ARGS], env)
    assert.equal(setup.code, 0, setup.stderr + setup.stdout)
    const created = setup.calls.filter((c) => c.operation === 'CreateServerlessCache')
    assert.equal(created.length, 1)
    assert.ok(!ops(setup.mutating).includes('CreateCacheSubnetGroup'), 'a serverless cache takes subnets, no group')
    assert.ok(!ops(setup.mutating).includes('CreateReplicationGroup'))
    const {ServerlessCaches = []} = await elasticache().send(new DescribeServerlessCachesCommand({}))
    assert.equal(ServerlessCaches.length, 1)
    const cache = ServerlessCaches[0]!
    assert.equal(cache.Status, 'available')
    assert.equal(cache.Engine, 'valkey')
    assert.equal(cache.SubnetIds?.length, 2)
    assert.deepEqual(cache.CacheUsageLimits?.DataStorage, {Maximum: 5, Unit: 'GB'})
    assert.equal((await elasticache().send(new DescribeCacheSubnetGroupsCommand({}))).CacheSubnetGroups?.length ?? 0, 0)
    const vars = (await snapshot()).env
    assert.equal(vars.REDIS_HOST, cache.Endpoint!.Address)
    assert.equal(vars.REDIS_PORT, '6379')
    assert.equal(vars.REDIS_TLS, 'true')
    assert.equal(vars.REDIS_CLUSTER, 'true', 'serverless caches are reached in cluster mode')

    // The first reads go to DynamoDB; the second are served by the serverless cache.
    const start = await readsAtServer()
    const first = []
    for (const id of ids) first.push(await read(id))
    const afterFirst = await readsAtServer()
    assert.ok(afterFirst - start >= ids.length, `the first reads reach DynamoDB (${afterFirst - start})`)
    for (const [i, id] of ids.entries()) assert.equal(await read(id), first[i])
    assert.equal(await readsAtServer(), afterFirst, 'the second reads are served by the cache')

    const again = await cli(['setup', '--yes', ...ARGS], env)
    assert.equal(again.code, 0, again.stderr + again.stdout)
    assert.deepEqual(ops(again.mutating), [], 'a converged stack: no change')
    const status = await cli(['status'], env, SAVED)
    assert.equal(status.code, 0, `every resource present: ${status.stdout}${status.stderr}`)
    assert.match(status.stdout, /serverless-cache\s+cct-cache/)

    // Metrics are published every second here; wait for one period past the reads.
    await new Promise((resolve) => setTimeout(resolve, 2500))
    const verify = await cli(['verify', '--json', '--hours', '1'], env, SAVED)
    const report = JSON.parse(verify.stdout) as {
      result: {
        cache: {serverless: boolean; status: string; metricDimensions: Record<string, string>[]}
        probe: {ok: boolean}
        measurements: {hits: number; misses: number}
        criteria: {criterion: string; verdict: string}[]
      }
    }
    const result = report.result
    assert.ok(result, verify.stdout + verify.stderr)
    assert.deepEqual(ops(verify.mutating), ['Invoke'], 'verify changes nothing; it invokes its probe')
    assert.equal(result.cache.serverless, true)
    assert.deepEqual(result.cache.metricDimensions, [{clusterId: 'cct-cache'}])
    assert.equal(result.probe.ok, true, verify.stdout)
    assert.ok(result.measurements.hits >= ids.length, `CacheHits under clusterId (${result.measurements.hits})`)
    const verdict = (name: string) => result.criteria.find((c) => c.criterion === name)?.verdict
    assert.equal(verdict('Cache cluster available'), 'ok')
    assert.equal(verdict('Functions in the VPC with cache access'), 'ok')

    const cost = await cli(['cost', '--json', '--hours', '1'], env, SAVED)
    assert.equal(cost.code, 0, cost.stderr + cost.stdout)
    assert.deepEqual(cost.mutating, [])
    const lines = (JSON.parse(cost.stdout) as {result: {lines: {item: string; monthlyUsd?: number; source: string}[]}})
      .result.lines
    const storage = lines.find((l) => l.item === 'Cache cct-cache (serverless valkey): data stored')
    const ecpus = lines.find((l) => l.item === 'Cache cct-cache (serverless valkey): ECPUs')
    assert.equal(storage?.monthlyUsd, -6.13, 'an almost empty cache is metered at 100 MB')
    assert.match(storage!.source, /BytesUsedForCache .*metered at least 100 MB; \$0\.084\/GB-hour × 730 h/)
    assert.ok(ecpus && ecpus.monthlyUsd !== undefined && ecpus.monthlyUsd <= 0, JSON.stringify(ecpus))
    assert.match(ecpus!.source, /ElastiCacheProcessingUnits Sum: [1-9]\d* in/)

    const dashboard = await new CloudWatchClient(config()).send(new GetDashboardCommand({DashboardName: 'cct-cache'}))
    assert.match(dashboard.DashboardBody!, /"clusterId","cct-cache"/)
    assert.match(dashboard.DashboardBody!, /ElastiCacheProcessingUnits/)

    const rollback = await cli(['rollback', '--yes'], env, SAVED)
    assert.equal(rollback.code, 0, rollback.stderr + rollback.stdout)
    assert.ok(ops(rollback.mutating).includes('DeleteServerlessCache'))
    assert.equal((await elasticache().send(new DescribeServerlessCachesCommand({}))).ServerlessCaches?.length ?? 0, 0)
    assert.equal((await elasticache().send(new DescribeReplicationGroupsCommand({}))).ReplicationGroups?.length ?? 0, 0)
    assert.deepEqual(await snapshot(), before, 'the function as it was')
    assert.deepEqual(outsidePolicy('setup', setup), [], '`cct policy setup` covers setup --serverless')
    assert.deepEqual(outsidePolicy('rollback', rollback), [], '`cct policy rollback` covers its rollback')
    console.log(
      `mutating calls: setup ${setup.mutating.length}, re-run ${again.mutating.length}, rollback ${rollback.mutating.length}`,
    )
  })
})
