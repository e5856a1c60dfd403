/**
 * Offline on-demand prices of ElastiCache nodes, so the cost is shown before anything is
 * created without a Pricing API call (which needs its own permission and region).
 * Source: the AWS ElastiCache pricing page, us-east-1, Redis OSS; Valkey nodes are 20%
 * cheaper. Regions priced like us-east-1 are listed; others say so.
 */
export const PRICES_AS_OF = '2025-06-01'

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

/** Regions whose ElastiCache on-demand prices equal us-east-1's. */
const SAME_AS_US_EAST_1 = new Set(['us-east-1', 'us-east-2', 'us-west-2'])

const VALKEY_DISCOUNT = 0.8
const HOURS_PER_MONTH = 730

export interface CostEstimate {
  monthlyUsd?: number
  /** Why there is no number, or what it assumes. */
  note: string
}

export function monthlyCost(region: string, engine: 'redis' | 'valkey', nodeType: string, nodes: number): CostEstimate {
  const hourly = REDIS_HOURLY_US_EAST_1[nodeType]
  if (hourly === undefined) return {note: `no offline price for ${nodeType}; see the ElastiCache pricing page`}
  if (!SAME_AS_US_EAST_1.has(region)) return {note: `no offline prices for ${region} (have us-east-1, us-east-2, us-west-2); see the ElastiCache pricing page`}
  const perNode = hourly * (engine === 'valkey' ? VALKEY_DISCOUNT : 1) * HOURS_PER_MONTH
  return {monthlyUsd: Math.round(perNode * nodes * 100) / 100, note: `${nodes} node${nodes === 1 ? '' : 's'}, on-demand prices of ${PRICES_AS_OF}`}
}

export function formatCost(cost: CostEstimate): string {
  return cost.monthlyUsd === undefined ? cost.note : `about $${cost.monthlyUsd.toFixed(2)}/month (${cost.note})`
}

export function pricedNodeTypes(): string[] {
  return Object.keys(REDIS_HOURLY_US_EAST_1)
}

/** A NAT gateway, us-east-1 on-demand of PRICES_AS_OF: per hour ($0.045) over a month, plus $0.045 per GB processed. */
export const NAT_MONTHLY_USD = Math.round(0.045 * HOURS_PER_MONTH * 100) / 100
export const NAT_PER_GB_USD = 0.045
