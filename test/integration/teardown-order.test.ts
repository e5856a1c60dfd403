/**
 * Rollback's order where AWS holds on to things (issue #12): the VPC access policy stays
 * until Lambda has released the functions' interfaces, the NAT's address until the gateway
 * is gone; and the role check asks for all of Lambda's EC2 actions. One sandbox for the file.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {
  DeleteNatGatewayCommand,
  DescribeAddressesCommand,
  DescribeNatGatewaysCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSubnetsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2'
import {CreateRoleCommand, IAMClient, ListAttachedRolePoliciesCommand, PutRolePolicyCommand} from '@aws-sdk/client-iam'
import {CreateFunctionCommand, LambdaClient} from '@aws-sdk/client-lambda'

import {runSteps} from '../support/cct.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({seed: true, redis: false})
const CORE = ['vpc', 'sg', 'subnet-group', 'cluster', 'attach', 'env'] as const
const VPC_POLICY = 'arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole'
const lambdaClient = () => new LambdaClient({endpoint: sandbox().endpoint, region: sandbox().region, maxAttempts: 1})

describe('the VPC access policy, the NAT gateway and its address', () => {
  const ec2 = () => new EC2Client({endpoint: sandbox().endpoint, region: sandbox().region, maxAttempts: 1})
  const iam = () => new IAMClient({endpoint: sandbox().endpoint, region: sandbox().region, maxAttempts: 1})

  it("a role allowing only three of Lambda's five EC2 actions gets the VPC access policy", async () => {
    const trust = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{Effect: 'Allow', Principal: {Service: 'lambda.amazonaws.com'}, Action: 'sts:AssumeRole'}],
    })
    const {Role} = await iam().send(new CreateRoleCommand({RoleName: 'three-actions', AssumeRolePolicyDocument: trust}))
    const three = ['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DeleteNetworkInterface']
    await iam().send(
      new PutRolePolicyCommand({
        RoleName: 'three-actions',
        PolicyName: 'eni',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{Effect: 'Allow', Action: three, Resource: '*'}],
        }),
      }),
    )
    await lambdaClient().send(
      new CreateFunctionCommand({
        FunctionName: 'three-fn',
        Runtime: 'python3.12',
        Role: Role!.Arn!,
        Handler: 'index.handler',
        Code: {ZipFile: Buffer.from('UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==', 'base64')},
      }),
    )
    const {report} = await runSteps(sandbox(), ['vpc', 'sg', 'attach'], {functions: ['three-fn']}, 'plan')
    const attach = report.steps.find((s) => s.id === 'attach')!.changes
    assert.ok(
      attach.some((c) => c.resource === 'iam-role-policy' && c.name === 'three-actions'),
      JSON.stringify(attach),
    )
  })

  it("rollback detaches the policy only once Lambda has released the functions' network interfaces", async () => {
    await sandbox().configure({eniLingerSeconds: 1.5})
    await runSteps(sandbox(), [...CORE], {functions: ['articles-api']})
    const rollback = await runSteps(sandbox(), [...CORE], {}, 'destroy')
    const ops = rollback.calls.map((c) => c.operation)
    const detach = ops.indexOf('DetachRolePolicy')
    assert.ok(detach > 0)
    assert.ok(
      ops.slice(0, detach).filter((o) => o === 'DescribeNetworkInterfaces').length >= 2,
      'polled the interfaces while they lingered',
    )
    const {AttachedPolicies = []} = await iam().send(
      new ListAttachedRolePoliciesCommand({RoleName: sandbox.seed().roleName}),
    )
    assert.ok(!AttachedPolicies.some((p) => p.PolicyArn === VPC_POLICY))
    const {NetworkInterfaces = []} = await ec2().send(
      new DescribeNetworkInterfacesCommand({Filters: [{Name: 'interface-type', Values: ['lambda']}]}),
    )
    assert.deepEqual(NetworkInterfaces, [], 'no interface left behind')
  })

  it("the NAT's subnet is in the functions' first zone; its address is released once the gateway is gone", async () => {
    const {report} = await runSteps(sandbox(), ['vpc', 'nat'], {nat: true})
    const vpc = report.steps.find((s) => s.id === 'vpc')!.output as {vpcId: string; zones: string[]}
    const natId = (report.steps.find((s) => s.id === 'nat')!.output as {natGatewayId: string}).natGatewayId
    const {NatGateways = []} = await ec2().send(new DescribeNatGatewaysCommand({NatGatewayIds: [natId]}))
    const {Subnets = []} = await ec2().send(new DescribeSubnetsCommand({SubnetIds: [NatGateways[0]!.SubnetId!]}))
    assert.equal(Subnets[0]!.AvailabilityZone, vpc.zones[0])
    // An earlier rollback was interrupted right after DeleteNatGateway: the gateway is still deleting.
    await sandbox().configure({natGatewayDeleteSeconds: 1.5})
    await ec2().send(new DeleteNatGatewayCommand({NatGatewayId: natId}))
    const rollback = await runSteps(sandbox(), ['vpc', 'nat'], {}, 'destroy')
    assert.equal(
      rollback.mutating.filter((c) => c.operation === 'ReleaseAddress').length,
      1,
      'released once, after the gateway was deleted',
    )
    const {Addresses = []} = await ec2().send(new DescribeAddressesCommand({}))
    assert.deepEqual(Addresses, [])
  })
})
