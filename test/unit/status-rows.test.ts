/** cct status's rows from a plan: resources present unless a change names them; changes naming nothing found are missing. */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import type {StepResult} from '../../src/engine/runner.js'
import type {ConvergeReport} from '../../src/services/converge.js'
import {allPresent, statusRows} from '../../src/services/status.js'
import {securityGroupsStep} from '../../src/steps/security-groups.js'
import {planContext, sgState} from '../support/states.js'

function report(steps: Partial<StepResult>[]): ConvergeReport {
  return {
    stack: 'cct',
    region: 'us-east-1',
    mode: 'plan',
    notes: [],
    calls: {total: 0, mutating: 0},
    steps: steps.map((s) => ({id: 'sg', title: '', changes: [], target: true, status: 'planned', ...s}) as StepResult),
  }
}

describe('status rows', () => {
  it('a drifted resource keeps its row with how it differs; the others of the step stay present', () => {
    const state = sgState({cache: {id: 'sg-cache', ingress: [], egress: []}})
    const ctx = planContext()
    const rows = statusRows(
      report([{changes: securityGroupsStep.plan(state, ctx), resources: securityGroupsStep.resources(state, ctx)}]),
    )
    assert.deepEqual(rows, [
      {step: 'sg', resource: 'security-group', name: 'cct-lambda-sg', state: 'present', detail: ''},
      {
        step: 'sg',
        resource: 'security-group',
        name: 'cct-cache-sg',
        state: 'drifted',
        detail: 'ingress tcp 6379 from sg-lambda missing',
      },
    ])
    assert.equal(allPresent(rows), false)
  })

  it('nothing there: one missing row per thing a run would create, named as it will be', () => {
    const ctx = planContext()
    const rows = statusRows(
      report([{changes: securityGroupsStep.plan({vpcId: 'pending:cct-vpc'}, ctx), resources: []}]),
    )
    assert.deepEqual(
      rows.map((r) => [r.name, r.state]),
      [
        ['cct-lambda-sg', 'missing'],
        ['cct-cache-sg', 'missing'],
      ],
    )
    assert.match(
      rows[1]!.detail,
      /^cct: the cache; admits Redis only from the Lambda group; tcp 6379 from cct-lambda-sg; all outbound/,
    )
  })

  it('converged: every row present', () => {
    const ctx = planContext()
    const rows = statusRows(report([{changes: [], resources: securityGroupsStep.resources(sgState(), ctx)}]))
    assert.ok(allPresent(rows))
    assert.equal(rows.length, 2)
  })
})
