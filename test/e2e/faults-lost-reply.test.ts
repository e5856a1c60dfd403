/**
 * Issue #12 item 14: a reply lost after the change happened (the sandbox made the VPC, the
 * client saw a 500). CreateVpc has no idempotency token, so a blind retry made a second
 * tagged VPC and cct could no longer undo its own stack; it must look for the VPC by its
 * tags before sending the create again.
 */
import assert from 'node:assert/strict'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import {DescribeVpcsCommand, EC2Client} from '@aws-sdk/client-ec2'

import {accountSnapshot} from '../support/account.js'
import {cli} from '../support/cct.js'
import {FaultProxy, type Fate, type ProxiedCall} from '../support/fault-proxy.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({
  seed: true,
  redis: false,
  fidelity: {replicationGroupCreateSeconds: 1, replicationGroupDeleteSeconds: 1, eniLingerSeconds: 1},
})

let proxy: FaultProxy | undefined
after(() => proxy?.stop())

async function run(args: string[], config: string, decide?: (call: ProxiedCall) => Fate) {
  proxy ??= await new FaultProxy(sandbox().endpoint).start()
  const p = proxy
  p.reset(decide)
  return cli(args, {...sandbox().env, AWS_ENDPOINT_URL: p.url, CCT_CONFIG: config}, {onSpawn: (c) => (p.child = c)})
}

describe('a create whose reply is lost', () => {
  for (const operation of ['CreateVpc', 'CreateSubnet']) {
    it(`${operation} made but answered 500 once: one of it, and status and rollback work`, async () => {
      const config = join(mkdtempSync(join(tmpdir(), 'cct-lost-')), 'cct.json')
      const before = await accountSnapshot(sandbox())
      let lost = 0
      const setup = await run(['setup', '--yes', '--nat'], config, (c) =>
        c.operation === operation && lost++ === 0 ? 'lose' : 'relay',
      )
      assert.equal(lost > 0, true, 'the reply was lost once')
      assert.equal(setup.code, 0, setup.stderr)
      const s = sandbox()
      const ec2 = new EC2Client({endpoint: s.endpoint, region: s.region, maxAttempts: 1})
      const {Vpcs = []} = await ec2.send(new DescribeVpcsCommand({Filters: [{Name: 'tag:cct:stack', Values: ['cct']}]}))
      assert.equal(Vpcs.length, 1, 'exactly one tagged VPC')
      const status = await run(['status'], config)
      assert.equal(status.code, 0, status.stderr)
      const again = await run(['setup', '--yes', '--nat'], config)
      assert.equal(again.code, 0, again.stderr)
      assert.deepEqual(again.mutating, [], 'converged')
      const rollback = await run(['rollback', '--yes'], config)
      assert.equal(rollback.code, 0, rollback.stderr)
      assert.deepEqual(await accountSnapshot(sandbox()), before)
    })
  }
})
