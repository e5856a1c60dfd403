import {
  DeleteAlarmsCommand,
  DescribeAlarmsCommand,
  ListTagsForResourceCommand,
  PutMetricAlarmCommand,
} from '@aws-sdk/client-cloudwatch'
import {
  CreateTopicCommand,
  DeleteTopicCommand,
  ListSubscriptionsByTopicCommand,
  ListTagsForResourceCommand as ListTopicTagsCommand,
  ListTopicsCommand,
  SubscribeCommand,
} from '@aws-sdk/client-sns'
import type {CloudWatchClient, MetricAlarm, PutMetricAlarmCommandInput} from '@aws-sdk/client-cloudwatch'
import type {SNSClient} from '@aws-sdk/client-sns'

import {
  hasPending,
  isUndoing,
  operations,
  pending,
  resolvePending,
  unknownOperation,
  type Change,
  type Step,
} from '../engine/step.js'
import {usageError} from '../errors.js'
import {hasStackTags, stackTags} from '../tags.js'

export interface AlarmsOutput {
  alarms: string[]
  topicArn?: string
}

declare module '../engine/step.js' {
  interface StepOutputs {
    alarms: AlarmsOutput
  }
}

/** The runbook's targets as alarms: what a person should hear about. */
const HIT_RATE_TARGET = 80
const CPU_TARGET = 75

export const alarmTopicName = (stack: string) => `${stack}-alarms`
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/
const TOPIC_ARN = /^arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/

/** `--alarms` names where alarms go: an email address (cct makes a topic) or an SNS topic ARN. */
export function validateAlarmTarget(target: string): void {
  if (!EMAIL.test(target) && !TOPIC_ARN.test(target)) {
    throw usageError(
      `--alarms "${target}" is neither an email address nor an SNS topic ARN`,
      'Pass e.g. --alarms ops@example.com or --alarms arn:aws:sns:us-east-1:123456789012:ops',
    )
  }
}

export interface AlarmsState {
  /** Where alarms should go; undefined when alarms were not asked for. */
  target?: string
  /** The cache's AWS/ElastiCache series: {CacheClusterId} per node, or {clusterId} for a serverless cache. */
  series: Record<string, string>[]
  functions: string[]
  /** cct's alarms of this stack as they are. */
  existing: MetricAlarm[]
  /** cct's own topic, when it made one for an email address. */
  topicArn?: string
  subscribed: boolean
}

/**
 * Alarms on the runbook's targets, opt-in (`--alarms`): hit rate below 80% over an hour,
 * engine CPU above 75%, evictions, and the functions' errors. An email address gets a topic
 * of cct's own with the address subscribed (AWS asks the address to confirm).
 */
/** What the alarms step does; the ARN of a topic a run creates is pending(its name). */
export type AlarmsOp =
  /** cct's own topic for an email address, with the address subscribed. */
  | {kind: 'create-topic'; id: string; email: string}
  | {kind: 'subscribe'; topicArn: string; email: string}
  | {kind: 'put-alarm'; alarm: PutMetricAlarmCommandInput}
  /** Planned while the cache does not exist yet: its nodes are what the alarms watch. */
  | {kind: 'put-alarms-once-cache-exists'}
  | {kind: 'delete-alarm'; name: string}
  | {kind: 'delete-topic'; topicArn: string}

export const alarmsStep: Step<'alarms', AlarmsState, AlarmsOp> = {
  id: 'alarms',
  title: 'Alarms on the runbook targets',
  needs: ['cluster', 'attach'],
  command: 'cct setup --alarms <email or topic ARN>',

  async inspect(ctx) {
    const target = ctx.options.alarms
    if (target !== undefined) validateAlarmTarget(target)
    const {metricDimensions: series} = ctx.need('cluster')
    const functions = isUndoing(ctx) ? [] : ctx.need('attach').functions
    // Independent reads, at once: every run's plan waits for this step's.
    const [existing, topic] = await Promise.all([
      ctx.aws.cloudwatch().then((cw) => ourAlarms(cw, ctx.stack)),
      ctx.aws.sns().then((sns) => ourTopic(sns, ctx.stack, target)),
    ])
    return {target, series, functions, existing, topicArn: topic?.arn, subscribed: topic?.subscribed ?? false}
  },

  plan(state, ctx) {
    if (state.target === undefined) return []
    const changes: Change<AlarmsOp>[] = []
    const email = EMAIL.test(state.target) ? state.target : undefined
    const topicArn = email ? (state.topicArn ?? pending(alarmTopicName(ctx.stack))) : state.target
    if (email && !state.topicArn)
      changes.push({
        action: 'create',
        resource: 'sns topic',
        name: alarmTopicName(ctx.stack),
        detail: `alarms mailed to ${email} (AWS asks to confirm)`,
        op: {kind: 'create-topic', id: topicArn, email},
      })
    else if (email && !state.subscribed)
      changes.push({
        action: 'update',
        resource: 'sns topic',
        name: alarmTopicName(ctx.stack),
        detail: `${email} not subscribed`,
        op: {kind: 'subscribe', topicArn, email},
      })
    if (hasPending(state.series) || state.series.length === 0) {
      if (state.existing.length === 0)
        changes.push({
          action: 'create',
          resource: 'alarms',
          name: `${ctx.stack}-*`,
          detail: 'once the cache exists',
          op: {kind: 'put-alarms-once-cache-exists'},
        })
      return changes
    }
    for (const alarm of desiredAlarms(ctx.stack, state, topicArn)) {
      const current = state.existing.find((a) => a.AlarmName === alarm.AlarmName)
      if (!current)
        changes.push({
          action: 'create',
          resource: 'alarm',
          name: alarm.AlarmName!,
          detail: alarm.AlarmDescription,
          op: {kind: 'put-alarm', alarm},
        })
      else if (!sameAlarm(current, alarm))
        changes.push({
          action: 'update',
          resource: 'alarm',
          name: alarm.AlarmName!,
          detail: 'its metrics or action differ',
          op: {kind: 'put-alarm', alarm},
        })
    }
    return changes
  },

  resources(state, ctx) {
    return [
      ...(state.topicArn ? [{resource: 'sns topic', name: alarmTopicName(ctx.stack)}] : []),
      ...state.existing.map((a) => ({resource: 'alarm', name: a.AlarmName!})),
    ]
  },

  output(state) {
    return {alarms: state.existing.map((a) => a.AlarmName!), ...(state.topicArn ? {topicArn: state.topicArn} : {})}
  },

  async apply(state, plan, ctx) {
    const created = new Map<string, string>()
    for (const op of operations(plan)) {
      switch (op.kind) {
        case 'create-topic': {
          const sns = await ctx.aws.sns()
          const {TopicArn} = await sns.send(
            new CreateTopicCommand({
              Name: alarmTopicName(ctx.stack),
              Tags: stackTags(ctx.stack, alarmTopicName(ctx.stack)),
            }),
          )
          created.set(op.id, TopicArn!)
          await sns.send(new SubscribeCommand({TopicArn, Protocol: 'email', Endpoint: op.email}))
          break
        }
        case 'subscribe': {
          await (
            await ctx.aws.sns()
          ).send(new SubscribeCommand({TopicArn: op.topicArn, Protocol: 'email', Endpoint: op.email}))
          break
        }
        case 'put-alarm': {
          const alarm = resolvePending(op.alarm, created)
          await (
            await ctx.aws.cloudwatch()
          ).send(new PutMetricAlarmCommand({...alarm, Tags: stackTags(ctx.stack, alarm.AlarmName!)}))
          break
        }
        case 'put-alarms-once-cache-exists':
          throw new Error('alarms apply ran before the cache exists')
        case 'delete-alarm':
        case 'delete-topic':
          throw new Error(`alarms apply was given ${op.kind}, which only destroy performs`)
        default:
          unknownOperation(op)
      }
    }
    const topicArn = EMAIL.test(state.target!) ? (state.topicArn ?? [...created.values()][0]!) : state.target!
    return {alarms: desiredAlarms(ctx.stack, state, topicArn).map((a) => a.AlarmName!), topicArn}
  },

  destroyPlan(state, ctx) {
    const changes: Change<AlarmsOp>[] = state.existing.map((a) => ({
      action: 'delete',
      resource: 'alarm',
      name: a.AlarmName!,
      op: {kind: 'delete-alarm', name: a.AlarmName!},
    }))
    if (state.topicArn)
      changes.push({
        action: 'delete',
        resource: 'sns topic',
        name: alarmTopicName(ctx.stack),
        op: {kind: 'delete-topic', topicArn: state.topicArn},
      })
    return changes
  },

  async destroy(_state, plan, ctx) {
    const ops = operations(plan)
    // One call deletes every alarm.
    const alarmNames = ops.flatMap((op) => (op.kind === 'delete-alarm' ? [op.name] : []))
    if (alarmNames.length) {
      await (await ctx.aws.cloudwatch()).send(new DeleteAlarmsCommand({AlarmNames: alarmNames}))
    }
    for (const op of ops) {
      if (op.kind === 'delete-topic') {
        await (await ctx.aws.sns()).send(new DeleteTopicCommand({TopicArn: op.topicArn}))
      } else if (op.kind !== 'delete-alarm')
        throw new Error(`alarms destroy was given ${op.kind}, which only apply performs`)
    }
  },
}

/** The four alarms, with metric math across every cache node and function (metrics are per node). */
export function desiredAlarms(
  stack: string,
  state: Pick<AlarmsState, 'series' | 'functions'>,
  topicArn: string,
): PutMetricAlarmCommandInput[] {
  const node = (metric: string, stat: string, period: number) =>
    state.series.map((dims, i) => ({
      Id: `${metric.toLowerCase()}${i}`,
      ReturnData: false,
      MetricStat: {
        Metric: {
          Namespace: 'AWS/ElastiCache',
          MetricName: metric,
          Dimensions: Object.entries(dims).map(([Name, Value]) => ({Name, Value})),
        },
        Period: period,
        Stat: stat,
      },
    }))
  const ids = (metric: string) => state.series.map((_, i) => `${metric.toLowerCase()}${i}`).join(', ')
  // A serverless cache has no engine CPU: it is throttled instead when it reaches its ECPU limit.
  const serverless = state.series.some((d) => 'clusterId' in d)
  const common = {
    ActionsEnabled: true,
    AlarmActions: [topicArn],
    OKActions: [],
    TreatMissingData: 'notBreaching' as const,
    EvaluationPeriods: 1,
    DatapointsToAlarm: 1,
  }
  const alarms: PutMetricAlarmCommandInput[] = [
    {
      ...common,
      AlarmName: `${stack}-cache-hit-rate`,
      AlarmDescription: `cct: cache hit rate below ${HIT_RATE_TARGET}% over an hour (the runbook's target)`,
      ComparisonOperator: 'LessThanThreshold',
      Threshold: HIT_RATE_TARGET,
      Metrics: [
        ...node('CacheHits', 'Sum', 3600),
        ...node('CacheMisses', 'Sum', 3600),
        {
          Id: 'rate',
          Label: 'hit rate %',
          ReturnData: true,
          Expression: `100 * SUM([${ids('CacheHits')}]) / (SUM([${ids('CacheHits')}]) + SUM([${ids('CacheMisses')}]))`,
        },
      ],
    },
    serverless
      ? {
          ...common,
          AlarmName: `${stack}-cache-throttled`,
          AlarmDescription: 'cct: the serverless cache throttled commands (its --max-ecpu limit is reached)',
          ComparisonOperator: 'GreaterThanThreshold',
          Threshold: 0,
          Metrics: [
            ...node('ThrottledCmds', 'Sum', 300),
            {
              Id: 'throttled',
              Label: 'throttled commands',
              ReturnData: true,
              Expression: `SUM([${ids('ThrottledCmds')}])`,
            },
          ],
        }
      : {
          ...common,
          AlarmName: `${stack}-cache-cpu`,
          AlarmDescription: `cct: engine CPU above ${CPU_TARGET}% for 15 minutes on any cache node`,
          ComparisonOperator: 'GreaterThanThreshold',
          Threshold: CPU_TARGET,
          EvaluationPeriods: 3,
          DatapointsToAlarm: 3,
          Metrics: [
            ...node('EngineCPUUtilization', 'Average', 300),
            {
              Id: 'cpu',
              Label: 'max engine CPU %',
              ReturnData: true,
              Expression: `MAX([${ids('EngineCPUUtilization')}])`,
            },
          ],
        },
    {
      ...common,
      AlarmName: `${stack}-cache-evictions`,
      AlarmDescription: 'cct: the cache evicted keys (it is too small for its data)',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      Metrics: [
        ...node('Evictions', 'Sum', 300),
        {Id: 'evictions', Label: 'evictions', ReturnData: true, Expression: `SUM([${ids('Evictions')}])`},
      ],
    },
  ]
  if (state.functions.length) {
    alarms.push({
      ...common,
      AlarmName: `${stack}-function-errors`,
      AlarmDescription: `cct: errors in ${state.functions.join(', ')}`,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      Metrics: [
        ...state.functions.map((fn, i) => ({
          Id: `errors${i}`,
          ReturnData: false,
          MetricStat: {
            Metric: {Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: [{Name: 'FunctionName', Value: fn}]},
            Period: 300,
            Stat: 'Sum',
          },
        })),
        {
          Id: 'errors',
          Label: 'function errors',
          ReturnData: true,
          Expression: `SUM([${state.functions.map((_, i) => `errors${i}`).join(', ')}])`,
        },
      ],
    })
  }
  return alarms
}

/** Compares what cct sets; CloudWatch adds its own fields (state, ARNs, timestamps). */
function sameAlarm(current: MetricAlarm, wanted: PutMetricAlarmCommandInput): boolean {
  const metrics = (m: unknown) =>
    JSON.stringify(m, (_k, v) => (v === undefined || (Array.isArray(v) && v.length === 0) ? undefined : v))
  return (
    current.Threshold === wanted.Threshold &&
    current.ComparisonOperator === wanted.ComparisonOperator &&
    current.EvaluationPeriods === wanted.EvaluationPeriods &&
    JSON.stringify(current.AlarmActions ?? []) === JSON.stringify(wanted.AlarmActions ?? []) &&
    metrics(
      (current.Metrics ?? []).map(({Id, Expression, Label, ReturnData, MetricStat}) => ({
        Id,
        Expression,
        Label,
        ReturnData,
        MetricStat,
      })),
    ) ===
      metrics(
        (wanted.Metrics ?? []).map(({Id, Expression, Label, ReturnData, MetricStat}) => ({
          Id,
          Expression,
          Label,
          ReturnData,
          MetricStat,
        })),
      )
  )
}

async function ourAlarms(cw: CloudWatchClient, stack: string): Promise<MetricAlarm[]> {
  const found: MetricAlarm[] = []
  let NextToken: string | undefined
  do {
    const page = await cw.send(new DescribeAlarmsCommand({AlarmNamePrefix: `${stack}-`, NextToken}))
    found.push(...(page.MetricAlarms ?? []))
    NextToken = page.NextToken
  } while (NextToken)
  const ours: MetricAlarm[] = []
  for (const alarm of found) {
    const {Tags = []} = await cw.send(new ListTagsForResourceCommand({ResourceARN: alarm.AlarmArn!}))
    if (hasStackTags(Tags, stack)) ours.push(alarm)
  }
  return ours
}

async function ourTopic(
  sns: SNSClient,
  stack: string,
  email: string | undefined,
): Promise<{arn: string; subscribed: boolean} | undefined> {
  let NextToken: string | undefined
  do {
    const page = await sns.send(new ListTopicsCommand({NextToken}))
    for (const t of page.Topics ?? []) {
      if (!t.TopicArn?.endsWith(`:${alarmTopicName(stack)}`)) continue
      const {Tags = []} = await sns.send(new ListTopicTagsCommand({ResourceArn: t.TopicArn}))
      if (!hasStackTags(Tags, stack)) continue
      const {Subscriptions = []} = await sns.send(new ListSubscriptionsByTopicCommand({TopicArn: t.TopicArn}))
      return {
        arn: t.TopicArn,
        subscribed: email !== undefined && Subscriptions.some((s) => s.Protocol === 'email' && s.Endpoint === email),
      }
    }
    NextToken = page.NextToken
  } while (NextToken)
  return undefined
}
