/**
 * The mutating calls of a whole stack's life, call by call: setup from nothing, a converged
 * re-run, every option (replicas, auto-cache, NAT, alarms), a change and rollback. Refactors of the steps
 * must keep these exactly; a deliberate change of behaviour updates them here, visibly.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import type {ApiCall} from '../../src/aws/call-log.js'
import {STACK_STEPS} from '../../src/stack-steps.js'
import {runSteps} from '../support/cct.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({
  seed: true,
  redis: false,
  fidelity: {replicationGroupCreateSeconds: 0, replicationGroupDeleteSeconds: 0, eniLingerSeconds: 0},
})

/** "Operation xN" per operation, sorted: the order of concurrent steps is not fixed. */
function tally(calls: ApiCall[]): string[] {
  const counts = new Map<string, number>()
  for (const c of calls) counts.set(c.operation, (counts.get(c.operation) ?? 0) + 1)
  return [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([op, n]) => `${op} x${n}`)
}

async function execWrapperOf(name: string): Promise<string | undefined> {
  const {LambdaClient, GetFunctionConfigurationCommand} = await import('@aws-sdk/client-lambda')
  const lambda = new LambdaClient({endpoint: sandbox().endpoint, region: sandbox().region, maxAttempts: 1})
  return (await lambda.send(new GetFunctionConfigurationCommand({FunctionName: name}))).Environment?.Variables
    ?.AWS_LAMBDA_EXEC_WRAPPER
}

describe('mutating calls of setup, re-run, change and rollback', () => {
  it('a default stack', async () => {
    const setup = await runSteps(sandbox(), STACK_STEPS)
    const again = await runSteps(sandbox(), STACK_STEPS)
    const rollback = await runSteps(sandbox(), STACK_STEPS, {}, 'destroy')
    const rollbackAgain = await runSteps(sandbox(), STACK_STEPS, {}, 'destroy')
    const counts = {
      setup: setup.mutating.length,
      again: again.mutating.length,
      rollback: rollback.mutating.length,
      rollbackAgain: rollbackAgain.mutating.length,
    }
    console.log(JSON.stringify({counts, setup: tally(setup.mutating), rollback: tally(rollback.mutating)}))
    // Rollback undoes env, layers and VpcConfig in one update per function, then one untag
    // of the three records (it was three of each, 49 calls). Setup writes the three records
    // of a function in one TagResource, ahead of its updates (it was one per step, 52 calls).
    assert.deepEqual(counts, {setup: 42, again: 0, rollback: 29, rollbackAgain: 0})
    assert.equal(rollback.mutating.filter((c) => c.operation === 'UpdateFunctionConfiguration').length, 5)
    assert.equal(setup.mutating.filter((c) => c.operation === 'TagResource').length, 5)
  })

  it('every option: replicas, auto-cache, NAT and alarms; then auto-cache turned off; then rollback', async () => {
    const all = {replicas: 1, autoCache: true, nat: true, alarms: 'ops@example.com'}
    const setup = await runSteps(sandbox(), STACK_STEPS, all)
    const again = await runSteps(sandbox(), STACK_STEPS, all)
    const off = await runSteps(sandbox(), STACK_STEPS, {...all, autoCache: false})
    const offAgain = await runSteps(sandbox(), STACK_STEPS, {...all, autoCache: false})
    const wrapper = await execWrapperOf('articles-api')
    const rollback = await runSteps(sandbox(), STACK_STEPS, {}, 'destroy')
    // Off takes cct's exec wrapper away (it once stayed: apply planned again from the record it had just rewritten).
    assert.equal(wrapper, undefined)
    assert.deepEqual(offAgain.mutating, [])
    const counts = {
      setup: setup.mutating.length,
      again: again.mutating.length,
      off: off.mutating.length,
      rollback: rollback.mutating.length,
    }
    console.log(
      JSON.stringify({
        counts,
        setup: tally(setup.mutating),
        off: tally(off.mutating),
        rollback: tally(rollback.mutating),
      }),
    )
    assert.deepEqual(counts, {setup: 57, again: 0, off: 15, rollback: 39})
  })
})
