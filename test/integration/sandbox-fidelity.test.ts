/**
 * The sandbox behaves like AWS where cct depends on it (sandbox/fidelity/), checked
 * through the AWS SDK against the real moto server, the way cct and a user see it.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DeleteNetworkInterfaceCommand,
  DeleteSecurityGroupCommand,
  DeleteSubnetCommand,
  DescribeAvailabilityZonesCommand,
  DescribeNetworkInterfacesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2'
import {
  CreateCacheSubnetGroupCommand,
  CreateReplicationGroupCommand,
  DeleteCacheSubnetGroupCommand,
  DeleteReplicationGroupCommand,
  DescribeCacheClustersCommand,
  DescribeCacheSubnetGroupsCommand,
  DescribeReplicationGroupsCommand,
  ElastiCacheClient,
  ListTagsForResourceCommand,
  ModifyReplicationGroupCommand,
  type CreateReplicationGroupCommandInput,
} from '@aws-sdk/client-elasticache'
import {AttachRolePolicyCommand, IAMClient, ListAttachedRolePoliciesCommand} from '@aws-sdk/client-iam'
import {
  CreateFunctionCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
  ListFunctionsCommand,
  PublishVersionCommand,
  TagResourceCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda'
import {DynamoDBClient, ScanCommand} from '@aws-sdk/client-dynamodb'
import {Redis} from 'ioredis'

import {demoFunctionZip, SEED_FUNCTIONS, SEED_TAGS} from '../../sandbox/seed.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({seed: true})
const VPC_POLICY = 'arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole'

function aws() {
  const {endpoint, region} = sandbox()
  // One attempt: an operation moto lacks fails at once instead of retrying a 500.
  const config = {endpoint, region, maxAttempts: 1, credentials: {accessKeyId: 'test', secretAccessKey: 'test'}}
  return {
    ec2: new EC2Client(config),
    cache: new ElastiCacheClient(config),
    lambda: new LambdaClient(config),
    iam: new IAMClient(config),
    dynamo: new DynamoDBClient(config),
  }
}

/** A VPC with two subnets in two AZs and two security groups, as cct builds it. */
async function network() {
  const {ec2} = aws()
  const {AvailabilityZones = []} = await ec2.send(new DescribeAvailabilityZonesCommand({}))
  const [az1, az2] = AvailabilityZones.map((z) => z.ZoneName!)
  const {Vpc} = await ec2.send(new CreateVpcCommand({CidrBlock: '10.0.0.0/16'}))
  const vpcId = Vpc!.VpcId!
  const subnet = async (cidr: string, az: string) =>
    (await ec2.send(new CreateSubnetCommand({VpcId: vpcId, CidrBlock: cidr, AvailabilityZone: az}))).Subnet!.SubnetId!
  const group = async (name: string) =>
    (await ec2.send(new CreateSecurityGroupCommand({VpcId: vpcId, GroupName: name, Description: name}))).GroupId!
  return {
    vpcId,
    subnetIds: [await subnet('10.0.1.0/24', az1!), await subnet('10.0.2.0/24', az2!)],
    lambdaSg: await group('cct-lambda-sg'),
    cacheSg: await group('cct-cache-sg'),
  }
}

async function cacheNetwork() {
  const net = await network()
  await aws().cache.send(
    new CreateCacheSubnetGroupCommand({
      CacheSubnetGroupName: 'cct-cache-subnet-group',
      CacheSubnetGroupDescription: 'cct',
      SubnetIds: net.subnetIds,
    }),
  )
  return net
}

function createGroup(securityGroupId: string, extra: Partial<CreateReplicationGroupCommandInput> = {}) {
  return aws().cache.send(
    new CreateReplicationGroupCommand({
      ReplicationGroupId: 'cct-cache',
      ReplicationGroupDescription: 'cct cache',
      Engine: 'valkey',
      CacheNodeType: 'cache.t4g.micro',
      NumCacheClusters: 1,
      CacheSubnetGroupName: 'cct-cache-subnet-group',
      SecurityGroupIds: [securityGroupId],
      TransitEncryptionEnabled: true,
      Tags: [
        {Key: 'ManagedBy', Value: 'cct'},
        {Key: 'cct:stack', Value: 'cct'},
      ],
      ...extra,
    }),
  )
}

const describeGroup = async () =>
  (await aws().cache.send(new DescribeReplicationGroupsCommand({ReplicationGroupId: 'cct-cache'})))
    .ReplicationGroups![0]!

/** Asserts the AWS error a user would see: its name and HTTP status. */
async function rejectsWith(promise: Promise<unknown>, name: string, status = 400) {
  await assert.rejects(promise, (e: Error & {$metadata?: {httpStatusCode?: number}}) => {
    assert.equal(e.name, name, e.message)
    assert.equal(e.$metadata?.httpStatusCode, status)
    return true
  })
}

/** Polls (every 100 ms) until `check` returns a value; nothing is waited for beyond that. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

const gone = (read: () => Promise<unknown>) =>
  read().then(
    () => undefined,
    (e: Error) => (e.name === 'ReplicationGroupNotFoundFault' ? true : Promise.reject(e)),
  )

describe('sandbox fidelity: ElastiCache', () => {
  it('a cache subnet group cannot be deleted while a replication group uses it, even one still deleting', async () => {
    const {cacheSg} = await cacheNetwork()
    await sandbox().configure({replicationGroupDeleteSeconds: 1})
    await createGroup(cacheSg)
    const {cache} = aws()
    const deleteSubnetGroup = () =>
      cache.send(new DeleteCacheSubnetGroupCommand({CacheSubnetGroupName: 'cct-cache-subnet-group'}))

    await rejectsWith(deleteSubnetGroup(), 'CacheSubnetGroupInUse')
    const {ReplicationGroup} = await cache.send(new DeleteReplicationGroupCommand({ReplicationGroupId: 'cct-cache'}))
    assert.equal(ReplicationGroup?.Status, 'deleting')
    await rejectsWith(deleteSubnetGroup(), 'CacheSubnetGroupInUse')

    await eventually('the replication group to be gone', () => gone(describeGroup))
    await deleteSubnetGroup()
    await rejectsWith(
      cache.send(new DescribeCacheSubnetGroupsCommand({CacheSubnetGroupName: 'cct-cache-subnet-group'})),
      'CacheSubnetGroupNotFoundFault',
    )
    await rejectsWith(deleteSubnetGroup(), 'CacheSubnetGroupNotFoundFault')
  })

  it('a replication group is creating, then available; after delete it is deleting, then gone', async () => {
    const {cacheSg} = await cacheNetwork()
    // Long enough for the five calls made while it is creating (or deleting) on a loaded machine.
    await sandbox().configure({replicationGroupCreateSeconds: 4, replicationGroupDeleteSeconds: 4})
    const {cache} = aws()

    const {ReplicationGroup: created} = await createGroup(cacheSg)
    assert.equal(created?.Status, 'creating')
    const creating = await describeGroup()
    assert.equal(creating.Status, 'creating')
    assert.equal(creating.NodeGroups?.[0]?.PrimaryEndpoint, undefined, 'no endpoint before the nodes are up')
    const [member] = (await cache.send(new DescribeCacheClustersCommand({CacheClusterId: 'cct-cache-001'})))
      .CacheClusters!
    assert.equal(member?.CacheClusterStatus, 'creating')
    // As on AWS: tags cannot be read, nor the group deleted, until it is available.
    await rejectsWith(
      cache.send(new ListTagsForResourceCommand({ResourceName: creating.ARN})),
      'InvalidReplicationGroupStateFault',
    )
    await rejectsWith(
      cache.send(new DeleteReplicationGroupCommand({ReplicationGroupId: 'cct-cache'})),
      'InvalidReplicationGroupStateFault',
    )

    const available = await eventually('available', async () => {
      const group = await describeGroup()
      return group.Status === 'available' ? group : undefined
    })
    assert.match(available.NodeGroups?.[0]?.PrimaryEndpoint?.Address ?? '', /^master\.cct-cache\./)
    const [ready] = (await cache.send(new DescribeCacheClustersCommand({CacheClusterId: 'cct-cache-001'})))
      .CacheClusters!
    assert.equal(ready?.CacheClusterStatus, 'available')

    const {ReplicationGroup: deleting} = await cache.send(
      new DeleteReplicationGroupCommand({ReplicationGroupId: 'cct-cache'}),
    )
    assert.equal(deleting?.Status, 'deleting')
    assert.equal((await describeGroup()).Status, 'deleting')
    await rejectsWith(
      cache.send(new DeleteReplicationGroupCommand({ReplicationGroupId: 'cct-cache'})),
      'InvalidReplicationGroupStateFault',
    )
    await eventually('gone', () => gone(describeGroup))
    await rejectsWith(
      cache.send(new DescribeCacheClustersCommand({CacheClusterId: 'cct-cache-001'})),
      'CacheClusterNotFoundFault',
      404,
    )
  })

  it('a replication group reports what cct reads back: engine, encryption, failover, tags, and per member its subnet group, security groups and endpoint', async () => {
    const {cacheSg} = await cacheNetwork()
    const {cache} = aws()
    await rejectsWith(createGroup(cacheSg, {AutomaticFailoverEnabled: true}), 'InvalidParameterCombinationException')

    await createGroup(cacheSg, {
      Engine: 'redis',
      NumCacheClusters: 2,
      AutomaticFailoverEnabled: true,
      MultiAZEnabled: true,
      AtRestEncryptionEnabled: true,
    })
    const group = await describeGroup()
    assert.equal(group.Engine, 'redis')
    assert.equal(group.CacheNodeType, 'cache.t4g.micro')
    assert.equal(group.TransitEncryptionEnabled, true)
    assert.equal(group.AtRestEncryptionEnabled, true)
    assert.equal(group.AutomaticFailover, 'enabled')
    assert.equal(group.MultiAZ, 'enabled')
    assert.deepEqual(group.MemberClusters, ['cct-cache-001', 'cct-cache-002'])
    assert.ok(group.NodeGroups?.[0]?.PrimaryEndpoint?.Address)
    assert.equal(group.NodeGroups?.[0]?.PrimaryEndpoint?.Port, 6379)
    const {TagList} = await cache.send(new ListTagsForResourceCommand({ResourceName: group.ARN}))
    assert.deepEqual(TagList, [
      {Key: 'ManagedBy', Value: 'cct'},
      {Key: 'cct:stack', Value: 'cct'},
    ])

    const {CacheClusters = []} = await cache.send(new DescribeCacheClustersCommand({ShowCacheNodeInfo: true}))
    assert.deepEqual(
      CacheClusters.map((c) => c.CacheClusterId),
      ['cct-cache-001', 'cct-cache-002'],
    )
    for (const member of CacheClusters) {
      assert.equal(member.ReplicationGroupId, 'cct-cache')
      assert.equal(member.CacheSubnetGroupName, 'cct-cache-subnet-group')
      assert.deepEqual(member.SecurityGroups, [{SecurityGroupId: cacheSg, Status: 'active'}])
      assert.ok(member.CacheNodes?.[0]?.Endpoint?.Address?.startsWith(`${member.CacheClusterId}.`))
    }
    const plain = await cache.send(new DescribeCacheClustersCommand({CacheClusterId: 'cct-cache-001'}))
    assert.equal(plain.CacheClusters?.[0]?.CacheNodes, undefined, 'node endpoints only with ShowCacheNodeInfo')
  })

  it('ModifyReplicationGroup moves the group to other security groups, and the old one can then be deleted', async () => {
    const {cacheSg, vpcId} = await cacheNetwork()
    const {cache, ec2} = aws()
    const replacement = (
      await ec2.send(new CreateSecurityGroupCommand({VpcId: vpcId, GroupName: 'cct-cache-sg-2', Description: 'x'}))
    ).GroupId!
    await createGroup(cacheSg)
    // The cache nodes' network interfaces hold the group, as on AWS.
    await rejectsWith(ec2.send(new DeleteSecurityGroupCommand({GroupId: cacheSg})), 'DependencyViolation')

    const {ReplicationGroup} = await cache.send(
      new ModifyReplicationGroupCommand({
        ReplicationGroupId: 'cct-cache',
        SecurityGroupIds: [replacement],
        ApplyImmediately: true,
      }),
    )
    assert.equal(ReplicationGroup?.ReplicationGroupId, 'cct-cache')
    const [member] = (await cache.send(new DescribeCacheClustersCommand({CacheClusterId: 'cct-cache-001'})))
      .CacheClusters!
    assert.deepEqual(
      member?.SecurityGroups?.map((g) => g.SecurityGroupId),
      [replacement],
    )

    await ec2.send(new DeleteSecurityGroupCommand({GroupId: cacheSg}))
    await rejectsWith(ec2.send(new DeleteSecurityGroupCommand({GroupId: replacement})), 'DependencyViolation')
  })
})

describe('sandbox fidelity: Lambda in a VPC', () => {
  it('the seeded execution role cannot put a function in a VPC until it has the VPC access policy', async () => {
    const {subnetIds, lambdaSg} = await network()
    const {lambda, iam} = aws()
    const update = () =>
      lambda.send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: 'articles-api',
          VpcConfig: {SubnetIds: subnetIds, SecurityGroupIds: [lambdaSg]},
        }),
      )
    await assert.rejects(
      update(),
      (e: Error) => e.name === 'InvalidParameterValueException' && /CreateNetworkInterface/.test(e.message),
    )

    await iam.send(new AttachRolePolicyCommand({RoleName: sandbox.seed().roleName, PolicyArn: VPC_POLICY}))
    const {VpcConfig} = await update()
    assert.deepEqual(VpcConfig?.SubnetIds, subnetIds)
  })

  it('a function given a VpcConfig gets Lambda ENIs in its VPC; once removed they linger and block deleting the subnets and group, then go', async () => {
    const {vpcId, subnetIds, lambdaSg} = await network()
    const {lambda, ec2, iam} = aws()
    await iam.send(new AttachRolePolicyCommand({RoleName: sandbox.seed().roleName, PolicyArn: VPC_POLICY}))
    await sandbox().configure({eniLingerSeconds: 1})

    await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'news-api',
        VpcConfig: {SubnetIds: subnetIds, SecurityGroupIds: [lambdaSg]},
      }),
    )
    const config = await lambda.send(new GetFunctionConfigurationCommand({FunctionName: 'news-api'}))
    assert.equal(config.VpcConfig?.VpcId, vpcId)

    const lambdaEnis = async () =>
      (await ec2.send(new DescribeNetworkInterfacesCommand({Filters: [{Name: 'vpc-id', Values: [vpcId]}]})))
        .NetworkInterfaces ?? []
    const enis = await lambdaEnis()
    assert.deepEqual(enis.map((e) => e.SubnetId).sort(), [...subnetIds].sort(), 'one ENI per subnet')
    for (const eni of enis) {
      assert.match(eni.Description ?? '', /^AWS Lambda VPC ENI-news-api-[0-9a-f-]{36}$/)
      assert.equal(eni.InterfaceType, 'lambda')
      assert.equal(eni.RequesterManaged, true)
      assert.equal(eni.Status, 'in-use')
      assert.deepEqual(
        eni.Groups?.map((g) => g.GroupId),
        [lambdaSg],
      )
    }
    // A second function on the same subnets and group shares them (Hyperplane ENIs).
    await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'articles-api',
        VpcConfig: {SubnetIds: subnetIds, SecurityGroupIds: [lambdaSg]},
      }),
    )
    assert.equal((await lambdaEnis()).length, 2)
    await rejectsWith(
      ec2.send(new DeleteNetworkInterfaceCommand({NetworkInterfaceId: enis[0]!.NetworkInterfaceId})),
      'InvalidNetworkInterface.InUse',
    )

    for (const name of ['news-api', 'articles-api']) {
      await lambda.send(
        new UpdateFunctionConfigurationCommand({FunctionName: name, VpcConfig: {SubnetIds: [], SecurityGroupIds: []}}),
      )
    }
    assert.equal(
      (await lambda.send(new GetFunctionConfigurationCommand({FunctionName: 'news-api'}))).VpcConfig?.VpcId ?? '',
      '',
    )
    await rejectsWith(ec2.send(new DeleteSecurityGroupCommand({GroupId: lambdaSg})), 'DependencyViolation')
    await rejectsWith(ec2.send(new DeleteSubnetCommand({SubnetId: subnetIds[0]})), 'DependencyViolation')

    await eventually('the ENIs to be gone', async () => ((await lambdaEnis()).length === 0 ? true : undefined))
    await ec2.send(new DeleteSecurityGroupCommand({GroupId: lambdaSg}))
    for (const SubnetId of subnetIds) await ec2.send(new DeleteSubnetCommand({SubnetId}))
  })

  it('a function created in a VPC gets its ENIs at once, found by the interface-type and requester-managed filters', async () => {
    const {vpcId, subnetIds, lambdaSg} = await network()
    const {lambda, ec2, iam} = aws()
    await iam.send(new AttachRolePolicyCommand({RoleName: sandbox.seed().roleName, PolicyArn: VPC_POLICY}))
    const created = await lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'cct-probe',
        Runtime: 'python3.12',
        Handler: 'index.lambda_handler',
        Role: sandbox.seed().roleArn,
        Code: {ZipFile: demoFunctionZip()},
        VpcConfig: {SubnetIds: [subnetIds[0]!], SecurityGroupIds: [lambdaSg]},
      }),
    )
    assert.equal(created.VpcConfig?.VpcId, vpcId)
    const {NetworkInterfaces = []} = await ec2.send(
      new DescribeNetworkInterfacesCommand({
        Filters: [
          {Name: 'interface-type', Values: ['lambda']},
          {Name: 'requester-managed', Values: ['true']},
          {Name: 'group-id', Values: [lambdaSg]},
        ],
      }),
    )
    assert.deepEqual(
      NetworkInterfaces.map((e) => e.SubnetId),
      [subnetIds[0]],
    )
  })
})

describe('sandbox fidelity: Lambda updates (RevisionId, LastUpdateStatus)', () => {
  const config = (name: string) => aws().lambda.send(new GetFunctionConfigurationCommand({FunctionName: name}))
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

  it('every function has a RevisionId; each update makes a new one, tagging does not', async () => {
    const {lambda} = aws()
    const {Configuration, Tags} = await lambda.send(new GetFunctionCommand({FunctionName: 'articles-api'}))
    const first = Configuration?.RevisionId ?? ''
    assert.match(first, UUID)
    assert.equal((await config('articles-api')).RevisionId, first, 'GetFunctionConfiguration agrees with GetFunction')
    const {Functions = []} = await lambda.send(new ListFunctionsCommand({}))
    assert.equal(Functions.find((f) => f.FunctionName === 'articles-api')?.RevisionId, first)
    const others = Functions.filter((f) => f.FunctionName !== 'articles-api').map((f) => f.RevisionId)
    assert.ok(
      others.every((r) => r && r !== first),
      'each function has its own',
    )

    await lambda.send(new TagResourceCommand({Resource: Configuration!.FunctionArn!, Tags: {'cct:test': 'x'}}))
    assert.equal((await config('articles-api')).RevisionId, first, 'tags are not part of the revision')
    assert.deepEqual((await lambda.send(new GetFunctionCommand({FunctionName: 'articles-api'}))).Tags, {
      ...Tags,
      'cct:test': 'x',
    })

    const updated = await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'articles-api',
        RevisionId: first,
        Environment: {Variables: {A: '1'}},
      }),
    )
    assert.match(updated.RevisionId ?? '', UUID)
    assert.notEqual(updated.RevisionId, first)
    assert.equal(updated.LastUpdateStatus, 'Successful', 'lambdaUpdateSeconds is 0 by default: done at once')
    assert.equal((await config('articles-api')).RevisionId, updated.RevisionId)

    const code = await lambda.send(
      new UpdateFunctionCodeCommand({
        FunctionName: 'articles-api',
        ZipFile: demoFunctionZip(),
        RevisionId: updated.RevisionId,
      }),
    )
    assert.notEqual(code.RevisionId, updated.RevisionId)
    assert.equal((await config('articles-api')).RevisionId, code.RevisionId)

    const created = await lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'cct-probe',
        Runtime: 'python3.12',
        Handler: 'index.lambda_handler',
        Role: sandbox.seed().roleArn,
        Code: {ZipFile: demoFunctionZip()},
      }),
    )
    assert.match(created.RevisionId ?? '', UUID)
    assert.equal((await config('cct-probe')).RevisionId, created.RevisionId)
  })

  it('an update given a stale RevisionId fails with PreconditionFailedException (412) and changes nothing', async () => {
    const {lambda} = aws()
    const stale = (await config('news-api')).RevisionId!
    // Someone else changes the function after we read it.
    await lambda.send(
      new UpdateFunctionConfigurationCommand({FunctionName: 'news-api', Description: 'changed by someone else'}),
    )
    const current = await config('news-api')
    assert.notEqual(current.RevisionId, stale)

    await assert.rejects(
      lambda.send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: 'news-api',
          RevisionId: stale,
          Environment: {Variables: {REDIS_HOST: 'x'}},
        }),
      ),
      (e: Error & {$metadata?: {httpStatusCode?: number}}) => {
        assert.equal(e.name, 'PreconditionFailedException', e.message)
        assert.equal(e.$metadata?.httpStatusCode, 412)
        assert.match(e.message, /The Revision Id provided does not match the latest Revision Id/)
        return true
      },
    )
    await rejectsWith(
      lambda.send(
        new UpdateFunctionCodeCommand({FunctionName: 'news-api', ZipFile: demoFunctionZip(), RevisionId: stale}),
      ),
      'PreconditionFailedException',
      412,
    )
    const after = await config('news-api')
    assert.deepEqual(after.Environment?.Variables, SEED_FUNCTIONS['news-api'], 'the environment was not replaced')
    assert.equal(after.RevisionId, current.RevisionId, 'nor the revision')
    assert.equal(after.CodeSha256, current.CodeSha256)

    // Read again, merge, write with the current RevisionId: accepted.
    const merged = {...after.Environment!.Variables, REDIS_HOST: 'x'}
    const ok = await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'news-api',
        RevisionId: after.RevisionId,
        Environment: {Variables: merged},
      }),
    )
    assert.deepEqual(ok.Environment?.Variables, merged)
  })

  it('with lambdaUpdateSeconds, an updated function is InProgress and refuses updates until Successful; other functions are free', async () => {
    const {lambda} = aws()
    await sandbox().configure({lambdaUpdateSeconds: 2})
    const before = await config('articles-api')
    assert.equal(before.LastUpdateStatus, 'Successful')

    const env = {...before.Environment!.Variables, REDIS_PORT: '6379'}
    const updated = await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'articles-api',
        RevisionId: before.RevisionId,
        Environment: {Variables: env},
      }),
    )
    assert.equal(updated.LastUpdateStatus, 'InProgress')
    const during = await config('articles-api')
    assert.equal(during.LastUpdateStatus, 'InProgress')
    assert.equal(during.LastUpdateStatusReason, 'The function is being created.')
    assert.equal(during.LastUpdateStatusReasonCode, undefined)
    assert.deepEqual(during.Environment?.Variables, env, 'the new configuration is what is reported')

    const arn = before.FunctionArn!.replace(/:\$LATEST$/, '')
    const conflict = (e: Error & {$metadata?: {httpStatusCode?: number}}) => {
      assert.equal(e.name, 'ResourceConflictException', e.message)
      assert.equal(e.$metadata?.httpStatusCode, 409)
      assert.equal(
        e.message,
        `The operation cannot be performed at this time. An update is in progress for resource: ${arn}`,
      )
      return true
    }
    await assert.rejects(
      lambda.send(new UpdateFunctionConfigurationCommand({FunctionName: 'articles-api', Timeout: 10})),
      conflict,
    )
    await assert.rejects(
      lambda.send(new UpdateFunctionCodeCommand({FunctionName: 'articles-api', ZipFile: demoFunctionZip()})),
      conflict,
    )
    await assert.rejects(lambda.send(new PublishVersionCommand({FunctionName: 'articles-api'})), conflict)

    // Another function is independent: it can be updated meanwhile (and is InProgress itself).
    const other = await config('news-api')
    const news = await lambda.send(
      new UpdateFunctionConfigurationCommand({FunctionName: 'news-api', RevisionId: other.RevisionId, Timeout: 10}),
    )
    assert.equal(news.LastUpdateStatus, 'InProgress')

    const done = await eventually('articles-api to finish updating', async () => {
      const now = await config('articles-api')
      return now.LastUpdateStatus === 'Successful' ? now : undefined
    })
    assert.equal(done.LastUpdateStatusReason, undefined)
    assert.equal(done.Timeout, before.Timeout, 'the refused update changed nothing')
    assert.deepEqual(done.Environment?.Variables, env)
    // As on AWS, finishing the update makes one more revision: the one the update returned is stale.
    assert.notEqual(done.RevisionId, updated.RevisionId)
    await rejectsWith(
      lambda.send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: 'articles-api',
          RevisionId: updated.RevisionId,
          Timeout: 10,
        }),
      ),
      'PreconditionFailedException',
      412,
    )

    const again = await lambda.send(
      new UpdateFunctionConfigurationCommand({FunctionName: 'articles-api', RevisionId: done.RevisionId, Timeout: 10}),
    )
    assert.equal(again.Timeout, 10)
    assert.equal(again.LastUpdateStatus, 'InProgress')

    // reset() restores the start-up setting (0): updates finish at once again.
    await sandbox().reset()
    const res = await fetch(`${sandbox().endpoint}/cct-fidelity/config`)
    assert.equal(((await res.json()) as {lambdaUpdateSeconds: number}).lambdaUpdateSeconds, 0)
  })
})

describe('sandbox fidelity: the seeded account and redis', () => {
  it('seeds the runbook account: five functions with their own env vars, tags and layer, a role with only basic execution, the articles table', async () => {
    const {lambda, iam, dynamo} = aws()
    const seed = sandbox.seed()
    assert.deepEqual(seed.functionNames, [
      'articles-api',
      'video-list-api',
      'news-api',
      'resources-api',
      'contributors-api',
    ])
    for (const name of seed.functionNames) {
      const {Configuration: fn, Tags} = await lambda.send(new GetFunctionCommand({FunctionName: name}))
      assert.equal(fn?.Runtime, 'python3.12')
      assert.equal(fn?.Handler, 'index.lambda_handler')
      assert.equal(fn?.Role, seed.roleArn)
      assert.deepEqual(fn?.Environment?.Variables, SEED_FUNCTIONS[name])
      assert.ok(Object.keys(fn?.Environment?.Variables ?? {}).length >= 3)
      assert.deepEqual(
        fn?.Layers?.map((l) => l.Arn),
        [seed.layerArn],
      )
      assert.deepEqual(Tags, SEED_TAGS)
      assert.ok(!fn?.VpcConfig?.SubnetIds?.length, 'not in a VPC yet')
    }
    assert.match(seed.layerArn, /:layer:shared-utils:\d+$/)
    const {AttachedPolicies = []} = await iam.send(new ListAttachedRolePoliciesCommand({RoleName: seed.roleName}))
    assert.deepEqual(
      AttachedPolicies.map((p) => p.PolicyName),
      ['AWSLambdaBasicExecutionRole'],
    )
    const {Items = []} = await dynamo.send(new ScanCommand({TableName: seed.tableName}))
    assert.equal(Items.length, 10)
    assert.ok(Items.every((item) => item.article_id?.S && item.views?.N))
    assert.ok(
      Items.some((item) => item.rating?.N?.includes('.')),
      'some fractional numbers (Decimal in Python)',
    )
  })

  it('redis-server answers on loopback and reset() empties it', async () => {
    const s = sandbox()
    const redis = new Redis({host: s.redisHost, port: s.redisPort, lazyConnect: true, maxRetriesPerRequest: 0})
    try {
      await redis.set('cct:test', 'hello')
      assert.equal(await redis.get('cct:test'), 'hello')
      await s.reset()
      assert.equal(await redis.get('cct:test'), null)
    } finally {
      redis.disconnect()
    }
  })
})

describe('sandbox fidelity: NAT gateways', () => {
  it('deleting a NAT gateway deletes its network interface, so its subnet and address can go', async () => {
    const {
      EC2Client: Ec2,
      CreateVpcCommand: Vpc,
      CreateSubnetCommand: Subnet,
      AllocateAddressCommand: Allocate,
      CreateNatGatewayCommand: Nat,
      DeleteNatGatewayCommand: DeleteNat,
      DeleteSubnetCommand: DeleteSubnet,
      ReleaseAddressCommand: Release,
      DescribeNetworkInterfacesCommand: Enis,
    } = await import('@aws-sdk/client-ec2')
    const ec2 = new Ec2({endpoint: sandbox().endpoint, region: sandbox().region, maxAttempts: 1})
    const {Vpc: vpc} = await ec2.send(new Vpc({CidrBlock: '10.77.0.0/16'}))
    const {Subnet: subnet} = await ec2.send(new Subnet({VpcId: vpc!.VpcId!, CidrBlock: '10.77.1.0/24'}))
    const {AllocationId} = await ec2.send(new Allocate({Domain: 'vpc'}))
    const {NatGateway} = await ec2.send(new Nat({SubnetId: subnet!.SubnetId!, AllocationId}))
    const inSubnet = async () =>
      (await ec2.send(new Enis({Filters: [{Name: 'subnet-id', Values: [subnet!.SubnetId!]}]}))).NetworkInterfaces ?? []
    assert.equal((await inSubnet()).length, 1)
    await assert.rejects(
      ec2.send(new DeleteSubnet({SubnetId: subnet!.SubnetId!})),
      (e: Error) => e.name === 'DependencyViolation',
    )
    await ec2.send(new DeleteNat({NatGatewayId: NatGateway!.NatGatewayId!}))
    assert.deepEqual(await inSubnet(), [])
    await ec2.send(new Release({AllocationId}))
    await ec2.send(new DeleteSubnet({SubnetId: subnet!.SubnetId!}))
  })
})

describe('sandbox fidelity: EC2 client tokens', () => {
  it('a create repeated with the same ClientToken returns the first result and makes nothing; other parameters are a mismatch', async () => {
    const {CreateRouteTableCommand, DescribeRouteTablesCommand} = await import('@aws-sdk/client-ec2')
    const {ec2} = aws()
    const {Vpc} = await ec2.send(new CreateVpcCommand({CidrBlock: '10.78.0.0/16'}))
    const {Vpc: other} = await ec2.send(new CreateVpcCommand({CidrBlock: '10.79.0.0/16'}))
    const create = (VpcId: string) => ec2.send(new CreateRouteTableCommand({VpcId, ClientToken: 'token-1'}))
    const first = (await create(Vpc!.VpcId!)).RouteTable!.RouteTableId
    assert.equal((await create(Vpc!.VpcId!)).RouteTable!.RouteTableId, first)
    const inVpc = {Filters: [{Name: 'vpc-id', Values: [Vpc!.VpcId!]}]}
    // The main table and the one created.
    assert.equal((await ec2.send(new DescribeRouteTablesCommand(inVpc))).RouteTables!.length, 2)
    await rejectsWith(create(other!.VpcId!), 'IdempotentParameterMismatch')
  })
})
