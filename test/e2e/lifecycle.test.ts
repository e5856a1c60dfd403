import assert from 'node:assert/strict'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {
  EC2Client,
  DescribeVpcsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
} from '@aws-sdk/client-ec2'
import {ElastiCacheClient, DescribeCacheSubnetGroupsCommand} from '@aws-sdk/client-elasticache'
import {IAMClient, ListAttachedRolePoliciesCommand, ListRoleTagsCommand} from '@aws-sdk/client-iam'
import {GetFunctionConfigurationCommand, LambdaClient, ListTagsCommand} from '@aws-sdk/client-lambda'

import {SEED_FUNCTIONS} from '../../sandbox/seed.js'
import {cli, jsonResult} from '../support/cct.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({
  seed: true,
  redis: false,
  fidelity: {replicationGroupCreateSeconds: 1, replicationGroupDeleteSeconds: 1, eniLingerSeconds: 2},
})

/** Everything of a function a user would compare before and after: config, tags, role policies. */
async function snapshot() {
  const s = sandbox()
  const config = {endpoint: s.endpoint, region: s.region, maxAttempts: 1}
  const lambda = new LambdaClient(config)
  const iam = new IAMClient(config)
  const functions: Record<string, unknown> = {}
  for (const name of Object.keys(SEED_FUNCTIONS)) {
    const c = await lambda.send(new GetFunctionConfigurationCommand({FunctionName: name}))
    const {Tags} = await lambda.send(new ListTagsCommand({Resource: c.FunctionArn!}))
    functions[name] = {
      env: c.Environment?.Variables,
      layers: (c.Layers ?? []).map((l) => l.Arn),
      subnets: c.VpcConfig?.SubnetIds ?? [],
      groups: c.VpcConfig?.SecurityGroupIds ?? [],
      role: c.Role,
      tags: Tags,
    }
  }
  const role = sandbox.seed().roleName
  const policies = (await iam.send(new ListAttachedRolePoliciesCommand({RoleName: role}))).AttachedPolicies?.map(
    (p) => p.PolicyArn,
  ).sort()
  const roleTags = (await iam.send(new ListRoleTagsCommand({RoleName: role}))).Tags
  return {functions, policies, roleTags}
}

describe('the real cct process: setup, status, rollback', () => {
  it('setup -> status -> setup again -> rollback -> status -> rollback again, and functions end as they began', async () => {
    const env = sandbox().env
    const cwd = mkdtempSync(join(tmpdir(), 'cct-e2e-'))
    const run = (args: string[]) => cli(args, {...env, CCT_CONFIG: join(cwd, 'cct.json')})
    const before = await snapshot()

    // --nat: news-api's NEWS_FEED_URL needs the internet, and setup --yes refuses to cut it off.
    const setup = await run(['setup', '--yes', '--nat'])
    assert.equal(setup.code, 0, setup.stderr)
    assert.match(
      setup.stdout,
      /Set up stack "cct" in us-east-1: \d+ changes made\.\n {2}cache {6}master\.cct-cache\.[\w.]+:6379 \(TLS on\)/,
    )
    assert.doesNotMatch(
      setup.stdout,
      /STEP +ACTION|^nat: *$|❯/m,
      'a summary, not the plan table again, raw outputs or a line per step started',
    )
    assert.match(setup.stdout, /next {7}cct verify/)

    const status = await run(['status', '--json'])
    assert.equal(status.code, 0, status.stderr)
    const rows = jsonResult<{resources: {state: string; step: string}[]}>(status).resources
    assert.ok(rows.length > 10)
    assert.deepEqual(
      rows.filter((r) => r.state !== 'present'),
      [],
      'every resource present',
    )
    assert.deepEqual(
      new Set(rows.map((r) => r.step)),
      new Set([
        'vpc',
        'nat',
        'sg',
        'subnet-group',
        'cluster',
        'attach',
        'layer',
        'layer-attach',
        'env',
        'dashboard',
        'probe',
      ]),
    )

    const again = await run(['setup', '--yes', '--nat'])
    assert.equal(again.code, 0, again.stderr)
    assert.deepEqual(again.mutating, [], 'setup again makes no mutating call')

    const rollback = await run(['rollback', '--yes'])
    assert.equal(rollback.code, 0, rollback.stderr)
    assert.match(
      rollback.stdout,
      // Before the VPC policy goes (Lambda needs it to delete its interfaces), so the groups are then free.
      /waiting for Lambda to release the functions' network interfaces before the VPC policy is detached: \d network interfaces? still attached/,
      'it waited for lingering ENIs, visibly',
    )

    const after = await run(['status', '--json'])
    const left = jsonResult<{resources: {state: string}[]}>(after).resources
    assert.deepEqual(
      left.filter((r) => r.state === 'present'),
      [],
      'nothing of the stack is left',
    )

    const s = sandbox()
    const ec2 = new EC2Client({endpoint: s.endpoint, region: s.region, maxAttempts: 1})
    const tagged = [{Name: 'tag:ManagedBy', Values: ['cct']}]
    assert.deepEqual((await ec2.send(new DescribeVpcsCommand({Filters: tagged}))).Vpcs, [])
    assert.deepEqual((await ec2.send(new DescribeSubnetsCommand({Filters: tagged}))).Subnets, [])
    assert.deepEqual((await ec2.send(new DescribeSecurityGroupsCommand({Filters: tagged}))).SecurityGroups, [])
    const elasticache = new ElastiCacheClient({endpoint: s.endpoint, region: s.region, maxAttempts: 1})
    await assert.rejects(
      elasticache.send(new DescribeCacheSubnetGroupsCommand({CacheSubnetGroupName: 'cct-cache-subnet-group'})),
      /not found/i,
    )

    assert.deepEqual(
      await snapshot(),
      before,
      'env vars, layers, VpcConfig, tags and role policies are as before setup',
    )

    const rollbackAgain = await run(['rollback', '--yes'])
    assert.equal(rollbackAgain.code, 0, rollbackAgain.stderr)
    assert.deepEqual(rollbackAgain.mutating, [], 'rollback on nothing changes nothing')
    assert.match(rollbackAgain.stdout, /Nothing of stack "cct" to remove/)
  })

  it('rollback keeps changes made since setup: a variable someone changed stays theirs', async () => {
    const env = sandbox().env
    const cwd = mkdtempSync(join(tmpdir(), 'cct-e2e-'))
    const run = (args: string[]) => cli(args, {...env, CCT_CONFIG: join(cwd, 'cct.json')})
    const setup = await run(['setup', '--yes', '--functions', 'articles-api'])
    assert.equal(setup.code, 0, setup.stderr)
    const s = sandbox()
    const lambda = new LambdaClient({endpoint: s.endpoint, region: s.region, maxAttempts: 1})
    const {UpdateFunctionConfigurationCommand} = await import('@aws-sdk/client-lambda')
    const c = await lambda.send(new GetFunctionConfigurationCommand({FunctionName: 'articles-api'}))
    await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'articles-api',
        Environment: {Variables: {...c.Environment!.Variables, REDIS_PORT: '7000', LOG_LEVEL: 'DEBUG'}},
      }),
    )
    const rollback = await run(['rollback', '--yes'])
    assert.equal(rollback.code, 0, rollback.stderr)
    const after = await lambda.send(new GetFunctionConfigurationCommand({FunctionName: 'articles-api'}))
    const vars = after.Environment!.Variables!
    assert.equal(vars.REDIS_PORT, '7000', 'changed since setup: kept')
    assert.equal(vars.LOG_LEVEL, 'DEBUG')
    assert.equal(vars.REDIS_HOST, undefined, 'set by cct and untouched since: removed')
    assert.equal(vars.TABLE_NAME, 'articles')
  })

  it('without a terminal and without --yes, setup and rollback refuse and change nothing', async () => {
    const env = sandbox().env
    const setup = await cli(['setup'], env)
    assert.equal(setup.code, 2)
    assert.match(
      setup.stderr,
      /cct setup needs a terminal to ask its questions\. Pass --yes with the flags you need \(--functions, --engine/,
    )
    assert.deepEqual(setup.mutating, [])
    const rollback = await cli(['rollback'], env)
    assert.equal(rollback.code, 2)
    assert.match(rollback.stderr, /needs a confirmation\. Run it in a terminal, or pass --yes/)
    assert.deepEqual(rollback.mutating, [])
  })
})
