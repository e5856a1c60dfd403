import {CctError} from '../errors.js'
import {hasPending} from '../engine/step.js'
import type {ClusterOutput} from '../steps/cluster.js'
import {hitRate, type HitRate} from '../verify/hit-rate.js'
import {probeEndpoint, type EndpointCheck} from '../verify/redis-probe.js'
import {converge} from './converge.js'
import type {StackRequest} from './stack.js'

export interface VerifyRequest extends StackRequest {
  /** A URL that reaches the cache from here (a tunnel); the endpoint is private to its VPC. */
  redisUrl?: string
  hours: number
  /** The hit rate the runbook aims for. */
  target: number
}

export interface Check {
  name: string
  ok: boolean
  detail: string
}

export interface VerifyReport {
  stack: string
  region: string
  cache: ClusterOutput
  endpoint?: EndpointCheck
  hitRate: HitRate
  checks: Check[]
  ok: boolean
}

/**
 * Is the cache in place and working? The functions' configuration (VPC, layer, env) is
 * read from AWS, the endpoint is tried through --redis-url, and the hit rate comes from
 * CloudWatch. Read-only.
 */
export async function verifyStack(request: VerifyRequest): Promise<VerifyReport> {
  const report = await converge({...request, targets: ['cluster', 'attach', 'layer-attach', 'env'], mode: 'plan'})
  const step = (id: string) => report.steps.find((s) => s.id === id)!
  const cache = step('cluster').output as ClusterOutput
  if (hasPending(cache.host)) throw new CctError(`Stack "${report.stack}" has no cache in ${report.region}`, {exitCode: 2, hint: 'Run `cct setup` first'})
  const checks: Check[] = [{name: 'cache', ok: step('cluster').changes.length === 0, detail: `${cache.replicationGroupId} at ${cache.host}:${cache.port} (TLS ${cache.tls ? 'on' : 'off'})`}]
  for (const id of ['attach', 'layer-attach', 'env']) {
    const s = step(id)
    const functions = (s.output as {functions?: string[]} | undefined)?.functions ?? []
    checks.push({
      name: s.title,
      ok: s.changes.length === 0,
      detail: s.changes.length === 0 ? `${functions.length} function(s) in place` : s.changes.map((c) => `${c.name}: ${c.detail ?? c.action}`).join('; '),
    })
  }
  let endpoint: EndpointCheck | undefined
  if (request.redisUrl) {
    endpoint = await probeEndpoint(request.redisUrl)
    checks.push({name: 'endpoint', ok: endpoint.ok, detail: endpoint.ok ? `${endpoint.url}: ${endpoint.detail}; PING p50 ${endpoint.pingMs!.p50} ms, max ${endpoint.pingMs!.max} ms${endpoint.version ? `; server ${endpoint.version}` : ''}` : `${endpoint.url}: ${endpoint.detail}`})
  }
  const {AwsClients} = await import('../aws/clients.js')
  const aws = new AwsClients(request.settings, request.log, request.signal)
  const rate = await hitRate(await aws.cloudwatch(), cache.nodes, request.hours)
  return {stack: report.stack, region: report.region, cache, endpoint, hitRate: rate, checks, ok: checks.every((c) => c.ok)}
}
