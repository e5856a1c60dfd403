import {DescribeCacheClustersCommand, DescribeReplicationGroupsCommand} from '@aws-sdk/client-elasticache'
import {resolveFunctions} from '../aws/functions.js'
import {hasPending} from '../engine/step.js'
import {CctError, ExitCode, usageError} from '../errors.js'
import type {ClusterOutput} from '../steps/cluster.js'
import type {LayerOutput} from '../steps/layer.js'
import type {ProbeOutput} from '../steps/probe.js'
import type {SecurityGroupsOutput} from '../steps/security-groups.js'
import type {VpcOutput} from '../steps/vpc.js'
import {judgeCriteria, measure, type Criterion, type Measurements} from '../verify/criteria.js'
import {checkFunctionPaths, type FunctionPath} from '../verify/paths.js'
import {runProbe, type ProbeRun} from '../verify/probe-run.js'
import {probeEndpoint, type EndpointCheck} from '../verify/redis-probe.js'
import {defaultEvent, sendTraffic, type TrafficResult} from '../verify/traffic.js'
import {converge} from './converge.js'
import type {StackRequest} from './stack.js'

export interface VerifyRequest extends StackRequest {
  /** A URL that reaches the cache from here (a tunnel); the probe needs none. */
  redisUrl?: string
  /** Hours of metrics (may be fractional). */
  hours: number
  /** The hit rate the runbook aims for, 0..1. */
  target: number
  /** Invoke each function this many times first (opt-in: it is the user's code). */
  traffic?: number
  /** The event for --traffic; default an API Gateway GET of the root path. */
  event?: unknown
  onProgress?: (message: string) => void
}

export interface VerifyReport {
  stack: string
  region: string
  cache: ClusterOutput & {status: string; engine?: string; engineVersion?: string; createdAt?: string}
  probe: ProbeRun
  functions: FunctionPath[]
  traffic?: TrafficResult[]
  criteria: Criterion[]
  /** The figures the criteria were judged on (CloudWatch sums over the window). */
  measurements: Measurements
  endpoint?: EndpointCheck & {mismatch?: string[]}
  ok: boolean
}

/**
 * Does the cache serve the functions? From inside the VPC (the probe, hop by hop), along
 * each function's own path, and against the runbook's success criteria measured from
 * CloudWatch. Read-only, apart from invoking the probe (and the functions with --traffic).
 */
export async function verifyStack(request: VerifyRequest): Promise<VerifyReport> {
  if (request.redisUrl !== undefined && !/^rediss?:\/\//.test(request.redisUrl)) {
    throw usageError(
      `--redis-url must start with redis:// or rediss://, got "${request.redisUrl.replace(/\/\/[^@/]*@/, '//****@')}"`,
      'Pass e.g. rediss://localhost:6380 (a tunnel to the cache)',
    )
  }
  if (!(request.hours > 0))
    throw usageError(`--hours must be a positive number, got ${request.hours}`, 'Pass e.g. --hours 24')
  if (
    request.traffic !== undefined &&
    !(Number.isInteger(request.traffic) && request.traffic > 0 && request.traffic <= 1000)
  ) {
    throw usageError(
      `--traffic must be a whole number from 1 to 1000, got ${request.traffic}`,
      'Pass e.g. --traffic 20',
    )
  }
  const report = await converge({...request, targets: ['vpc', 'sg', 'cluster', 'layer', 'probe'], mode: 'plan'})
  const output = <T>(id: string) => report.steps.find((s) => s.id === id)?.output as T
  const cache = output<ClusterOutput>('cluster')
  if (hasPending(cache.host))
    throw new CctError(`Stack "${report.stack}" has no cache in ${report.region}`, {
      exitCode: ExitCode.Usage,
      hint: 'Run `cct setup` first',
    })
  const vpc = output<VpcOutput>('vpc')
  const sg = output<SecurityGroupsOutput>('sg')
  const layer = output<LayerOutput>('layer')
  const probe = output<ProbeOutput>('probe')

  const {AwsClients} = await import('../aws/clients.js')
  const aws = new AwsClients(request.settings, request.log, request.signal)
  const [lambda, ec2, cw, elasticache] = await Promise.all([
    aws.lambda(),
    aws.ec2(),
    aws.cloudwatch(),
    aws.elasticache(),
  ])
  const group = cache.serverless
    ? await describeServerless(elasticache, cache.replicationGroupId)
    : await describeGroup(elasticache, cache.replicationGroupId)
  const functions = await resolveFunctions(lambda, request.options, report.region)

  request.onProgress?.("checking each function's path to the cache")
  const network = {
    vpcId: vpc.vpcId,
    cacheGroupId: sg.cacheGroupId,
    host: cache.host,
    port: cache.port,
    tls: cache.tls,
    layerVersionArn: layer.layerVersionArn,
    layerArn: layer.layerArn,
  }
  const paths = hasPending(network) ? [] : await checkFunctionPaths(ec2, lambda, network, functions)

  let traffic: TrafficResult[] | undefined
  if (request.traffic) {
    traffic = await sendTraffic(
      lambda,
      functions.map((f) => f.name),
      request.traffic,
      (name) => request.event ?? defaultEvent(name),
      (done, total) => request.onProgress?.(`invoking the functions: ${done}/${total}`),
    )
  }

  // Metrics before the probe: its own cache commands are not the functions' traffic.
  request.onProgress?.('reading CloudWatch metrics')
  const basis = {
    cw,
    cache: {id: cache.replicationGroupId, status: group.status, series: cache.metricDimensions},
    functions,
    setupAt: group.createdAt,
    hours: request.hours,
  }
  const measurements = await measure(basis)
  request.onProgress?.(`invoking ${probe.functionName} inside the VPC`)
  const probeRun = await runProbe(lambda, probe.functionName, {host: cache.host, port: cache.port, tls: cache.tls})
  const criteria = judgeCriteria({...basis, paths, probe: probeRun, hitRateTarget: request.target}, measurements)

  let endpoint: VerifyReport['endpoint']
  if (request.redisUrl) {
    const check = await probeEndpoint(request.redisUrl)
    const mismatch: string[] = []
    const reachedTls = request.redisUrl.startsWith('rediss://')
    if (check.ok && reachedTls !== cache.tls)
      mismatch.push(`TLS ${reachedTls ? 'on' : 'off'} here, ${cache.tls ? 'on' : 'off'} on the stack's cache`)
    if (
      check.ok &&
      check.version &&
      group.engineVersion &&
      !check.version.startsWith(group.engineVersion.split('.')[0]!)
    )
      mismatch.push(`version ${check.version}, the stack's cache runs ${group.engine} ${group.engineVersion}`)
    endpoint = {...check, ...(mismatch.length ? {mismatch} : {})}
  }

  const ok =
    probeRun.ok && paths.every((p) => p.ok) && !criteria.some((c) => c.verdict === 'failed') && (endpoint?.ok ?? true)
  return {
    stack: report.stack,
    region: report.region,
    cache: {
      ...cache,
      status: group.status,
      engine: group.engine,
      engineVersion: group.engineVersion,
      createdAt: group.createdAt?.toISOString(),
    },
    probe: probeRun,
    functions: paths,
    traffic,
    criteria,
    measurements,
    endpoint,
    ok,
  }
}

async function describeServerless(elasticache: import('@aws-sdk/client-elasticache').ElastiCacheClient, name: string) {
  const {serverlessCaches} = await import('../steps/serverless-cache.js')
  const c = await serverlessCaches.find(elasticache, name)
  return {
    status: c?.Status ?? 'missing',
    engine: c?.Engine,
    engineVersion: c?.FullEngineVersion ?? c?.MajorEngineVersion,
    createdAt: c?.CreateTime,
  }
}

async function describeGroup(elasticache: import('@aws-sdk/client-elasticache').ElastiCacheClient, id: string) {
  const {ReplicationGroups = []} = await elasticache.send(
    new DescribeReplicationGroupsCommand({ReplicationGroupId: id}),
  )
  const g = ReplicationGroups[0]
  const member = g?.MemberClusters?.[0]
  const cluster = member
    ? (await elasticache.send(new DescribeCacheClustersCommand({CacheClusterId: member}))).CacheClusters?.[0]
    : undefined
  return {
    status: g?.Status ?? 'missing',
    engine: g?.Engine ?? cluster?.Engine,
    engineVersion: cluster?.EngineVersion,
    createdAt: g?.ReplicationGroupCreateTime ?? cluster?.CacheClusterCreateTime,
  }
}
