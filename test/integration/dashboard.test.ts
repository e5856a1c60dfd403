import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {
  CloudWatchClient,
  GetDashboardCommand,
  ListDashboardsCommand,
  PutDashboardCommand,
} from '@aws-sdk/client-cloudwatch'

import {STACK_STEPS} from '../../src/stack-steps.js'
import {cli, runSteps} from '../support/cct.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({seed: true, redis: false})
const cloudwatch = () => new CloudWatchClient({endpoint: sandbox().endpoint, region: sandbox().region, maxAttempts: 1})

interface Body {
  widgets: {type: string; properties: {title?: string; markdown?: string; metrics?: unknown[][]}}[]
}

describe('cct dashboard', () => {
  it('charts the hit rate of every cache node; again makes zero calls; rollback removes it', async () => {
    await runSteps(sandbox(), STACK_STEPS, {replicas: 1})
    const {DashboardBody} = await cloudwatch().send(new GetDashboardCommand({DashboardName: 'cct-cache'}))
    const body = JSON.parse(DashboardBody!) as Body
    const rate = body.widgets.find((w) => w.properties.title === 'Hit rate (%)')!
    const nodes = rate.properties.metrics!.flat().filter((x) => typeof x === 'string' && /^cct-cache-\d{3}$/.test(x))
    assert.deepEqual(
      [...new Set(nodes)].sort(),
      ['cct-cache-001', 'cct-cache-002'],
      'one hit-rate line per member node',
    )
    assert.ok(JSON.stringify(rate).includes('100 * h0 / (h0 + m0)'))
    assert.match(body.widgets[0]!.properties.markdown!, /Managed by cct, stack cct/)

    assert.deepEqual((await runSteps(sandbox(), ['dashboard'])).mutating, [])
    await runSteps(sandbox(), STACK_STEPS, {}, 'destroy')
    const {DashboardEntries = []} = await cloudwatch().send(new ListDashboardsCommand({}))
    assert.deepEqual(
      DashboardEntries.map((d) => d.DashboardName),
      [],
    )
  })

  it("refuses to overwrite a dashboard of the same name that is not cct's", async () => {
    await cloudwatch().send(
      new PutDashboardCommand({DashboardName: 'cct-cache', DashboardBody: JSON.stringify({widgets: []})}),
    )
    // setup plans the whole stack first, so the conflict stops it before any change.
    const result = await cli(['setup', '--yes', '--config', '/tmp/cct-dashboard-test.json'], sandbox().env)
    assert.equal(result.code, 5, result.stderr)
    assert.match(
      result.stderr,
      /CloudWatch dashboard cct-cache exists but was not made by cct\. Rename it, or choose another --stack/,
    )
    assert.deepEqual(result.mutating, [])
    const {DashboardBody} = await cloudwatch().send(new GetDashboardCommand({DashboardName: 'cct-cache'}))
    assert.deepEqual(JSON.parse(DashboardBody!), {widgets: []})
  })
})
