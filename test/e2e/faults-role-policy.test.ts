/**
 * Issue #12 item 14: the change cct makes to a role it does not own (attaching
 * AWSLambdaVPCAccessExecutionRole) is recorded before it is made and the record cleared
 * only after it is undone, so a crash at either edge converges to the exact original. The
 * kills are exact: a proxy in front of the sandbox kills cct (SIGKILL) once the sandbox has
 * made the change and before cct sees the answer.
 */
import assert from 'node:assert/strict'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import {IAMClient, ListAttachedRolePoliciesCommand, ListRoleTagsCommand} from '@aws-sdk/client-iam'

import {accountSnapshot} from '../support/account.js'
import {cli} from '../support/cct.js'
import {FaultProxy, type ProxiedCall} from '../support/fault-proxy.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({
  seed: true,
  redis: false,
  fidelity: {replicationGroupCreateSeconds: 1, replicationGroupDeleteSeconds: 1, eniLingerSeconds: 1},
})

let proxy: FaultProxy | undefined
after(() => proxy?.stop())

/** `cct <args>` through the proxy; `killAt` picks the call after whose change cct is killed. */
async function run(args: string[], config: string, killAt?: (call: ProxiedCall) => boolean) {
  proxy ??= await new FaultProxy(sandbox().endpoint).start()
  const p = proxy
  p.reset((call) => (killAt?.(call) ? 'kill' : 'relay'))
  const result = await cli(
    args,
    {...sandbox().env, AWS_ENDPOINT_URL: proxy.url, CCT_CONFIG: config},
    {onSpawn: (child) => (p.child = child)},
  )
  return {...result, killedByProxy: p.killed}
}

/** The call `operation` on the seeded functions' role (the probe's own role is cct's). */
const onSeedRole = (c: ProxiedCall, operation: string) =>
  c.operation === operation && c.request.includes(`RoleName=${sandbox.seed().roleName}&`)

async function roleOf() {
  const s = sandbox()
  const iam = new IAMClient({endpoint: s.endpoint, region: s.region, maxAttempts: 1})
  const role = sandbox.seed().roleName
  const policies = (await iam.send(new ListAttachedRolePoliciesCommand({RoleName: role}))).AttachedPolicies ?? []
  const tags = (await iam.send(new ListRoleTagsCommand({RoleName: role}))).Tags ?? []
  return {policies: policies.map((p) => p.PolicyArn).sort(), cctTags: tags.filter((t) => t.Key?.startsWith('cct:'))}
}

describe("the function role's policy survives a crash at either edge", () => {
  it('killed right after AttachRolePolicy: setup again, rollback → the role as it was', async () => {
    const config = join(mkdtempSync(join(tmpdir(), 'cct-faults-')), 'cct.json')
    const before = await accountSnapshot(sandbox())
    const original = await roleOf()
    const killed = await run(['setup', '--yes', '--nat'], config, (c) => onSeedRole(c, 'AttachRolePolicy'))
    assert.ok(killed.killedByProxy, `setup reached AttachRolePolicy:\n${killed.stdout}\n${killed.stderr}`)
    assert.equal(killed.code, null, 'killed')
    const mid = await roleOf()
    assert.equal(mid.cctTags.length, 1, `the record was made before the policy was attached: ${JSON.stringify(mid)}`)
    const again = await run(['setup', '--yes', '--nat'], config)
    assert.equal(again.code, 0, again.stderr)
    const rollback = await run(['rollback', '--yes'], config)
    assert.equal(rollback.code, 0, rollback.stderr)
    assert.deepEqual(await roleOf(), original)
    assert.deepEqual(await accountSnapshot(sandbox()), before)
  })

  for (const operation of ['DetachRolePolicy', 'POST-untag-last-function']) {
    it(`rollback killed right after ${operation === 'DetachRolePolicy' ? operation : "the last function's record is cleared"}: rollback again → clean`, async () => {
      const config = join(mkdtempSync(join(tmpdir(), 'cct-faults-')), 'cct.json')
      const before = await accountSnapshot(sandbox())
      const setup = await run(['setup', '--yes', '--nat'], config)
      assert.equal(setup.code, 0, setup.stderr)
      // The last call before DetachRolePolicy changes a function (its record cleared): kill
      // on the mutating call just before DetachRolePolicy, found by a dry count first.
      let killAt: (call: ProxiedCall) => boolean = (c) => onSeedRole(c, 'DetachRolePolicy')
      if (operation !== 'DetachRolePolicy') {
        const probe = await countTo(config, 'DetachRolePolicy')
        killAt = (c) => c.mutating && c.n === probe - 1
      }
      const killed = await run(['rollback', '--yes'], config, killAt)
      assert.ok(killed.killedByProxy, `${killed.stdout}\n${killed.stderr}`)
      const again = await run(['rollback', '--yes'], config)
      assert.equal(again.code, 0, again.stderr)
      const role = await roleOf()
      assert.deepEqual(role.cctTags, [], 'no cct tag left on the role')
      assert.deepEqual(await accountSnapshot(sandbox()), before)
    })
  }
})

/**
 * The place of `operation` among rollback's mutating calls: a rollback killed at it tells
 * (the proxy counts), and setup again restores the stack for the run that is measured.
 */
async function countTo(config: string, operation: string): Promise<number> {
  // A rollback killed at `operation` tells its place; setup again then restores the stack.
  const probe = await run(['rollback', '--yes'], config, (c) => onSeedRole(c, operation))
  const place = proxy!.calls.find((c) => onSeedRole(c, operation))!.n
  assert.ok(probe.killedByProxy)
  const again = await run(['setup', '--yes', '--nat'], config)
  assert.equal(again.code, 0, again.stderr)
  return place
}
