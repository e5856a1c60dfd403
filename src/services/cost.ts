import type {CloudWatchClient} from '@aws-sdk/client-cloudwatch'
import {DescribeTableCommand} from '@aws-sdk/client-dynamodb'
import {DescribeReplicationGroupsCommand} from '@aws-sdk/client-elasticache'

import {resolveFunctions} from '../aws/functions.js'
import {hasPending} from '../engine/step.js'
import {CctError, ExitCode, usageError} from '../errors.js'
import {
  cacheNodePrices,
  describePrice,
  dynamodbOnDemandRead,
  dynamodbProvisionedRead,
  HOURS_PER_MONTH,
  lambdaGbSecond,
  monthlyCost,
  natMonthlyUsd,
  natPrices,
  formatGb,
  serverlessPrices,
  type Engine,
  type PriceLookup,
} from '../pricing/prices.js'
import type {ClusterOutput} from '../steps/cluster.js'
import type {NatOutput} from '../steps/nat.js'
import {formatHours, windows} from '../verify/criteria.js'
import {functionTables, hourly, hoursOf, periodFor, sum, type Window} from '../verify/metrics.js'
import {converge} from './converge.js'
import type {StackRequest} from './stack.js'

/** One line of the cost analysis: an amount per month and where its number came from. */
export interface CostLine {
  item: string
  /** Dollars per month; a saving is positive, a cost negative. Undefined when not measurable yet. */
  monthlyUsd?: number
  source: string
}

export interface CostReport {
  stack: string
  region: string
  window: {before?: {start: string; end: string}; after: {start: string; end: string}}
  lines: CostLine[]
  costUsd: number
  savingsUsd?: number
  netUsd?: number
  /** Savings divided by cost. */
  roi?: number
}

export interface CostRequest extends StackRequest {
  hours: number
}

/**
 * The runbook's cost analysis from measured numbers: what the cache (and NAT) cost, what
 * fewer DynamoDB reads and shorter Lambda durations save, per month. Read-only.
 */
export async function costOfStack(request: CostRequest): Promise<CostReport> {
  if (!(request.hours > 0))
    throw usageError(`--hours must be a positive number, got ${request.hours}`, 'Pass e.g. --hours 24')
  const report = await converge({...request, targets: ['vpc', 'nat', 'cluster'], mode: 'plan'})
  const cache = report.steps.find((s) => s.id === 'cluster')!.output as ClusterOutput
  if (hasPending(cache.host))
    throw new CctError(`Stack "${report.stack}" has no cache in ${report.region}`, {
      exitCode: ExitCode.Usage,
      hint: 'Run `cct setup` first',
    })
  const nat = report.steps.find((s) => s.id === 'nat')?.output as NatOutput | undefined

  const {AwsClients} = await import('../aws/clients.js')
  const aws = new AwsClients(request.settings, request.log, request.signal)
  const [elasticache, cw, lambda, dynamodb] = await Promise.all([
    aws.elasticache(),
    aws.cloudwatch(),
    aws.lambda(),
    aws.dynamodb(),
  ])
  const now = new Date()
  const lines: CostLine[] = []
  // Prices are asked for once each and in parallel with the metrics below: the Price List API may be slow to refuse.
  const natGatewayId = nat?.natGatewayId && !hasPending(nat.natGatewayId) ? nat.natGatewayId : undefined
  const natPricing = natGatewayId ? natPrices(aws, report.region) : undefined
  let setupAt: Date | undefined
  if (cache.serverless) {
    const {serverlessCaches} = await import('../steps/serverless-cache.js')
    const described = await serverlessCaches.find(elasticache, cache.replicationGroupId)
    setupAt = described?.CreateTime
    const engine = described?.Engine === 'valkey' ? 'valkey' : 'redis'
    const {after} = windows(setupAt, request.hours, now)
    lines.push(...(await serverlessCostLines(aws, cw, report.region, cache, engine, after)))
  } else {
    const group = (
      await elasticache.send(new DescribeReplicationGroupsCommand({ReplicationGroupId: cache.replicationGroupId}))
    ).ReplicationGroups?.[0]
    setupAt = group?.ReplicationGroupCreateTime
    const engine = group?.Engine === 'valkey' ? 'valkey' : 'redis'
    const nodeType = group?.CacheNodeType ?? 'unknown'
    const nodes = group?.MemberClusters?.length ?? cache.nodes.length
    const nodePrices = await cacheNodePrices(aws, report.region, engine)
    const price = monthlyCost(nodePrices, nodeType, nodes)
    const hourly = nodePrices.hourly(nodeType)
    lines.push({
      item: `Cache ${cache.replicationGroupId}: ${nodes} × ${nodeType} ${engine}`,
      monthlyUsd: price.monthlyUsd === undefined ? undefined : -price.monthlyUsd,
      source: `DescribeReplicationGroups; ${'usd' in hourly ? describePrice(hourly, `$${hourly.usd}/node-hour × ${HOURS_PER_MONTH} h`) : price.note}`,
    })
  }
  const {after, before} = windows(setupAt, request.hours, now)
  const span = (w: Window) => `${w.start.toISOString().slice(0, 16)}–${w.end.toISOString().slice(11, 16)} UTC`
  const natPrice = await natPricing
  if (natGatewayId && natPrice) {
    lines.push({
      item: `NAT gateway ${natGatewayId}`,
      monthlyUsd: -natMonthlyUsd(natPrice),
      source: `${describePrice(natPrice.hourly, `$${natPrice.hourly.usd}/hour × ${HOURS_PER_MONTH} h`)}; plus $${natPrice.perGb.usd}/GB processed, not counted`,
    })
  }

  const functions = await resolveFunctions(lambda, request.options, report.region)
  const tables = await functionTables(cw, functions)
  const perHour = (n: number, w: Window) => n / Math.max(hoursOf(w), 1 / 60)
  for (const table of tables) {
    const metric = {namespace: 'AWS/DynamoDB', name: 'ConsumedReadCapacityUnits', dimensions: {TableName: table}}
    const [readsAfter, readsBefore, described] = await Promise.all([
      sum(cw, metric, after),
      before ? sum(cw, metric, before) : Promise.resolve(0),
      dynamodb.send(new DescribeTableCommand({TableName: table})),
    ])
    const mode =
      described.Table?.BillingModeSummary?.BillingMode ??
      (described.Table?.ProvisionedThroughput?.ReadCapacityUnits ? 'PROVISIONED' : 'PAY_PER_REQUEST')
    const source = `CloudWatch AWS/DynamoDB ConsumedReadCapacityUnits Sum: ${Math.round(readsAfter)} after setup (${span(after)})${before ? `, ${Math.round(readsBefore)} before (${span(before)})` : ''}`
    if (!before || readsBefore === 0) {
      lines.push({item: `DynamoDB reads on ${table}`, source: `${source}; no reads before setup to compare with`})
      continue
    }
    const savedPerHour = perHour(readsBefore, before) - perHour(readsAfter, after)
    // Provisioned: a read unit per second saved is one RCU less; on-demand: each read unit is billed.
    const provisioned = mode === 'PROVISIONED'
    const price = provisioned
      ? await dynamodbProvisionedRead(aws, report.region)
      : await dynamodbOnDemandRead(aws, report.region)
    const monthly = provisioned
      ? (savedPerHour / 3600) * price.usd * HOURS_PER_MONTH
      : savedPerHour * HOURS_PER_MONTH * price.usd
    lines.push({
      item: `DynamoDB reads on ${table} (${provisioned ? 'provisioned: if you lower read capacity to match' : 'on-demand'})`,
      monthlyUsd: round(monthly),
      source: `${source}; ${describePrice(price, provisioned ? `$${price.usd}/RCU-hour` : `$${round6(price.usd * 1e6)}/million read units`)}`,
    })
  }

  for (const fn of functions) {
    const metric = {namespace: 'AWS/Lambda', name: 'Duration', dimensions: {FunctionName: fn.name}}
    const [msAfter, msBefore] = await Promise.all([
      sum(cw, metric, after),
      before ? sum(cw, metric, before) : Promise.resolve(0),
    ])
    const memoryGb = (fn.memoryMb ?? 128) / 1024
    const source = `CloudWatch AWS/Lambda Duration Sum: ${Math.round(msAfter)} ms after setup${before ? `, ${Math.round(msBefore)} ms before` : ''}, at ${fn.memoryMb ?? 128} MB`
    if (!before || msBefore === 0) {
      if (msAfter > 0)
        lines.push({
          item: `Lambda duration of ${fn.name}`,
          source: `${source}; no invocations before setup to compare with`,
        })
      continue
    }
    const savedGbSecondsPerHour = ((perHour(msBefore, before) - perHour(msAfter, after)) / 1000) * memoryGb
    const architecture = fn.architecture ?? 'x86_64'
    const price = await lambdaGbSecond(aws, report.region, architecture)
    lines.push({
      item: `Lambda duration of ${fn.name}`,
      monthlyUsd: round(savedGbSecondsPerHour * HOURS_PER_MONTH * price.usd),
      source: `${source}; ${describePrice(price, `$${price.usd}/GB-second (${architecture})`)}`,
    })
  }

  const costs = lines.filter((l) => (l.monthlyUsd ?? 0) < 0).reduce((n, l) => n - l.monthlyUsd!, 0)
  const savingLines = lines.filter(
    (l) => !l.item.startsWith('Cache ') && !l.item.startsWith('NAT ') && l.monthlyUsd !== undefined,
  )
  const savingsUsd = savingLines.length ? round(savingLines.reduce((n, l) => n + l.monthlyUsd!, 0)) : undefined
  return {
    stack: report.stack,
    region: report.region,
    window: {
      after: {start: after.start.toISOString(), end: after.end.toISOString()},
      ...(before ? {before: {start: before.start.toISOString(), end: before.end.toISOString()}} : {}),
    },
    lines,
    costUsd: round(costs),
    savingsUsd,
    netUsd: savingsUsd === undefined ? undefined : round(savingsUsd - costs),
    roi: savingsUsd === undefined || costs === 0 ? undefined : Math.round((savingsUsd / costs) * 100) / 100,
  }
}

/**
 * A serverless cache's bill, from what it measured since setup: data stored (the window's
 * average BytesUsedForCache, metered at no less than the engine's minimum) and ECPUs (the
 * window's ElastiCacheProcessingUnits per hour), each as a month at that rate.
 */
async function serverlessCostLines(
  aws: PriceLookup,
  cw: CloudWatchClient,
  region: string,
  cache: ClusterOutput,
  engine: Engine,
  after: Window,
): Promise<CostLine[]> {
  const dimensions = cache.metricDimensions[0] ?? {clusterId: cache.replicationGroupId}
  const metric = (name: string) => ({namespace: 'AWS/ElastiCache', name, dimensions})
  const [prices, ecpus, stored] = await Promise.all([
    serverlessPrices(aws, region, engine),
    sum(cw, metric('ElastiCacheProcessingUnits'), after),
    hourly(cw, metric('BytesUsedForCache'), after, 'Average', periodFor(after)),
  ])
  const averageGb = stored.length ? stored.reduce((n, p) => n + p.value, 0) / stored.length / 1024 ** 3 : 0
  const meteredGb = Math.max(averageGb, prices.minimumGb)
  const hours = Math.max(hoursOf(after), 1 / 60)
  const name = `Cache ${cache.replicationGroupId} (serverless ${engine})`
  const where = `CloudWatch AWS/ElastiCache clusterId=${dimensions.clusterId}`
  return [
    {
      item: `${name}: data stored`,
      monthlyUsd: -round(meteredGb * prices.storageGbHour.usd * HOURS_PER_MONTH),
      source: `${where} BytesUsedForCache Average ${formatGb(round6(averageGb))}, metered at least ${formatGb(prices.minimumGb)}; ${describePrice(prices.storageGbHour, `$${prices.storageGbHour.usd}/GB-hour × ${HOURS_PER_MONTH} h`)}`,
    },
    {
      item: `${name}: ECPUs`,
      monthlyUsd: -round(((ecpus / hours) * HOURS_PER_MONTH * prices.ecpuPerMillion.usd) / 1e6),
      source: `${where} ElastiCacheProcessingUnits Sum: ${Math.round(ecpus)} in ${formatHours(hours)} since setup, as a month at that rate; ${describePrice(prices.ecpuPerMillion, `$${prices.ecpuPerMillion.usd}/million ECPUs`)}`,
    },
  ]
}

function round(usd: number): number {
  return Math.round(usd * 100) / 100
}

function round6(n: number): number {
  return Math.round(n * 1e6) / 1e6
}
