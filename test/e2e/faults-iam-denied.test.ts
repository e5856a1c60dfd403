/**
 * Issue #12 item 14: each IAM write setup and rollback make, denied once (403 AccessDenied
 * from the fault proxy; the call never reaches the sandbox). cct must exit 4 naming the
 * action, leave no change to a role or function it does not own without its record, and
 * the next run, with the permission back, must go on from there; in the end rollback
 * leaves the account exactly as it began.
 *
 * One account goes through the denials in turn (each run gets one step further), so the
 * file costs about one setup and one rollback more than a plain lifecycle. The function
 * role's writes (attach step) and the probe role's (probe step) run side by side, so each
 * run denies the next write of both.
 */
import assert from 'node:assert/strict'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import {probeRoleName} from '../../src/steps/probe.js'
import {accountSnapshot, unrecordedChanges} from '../support/account.js'
import {cli} from '../support/cct.js'
import {FaultProxy, type ProxiedCall} from '../support/fault-proxy.js'
import {differences} from '../support/kill-points.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({
  seed: true,
  redis: false,
  fidelity: {replicationGroupCreateSeconds: 1, replicationGroupDeleteSeconds: 1, eniLingerSeconds: 1},
})

type Role = 'functions' | 'probe'
interface Denial {
  action: string
  role: Role
}

/** The IAM writes in the order each step makes them; each run denies the next one of each role. */
const SETUP_DENIALS: Denial[][] = [
  [
    {action: 'TagRole', role: 'functions'},
    {action: 'CreateRole', role: 'probe'},
  ],
  [
    {action: 'AttachRolePolicy', role: 'functions'},
    {action: 'AttachRolePolicy', role: 'probe'},
  ],
  [{action: 'PutRolePolicy', role: 'probe'}],
]
const ROLLBACK_DENIALS: Denial[][] = [
  [
    {action: 'DetachRolePolicy', role: 'functions'},
    {action: 'DetachRolePolicy', role: 'probe'},
  ],
  [
    {action: 'UntagRole', role: 'functions'},
    {action: 'DeleteRolePolicy', role: 'probe'},
  ],
  [{action: 'DeleteRole', role: 'probe'}],
]
const SETUP = ['setup', '--yes', '--nat']
const ROLLBACK = ['rollback', '--yes']

let proxy: FaultProxy | undefined
after(() => proxy?.stop())

const roleName = (role: Role) => (role === 'functions' ? sandbox.seed().roleName : probeRoleName('cct'))
const isCall = (call: ProxiedCall, d: Denial) =>
  call.operation === d.action && new RegExp(`RoleName=${roleName(d.role)}(&|$)`).test(call.request)

/** `cct <args>` through the proxy, each of `denials` refused the first time it is called. */
async function run(args: string[], config: string, denials: Denial[] = []) {
  proxy ??= await new FaultProxy(sandbox().endpoint).start()
  const p = proxy
  const refused = new Set<Denial>()
  p.reset(undefined, (call) => {
    const d = denials.find((x) => !refused.has(x) && isCall(call, x))
    if (d) refused.add(d)
    return d ? 'deny' : 'pass'
  })
  const result = await cli(args, {...sandbox().env, AWS_ENDPOINT_URL: p.url, CCT_CONFIG: config})
  return {...result, refused}
}

describe('each IAM write denied once: exit 4 naming it, nothing unrecorded, the next run goes on', () => {
  const config = join(mkdtempSync(join(tmpdir(), 'cct-denied-')), 'cct.json')
  let original: Record<string, unknown> | undefined

  const denied = async (args: string[], denials: Denial[]) => {
    const result = await run(args, config, denials)
    const names = denials.map((d) => `${d.action} (${d.role} role)`)
    assert.deepEqual(
      denials.filter((d) => !result.refused.has(d)).map((d) => d.action),
      [],
      `every write of ${names.join(', ')} was reached and denied (exit ${result.code}: ${result.stderr.trim()})`,
    )
    assert.equal(result.code, 4, `exit 4 when ${names.join(', ')} denied:\n${result.stderr}`)
    const named = denials.map((d) => `iam:${d.action}`)
    assert.ok(
      named.some((a) => result.stderr.includes(`AWS denied ${a}`)),
      `names ${named.join(' or ')}: ${result.stderr}`,
    )
    assert.deepEqual(unrecordedChanges(original!, await accountSnapshot(sandbox())), [], 'nothing half-done unrecorded')
  }

  // One test: the sandbox is reset before each, and every run here goes on from the last.
  it('setup, then rollback, with each of their IAM writes denied in turn: the account ends as it began', async () => {
    original = await accountSnapshot(sandbox())
    for (const denials of SETUP_DENIALS) await denied(SETUP, denials)
    const setup = await run(SETUP, config)
    assert.equal(setup.code, 0, `setup with the permissions back: ${setup.stderr}`)
    const again = await run(SETUP, config)
    assert.deepEqual(
      again.mutating.map((c) => c.operation),
      [],
      'setup again changes nothing',
    )
    for (const denials of ROLLBACK_DENIALS) await denied(ROLLBACK, denials)
    const rollback = await run(ROLLBACK, config)
    assert.equal(rollback.code, 0, `rollback with the permissions back: ${rollback.stderr}`)
    assert.deepEqual(differences(original, await accountSnapshot(sandbox())), [])
  })
})
