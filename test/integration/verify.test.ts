/**
 * cct verify proves the cache from the functions' side: the probe runs inside the VPC
 * (the sandbox runs it for real), each function's path is checked, and breaking any hop
 * by hand makes verify fail with exit 7, naming the hop and the command that fixes it.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {
  DeleteVpcEndpointsCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcEndpointsCommand,
  EC2Client,
  RevokeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
} from '@aws-sdk/client-ec2'
import {GetFunctionConfigurationCommand, LambdaClient, UpdateFunctionConfigurationCommand} from '@aws-sdk/client-lambda'

import {STACK_STEPS} from '../../src/stack-steps.js'
import {cli, jsonResult, runSteps} from '../support/cct.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({seed: true})

interface Report {
  ok: boolean
  probe: {
    ran: boolean
    ok: boolean
    stages: {stage: string; ok: boolean; engine?: string}[]
    failure?: {hop: string; fix: string}
  }
  functions: {name: string; ok: boolean; checks: {check: string; ok: boolean; fix?: string}[]}[]
  criteria: {criterion: string; verdict: string; measured: string}[]
}

function clients() {
  const s = sandbox()
  const config = {
    endpoint: s.endpoint,
    region: s.region,
    maxAttempts: 1,
    credentials: {accessKeyId: 'test', secretAccessKey: 'test'},
  }
  return {ec2: new EC2Client(config), lambda: new LambdaClient(config)}
}

async function verify(...args: string[]) {
  const result = await cli(['verify', ...args], sandbox().env)
  return {...result, report: args.includes('--json') ? jsonResult<Report>(result) : undefined}
}

/** Env of one function, changed by hand as a user (or another tool) would. */
async function setEnv(name: string, change: Record<string, string>) {
  const {lambda} = clients()
  const c = await lambda.send(new GetFunctionConfigurationCommand({FunctionName: name}))
  await lambda.send(
    new UpdateFunctionConfigurationCommand({
      FunctionName: name,
      Environment: {Variables: {...c.Environment!.Variables, ...change}},
    }),
  )
}

describe('cct verify', () => {
  it('after setup: every hop answers from inside the VPC, every path is in place, and verify only invokes', async () => {
    await runSteps(sandbox(), STACK_STEPS)
    const {code, stderr, mutating, report} = await verify('--json')
    assert.equal(code, 0, stderr)
    assert.deepEqual(
      mutating.map((c) => `${c.service}:${c.operation}`),
      ['lambda:Invoke'],
      'read-only apart from invoking the probe',
    )
    assert.equal(report!.probe.ran, true)
    assert.deepEqual(
      report!.probe.stages.map((s) => [s.stage, s.ok]),
      [
        ['dns', true],
        ['tcp', true],
        ['tls', true],
        ['command', true],
        ['dynamodb', true],
        ['layer', true],
      ],
    )
    assert.equal(report!.probe.stages.find((s) => s.stage === 'command')!.engine, 'redis')
    assert.deepEqual(
      report!.functions.map((f) => [f.name, f.ok]),
      ['articles-api', 'video-list-api', 'news-api', 'resources-api', 'contributors-api'].map((n) => [n, true]),
    )
    const verdicts = Object.fromEntries(report!.criteria.map((c) => [c.criterion, c.verdict]))
    assert.equal(verdicts['Cache cluster available'], 'ok')
    assert.equal(verdicts['Functions in the VPC with cache access'], 'ok')
    assert.equal(verdicts['Redis library in a layer'], 'ok')
    assert.equal(verdicts['Cache hit rate'], 'not yet', 'no traffic yet is not a failure')

    const text = await verify()
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /From inside the VPC \(the probe\):\n[\s\S]*dynamodb +ok/)
    assert.match(text.stdout, /Cache hit rate +> 80\.0% after 24 h +no cache reads +not yet/)
  })

  it('each hop broken by hand fails with exit 7, names the hop and the fix, and the fix repairs it', async () => {
    await runSteps(sandbox(), STACK_STEPS)
    const {ec2, lambda} = clients()
    const groups = await ec2.send(
      new DescribeSecurityGroupsCommand({Filters: [{Name: 'tag:cct:stack', Values: ['cct']}]}),
    )
    const cacheGroup = groups.SecurityGroups!.find((g) => g.GroupName === 'cct-cache-sg')!
    const lambdaGroup = groups.SecurityGroups!.find((g) => g.GroupName === 'cct-lambda-sg')!

    // 1. The cache group's ingress rule: the TCP hop hangs.
    await ec2.send(
      new RevokeSecurityGroupIngressCommand({GroupId: cacheGroup.GroupId, IpPermissions: cacheGroup.IpPermissions}),
    )
    let run = await verify()
    assert.equal(run.code, 7, run.stderr)
    assert.match(
      run.stderr,
      /Verification failed at tcp: no TCP answer from master\.cct-cache\.[\w.]+:6379 .*the cache security group does not admit the lambda group on 6379\. Run `cct sg`/,
    )
    await runSteps(sandbox(), ['sg'])
    assert.equal((await verify()).code, 0, 'cct sg repaired it')

    // 2. The DynamoDB gateway endpoint: DynamoDB hangs from the subnets.
    const {VpcEndpoints = []} = await ec2.send(
      new DescribeVpcEndpointsCommand({Filters: [{Name: 'tag:cct:stack', Values: ['cct']}]}),
    )
    const dynamo = VpcEndpoints.filter(
      (e) => e.ServiceName!.endsWith('.dynamodb') && String(e.State).toLowerCase() !== 'deleted',
    )
    assert.equal(dynamo.length, 1)
    await ec2.send(new DeleteVpcEndpointsCommand({VpcEndpointIds: [dynamo[0]!.VpcEndpointId!]}))
    run = await verify('--json')
    assert.equal(run.code, 7)
    assert.deepEqual(run.report!.probe.failure && [run.report!.probe.failure.hop, run.report!.probe.failure.fix], [
      'dynamodb',
      'cct vpc',
    ])
    assert.ok(
      run.report!.functions.every((f) => f.checks.find((c) => c.check === 'dynamodb route')!.ok === false),
      'every function is cut off from DynamoDB',
    )
    await runSteps(sandbox(), ['vpc'])
    assert.equal((await verify()).code, 0, 'cct vpc repaired it')

    // 3. TLS turned off on the client side of one function.
    await setEnv('articles-api', {REDIS_TLS: 'false'})
    run = await verify()
    assert.equal(run.code, 7)
    assert.match(
      run.stderr,
      /Verification failed for articles-api: env: REDIS_TLS is "false", the cache needs "true"\. Run `cct env`/,
    )

    // 4. A function's layer removed.
    await runSteps(sandbox(), ['env'])
    await lambda.send(new UpdateFunctionConfigurationCommand({FunctionName: 'news-api', Layers: []}))
    run = await verify()
    assert.equal(run.code, 7)
    assert.match(run.stderr, /Verification failed for news-api: layer: no cct layer.*Run `cct layer`/)

    // 5. A function moved to another group (in the same VPC).
    await runSteps(sandbox(), ['layer-attach'])
    const other = await ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: 'someone-elses',
        Description: 'not admitted by the cache',
        VpcId: lambdaGroup.VpcId,
      }),
    )
    const fn = await lambda.send(new GetFunctionConfigurationCommand({FunctionName: 'resources-api'}))
    await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'resources-api',
        VpcConfig: {SubnetIds: fn.VpcConfig!.SubnetIds, SecurityGroupIds: [other.GroupId!]},
      }),
    )
    run = await verify()
    assert.equal(run.code, 7)
    assert.match(
      run.stderr,
      /Verification failed for resources-api: security group: none of its groups \(sg-\w+\) is admitted by sg-\w+ on 6379/,
    )
    assert.match(run.stdout, /resources-api +ok +FAILED/)
  })

  it('bad input: one line, exit 2, nothing invoked', async () => {
    await runSteps(sandbox(), STACK_STEPS)
    for (const [args, message] of [
      [
        ['--redis-url', 'http://localhost:6379'],
        /--redis-url http:\/\/localhost:6379 is not a redis:\/\/ or rediss:\/\/ URL/,
      ],
      [['--hours', 'soon'], /--hours must be a positive number, got "soon"/],
      [['--traffic', '0'], /--traffic must be a whole number from 1 to 1000/],
      [['--traffic', '2', '--event', '/nonexistent.json'], /--event \/nonexistent\.json cannot be read/],
    ] as const) {
      const result = await cli(['verify', ...args], sandbox().env)
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`)
      assert.match(result.stderr, message)
      assert.equal(result.stderr.trim().split('\n').length, 1, 'one line')
      assert.deepEqual(result.mutating, [], 'nothing invoked')
    }
  })

  it('on a stack without a cache it says to run setup', async () => {
    const result = await cli(['verify'], sandbox().env)
    assert.equal(result.code, 2)
    assert.match(result.stderr, /Stack "cct" has no cache in us-east-1\. Run `cct setup` first/)
  })
})
