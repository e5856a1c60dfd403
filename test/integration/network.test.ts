import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {
  CreateRouteTableCommand,
  AssociateRouteTableCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcEndpointsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2'
import {
  DescribeCacheSubnetGroupsCommand,
  ElastiCacheClient,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-elasticache'

import {cli, runSteps} from '../support/cct.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({redis: false})

function ec2() {
  const s = sandbox()
  return new EC2Client({endpoint: s.endpoint, region: s.region, maxAttempts: 1})
}

const tagged = (tags: {Key?: string; Value?: string}[] | undefined, stack = 'cct') => {
  const m = new Map((tags ?? []).map((t) => [t.Key, t.Value]))
  return m.get('ManagedBy') === 'cct' && m.get('cct:stack') === stack && (m.get('Name') ?? '').startsWith(`${stack}-`)
}

async function stackVpc(stack = 'cct') {
  const {Vpcs = []} = await ec2().send(new DescribeVpcsCommand({Filters: [{Name: 'tag:cct:stack', Values: [stack]}]}))
  return Vpcs
}

describe('cct vpc', () => {
  it('from nothing creates a tagged VPC, two subnets in two AZs, a private route table and DynamoDB/S3 gateway endpoints', async () => {
    const {mutating} = await runSteps(sandbox(), ['vpc'])
    assert.ok(mutating.length > 0)
    const vpcs = await stackVpc()
    assert.equal(vpcs.length, 1)
    const vpc = vpcs[0]!
    assert.equal(vpc.CidrBlock, '10.0.0.0/16')
    assert.ok(tagged(vpc.Tags))
    const {Subnets = []} = await ec2().send(
      new DescribeSubnetsCommand({Filters: [{Name: 'vpc-id', Values: [vpc.VpcId!]}]}),
    )
    assert.equal(Subnets.length, 2)
    assert.ok(Subnets.every((s) => tagged(s.Tags)))
    assert.equal(new Set(Subnets.map((s) => s.AvailabilityZone)).size, 2, 'two distinct AZs')
    assert.deepEqual(Subnets.map((s) => s.CidrBlock).sort(), ['10.0.1.0/24', '10.0.2.0/24'])
    const {RouteTables = []} = await ec2().send(
      new DescribeRouteTablesCommand({Filters: [{Name: 'vpc-id', Values: [vpc.VpcId!]}]}),
    )
    const ours = RouteTables.filter((t) => tagged(t.Tags))
    assert.equal(ours.length, 1)
    const associated = (ours[0]!.Associations ?? []).map((a) => a.SubnetId).sort()
    assert.deepEqual(associated, Subnets.map((s) => s.SubnetId).sort())
    assert.ok(!(ours[0]!.Routes ?? []).some((r) => r.GatewayId?.startsWith('igw-')), 'no internet gateway route')
    const {VpcEndpoints = []} = await ec2().send(
      new DescribeVpcEndpointsCommand({Filters: [{Name: 'vpc-id', Values: [vpc.VpcId!]}]}),
    )
    const live = VpcEndpoints.filter((e) => e.State?.toLowerCase() !== 'deleted')
    assert.deepEqual(live.map((e) => e.ServiceName).sort(), [
      'com.amazonaws.us-east-1.dynamodb',
      'com.amazonaws.us-east-1.s3',
    ])
    for (const e of live) {
      assert.equal(e.VpcEndpointType, 'Gateway')
      assert.deepEqual(e.RouteTableIds, [ours[0]!.RouteTableId])
      assert.ok(tagged(e.Tags))
    }
  })

  it('run again makes zero mutating calls and reports the same ids', async () => {
    const first = await runSteps(sandbox(), ['vpc'])
    const again = await runSteps(sandbox(), ['vpc'])
    assert.deepEqual(again.mutating, [])
    assert.ok(again.calls.length > 0, 'it did inspect')
    assert.deepEqual(again.report.steps[0]!.output, first.report.steps[0]!.output)
    assert.deepEqual(again.report.steps[0]!.changes, [])
  })

  it('--dry-run from nothing plans every resource and makes zero mutating calls', async () => {
    const {report, mutating} = await runSteps(sandbox(), ['vpc', 'sg', 'subnet-group'], {}, 'plan')
    assert.deepEqual(mutating, [])
    const planned = report.steps.flatMap((s) => s.changes.map((c) => `${c.action} ${c.resource}`))
    for (const expected of [
      'create vpc',
      'create subnet',
      'create route-table',
      'create vpc-endpoint',
      'create security-group',
      'attach ingress-rule',
      'create cache-subnet-group',
    ]) {
      assert.ok(planned.includes(expected), `plan has ${expected}: ${planned.join('; ')}`)
    }
    assert.equal((await stackVpc()).length, 0, 'nothing was created')
  })

  it('reusing an existing VPC creates only what is missing and leaves the user resources as they were', async () => {
    const client = ec2()
    const {Vpc} = await client.send(
      new CreateVpcCommand({
        CidrBlock: '172.31.0.0/16',
        TagSpecifications: [{ResourceType: 'vpc', Tags: [{Key: 'Name', Value: 'mine'}]}],
      }),
    )
    const vpcId = Vpc!.VpcId!
    const {Subnet} = await client.send(
      new CreateSubnetCommand({VpcId: vpcId, CidrBlock: '172.31.1.0/24', AvailabilityZone: 'us-east-1a'}),
    )
    const {RouteTable} = await client.send(new CreateRouteTableCommand({VpcId: vpcId}))
    await client.send(
      new AssociateRouteTableCommand({RouteTableId: RouteTable!.RouteTableId!, SubnetId: Subnet!.SubnetId!}),
    )
    await client.send(new CreateSecurityGroupCommand({GroupName: 'app', Description: 'mine', VpcId: vpcId}))
    const snapshot = async () => ({
      vpc: (await client.send(new DescribeVpcsCommand({VpcIds: [vpcId]}))).Vpcs,
      subnet: (await client.send(new DescribeSubnetsCommand({SubnetIds: [Subnet!.SubnetId!]}))).Subnets,
      routeTable: (await client.send(new DescribeRouteTablesCommand({RouteTableIds: [RouteTable!.RouteTableId!]})))
        .RouteTables,
      groups: (
        await client.send(
          new DescribeSecurityGroupsCommand({
            Filters: [
              {Name: 'vpc-id', Values: [vpcId]},
              {Name: 'group-name', Values: ['app', 'default']},
            ],
          }),
        )
      ).SecurityGroups,
    })
    const before = await snapshot()

    const {report} = await runSteps(sandbox(), ['vpc', 'sg', 'subnet-group'], {vpcId})
    const out = report.steps.find((s) => s.id === 'vpc')!.output as {vpcId: string; subnetIds: string[]}
    assert.equal(out.vpcId, vpcId)
    assert.equal(out.subnetIds.length, 2)
    assert.ok(!out.subnetIds.includes(Subnet!.SubnetId!), 'cct made its own subnets, it did not take the user one')
    const {Subnets = []} = await client.send(new DescribeSubnetsCommand({SubnetIds: out.subnetIds}))
    for (const s of Subnets)
      assert.ok(!s.CidrBlock!.startsWith('172.31.1.'), `no overlap with the user subnet: ${s.CidrBlock}`)
    assert.deepEqual(await snapshot(), before)
    assert.equal((await stackVpc()).length, 0, 'the user VPC was not tagged as cct')

    const again = await runSteps(sandbox(), ['vpc', 'sg', 'subnet-group'], {vpcId})
    assert.deepEqual(again.mutating, [])

    // Undo: everything cct added goes, the user's resources stay exactly as they were.
    const undone = await runSteps(sandbox(), ['vpc', 'sg', 'subnet-group'], {vpcId}, 'destroy')
    assert.ok(!undone.mutating.some((c) => c.operation === 'DeleteVpc'), 'the user VPC is not deleted')
    assert.deepEqual(await snapshot(), before)
    const {Subnets: left = []} = await client.send(
      new DescribeSubnetsCommand({Filters: [{Name: 'vpc-id', Values: [vpcId]}]}),
    )
    assert.deepEqual(
      left.map((x) => x.SubnetId),
      [Subnet!.SubnetId],
    )
    const {VpcEndpoints = []} = await client.send(
      new DescribeVpcEndpointsCommand({Filters: [{Name: 'vpc-id', Values: [vpcId]}]}),
    )
    assert.deepEqual(
      VpcEndpoints.filter((e) => e.State?.toLowerCase() !== 'deleted'),
      [],
    )
    assert.deepEqual(
      (await runSteps(sandbox(), ['vpc', 'sg', 'subnet-group'], {vpcId}, 'destroy')).mutating,
      [],
      'undo again: nothing to do',
    )
  })

  it('with --subnet-ids puts the endpoints on the subnets own route tables, and creates no subnet', async () => {
    const client = ec2()
    const {Vpc} = await client.send(new CreateVpcCommand({CidrBlock: '10.20.0.0/16'}))
    const vpcId = Vpc!.VpcId!
    const a = (
      await client.send(
        new CreateSubnetCommand({VpcId: vpcId, CidrBlock: '10.20.1.0/24', AvailabilityZone: 'us-east-1a'}),
      )
    ).Subnet!.SubnetId!
    const b = (
      await client.send(
        new CreateSubnetCommand({VpcId: vpcId, CidrBlock: '10.20.2.0/24', AvailabilityZone: 'us-east-1b'}),
      )
    ).Subnet!.SubnetId!
    const {mutating, report} = await runSteps(sandbox(), ['vpc'], {vpcId, subnetIds: [a, b]})
    assert.ok(!mutating.some((c) => c.operation === 'CreateSubnet' || c.operation === 'CreateRouteTable'))
    const out = report.steps[0]!.output as {subnetIds: string[]; routeTableIds: string[]}
    assert.deepEqual(out.subnetIds, [a, b])
    const {RouteTables = []} = await client.send(
      new DescribeRouteTablesCommand({
        Filters: [
          {Name: 'vpc-id', Values: [vpcId]},
          {Name: 'association.main', Values: ['true']},
        ],
      }),
    )
    assert.deepEqual(out.routeTableIds, [RouteTables[0]!.RouteTableId])
    const {VpcEndpoints = []} = await client.send(
      new DescribeVpcEndpointsCommand({Filters: [{Name: 'vpc-id', Values: [vpcId]}]}),
    )
    assert.equal(VpcEndpoints.filter((e) => e.RouteTableIds?.includes(RouteTables[0]!.RouteTableId!)).length, 2)
  })
})

describe('cct sg', () => {
  it('creates two tagged groups; the cache group admits only 6379 from the lambda group and has no egress', async () => {
    await runSteps(sandbox(), ['vpc'])
    const {report} = await runSteps(sandbox(), ['sg'])
    const {lambdaGroupId, cacheGroupId} = report.steps.find((s) => s.id === 'sg')!.output as {
      lambdaGroupId: string
      cacheGroupId: string
    }
    const {SecurityGroups = []} = await ec2().send(
      new DescribeSecurityGroupsCommand({GroupIds: [lambdaGroupId, cacheGroupId]}),
    )
    const lambda = SecurityGroups.find((g) => g.GroupId === lambdaGroupId)!
    const cache = SecurityGroups.find((g) => g.GroupId === cacheGroupId)!
    assert.equal(lambda.GroupName, 'cct-lambda-sg')
    assert.equal(cache.GroupName, 'cct-cache-sg')
    assert.ok(tagged(lambda.Tags) && tagged(cache.Tags))
    assert.equal(cache.IpPermissions!.length, 1)
    const rule = cache.IpPermissions![0]!
    assert.equal(rule.IpProtocol, 'tcp')
    assert.equal(rule.FromPort, 6379)
    assert.equal(rule.ToPort, 6379)
    assert.deepEqual(rule.IpRanges ?? [], [], 'no CIDR source')
    assert.deepEqual(
      (rule.UserIdGroupPairs ?? []).map((p) => p.GroupId),
      [lambdaGroupId],
    )
    assert.deepEqual(cache.IpPermissionsEgress ?? [], [])
    assert.deepEqual(lambda.IpPermissions ?? [], [], 'nothing may dial into the functions')
  })

  it('run again and --dry-run make zero mutating calls', async () => {
    await runSteps(sandbox(), ['vpc', 'sg'])
    assert.deepEqual((await runSteps(sandbox(), ['sg'])).mutating, [])
    assert.deepEqual((await runSteps(sandbox(), ['sg'], {}, 'plan')).mutating, [])
  })

  it('refuses to run before the VPC exists, naming the command to run first', async () => {
    const result = await cli(['sg'], sandbox().env)
    assert.equal(result.code, 2)
    assert.match(result.stderr, /not set up for stack "cct".*Run `cct vpc` first/)
    assert.deepEqual(result.mutating, [])
  })
})

describe('cct subnet-group', () => {
  it('creates the tagged subnet group over the two subnets; again and --dry-run make zero mutating calls', async () => {
    const {report} = await runSteps(sandbox(), ['vpc', 'subnet-group'])
    const {subnetIds} = report.steps.find((s) => s.id === 'vpc')!.output as {subnetIds: string[]}
    const s = sandbox()
    const elasticache = new ElastiCacheClient({endpoint: s.endpoint, region: s.region, maxAttempts: 1})
    const {CacheSubnetGroups = []} = await elasticache.send(
      new DescribeCacheSubnetGroupsCommand({CacheSubnetGroupName: 'cct-cache-subnet-group'}),
    )
    assert.equal(CacheSubnetGroups.length, 1)
    assert.deepEqual(CacheSubnetGroups[0]!.Subnets!.map((x) => x.SubnetIdentifier).sort(), [...subnetIds].sort())
    const {TagList} = await elasticache.send(new ListTagsForResourceCommand({ResourceName: CacheSubnetGroups[0]!.ARN!}))
    assert.ok(tagged(TagList))
    assert.deepEqual((await runSteps(sandbox(), ['subnet-group'])).mutating, [])
    assert.deepEqual((await runSteps(sandbox(), ['subnet-group'], {}, 'plan')).mutating, [])
  })
})
