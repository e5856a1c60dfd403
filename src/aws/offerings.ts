import {
  DescribeCacheEngineVersionsCommand,
  DescribeReservedCacheNodesOfferingsCommand,
  type ElastiCacheClient,
} from '@aws-sdk/client-elasticache'

import {usageError} from '../errors.js'
import {DEFAULT_ENGINE_VERSION, optionLabel, type StackOptions} from '../options.js'
import {isAwsError} from './errors.js'

/**
 * Node types ElastiCache documents (API reference, CacheNode; "Supported node types",
 * ElastiCache User Guide). The region's own answer decides; this list names a likely
 * typo's intended type and stands in when the region cannot be asked.
 */
export const CURRENT_NODE_TYPES = [
  ...['micro', 'small', 'medium'].flatMap((size) => [`cache.t4g.${size}`, `cache.t3.${size}`]),
  ...['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge'].flatMap((size) => [
    `cache.m7g.${size}`,
    `cache.m6g.${size}`,
    `cache.r7g.${size}`,
    `cache.r6g.${size}`,
  ]),
  ...['large', 'xlarge', '2xlarge', '4xlarge', '12xlarge', '24xlarge'].flatMap((size) => [
    `cache.m5.${size}`,
    `cache.r5.${size}`,
  ]),
  ...['large', 'xlarge', '2xlarge', '4xlarge', '10xlarge'].map((size) => `cache.m4.${size}`),
  ...['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '16xlarge'].map((size) => `cache.r4.${size}`),
  ...['xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge'].map((size) => `cache.r6gd.${size}`),
  ...['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge'].map((size) => `cache.c7gn.${size}`),
]

/**
 * "Previous generation ... creation of new clusters is not supported for these types"
 * (API reference, CacheNode), and T2, which ElastiCache moved there ("you can no longer
 * create new clusters with T2 instances", Supported node types).
 */
export const PREVIOUS_NODE_TYPES = [
  'cache.t1.micro',
  ...['small', 'medium', 'large', 'xlarge'].map((size) => `cache.m1.${size}`),
  ...['medium', 'large', 'xlarge', '2xlarge'].map((size) => `cache.m3.${size}`),
  ...['xlarge', '2xlarge', '4xlarge'].map((size) => `cache.m2.${size}`),
  ...['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge'].map((size) => `cache.r3.${size}`),
  'cache.c1.xlarge',
  ...['micro', 'small', 'medium'].map((size) => `cache.t2.${size}`),
]

const DENIED = ['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation']

/**
 * What CreateReplicationGroup would refuse after the network, the groups and the
 * functions had already changed: an engine version the region does not offer
 * (DescribeCacheEngineVersions), a node type it does not offer (DescribeReservedCache
 * NodesOfferings: every node type a region has is offered reserved), one of the previous
 * generation. Read-only; `note` gets what could not be checked (a denied Describe).
 */
export async function checkCacheOffering(
  elasticache: ElastiCacheClient,
  region: string,
  options: StackOptions,
  note: (message: string) => void,
): Promise<void> {
  const version = options.engineVersion ?? DEFAULT_ENGINE_VERSION[options.engine]
  const versions = await engineVersions(elasticache, options.engine).catch((error: unknown) => {
    if (!isAwsError(error, ...DENIED)) throw error
    note(
      `Could not list ${options.engine} engine versions (elasticache:DescribeCacheEngineVersions denied); ${version} is not checked before the cache is created.`,
    )
    return undefined
  })
  if (versions && versions.length > 0 && !versions.some((v) => sameVersion(v, version))) {
    throw usageError(
      `${options.engine} ${version}${options.engineVersion ? ` (${optionLabel(options, 'engineVersion')})` : ''} is not an engine version ElastiCache offers in ${region}`,
      `Offered: ${latestFirst(versions).slice(0, 8).join(', ')}`,
    )
  }

  const nodeType = options.nodeType
  const label = optionLabel(options, 'nodeType')
  if (PREVIOUS_NODE_TYPES.includes(nodeType)) {
    throw usageError(
      `${nodeType} (${label}) is a previous-generation node type; ElastiCache creates no new caches on it`,
      'Use cache.t4g.micro or cache.t3.micro (or a larger current type)',
    )
  }
  const offered = await nodeTypeOffered(elasticache, nodeType).catch((error: unknown) => {
    if (!isAwsError(error, ...DENIED)) throw error
    note(
      `Could not ask which node types ${region} offers (elasticache:DescribeReservedCacheNodesOfferings denied); ${nodeType} is checked against the documented list only.`,
    )
    return CURRENT_NODE_TYPES.includes(nodeType)
  })
  if (!offered) {
    const guess = closest(nodeType, CURRENT_NODE_TYPES)
    throw usageError(
      `${nodeType} (${label}) is not a node type ElastiCache offers in ${region}`,
      guess
        ? `Did you mean ${guess}?`
        : 'Pick one of cache.t4g.micro, cache.t3.micro, cache.m7g.large, cache.r7g.large, ...',
    )
  }
}

async function engineVersions(elasticache: ElastiCacheClient, engine: string): Promise<string[]> {
  const versions: string[] = []
  let Marker: string | undefined
  do {
    const page = await elasticache.send(new DescribeCacheEngineVersionsCommand({Engine: engine, Marker}))
    versions.push(...(page.CacheEngineVersions ?? []).map((v) => v.EngineVersion!).filter(Boolean))
    Marker = page.Marker
  } while (Marker)
  return versions
}

async function nodeTypeOffered(elasticache: ElastiCacheClient, nodeType: string): Promise<boolean> {
  const {ReservedCacheNodesOfferings = []} = await elasticache.send(
    new DescribeReservedCacheNodesOfferingsCommand({CacheNodeType: nodeType, MaxRecords: 20}),
  )
  return ReservedCacheNodesOfferings.some((o) => o.CacheNodeType === nodeType)
}

/** "7.1" is "7.1"; "6.x" (how Redis 6 was once asked for) is any 6. */
function sameVersion(offered: string, asked: string): boolean {
  if (offered === asked) return true
  const major = /^(\d+)\.x$/.exec(asked)?.[1]
  return major !== undefined && offered.split('.')[0] === major
}

function latestFirst(versions: string[]): string[] {
  const key = (v: string) => v.split('.').map((n) => Number(n) || 0)
  return [...new Set(versions)].sort((a, b) => {
    const [x, y] = [key(a), key(b)]
    for (let i = 0; i < Math.max(x.length, y.length); i++)
      if ((x[i] ?? 0) !== (y[i] ?? 0)) return (y[i] ?? 0) - (x[i] ?? 0)
    return 0
  })
}

/** The closest candidate within two edits of `word` ("mirco" is two from "micro"). */
function closest(word: string, candidates: readonly string[]): string | undefined {
  const scored = candidates.map((c) => [c, distance(word, c)] as const).sort((a, b) => a[1] - b[1])
  return scored[0] && scored[0][1] <= 2 ? scored[0][0] : undefined
}

function distance(a: string, b: string): number {
  const row = Array.from({length: b.length + 1}, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1))
      previous = current
    }
  }
  return row[b.length]!
}
