/**
 * The cache's life where AWS is slow or fails (issue #12): a group that ends create-failed,
 * the zones its nodes go to, rollback while it is still creating, replicas and Multi-AZ.
 * One sandbox for the file.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {DescribeInstanceTypeOfferingsCommand, DescribeSubnetsCommand, EC2Client} from '@aws-sdk/client-ec2'
import {
  CreateReplicationGroupCommand,
  DescribeCacheClustersCommand,
  DescribeReplicationGroupsCommand,
  ElastiCacheClient,
} from '@aws-sdk/client-elasticache'

import {CctError, ExitCode} from '../../src/errors.js'
import {stackTags} from '../../src/tags.js'
import {runSteps} from '../support/cct.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({redis: false})
const CACHE = ['vpc', 'sg', 'subnet-group', 'cluster'] as const

const clients = () => {
  const config = {endpoint: sandbox().endpoint, region: sandbox().region, maxAttempts: 1}
  return {elasticache: new ElastiCacheClient(config), ec2: new EC2Client(config)}
}
const group = async () =>
  (await clients().elasticache.send(new DescribeReplicationGroupsCommand({ReplicationGroupId: 'cct-cache'})))
    .ReplicationGroups![0]!
const count = (calls: {operation: string}[], operation: string) => calls.filter((c) => c.operation === operation).length

describe('a replication group that ends create-failed', () => {
  it('stops the wait at once with the next step; the re-run deletes it and creates it again', async () => {
    await sandbox().configure({replicationGroupCreateFails: true})
    await assert.rejects(runSteps(sandbox(), [...CACHE]), (e: CctError) => {
      assert.equal(e.exitCode, ExitCode.Conflict)
      assert.match(
        e.message,
        /Replication group cct-cache failed to create \(create-failed\).*InsufficientCacheClusterCapacity/,
      )
      assert.match(e.hint ?? '', /Run `cct cluster` again to delete it and create it anew/)
      return true
    })
    assert.equal((await group()).Status, 'create-failed')

    await sandbox().configure({replicationGroupCreateFails: false})
    const plan = await runSteps(sandbox(), [...CACHE], {}, 'plan')
    const changes = plan.report.steps.find((s) => s.id === 'cluster')!.changes.map((c) => `${c.action} ${c.name}`)
    assert.deepEqual(changes, ['delete cct-cache', 'create cct-cache'])
    const rerun = await runSteps(sandbox(), [...CACHE])
    assert.deepEqual(
      rerun.mutating.map((c) => c.operation),
      ['DeleteReplicationGroup', 'CreateReplicationGroup'],
    )
    assert.equal((await group()).Status, 'available')
  })
})

describe('availability zones', () => {
  it('are chosen by zone id among those that offer the node type, and the nodes are placed in them', async () => {
    const {ec2, elasticache} = clients()
    const {report} = await runSteps(sandbox(), [...CACHE], {replicas: 1})
    const vpc = report.steps.find((s) => s.id === 'vpc')!.output as {subnetIds: string[]; zones: string[]}
    const {Subnets = []} = await ec2.send(new DescribeSubnetsCommand({SubnetIds: vpc.subnetIds}))
    const {InstanceTypeOfferings = []} = await ec2.send(
      new DescribeInstanceTypeOfferingsCommand({
        LocationType: 'availability-zone-id',
        Filters: [{Name: 'instance-type', Values: ['t3.micro']}],
      }),
    )
    const offering = InstanceTypeOfferings.map((o) => o.Location!).sort((a, b) =>
      a.localeCompare(b, 'en', {numeric: true}),
    )
    // In this account us-east-1b is use1-az3, which offers no t3: the first two names alphabetically would include it.
    assert.deepEqual(Subnets.map((s) => s.AvailabilityZoneId).sort(), offering.slice(0, 2))
    const members = (await group()).MemberClusters!
    const zones = await Promise.all(
      members.map(
        async (id) =>
          (await elasticache.send(new DescribeCacheClustersCommand({CacheClusterId: id}))).CacheClusters![0]!
            .PreferredAvailabilityZone,
      ),
    )
    assert.deepEqual([...zones].sort(), [...vpc.zones].sort(), 'primary and replica in the two zones')
  })
})

describe('rollback while the group is still creating', () => {
  it('waits until it is available, then deletes it once (no refused delete swallowed)', async () => {
    const {elasticache} = clients()
    const {report} = await runSteps(sandbox(), ['vpc', 'sg', 'subnet-group'])
    const sg = report.steps.find((s) => s.id === 'sg')!.output as {cacheGroupId: string}
    const subnetGroup = (report.steps.find((s) => s.id === 'subnet-group')!.output as {name: string}).name
    await sandbox().configure({replicationGroupCreateSeconds: 2})
    // Another machine's setup (or one interrupted) has just started creating it.
    await elasticache.send(
      new CreateReplicationGroupCommand({
        ReplicationGroupId: 'cct-cache',
        ReplicationGroupDescription: 'cct: cache for stack cct',
        Engine: 'redis',
        CacheNodeType: 'cache.t3.micro',
        NumCacheClusters: 1,
        CacheSubnetGroupName: subnetGroup,
        SecurityGroupIds: [sg.cacheGroupId],
        Tags: stackTags('cct', 'cct-cache'),
      }),
    )
    assert.equal((await group()).Status, 'creating')
    const rollback = await runSteps(sandbox(), [...CACHE], {}, 'destroy')
    assert.equal(count(rollback.mutating, 'DeleteReplicationGroup'), 1)
    assert.ok(count(rollback.calls, 'DescribeReplicationGroups') >= 3, 'polled while it was creating')
    await assert.rejects(group(), (e: Error) => e.name === 'ReplicationGroupNotFoundFault')
  })
})

describe('replicas and Multi-AZ', () => {
  it('0 -> 2 replicas turns Multi-AZ and failover on; 2 -> 0 turns them off first (AWS refuses the other order)', async () => {
    await runSteps(sandbox(), [...CACHE], {replicas: 0})
    let g = await group()
    assert.deepEqual([g.MemberClusters?.length, g.MultiAZ, g.AutomaticFailover], [1, 'disabled', 'disabled'])

    await sandbox().configure({replicationGroupCreateSeconds: 0.5}) // resizing takes a while too
    const up = await runSteps(sandbox(), [...CACHE], {replicas: 2})
    assert.deepEqual(
      up.mutating.map((c) => c.operation),
      ['IncreaseReplicaCount', 'ModifyReplicationGroup'],
    )
    g = await group()
    assert.deepEqual(
      [g.MemberClusters?.length, g.MultiAZ, g.AutomaticFailover, g.Status],
      [3, 'enabled', 'enabled', 'available'],
    )
    assert.deepEqual((await runSteps(sandbox(), [...CACHE], {replicas: 2})).mutating, [], 'converged')

    // What ElastiCache says to the order cct no longer uses.
    const {elasticache} = clients()
    const {DecreaseReplicaCountCommand} = await import('@aws-sdk/client-elasticache')
    await assert.rejects(
      elasticache.send(
        new DecreaseReplicaCountCommand({ReplicationGroupId: 'cct-cache', NewReplicaCount: 0, ApplyImmediately: true}),
      ),
      (e: Error) => e.name === 'InvalidParameterCombinationException' || /InvalidParameterCombination/.test(e.name),
    )

    const down = await runSteps(sandbox(), [...CACHE], {replicas: 0})
    assert.deepEqual(
      down.mutating.map((c) => c.operation),
      ['ModifyReplicationGroup', 'DecreaseReplicaCount'],
    )
    g = await group()
    assert.deepEqual(
      [g.MemberClusters?.length, g.MultiAZ, g.AutomaticFailover, g.Status],
      [1, 'disabled', 'disabled', 'available'],
    )
  })
})
