import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {CreateVpcCommand, CreateSubnetCommand, CreateSecurityGroupCommand, EC2Client} from '@aws-sdk/client-ec2'
import {
  DescribeReplicationGroupsCommand,
  ElastiCacheClient,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-elasticache'
import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListRoleTagsCommand,
} from '@aws-sdk/client-iam'
import {
  CreateFunctionCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
  UpdateFunctionConfigurationCommand,
  type FunctionConfiguration,
} from '@aws-sdk/client-lambda'

import {SEED_FUNCTIONS} from '../../sandbox/seed.js'
import {describeFunction, updateFunction} from '../../src/aws/functions.js'
import {CctError, ExitCode} from '../../src/errors.js'
import {defaultOptions} from '../../src/options.js'
import {STACK_STEPS} from '../../src/stack-steps.js'
import {cli, runSteps} from '../support/cct.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({seed: true, redis: false})
const ALL = ['vpc', 'sg', 'subnet-group', 'cluster', 'attach', 'env'] as const

const clients = () => {
  const s = sandbox()
  const config = {endpoint: s.endpoint, region: s.region, maxAttempts: 1}
  return {
    lambda: new LambdaClient(config),
    iam: new IAMClient(config),
    elasticache: new ElastiCacheClient(config),
    ec2: new EC2Client(config),
  }
}

const VPC_POLICY = 'arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole'

describe('cluster, attach, env from nothing', () => {
  it('converges: cache, functions in the VPC, role policy, env merged; then zero mutating calls', async () => {
    const {lambda, iam, elasticache} = clients()
    const before = new Map<string, FunctionConfiguration>()
    for (const name of Object.keys(SEED_FUNCTIONS))
      before.set(name, await lambda.send(new GetFunctionConfigurationCommand({FunctionName: name})))

    const {report} = await runSteps(sandbox(), [...ALL])
    const out = <T>(id: string) => report.steps.find((s) => s.id === id)!.output as T
    const vpc = out<{vpcId: string; subnetIds: string[]}>('vpc')
    const sg = out<{lambdaGroupId: string}>('sg')
    const cluster = out<{host: string; port: number; tls: boolean}>('cluster')

    const {ReplicationGroups = []} = await elasticache.send(
      new DescribeReplicationGroupsCommand({ReplicationGroupId: 'cct-cache'}),
    )
    const group = ReplicationGroups[0]!
    assert.equal(group.Status, 'available')
    assert.equal(group.CacheNodeType, 'cache.t3.micro')
    assert.equal(group.TransitEncryptionEnabled, true)
    assert.equal(group.AtRestEncryptionEnabled, true)
    assert.equal(group.MemberClusters?.length, 1)
    assert.equal(cluster.host, group.NodeGroups![0]!.PrimaryEndpoint!.Address)
    const {TagList = []} = await elasticache.send(new ListTagsForResourceCommand({ResourceName: group.ARN!}))
    assert.ok(TagList.some((t) => t.Key === 'ManagedBy' && t.Value === 'cct'))

    for (const [name, env] of Object.entries(SEED_FUNCTIONS)) {
      const after = await lambda.send(new GetFunctionConfigurationCommand({FunctionName: name}))
      const was = before.get(name)!
      assert.deepEqual([...after.VpcConfig!.SubnetIds!].sort(), [...vpc.subnetIds].sort(), `${name} subnets`)
      assert.deepEqual(after.VpcConfig!.SecurityGroupIds, [sg.lambdaGroupId])
      assert.equal(after.VpcConfig!.VpcId, vpc.vpcId)
      assert.deepEqual(
        after.Environment!.Variables,
        {...env, REDIS_HOST: cluster.host, REDIS_PORT: '6379', REDIS_TLS: 'true'},
        `${name} env: every earlier variable kept`,
      )
      assert.deepEqual(
        (after.Layers ?? []).map((l) => l.Arn),
        (was.Layers ?? []).map((l) => l.Arn),
        `${name} layers unchanged`,
      )
      assert.equal(after.Role, was.Role)
    }
    const {AttachedPolicies = []} = await iam.send(
      new ListAttachedRolePoliciesCommand({RoleName: sandbox.seed().roleName}),
    )
    assert.ok(
      AttachedPolicies.some((p) => p.PolicyArn === VPC_POLICY),
      'role got the VPC access policy',
    )
    assert.ok(
      AttachedPolicies.some((p) => /AWSLambdaBasicExecutionRole/.test(p.PolicyArn!)),
      'and kept its own',
    )
    const {Tags = []} = await iam.send(new ListRoleTagsCommand({RoleName: sandbox.seed().roleName}))
    assert.ok(
      Tags.some((t) => t.Key === 'cct:cct:role-policy'),
      'cct recorded that it attached the policy',
    )

    const again = await runSteps(sandbox(), [...ALL])
    assert.deepEqual(again.mutating, [])
  })

  it('waits for the replication group while it is creating (sandbox delay on)', async () => {
    await sandbox().configure({replicationGroupCreateSeconds: 2})
    const {report, calls} = await runSteps(sandbox(), ['vpc', 'sg', 'subnet-group', 'cluster'])
    const polls = calls.filter((c) => c.operation === 'DescribeReplicationGroups').length
    assert.ok(polls >= 3, `polled while creating (${polls} describes)`)
    const {elasticache} = clients()
    const {ReplicationGroups = []} = await elasticache.send(
      new DescribeReplicationGroupsCommand({ReplicationGroupId: 'cct-cache'}),
    )
    assert.equal(ReplicationGroups[0]!.Status, 'available')
    assert.ok((report.steps.find((s) => s.id === 'cluster')!.output as {host: string}).host.length > 0)
  })

  it('--replicas 1 makes a replica with automatic failover; --engine valkey works', async () => {
    await runSteps(sandbox(), ['vpc', 'sg', 'subnet-group', 'cluster'], {
      replicas: 1,
      engine: 'valkey',
      nodeType: 'cache.t4g.micro',
    })
    const {elasticache} = clients()
    const {ReplicationGroups = []} = await elasticache.send(
      new DescribeReplicationGroupsCommand({ReplicationGroupId: 'cct-cache'}),
    )
    const g = ReplicationGroups[0]!
    assert.equal(g.MemberClusters?.length, 2)
    assert.equal(g.AutomaticFailover, 'enabled')
    assert.equal(g.MultiAZ, 'enabled')
    assert.equal(g.CacheNodeType, 'cache.t4g.micro')
    assert.equal(g.Engine ?? 'valkey', 'valkey')
  })
})

describe('cct attach', () => {
  it('a missing function fails before any change', async () => {
    await runSteps(sandbox(), ['vpc', 'sg'])
    const result = await cli(['attach', '--functions', 'articles-api,no-such-fn'], sandbox().env)
    assert.equal(result.code, 2)
    assert.match(result.stderr, /Function no-such-fn does not exist in us-east-1\. Check --functions/)
    assert.deepEqual(result.mutating, [])
  })

  it('leaves a role that already allows VPC access alone', async () => {
    const {iam, lambda} = clients()
    await runSteps(sandbox(), ['vpc', 'sg'])
    const {Role} = await iam.send(
      new CreateRoleCommand({
        RoleName: 'ready-role',
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{Effect: 'Allow', Principal: {Service: 'lambda.amazonaws.com'}, Action: 'sts:AssumeRole'}],
        }),
      }),
    )
    await iam.send(new AttachRolePolicyCommand({RoleName: 'ready-role', PolicyArn: VPC_POLICY}))
    const code = Buffer.from('UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==', 'base64') // an empty zip
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'ready-fn',
        Runtime: 'python3.12',
        Role: Role!.Arn!,
        Handler: 'index.handler',
        Code: {ZipFile: code},
        Environment: {Variables: {A: '1'}},
      }),
    )
    const {mutating} = await runSteps(sandbox(), ['attach'], {functions: ['ready-fn']})
    assert.ok(!mutating.some((c) => c.service === 'iam'), `no IAM change: ${JSON.stringify(mutating)}`)
    assert.ok(mutating.some((c) => c.operation === 'UpdateFunctionConfiguration'))
    const {Tags = []} = await iam.send(new ListRoleTagsCommand({RoleName: 'ready-role'}))
    assert.ok(!Tags.some((t) => t.Key?.startsWith('cct:')))
  })

  it('refuses a function in another VPC without changing anything', async () => {
    const {ec2, lambda} = clients()
    await runSteps(sandbox(), ['vpc', 'sg'])
    const {Vpc} = await ec2.send(new CreateVpcCommand({CidrBlock: '192.168.0.0/16'}))
    const {Subnet} = await ec2.send(
      new CreateSubnetCommand({VpcId: Vpc!.VpcId!, CidrBlock: '192.168.1.0/24', AvailabilityZone: 'us-east-1a'}),
    )
    const {GroupId} = await ec2.send(
      new CreateSecurityGroupCommand({GroupName: 'other', Description: 'other', VpcId: Vpc!.VpcId!}),
    )
    await runSteps(sandbox(), ['attach'], {functions: ['news-api']}) // the role gets its policy
    await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'news-api',
        VpcConfig: {SubnetIds: [Subnet!.SubnetId!], SecurityGroupIds: [GroupId!]},
      }),
    )
    const before = await lambda.send(new GetFunctionConfigurationCommand({FunctionName: 'news-api'}))
    const result = await cli(['attach', '--functions', 'news-api'], sandbox().env)
    assert.equal(result.code, 5)
    assert.match(result.stderr, /news-api is in vpc-\w+, not the stack's VPC vpc-\w+\. Pass --force/)
    assert.deepEqual(result.mutating, [])
    const after = await lambda.send(new GetFunctionConfigurationCommand({FunctionName: 'news-api'}))
    assert.deepEqual(after.VpcConfig, before.VpcConfig)
  })
})

describe('function updates', () => {
  it('wait for Lambda to finish each update (updates take a second in the sandbox) and still converge', async () => {
    await sandbox().configure({lambdaUpdateSeconds: 1})
    const {calls, report} = await runSteps(sandbox(), STACK_STEPS)
    const updates = calls.filter((c) => c.operation === 'UpdateFunctionConfiguration').length
    // Reads of a function's state (GetFunction: its own, higher Lambda rate limit).
    const polls = calls.filter((c) => c.operation === 'GetFunction').length
    assert.equal(updates, 5 * 3, 'vpc, layer and env on each of the five functions')
    assert.ok(polls > 2 * updates, `polled while InProgress (${polls} reads for ${updates} updates)`)
    assert.ok(report.steps.every((s) => s.status !== 'failed'))
    assert.deepEqual((await runSteps(sandbox(), STACK_STEPS)).mutating, [])
  })

  it('a change someone makes right before the write (RevisionId mismatch) is reported, not overwritten', async () => {
    const {lambda} = clients()
    const fn = (await describeFunction(lambda, 'articles-api'))!
    const ctx = {
      progress: () => {},
      signal: new AbortController().signal,
      options: defaultOptions({pollIntervalMs: 100}),
    }
    const attempt = updateFunction(
      lambda,
      fn,
      async (current) => {
        // Someone else writes between cct's read and cct's write.
        await lambda.send(
          new UpdateFunctionConfigurationCommand({
            FunctionName: 'articles-api',
            Environment: {Variables: {...current.env, OWNER: 'someone-else'}},
          }),
        )
        return {Environment: {Variables: {...current.env, REDIS_HOST: 'cache.example'}}}
      },
      ctx,
      'cct env',
    )
    await assert.rejects(
      attempt,
      (e: CctError) =>
        e.exitCode === ExitCode.Conflict &&
        /articles-api was changed by someone else while cct was updating it; nothing was overwritten/.test(e.message),
    )
    const after = await lambda.send(new GetFunctionConfigurationCommand({FunctionName: 'articles-api'}))
    assert.equal(after.Environment!.Variables!.OWNER, 'someone-else')
    assert.equal(after.Environment!.Variables!.REDIS_HOST, undefined)
  })
})

describe('cct env', () => {
  it('changes only functions whose values differ, and keeps other variables', async () => {
    await runSteps(sandbox(), [...ALL])
    const {lambda} = clients()
    const cfg = await lambda.send(new GetFunctionConfigurationCommand({FunctionName: 'articles-api'}))
    await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'articles-api',
        Environment: {Variables: {...cfg.Environment!.Variables, REDIS_PORT: '6380', EXTRA: 'mine'}},
      }),
    )
    const {mutating} = await runSteps(sandbox(), ['env'])
    const updates = mutating.filter((c) => c.operation === 'UpdateFunctionConfiguration')
    assert.equal(updates.length, 1, 'only the drifted function is updated')
    const after = await lambda.send(new GetFunctionConfigurationCommand({FunctionName: 'articles-api'}))
    assert.equal(after.Environment!.Variables!.REDIS_PORT, '6379')
    assert.equal(after.Environment!.Variables!.EXTRA, 'mine')
  })
})
