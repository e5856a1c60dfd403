/** The progress renderers and the short plan, from events and reports built by hand: no AWS, no terminal. */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import type {RunEvent} from '../../src/engine/events.js'
import type {StepResult} from '../../src/engine/runner.js'
import type {Change, StepId} from '../../src/engine/step.js'
import type {ConvergeReport} from '../../src/services/converge.js'
import {jsonEvent} from '../../src/ui/progress/json-lines.js'
import {linesRenderer} from '../../src/ui/progress/lines.js'
import {formatShortPlan} from '../../src/ui/report.js'

const change = (action: Change['action'], resource: string, name: string, extra: Partial<Change> = {}): Change => ({
  action,
  resource,
  name,
  op: {kind: 'x'},
  ...extra,
})
const step = (id: string, title: string, changes: Change[], extra: Partial<StepResult> = {}): StepResult => ({
  id: id as StepId,
  title,
  changes,
  target: true,
  status: 'planned',
  ...extra,
})
const report = (steps: StepResult[], mode: ConvergeReport['mode'] = 'plan'): ConvergeReport => ({
  stack: 'cct',
  region: 'us-east-1',
  mode,
  steps,
  notes: [],
  calls: {total: 0, mutating: 0},
})

function lines(events: RunEvent[], clock: number[] = []): string[] {
  const out: string[] = []
  let i = 0
  const renderer = linesRenderer(
    (l) => out.push(l),
    () => clock[Math.min(i++, clock.length - 1)] ?? 0,
  )
  for (const e of events) renderer.onEvent(e)
  return out
}

const started: RunEvent = {
  type: 'run-started',
  mode: 'apply',
  steps: [
    {id: 'vpc', title: 'Network (VPC, subnets)', target: true},
    {id: 'cluster', title: 'Cache (ElastiCache replication group)', target: true},
  ],
}

describe('plain progress lines', () => {
  it('no line when a step starts; its progress and its end, with its own time', () => {
    const out = lines([
      started,
      {type: 'step-started', id: 'vpc'},
      {type: 'step-applying', id: 'vpc', changes: 2},
      {type: 'step-progress', id: 'vpc', message: 'created vpc-1'},
      {
        type: 'step-done',
        id: 'vpc',
        result: step(
          'vpc',
          'Network (VPC, subnets)',
          [change('create', 'vpc', 'cct-vpc'), change('create', 'subnet', 'cct-a')],
          {status: 'changed'},
        ),
        seconds: 1.25,
      },
    ])
    assert.deepEqual(out, ['  Network: created vpc-1', '✔ Network (VPC, subnets): done (2 changes) [1.3s]'])
  })

  it('a skipped step is not ticked, and a failure is marked without repeating its message', () => {
    const out = lines([
      started,
      {type: 'step-failed', id: 'vpc', error: 'VPC vpc-9 does not exist in us-east-1. Check --vpc-id', seconds: 0.2},
      {type: 'step-skipped', id: 'cluster', because: 'vpc'},
    ])
    assert.deepEqual(out, [
      '✖ Network (VPC, subnets): failed [0.2s]',
      '↓ Cache (ElastiCache replication group): skipped (Network failed)',
    ])
  })

  it('a wait with a usual duration shows at once, then at most every 15 s; a short wait without one shows nothing', () => {
    const wait = (elapsedSeconds: number, estimate?: string): RunEvent => ({
      type: 'step-waiting',
      id: 'cluster',
      message: `waiting for cct-cache to be available: creating (${elapsedSeconds}s elapsed${estimate ? `, ${estimate}` : ''})`,
      waiting: {what: 'cct-cache to be available', status: 'creating', elapsedSeconds, ...(estimate ? {estimate} : {})},
    })
    const out = lines(
      [
        started,
        wait(0, 'usually 5-15 minutes'),
        wait(5, 'usually 5-15 minutes'),
        wait(16, 'usually 5-15 minutes'),
        wait(1),
      ],
      [0, 5_000, 16_000, 17_000],
    )
    assert.deepEqual(out, [
      '  Cache: waiting for cct-cache to be available: creating (0s elapsed, usually 5-15 minutes)',
      '  Cache: waiting for cct-cache to be available: creating (16s elapsed, usually 5-15 minutes)',
    ])
  })
})

describe('--progress json', () => {
  it('public words: steps by id, status as in the result, no run mode', () => {
    assert.deepEqual(jsonEvent(started), {
      event: 'start',
      dryRun: false,
      removing: false,
      steps: [
        {step: 'vpc', title: 'Network (VPC, subnets)', requested: true},
        {step: 'cluster', title: 'Cache (ElastiCache replication group)', requested: true},
      ],
    })
    const done = jsonEvent({
      type: 'step-done',
      id: 'vpc',
      result: step('vpc', 'Network', [], {status: 'converged', target: false}),
      seconds: 0.123,
    })
    assert.deepEqual(done, {event: 'step-done', step: 'vpc', status: 'not-requested', changes: 0, seconds: 0.1})
  })
})

describe('the short plan before the confirm', () => {
  const plan = report([
    step('vpc', 'Network (VPC, subnets)', [
      change('create', 'vpc', 'cct-vpc', {detail: '10.0.0.0/16'}),
      change('create', 'subnet', 'cct-subnet-a', {detail: '10.0.1.0/24 in us-east-1a'}),
      change('create', 'subnet', 'cct-subnet-b', {detail: '10.0.2.0/24 in us-east-1b'}),
    ]),
    step('cluster', 'Cache (ElastiCache replication group)', [
      change('create', 'replication-group', 'cct-cache', {
        detail: 'redis 7.1, cache.t3.micro x1, TLS on; about $12.41/month (1 node, list)',
        cost: 'about $12.41/month (1 node, list)',
        takes: {minMinutes: 5, maxMinutes: 15},
      }),
    ]),
    step('attach', 'Functions into the VPC', [
      change('update', 'function-vpc', 'articles-api'),
      change('update', 'function-vpc', 'news-api'),
    ]),
    step('env', 'Function environment (REDIS_HOST)', [
      change('update', 'function-env', 'articles-api'),
      change('update', 'function-env', 'news-api'),
    ]),
    step('nat', 'NAT gateway (opt-in)', []),
  ])

  it('a line per part of the stack: what cct creates counted, your functions named once; then cost and time', () => {
    assert.equal(
      formatShortPlan(plan, {listedBy: 'cct plan'}),
      [
        '',
        'Plan for stack "cct" in us-east-1: 8 changes (`cct plan` lists each)',
        '  Network                 create vpc cct-vpc (10.0.0.0/16), 2 subnets',
        '  Cache                   create replication-group cct-cache (redis 7.1, cache.t3.micro x1, TLS on)',
        '  Functions into the VPC  update function-vpc articles-api, news-api',
        '  Function environment    update function-env of the same 2',
        '',
        '  Cost  cache: about $12.41/month (1 node, list)',
        '  Time  usually 5-15 minutes, most of it creating the cache cct-cache',
      ].join('\n'),
    )
  })

  it('says what cannot be undone, once, after the cost', () => {
    const oneWay = 'cluster mode cannot be turned off again'
    const moving = report([
      step('cluster', 'Cache (ElastiCache)', [
        change('update', 'replication-group', 'cct-cache', {oneWay}),
        change('update', 'replication-group', 'cct-cache', {oneWay, cost: 'about $49.64/month (4 nodes)'}),
      ]),
    ])
    assert.deepEqual(formatShortPlan(moving, {listedBy: 'cct plan'}).split('\n').slice(-2), [
      '  Cost  cache: about $49.64/month (4 nodes)',
      `  Undo  not possible: ${oneWay}`,
    ])
  })

  it('wraps to the width it is given', () => {
    const text = formatShortPlan(plan, {listedBy: 'cct plan', width: 60})
    for (const line of text.split('\n')) assert.ok(line.length <= 60, line)
    assert.match(
      text,
      /^ {2}Cache {19}create replication-group cct-cache\n {26}\(redis 7\.1, cache\.t3\.micro x1, TLS\n {26}on\)$/m,
      'continued under the column',
    )
  })
})
