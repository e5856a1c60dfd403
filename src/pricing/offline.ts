/**
 * Offline list prices: the fallback when the AWS Price List API does not answer (it needs
 * `pricing:GetProducts`, which many deploy roles lack, and a route to us-east-1), so a cost
 * is still shown before anything is created. Source: the AWS pricing pages, us-east-1
 * on-demand, Redis OSS; Valkey nodes are 20% cheaper.
 */
export const OFFLINE_AS_OF = '2025-06-01'
export const OFFLINE_SOURCE = `offline prices of ${OFFLINE_AS_OF}`

const REDIS_HOURLY_US_EAST_1: Record<string, number> = {
  'cache.t4g.micro': 0.016,
  'cache.t3.micro': 0.017,
  'cache.t4g.small': 0.032,
  'cache.t3.small': 0.034,
  'cache.t4g.medium': 0.065,
  'cache.t3.medium': 0.068,
  'cache.m7g.large': 0.158,
  'cache.m6g.large': 0.149,
  'cache.r7g.large': 0.219,
  'cache.r6g.large': 0.206,
}

/** Regions whose on-demand prices (ElastiCache, NAT, DynamoDB, Lambda) equal us-east-1's. */
export const OFFLINE_REGIONS = ['us-east-1', 'us-east-2', 'us-west-2']

const VALKEY_DISCOUNT = 0.8

/** The node types setup offers (the list the table prices). */
export const NODE_TYPES = Object.keys(REDIS_HOURLY_US_EAST_1)

/** Hourly on-demand price of one node, or undefined when the table has no price for that region or type. */
export function offlineNodeHourly(region: string, engine: 'redis' | 'valkey', nodeType: string): number | undefined {
  const hourly = REDIS_HOURLY_US_EAST_1[nodeType]
  if (hourly === undefined || !OFFLINE_REGIONS.includes(region)) return undefined
  // Rounded as AWS lists them (to the 1/10000 of a cent), so 0.016 × 0.8 is 0.0128, not 0.012800000000000002.
  return engine === 'valkey' ? Math.round(hourly * VALKEY_DISCOUNT * 1e6) / 1e6 : hourly
}

/** us-east-1 prices of the services the cost analysis counts; used for every region when offline (the source says so). */
export const OFFLINE_US_EAST_1 = {
  natHourly: 0.045,
  natPerGb: 0.045,
  dynamodbPerReadRequestUnit: 0.125 / 1e6,
  dynamodbPerRcuHour: 0.00013,
  lambdaPerGbSecond: {x86_64: 0.0000166667, arm64: 0.0000133334},
}

/**
 * ElastiCache Serverless, us-east-1 (the ElastiCache pricing page, as of OFFLINE_AS_OF): data
 * stored per GB-hour, metered at no less than the engine's minimum, and ECPUs per million.
 */
export const OFFLINE_SERVERLESS_US_EAST_1 = {
  valkey: {storageGbHour: 0.084, ecpuPerMillion: 0.0023},
  redis: {storageGbHour: 0.125, ecpuPerMillion: 0.0034},
} as const

/** What ElastiCache Serverless meters at least, in GB: 100 MB for Valkey, 1 GB for Redis OSS (the pricing page). */
export const SERVERLESS_MINIMUM_GB = {valkey: 0.1, redis: 1} as const
