import {GetMetricStatisticsCommand, type CloudWatchClient} from '@aws-sdk/client-cloudwatch'

export interface NodeHitRate {
  node: string
  hits: number
  misses: number
}

export interface HitRate {
  nodes: NodeHitRate[]
  hits: number
  misses: number
  /** hits / (hits + misses), or undefined when nothing was read yet. */
  rate?: number
  hours: number
}

/**
 * The cache hit rate over the last `hours`, from ElastiCache's CacheHits and CacheMisses.
 * They are published per member node (<group>-001, ...), not per replication group.
 */
export async function hitRate(cloudwatch: CloudWatchClient, nodes: string[], hours: number, now = new Date()): Promise<HitRate> {
  const start = new Date(now.getTime() - hours * 3600_000)
  const sum = async (node: string, metric: 'CacheHits' | 'CacheMisses') => {
    const {Datapoints = []} = await cloudwatch.send(
      new GetMetricStatisticsCommand({
        Namespace: 'AWS/ElastiCache',
        MetricName: metric,
        Dimensions: [{Name: 'CacheClusterId', Value: node}],
        StartTime: start,
        EndTime: now,
        Period: Math.max(60, Math.ceil((hours * 3600) / 1440 / 60) * 60),
        Statistics: ['Sum'],
      }),
    )
    return Datapoints.reduce((total, d) => total + (d.Sum ?? 0), 0)
  }
  const perNode = await Promise.all(nodes.map(async (node) => ({node, hits: await sum(node, 'CacheHits'), misses: await sum(node, 'CacheMisses')})))
  const hits = perNode.reduce((n, x) => n + x.hits, 0)
  const misses = perNode.reduce((n, x) => n + x.misses, 0)
  return {nodes: perNode, hits, misses, rate: hits + misses > 0 ? hits / (hits + misses) : undefined, hours}
}
