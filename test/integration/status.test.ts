/**
 * `cct status` reads resource by resource from the plan's operations: break things by hand
 * and it names each resource and how it differs, keeps the rows of what is fine, and exits 8.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {
  DeleteVpcEndpointsCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcEndpointsCommand,
  EC2Client,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2'
import {GetFunctionConfigurationCommand, LambdaClient, UpdateFunctionConfigurationCommand} from '@aws-sdk/client-lambda'

import type {StatusRow} from '../../src/services/status.js'
import {STACK_STEPS} from '../../src/stack-steps.js'
import {cli, runSteps} from '../support/cct.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({seed: true, redis: false, fidelity: {replicationGroupCreateSeconds: 0}})

function clients() {
  const s = sandbox()
  const config = {endpoint: s.endpoint, region: s.region, maxAttempts: 1}
  return {ec2: new EC2Client(config), lambda: new LambdaClient(config)}
}

const rowOf = (rows: StatusRow[], name: string) =>
  rows.find((r) => r.name === name) ?? assert.fail(`no row for ${name}: ${JSON.stringify(rows)}`)

describe('cct status', () => {
  it('after setup: one row per resource, all present, exit 0; three things broken by hand: each named with how it differs, exit 8', async () => {
    await runSteps(sandbox(), STACK_STEPS)
    const ok = await cli(['status', '--json'], sandbox().env)
    assert.equal(ok.code, 0, ok.stderr)
    const before = (JSON.parse(ok.stdout) as {result: {resources: StatusRow[]}}).result.resources
    assert.deepEqual(
      before.filter((r) => r.state !== 'present'),
      [],
    )
    // Resources, not output fields: no "port 6379" or "tls true" rows.
    assert.ok(!before.some((r) => ['port', 'tls', 'host', 'cidr'].includes(r.resource)), JSON.stringify(before))

    const {ec2, lambda} = clients()
    const groups = (
      await ec2.send(
        new DescribeSecurityGroupsCommand({Filters: [{Name: 'group-name', Values: ['cct-cache-sg', 'cct-lambda-sg']}]}),
      )
    ).SecurityGroups!
    const cacheGroup = groups.find((g) => g.GroupName === 'cct-cache-sg')!
    const lambdaGroupId = groups.find((g) => g.GroupName === 'cct-lambda-sg')!.GroupId!
    const rules = (
      await ec2.send(
        new DescribeSecurityGroupRulesCommand({Filters: [{Name: 'group-id', Values: [cacheGroup.GroupId!]}]}),
      )
    ).SecurityGroupRules!
    const ingress = rules.filter((r) => !r.IsEgress).map((r) => r.SecurityGroupRuleId!)
    assert.equal(ingress.length, 1)
    await ec2.send(new RevokeSecurityGroupIngressCommand({GroupId: cacheGroup.GroupId, SecurityGroupRuleIds: ingress}))
    const endpoint = (await ec2.send(new DescribeVpcEndpointsCommand({}))).VpcEndpoints!.find((e) =>
      e.ServiceName?.endsWith('.dynamodb'),
    )!
    await ec2.send(new DeleteVpcEndpointsCommand({VpcEndpointIds: [endpoint.VpcEndpointId!]}))
    const fn = await lambda.send(new GetFunctionConfigurationCommand({FunctionName: 'articles-api'}))
    await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'articles-api',
        Environment: {Variables: {...fn.Environment!.Variables, REDIS_PORT: '7000'}},
      }),
    )

    const broken = await cli(['status'], sandbox().env)
    assert.equal(broken.code, 8, broken.stderr)
    assert.match(
      broken.stderr,
      /3 of \d+ resources of stack "cct" are missing or drifted\. See what `cct setup` would change with `cct plan`/,
    )
    assert.match(
      broken.stdout,
      new RegExp(`sg +security-group +cct-cache-sg +drifted +ingress tcp 6379 from ${lambdaGroupId} missing`),
    )
    assert.match(broken.stdout, /vpc +vpc-endpoint +cct-dynamodb-endpoint +missing +dynamodb gateway on rtb-\w+/)
    assert.match(broken.stdout, /env +function-env +articles-api +drifted +REDIS_PORT is 7000, needs 6379/)

    const json = await cli(['status', '--json'], sandbox().env)
    assert.equal(json.code, 8)
    const body = JSON.parse(json.stdout) as {ok: boolean; result: {resources: StatusRow[]}; error: {exitCode: number}}
    assert.equal(body.ok, false)
    assert.equal(body.error.exitCode, 8)
    const rows = body.result.resources
    assert.deepEqual(
      rows
        .filter((r) => r.state !== 'present')
        .map((r) => r.name)
        .sort(),
      ['articles-api', 'cct-cache-sg', 'cct-dynamodb-endpoint'],
    )
    // Rows of a step that drifted stay: the lambda group, the S3 endpoint, the VPC, the other functions' env.
    assert.equal(rowOf(rows, 'cct-lambda-sg').state, 'present')
    assert.equal(
      rows.filter((r) => r.step === 'vpc' && r.state === 'present').length,
      before.filter((r) => r.step === 'vpc').length - 1,
    )
    assert.equal(rows.filter((r) => r.step === 'env').length, before.filter((r) => r.step === 'env').length)
    assert.equal(rows.length, before.length)
  })

  it('a function whose lambda group was taken away: its security groups, as they are and as needed', async () => {
    await runSteps(sandbox(), STACK_STEPS, {functions: ['articles-api']})
    const {ec2, lambda} = clients()
    const fn = await lambda.send(new GetFunctionConfigurationCommand({FunctionName: 'articles-api'}))
    const cacheGroupId = (
      await ec2.send(new DescribeSecurityGroupsCommand({Filters: [{Name: 'group-name', Values: ['cct-cache-sg']}]}))
    ).SecurityGroups![0]!.GroupId!
    const lambdaGroupId = fn.VpcConfig!.SecurityGroupIds![0]!
    await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'articles-api',
        VpcConfig: {SubnetIds: fn.VpcConfig!.SubnetIds, SecurityGroupIds: [cacheGroupId]},
      }),
    )
    const run = await cli(['status', '--functions', 'articles-api'], sandbox().env)
    assert.equal(run.code, 8)
    assert.match(
      run.stdout,
      new RegExp(
        `attach +function-vpc +articles-api +drifted +security groups differ: has ${cacheGroupId}, needs ${lambdaGroupId} too`,
      ),
    )
  })
})
