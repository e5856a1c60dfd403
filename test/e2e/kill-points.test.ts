/**
 * Issue #12 item 14, sampled: SIGKILL right after mutating call N of setup (or rollback),
 * the same command again, then rollback → the account equals its snapshot from before
 * setup. Every point takes a whole setup and rollback, so the suite runs six points spread
 * over setup and four over rollback; `scripts/kill-points.ts` sweeps them all.
 */
import assert from 'node:assert/strict'
import {after, describe, it} from 'node:test'

import {FaultProxy, KillPoints, type KillCommand} from '../support/kill-points.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({
  seed: true,
  redis: false,
  fidelity: {replicationGroupCreateSeconds: 1, replicationGroupDeleteSeconds: 1, eniLingerSeconds: 1},
})

const SAMPLE: Record<KillCommand, number[]> = {
  setup: [0.1, 0.3, 0.45, 0.6, 0.8, 1],
  rollback: [0.2, 0.45, 0.7, 0.95],
}

let proxy: FaultProxy | undefined
let counts: {setup: number; rollback: number} | undefined
const points = async () => {
  proxy ??= await new FaultProxy(sandbox().endpoint).start()
  return new KillPoints(sandbox(), proxy)
}
after(() => proxy?.stop())

describe('a crash right after a mutating call converges to the original account', () => {
  it('counts the mutating calls of setup and rollback', async () => {
    counts = await (await points()).count()
    assert.ok(counts.setup > 10 && counts.rollback > 10, JSON.stringify(counts))
  })

  for (const command of ['setup', 'rollback'] as const) {
    for (const [i, fraction] of SAMPLE[command].entries()) {
      it(`${command}, sample point ${i + 1} of ${SAMPLE[command].length} (at ${Math.round(fraction * 100)}% of its calls)`, async () => {
        assert.ok(counts, 'counted first')
        const n = Math.max(1, Math.round(fraction * counts[command]))
        const result = await (await points()).point(command, n)
        assert.ok(result.converged, `killed after call ${n} (${result.operation}): ${result.problem}`)
      })
    }
  }
})
