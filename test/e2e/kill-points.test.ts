/**
 * Issue #12 item 14, sampled: SIGKILL at a point of setup (or rollback), the same command
 * again, then rollback → the account equals its snapshot from before setup; at the kill,
 * every change to a function or role cct does not own already carries its record; after
 * setup again, `cct status` finds nothing missing. Every point takes a whole lifecycle, so
 * the suite kills at three points of each command, one per kind of record (a resource cct
 * owns, a function's record, the user's role's record), picked by the call rather than by
 * its number so concurrent steps cannot move them; `scripts/kill-points.ts` sweeps every
 * mutating call (bench/results/kill-points-*.md).
 */
import assert from 'node:assert/strict'
import {after, describe, it} from 'node:test'

import type {ProxiedCall} from '../support/fault-proxy.js'
import {FaultProxy, KillPoints, type KillAt, type KillCommand} from '../support/kill-points.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({
  seed: true,
  redis: false,
  fidelity: {replicationGroupCreateSeconds: 1, replicationGroupDeleteSeconds: 1, eniLingerSeconds: 1},
})

/** A call on the seeded functions' role (the probe's role is cct's own). */
const onUserRole = (operation: string) => (c: ProxiedCall) =>
  c.operation === operation && new RegExp(`RoleName=${sandbox.seed().roleName}(&|$)`).test(c.request)
/** An update of a seeded function's configuration (not the probe's). */
const userFunctionUpdate = (c: ProxiedCall) =>
  /^PUT\/2015-03-31\/functions\/(?!cct-probe)[^/]+\/configuration$/.test(c.operation)

const SAMPLE: Record<KillCommand, {what: string; at: () => KillAt}[]> = {
  setup: [
    {
      what: 'after CreateReplicationGroup (a resource cct owns, still creating)',
      at: () => ({after: (c) => c.operation === 'CreateReplicationGroup'}),
    },
    {
      what: "after a function's first configuration update (its record made first)",
      at: () => ({after: userFunctionUpdate}),
    },
    {
      what: "after AttachRolePolicy on the user's role (its record made first)",
      at: () => ({after: onUserRole('AttachRolePolicy')}),
    },
  ],
  rollback: [
    {
      what: "after a function's first configuration restore (its record still there)",
      at: () => ({after: userFunctionUpdate}),
    },
    {
      what: "before DetachRolePolicy: every function's record cleared, the role's policy and record left",
      at: () => ({before: onUserRole('DetachRolePolicy')}),
    },
    {what: "after DetachRolePolicy (the role's record left)", at: () => ({after: onUserRole('DetachRolePolicy')})},
  ],
}

let proxy: FaultProxy | undefined
const points = async () => {
  proxy ??= await new FaultProxy(sandbox().endpoint).start()
  return new KillPoints(sandbox(), proxy)
}
after(() => proxy?.stop())

describe('a crash at a point of setup or rollback converges to the original account', () => {
  for (const command of ['setup', 'rollback'] as const) {
    for (const {what, at} of SAMPLE[command]) {
      it(`${command}, killed ${what}`, async () => {
        const result = await (await points()).point(command, at())
        assert.ok(result.converged, `killed at ${result.operation} (mutating call ${result.n}): ${result.problem}`)
      })
    }
  }
})
