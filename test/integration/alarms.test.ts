/**
 * Alarms on the runbook's targets are opt-in, go where the user says (an email gets a
 * topic of cct's own), converge with zero calls, and leave with the stack.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {CloudWatchClient, DescribeAlarmsCommand} from '@aws-sdk/client-cloudwatch'
import {CreateTopicCommand, ListSubscriptionsByTopicCommand, ListTopicsCommand, SNSClient} from '@aws-sdk/client-sns'

import {STACK_STEPS} from '../../src/stack-steps.js'
import {cli, runSteps} from '../support/cct.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({seed: true, redis: false})
const config = () => ({
  endpoint: sandbox().endpoint,
  region: sandbox().region,
  maxAttempts: 1,
  credentials: {accessKeyId: 'test', secretAccessKey: 'test'},
})

describe('alarms', () => {
  it('an email gets a topic and four alarms over every node and function; again: zero calls; rollback removes them', async () => {
    const {report} = await runSteps(sandbox(), STACK_STEPS, {alarms: 'ops@example.com', replicas: 1})
    const cw = new CloudWatchClient(config())
    const sns = new SNSClient(config())
    const {MetricAlarms = []} = await cw.send(new DescribeAlarmsCommand({AlarmNamePrefix: 'cct-'}))
    assert.deepEqual(MetricAlarms.map((a) => a.AlarmName).sort(), [
      'cct-cache-cpu',
      'cct-cache-evictions',
      'cct-cache-hit-rate',
      'cct-function-errors',
    ])
    const hitRate = MetricAlarms.find((a) => a.AlarmName === 'cct-cache-hit-rate')!
    assert.equal(hitRate.Threshold, 80)
    assert.equal(hitRate.ComparisonOperator, 'LessThanThreshold')
    const nodes = hitRate.Metrics!.flatMap((m) => m.MetricStat?.Metric?.Dimensions?.map((d) => d.Value) ?? [])
    assert.deepEqual([...new Set(nodes)].sort(), ['cct-cache-001', 'cct-cache-002'], 'every member node counts')
    const errors = MetricAlarms.find((a) => a.AlarmName === 'cct-function-errors')!
    assert.equal(
      errors.Metrics!.filter((m) => m.MetricStat).length,
      (report.steps.find((s) => s.id === 'attach')!.output as {functions: string[]}).functions.length,
    )

    const {Topics = []} = await sns.send(new ListTopicsCommand({}))
    const topic = Topics.find((t) => t.TopicArn!.endsWith(':cct-alarms'))!
    assert.ok(MetricAlarms.every((a) => a.AlarmActions!.includes(topic.TopicArn!)))
    const {Subscriptions = []} = await sns.send(new ListSubscriptionsByTopicCommand({TopicArn: topic.TopicArn}))
    assert.deepEqual(
      Subscriptions.map((s) => [s.Protocol, s.Endpoint]),
      [['email', 'ops@example.com']],
    )

    assert.deepEqual(
      (await runSteps(sandbox(), STACK_STEPS, {alarms: 'ops@example.com', replicas: 1})).mutating,
      [],
      'converged',
    )

    await runSteps(sandbox(), STACK_STEPS, {}, 'destroy')
    assert.deepEqual((await cw.send(new DescribeAlarmsCommand({AlarmNamePrefix: 'cct-'}))).MetricAlarms, [])
    assert.ok(
      !((await sns.send(new ListTopicsCommand({}))).Topics ?? []).some((t) => t.TopicArn!.endsWith(':cct-alarms')),
    )
  })

  it("a topic ARN is used as it is, and survives rollback (it is the user's)", async () => {
    const sns = new SNSClient(config())
    const {TopicArn} = await sns.send(new CreateTopicCommand({Name: 'ops-pager'}))
    await runSteps(sandbox(), STACK_STEPS, {alarms: TopicArn})
    const {MetricAlarms = []} = await new CloudWatchClient(config()).send(
      new DescribeAlarmsCommand({AlarmNamePrefix: 'cct-'}),
    )
    assert.equal(MetricAlarms.length, 4)
    assert.ok(MetricAlarms.every((a) => a.AlarmActions!.length === 1 && a.AlarmActions![0] === TopicArn))
    assert.deepEqual(
      (await runSteps(sandbox(), STACK_STEPS, {alarms: TopicArn})).mutating,
      [],
      'converged: the plan compares with the topic given',
    )
    await runSteps(sandbox(), STACK_STEPS, {}, 'destroy')
    assert.ok(((await sns.send(new ListTopicsCommand({}))).Topics ?? []).some((t) => t.TopicArn === TopicArn))
  })

  it('a target that is neither an email nor a topic ARN: one line, exit 2, no call that changes anything', async () => {
    const result = await cli(['setup', '--yes', '--alarms', 'ops-team'], sandbox().env)
    assert.equal(result.code, 2, result.stderr)
    assert.match(
      result.stderr,
      /--alarms "ops-team" is neither an email address nor an SNS topic ARN\. Pass e\.g\. --alarms ops@example\.com/,
    )
    assert.deepEqual(result.mutating, [])
  })
})
