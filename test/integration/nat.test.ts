import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {
  DescribeAddressesCommand,
  DescribeInternetGatewaysCommand,
  DescribeNatGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeSubnetsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2'

import {runSteps} from '../support/cct.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({redis: false})
const ec2 = () => new EC2Client({endpoint: sandbox().endpoint, region: sandbox().region, maxAttempts: 1})
const tagged = [{Name: 'tag:cct:stack', Values: ['cct']}]

describe('cct vpc --nat', () => {
  it('without --nat nothing public exists: no internet gateway, no NAT, no default route', async () => {
    const {mutating} = await runSteps(sandbox(), ['vpc', 'nat'])
    assert.ok(!mutating.some((c) => /InternetGateway|NatGateway|AllocateAddress/.test(c.operation)))
    assert.deepEqual((await ec2().send(new DescribeInternetGatewaysCommand({Filters: tagged}))).InternetGateways, [])
  })

  it('with --nat: a public subnet, internet gateway, EIP and NAT; the private route table routes 0.0.0.0/0 to it; again zero calls', async () => {
    const {report} = await runSteps(sandbox(), ['vpc', 'nat'], {nat: true})
    const plan = report.steps.find((s) => s.id === 'nat')!.changes
    assert.match(plan.find((c) => c.resource === 'nat-gateway')!.detail!, /about \$32\.85\/month \+ \$0\.045\/GB/)
    const vpc = report.steps.find((s) => s.id === 'vpc')!.output as {
      vpcId: string
      subnetIds: string[]
      privateRouteTableId: string
    }
    const {NatGateways = []} = await ec2().send(new DescribeNatGatewaysCommand({Filter: tagged}))
    assert.equal(NatGateways.length, 1)
    const nat = NatGateways[0]!
    const {Subnets = []} = await ec2().send(
      new DescribeSubnetsCommand({Filters: [{Name: 'vpc-id', Values: [vpc.vpcId]}]}),
    )
    assert.equal(Subnets.length, 3, 'two private subnets and one public')
    assert.ok(!vpc.subnetIds.includes(nat.SubnetId!), 'the NAT sits in the public subnet, not in a function subnet')
    const {RouteTables = []} = await ec2().send(
      new DescribeRouteTablesCommand({RouteTableIds: [vpc.privateRouteTableId]}),
    )
    assert.equal(
      RouteTables[0]!.Routes!.find((r) => r.DestinationCidrBlock === '0.0.0.0/0')?.NatGatewayId,
      nat.NatGatewayId,
    )

    const again = await runSteps(sandbox(), ['vpc', 'nat'], {nat: true})
    assert.deepEqual(again.mutating, [])
    assert.deepEqual(
      (again.report.steps.find((s) => s.id === 'vpc')!.output as {subnetIds: string[]}).subnetIds,
      vpc.subnetIds,
      'the public subnet is never taken for a private one',
    )
  })

  it('rollback removes the NAT, its address, gateway and public subnet, then the VPC', async () => {
    await runSteps(sandbox(), ['vpc', 'nat', 'sg'], {nat: true})
    await runSteps(sandbox(), ['vpc', 'nat', 'sg'], {}, 'destroy')
    const live = ((await ec2().send(new DescribeNatGatewaysCommand({Filter: tagged}))).NatGateways ?? []).filter(
      (n) => n.State !== 'deleted',
    )
    assert.deepEqual(live, [])
    assert.deepEqual((await ec2().send(new DescribeAddressesCommand({Filters: tagged}))).Addresses, [])
    assert.deepEqual((await ec2().send(new DescribeInternetGatewaysCommand({Filters: tagged}))).InternetGateways, [])
    assert.deepEqual((await ec2().send(new DescribeSubnetsCommand({Filters: tagged}))).Subnets, [])
    assert.deepEqual((await runSteps(sandbox(), ['vpc', 'nat', 'sg'], {}, 'destroy')).mutating, [])
  })
})
