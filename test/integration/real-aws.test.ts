/**
 * What real AWS does to the functions that moto alone would not: an update left Failed,
 * container-image functions, Lambda's limits (security groups, environment size), published
 * versions and aliases, the role's EC2 actions (issue #12). One sandbox for the file.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {CreateSecurityGroupCommand, DeleteNatGatewayCommand, DescribeAddressesCommand, DescribeNatGatewaysCommand, DescribeNetworkInterfacesCommand, DescribeSubnetsCommand, EC2Client} from '@aws-sdk/client-ec2'
import {AttachRolePolicyCommand, CreateRoleCommand, IAMClient, ListAttachedRolePoliciesCommand, PutRolePolicyCommand} from '@aws-sdk/client-iam'
import {CreateFunctionCommand, GetFunctionConfigurationCommand, LambdaClient, UpdateFunctionConfigurationCommand} from '@aws-sdk/client-lambda'

import {CctError, ExitCode} from '../../src/errors.js'
import {runSteps} from '../support/cct.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({seed: true, redis: false})
const CORE = ['vpc', 'sg', 'subnet-group', 'cluster', 'attach', 'env'] as const

const lambdaClient = () => new LambdaClient({endpoint: sandbox().endpoint, region: sandbox().region, maxAttempts: 1})
const config = (name: string) => lambdaClient().send(new GetFunctionConfigurationCommand({FunctionName: name}))
const VPC_POLICY = 'arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole'

/** The stack's VPC and groups, and `articles-api` put in its subnets by its owner with groups of its own. */
async function userFunctionInStackVpc(groups: number, vpcConfig: {Ipv6AllowedForDualStack?: boolean} = {}) {
  const {report} = await runSteps(sandbox(), ['vpc', 'sg'])
  const vpc = report.steps.find((s) => s.id === 'vpc')!.output as {vpcId: string; subnetIds: string[]}
  const ec2 = new EC2Client({endpoint: sandbox().endpoint, region: sandbox().region, maxAttempts: 1})
  const ids: string[] = []
  for (let i = 0; i < groups; i++) ids.push((await ec2.send(new CreateSecurityGroupCommand({GroupName: `theirs-${i}`, Description: 'theirs', VpcId: vpc.vpcId}))).GroupId!)
  await new IAMClient({endpoint: sandbox().endpoint, region: sandbox().region}).send(new AttachRolePolicyCommand({RoleName: sandbox.seed().roleName, PolicyArn: VPC_POLICY}))
  await lambdaClient().send(new UpdateFunctionConfigurationCommand({FunctionName: 'articles-api', VpcConfig: {SubnetIds: vpc.subnetIds, SecurityGroupIds: ids, ...vpcConfig}}))
  return ids
}

const refused = (pattern: RegExp) => (e: CctError) => e.exitCode === ExitCode.Conflict && pattern.test(e.message)

describe('an update left Failed (LastUpdateStatus: Failed)', () => {
  it('does not block later writes; Failed after cct\'s own write is cct\'s failure, and rollback still works', async () => {
    const lambda = lambdaClient()
    // Someone's earlier update failed (no IP addresses left in a subnet).
    await sandbox().configure({lambdaUpdatesFail: 'articles-api'})
    await lambda.send(new UpdateFunctionConfigurationCommand({FunctionName: 'articles-api', Description: 'tuned by hand'}))
    await sandbox().configure({lambdaUpdatesFail: ''})
    assert.equal((await config('articles-api')).LastUpdateStatus, 'Failed')

    await runSteps(sandbox(), [...CORE], {functions: ['articles-api']})
    const after = await config('articles-api')
    assert.equal(after.LastUpdateStatus, 'Successful')
    assert.ok(after.Environment?.Variables?.REDIS_HOST, 'REDIS_HOST set')
    assert.equal(after.VpcConfig?.SubnetIds?.length, 2, 'in the VPC')

    // cct's own write fails: the step says so, with Lambda's reason code.
    await sandbox().configure({lambdaUpdatesFail: 'articles-api'})
    await assert.rejects(runSteps(sandbox(), ['env'], {functions: ['articles-api'], autoCache: true}), (e: CctError) => /Lambda could not update articles-api \(SubnetOutOfIPAddresses\)/.test(e.message) && /cct env/.test(e.hint ?? ''))
    await sandbox().configure({lambdaUpdatesFail: ''})
    assert.equal((await config('articles-api')).LastUpdateStatus, 'Failed')

    // Rollback from the Failed state restores the function.
    await runSteps(sandbox(), [...CORE], {}, 'destroy')
    const restored = await config('articles-api')
    assert.equal(restored.Environment?.Variables?.REDIS_HOST, undefined)
    assert.equal(restored.Environment?.Variables?.AWS_LAMBDA_EXEC_WRAPPER, undefined)
    assert.deepEqual(restored.VpcConfig?.SubnetIds ?? [], [])
    assert.equal(restored.LastUpdateStatus, 'Successful')
  })
})

describe("Lambda's limits, checked in the plan (before any change)", () => {
  it('a container-image function cannot take the layer', async () => {
    await lambdaClient().send(new CreateFunctionCommand({FunctionName: 'image-api', PackageType: 'Image', Role: sandbox.seed().roleArn, Code: {ImageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/image-api:latest'}}))
    await assert.rejects(runSteps(sandbox(), ['layer', 'layer-attach'], {functions: ['articles-api', 'image-api']}, 'plan'), refused(/Function image-api is a container image \(PackageType Image\); Lambda allows no layers on it/))
    // As AWS does, the sandbox refuses the layer too.
    await assert.rejects(lambdaClient().send(new UpdateFunctionConfigurationCommand({FunctionName: 'image-api', Layers: ['arn:aws:lambda:us-east-1:123456789012:layer:x:1']})), (e: Error) => e.name === 'InvalidParameterValueException')
  })

  it('five security groups already: no room for the lambda group', async () => {
    await userFunctionInStackVpc(5)
    await assert.rejects(runSteps(sandbox(), ['attach'], {functions: ['articles-api']}, 'plan'), refused(/Function articles-api already has 5 security groups; Lambda allows 5/))
  })

  it('an environment that would pass 4 KB with cct\'s variables', async () => {
    const env = (await config('news-api')).Environment?.Variables ?? {}
    await lambdaClient().send(new UpdateFunctionConfigurationCommand({FunctionName: 'news-api', Environment: {Variables: {...env, BIG: 'x'.repeat(3990)}}}))
    await assert.rejects(runSteps(sandbox(), [...CORE], {functions: ['news-api']}, 'plan'), refused(/Function news-api's environment would be \d+ bytes with cct's variables; Lambda allows 4096/))
  })

  it('Ipv6AllowedForDualStack stays as it was through attach and rollback', async () => {
    await userFunctionInStackVpc(1, {Ipv6AllowedForDualStack: true})
    await runSteps(sandbox(), ['attach'], {functions: ['articles-api']})
    const attached = await config('articles-api')
    assert.equal(attached.VpcConfig?.SecurityGroupIds?.length, 2, 'the lambda group added')
    assert.equal(attached.VpcConfig?.Ipv6AllowedForDualStack, true)
    await runSteps(sandbox(), ['attach'], {}, 'destroy')
    const restored = await config('articles-api')
    assert.equal(restored.VpcConfig?.SecurityGroupIds?.length, 1, 'the lambda group removed')
    assert.equal(restored.VpcConfig?.Ipv6AllowedForDualStack, true)
  })
})

describe('the VPC access policy, the NAT gateway and its address', () => {
  const ec2 = () => new EC2Client({endpoint: sandbox().endpoint, region: sandbox().region, maxAttempts: 1})
  const iam = () => new IAMClient({endpoint: sandbox().endpoint, region: sandbox().region, maxAttempts: 1})

  it("a role allowing only three of Lambda's five EC2 actions gets the VPC access policy", async () => {
    const trust = JSON.stringify({Version: '2012-10-17', Statement: [{Effect: 'Allow', Principal: {Service: 'lambda.amazonaws.com'}, Action: 'sts:AssumeRole'}]})
    const {Role} = await iam().send(new CreateRoleCommand({RoleName: 'three-actions', AssumeRolePolicyDocument: trust}))
    const three = ['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DeleteNetworkInterface']
    await iam().send(new PutRolePolicyCommand({RoleName: 'three-actions', PolicyName: 'eni', PolicyDocument: JSON.stringify({Version: '2012-10-17', Statement: [{Effect: 'Allow', Action: three, Resource: '*'}]})}))
    await lambdaClient().send(new CreateFunctionCommand({FunctionName: 'three-fn', Runtime: 'python3.12', Role: Role!.Arn!, Handler: 'index.handler', Code: {ZipFile: Buffer.from('UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==', 'base64')}}))
    const {report} = await runSteps(sandbox(), ['vpc', 'sg', 'attach'], {functions: ['three-fn']}, 'plan')
    const attach = report.steps.find((s) => s.id === 'attach')!.changes
    assert.ok(attach.some((c) => c.resource === 'iam-role-policy' && c.name === 'three-actions'), JSON.stringify(attach))
  })

  it("rollback detaches the policy only once Lambda has released the functions' network interfaces", async () => {
    await sandbox().configure({eniLingerSeconds: 1.5})
    await runSteps(sandbox(), [...CORE], {functions: ['articles-api']})
    const rollback = await runSteps(sandbox(), [...CORE], {}, 'destroy')
    const ops = rollback.calls.map((c) => c.operation)
    const detach = ops.indexOf('DetachRolePolicy')
    assert.ok(detach > 0)
    assert.ok(ops.slice(0, detach).filter((o) => o === 'DescribeNetworkInterfaces').length >= 2, 'polled the interfaces while they lingered')
    const {AttachedPolicies = []} = await iam().send(new ListAttachedRolePoliciesCommand({RoleName: sandbox.seed().roleName}))
    assert.ok(!AttachedPolicies.some((p) => p.PolicyArn === VPC_POLICY))
    const {NetworkInterfaces = []} = await ec2().send(new DescribeNetworkInterfacesCommand({Filters: [{Name: 'interface-type', Values: ['lambda']}]}))
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
    assert.equal(rollback.mutating.filter((c) => c.operation === 'ReleaseAddress').length, 1, 'released once, after the gateway was deleted')
    const {Addresses = []} = await ec2().send(new DescribeAddressesCommand({}))
    assert.deepEqual(Addresses, [])
  })
})
