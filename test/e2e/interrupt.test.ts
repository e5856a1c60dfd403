import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  DescribeVpcEndpointsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2'
import {DescribeReplicationGroupsCommand, ElastiCacheClient} from '@aws-sdk/client-elasticache'
import {GetFunctionConfigurationCommand, LambdaClient} from '@aws-sdk/client-lambda'

import {SEED_FUNCTIONS} from '../../sandbox/seed.js'
import {cli} from '../support/cct.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({
  seed: true,
  redis: false,
  fidelity: {replicationGroupCreateSeconds: 4, replicationGroupDeleteSeconds: 3, eniLingerSeconds: 3},
})

/** The stack exists exactly once: one of each resource, whatever the interruptions. */
async function assertNoDuplicates() {
  const s = sandbox()
  const config = {endpoint: s.endpoint, region: s.region, maxAttempts: 1}
  const ec2 = new EC2Client(config)
  const tagged = [{Name: 'tag:cct:stack', Values: ['cct']}]
  assert.equal((await ec2.send(new DescribeVpcsCommand({Filters: tagged}))).Vpcs!.length, 1)
  // Two private subnets and, with --nat, the NAT gateway's public one.
  assert.equal((await ec2.send(new DescribeSubnetsCommand({Filters: tagged}))).Subnets!.length, 3)
  assert.equal((await ec2.send(new DescribeSecurityGroupsCommand({Filters: tagged}))).SecurityGroups!.length, 2)
  const endpoints = (await ec2.send(new DescribeVpcEndpointsCommand({Filters: tagged}))).VpcEndpoints!.filter(
    (e) => e.State?.toLowerCase() !== 'deleted',
  )
  assert.equal(endpoints.length, 2)
  const elasticache = new ElastiCacheClient(config)
  const groups = (await elasticache.send(new DescribeReplicationGroupsCommand({}))).ReplicationGroups!
  assert.deepEqual(
    groups.map((g) => [g.ReplicationGroupId, g.Status]),
    [['cct-cache', 'available']],
  )
  const lambda = new LambdaClient(config)
  for (const name of Object.keys(SEED_FUNCTIONS)) {
    const c = await lambda.send(new GetFunctionConfigurationCommand({FunctionName: name}))
    assert.equal(c.VpcConfig?.SubnetIds?.length, 2, `${name} attached`)
    assert.equal(c.VpcConfig?.SecurityGroupIds?.length, 1, `${name} has exactly one lambda group`)
    assert.ok(c.Environment?.Variables?.REDIS_HOST)
  }
}

const points: [string, RegExp, NodeJS.Signals][] = [
  ['Ctrl-C while the network is being created', /created vpc-/, 'SIGINT'],
  ['Ctrl-C while waiting for the cache', /waiting for cct-cache to be available/, 'SIGINT'],
  ['a crash (SIGKILL) while waiting for the cache', /waiting for cct-cache to be available/, 'SIGKILL'],
  ['a crash (SIGKILL) while functions are moving', /moving into the VPC/, 'SIGKILL'],
]

describe('interrupted setup resumes without duplicates', () => {
  for (const [what, at, signal] of points) {
    it(what, async () => {
      const env = sandbox().env
      const first = await cli(
        ['setup', '--yes', '--nat', '--config', `${process.env.TMPDIR ?? '/tmp'}/cct-int-${process.pid}.json`],
        env,
        {killOn: at, signal},
      )
      assert.ok(first.killed, `the process reached "${at.source}":\n${first.stdout}\n${first.stderr}`)
      if (signal === 'SIGINT') {
        assert.equal(first.code, 130, first.stderr)
        assert.match(first.stderr, /Interrupted\. What was created is tagged; run the same command again to resume/)
      } else {
        assert.notEqual(first.code, 0)
      }
      const second = await cli(
        ['setup', '--yes', '--nat', '--config', `${process.env.TMPDIR ?? '/tmp'}/cct-int-${process.pid}.json`],
        env,
      )
      assert.equal(second.code, 0, second.stderr)
      await assertNoDuplicates()
    })
  }
})

describe('interrupted rollback resumes', () => {
  it('Ctrl-C while waiting for network interfaces, then rollback again finishes', async () => {
    const env = {...sandbox().env}
    const config = ['--config', `${process.env.TMPDIR ?? '/tmp'}/cct-int-rb-${process.pid}.json`]
    assert.equal((await cli(['setup', '--yes', '--nat', ...config], env)).code, 0)
    const first = await cli(['rollback', '--yes', ...config], env, {
      killOn: /(waiting for cct-cache to be deleted|to be free)/,
      signal: 'SIGINT',
    })
    assert.ok(first.killed)
    assert.equal(first.code, 130)
    const second = await cli(['rollback', '--yes', ...config], env)
    assert.equal(second.code, 0, second.stderr)
    const s = sandbox()
    const ec2 = new EC2Client({endpoint: s.endpoint, region: s.region, maxAttempts: 1})
    assert.deepEqual(
      (await ec2.send(new DescribeVpcsCommand({Filters: [{Name: 'tag:cct:stack', Values: ['cct']}]}))).Vpcs,
      [],
    )
    const third = await cli(['rollback', '--yes', ...config], env)
    assert.deepEqual(third.mutating, [])
  })
})
