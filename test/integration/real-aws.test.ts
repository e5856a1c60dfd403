/**
 * What real AWS does to the functions that moto alone would not: an update left Failed,
 * container-image functions, Lambda's limits (security groups, environment size), published
 * versions and aliases, the role's EC2 actions (issue #12). One sandbox for the file.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {CreateSecurityGroupCommand, EC2Client} from '@aws-sdk/client-ec2'
import {AttachRolePolicyCommand, IAMClient} from '@aws-sdk/client-iam'
import {
  CreateAliasCommand,
  CreateFunctionCommand,
  DeleteFunctionCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda'

import {CctError, ExitCode} from '../../src/errors.js'
import {checkFunctionPaths} from '../../src/verify/paths.js'
import {describeFunction} from '../../src/aws/functions.js'
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
  for (let i = 0; i < groups; i++)
    ids.push(
      (
        await ec2.send(
          new CreateSecurityGroupCommand({GroupName: `theirs-${i}`, Description: 'theirs', VpcId: vpc.vpcId}),
        )
      ).GroupId!,
    )
  await new IAMClient({endpoint: sandbox().endpoint, region: sandbox().region}).send(
    new AttachRolePolicyCommand({RoleName: sandbox.seed().roleName, PolicyArn: VPC_POLICY}),
  )
  await lambdaClient().send(
    new UpdateFunctionConfigurationCommand({
      FunctionName: 'articles-api',
      VpcConfig: {SubnetIds: vpc.subnetIds, SecurityGroupIds: ids, ...vpcConfig},
    }),
  )
  return ids
}

const refused = (pattern: RegExp) => (e: CctError) => e.exitCode === ExitCode.Conflict && pattern.test(e.message)

describe('an update left Failed (LastUpdateStatus: Failed)', () => {
  it("does not block later writes; Failed after cct's own write is cct's failure, and rollback still works", async () => {
    const lambda = lambdaClient()
    // Someone's earlier update failed (no IP addresses left in a subnet).
    await sandbox().configure({lambdaUpdatesFail: 'articles-api'})
    await lambda.send(
      new UpdateFunctionConfigurationCommand({FunctionName: 'articles-api', Description: 'tuned by hand'}),
    )
    await sandbox().configure({lambdaUpdatesFail: ''})
    assert.equal((await config('articles-api')).LastUpdateStatus, 'Failed')

    await runSteps(sandbox(), [...CORE], {functions: ['articles-api']})
    const after = await config('articles-api')
    assert.equal(after.LastUpdateStatus, 'Successful')
    assert.ok(after.Environment?.Variables?.REDIS_HOST, 'REDIS_HOST set')
    assert.equal(after.VpcConfig?.SubnetIds?.length, 2, 'in the VPC')

    // cct's own write fails: the step says so, with Lambda's reason code.
    await sandbox().configure({lambdaUpdatesFail: 'articles-api'})
    await assert.rejects(
      runSteps(sandbox(), ['env'], {functions: ['articles-api'], autoCache: true}),
      (e: CctError) =>
        /Lambda could not update articles-api \(SubnetOutOfIPAddresses\)/.test(e.message) &&
        /cct env/.test(e.hint ?? ''),
    )
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
    await lambdaClient().send(
      new CreateFunctionCommand({
        FunctionName: 'image-api',
        PackageType: 'Image',
        Role: sandbox.seed().roleArn,
        Code: {ImageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/image-api:latest'},
      }),
    )
    await assert.rejects(
      runSteps(sandbox(), ['layer', 'layer-attach'], {functions: ['articles-api', 'image-api']}, 'plan'),
      refused(/Function image-api is a container image \(PackageType Image\); Lambda allows no layers on it/),
    )
    // As AWS does, the sandbox refuses the layer too.
    await assert.rejects(
      lambdaClient().send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: 'image-api',
          Layers: ['arn:aws:lambda:us-east-1:123456789012:layer:x:1'],
        }),
      ),
      (e: Error) => e.name === 'InvalidParameterValueException',
    )
  })

  it('five security groups already: no room for the lambda group', async () => {
    await userFunctionInStackVpc(5)
    await assert.rejects(
      runSteps(sandbox(), ['attach'], {functions: ['articles-api']}, 'plan'),
      refused(/Function articles-api already has 5 security groups; Lambda allows 5/),
    )
  })

  it("an environment that would pass 4 KB with cct's variables", async () => {
    const env = (await config('news-api')).Environment?.Variables ?? {}
    await lambdaClient().send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'news-api',
        Environment: {Variables: {...env, BIG: 'x'.repeat(3990)}},
      }),
    )
    await assert.rejects(
      runSteps(sandbox(), [...CORE], {functions: ['news-api']}, 'plan'),
      refused(/Function news-api's environment would be \d+ bytes with cct's variables; Lambda allows 4096/),
    )
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

describe('published versions and aliases', () => {
  const WITH_LAYER = ['vpc', 'sg', 'subnet-group', 'cluster', 'layer', 'layer-attach', 'attach', 'env'] as const

  it('a qualified name (name:alias, name:version) is refused, naming what to pass instead', async () => {
    await assert.rejects(
      runSteps(sandbox(), [...CORE], {functions: ['articles-api:live']}, 'plan'),
      (e: CctError) =>
        e.exitCode === ExitCode.Usage &&
        /names alias live of articles-api; cct changes a function's \$LATEST/.test(e.message) &&
        /Pass articles-api/.test(e.hint ?? ''),
    )
    await assert.rejects(
      runSteps(
        sandbox(),
        [...CORE],
        {functions: ['arn:aws:lambda:us-east-1:123456789012:function:articles-api:3']},
        'plan',
      ),
      (e: CctError) => /names published version 3 of articles-api/.test(e.message),
    )
  })

  it('the plan names them; verify says which alias does not use the cache; rollback explains the versions that hold the network', async () => {
    const lambda = lambdaClient()
    const v1 = (await lambda.send(new PublishVersionCommand({FunctionName: 'articles-api'}))).Version!
    await lambda.send(new CreateAliasCommand({FunctionName: 'articles-api', Name: 'live', FunctionVersion: v1}))

    const plan = await runSteps(sandbox(), [...WITH_LAYER], {functions: ['articles-api']}, 'plan')
    assert.ok(
      plan.report.notes.some((n) =>
        /articles-api has published version 1 \(aliases live → 1\).*callers of them get no VPC, layer or REDIS_\*/.test(
          n,
        ),
      ),
      plan.report.notes.join('\n'),
    )
    const {report} = await runSteps(sandbox(), [...WITH_LAYER], {functions: ['articles-api']})
    const out = <T>(id: string) => report.steps.find((s) => s.id === id)!.output as T
    const cluster = out<{host: string; port: number; tls: boolean}>('cluster')
    const layerVersionArn = out<{layerVersionArn: string}>('layer').layerVersionArn
    const stack = {
      vpcId: out<{vpcId: string}>('vpc').vpcId,
      cacheGroupId: out<{cacheGroupId: string}>('sg').cacheGroupId,
      ...cluster,
      layerVersionArn,
      layerArn: layerVersionArn.replace(/:\d+$/, ''),
    }
    const ec2 = new EC2Client({endpoint: sandbox().endpoint, region: sandbox().region, maxAttempts: 1})
    const verify = async () =>
      (await checkFunctionPaths(ec2, lambda, stack, [(await describeFunction(lambda, 'articles-api'))!]))[0]!
    let path = await verify()
    assert.ok(
      path.checks.filter((c) => c.check !== 'aliases').every((c) => c.ok),
      '$LATEST is in place',
    )
    const aliases = path.checks.find((c) => c.check === 'aliases')!
    assert.equal(aliases.ok, false)
    assert.match(aliases.detail, /callers of live → version 1 \(vpc, security group, layer, env\) do not use the cache/)

    // Published from $LATEST now: the alias follows the cache, and the version holds cct's subnets.
    const v2 = (await lambda.send(new PublishVersionCommand({FunctionName: 'articles-api'}))).Version!
    await lambda.send(new UpdateAliasCommand({FunctionName: 'articles-api', Name: 'live', FunctionVersion: v2}))
    path = await verify()
    assert.equal(path.ok, true, JSON.stringify(path.checks))

    await assert.rejects(
      runSteps(sandbox(), [...WITH_LAYER], {}, 'unplan'),
      (e: CctError) =>
        e.exitCode === ExitCode.Conflict &&
        /Published version articles-api:2 \(alias live\) still uses cct's subnets and security group/.test(e.message) &&
        /delete-function --function-name articles-api --qualifier 2/.test(e.hint ?? ''),
    )
    // Done as the hint says: the rollback goes through.
    await lambda.send(new UpdateAliasCommand({FunctionName: 'articles-api', Name: 'live', FunctionVersion: v1}))
    await lambda.send(new DeleteFunctionCommand({FunctionName: 'articles-api', Qualifier: v2}))
    await runSteps(sandbox(), [...WITH_LAYER], {}, 'destroy')
    assert.deepEqual((await config('articles-api')).VpcConfig?.SubnetIds ?? [], [])
  })
})
