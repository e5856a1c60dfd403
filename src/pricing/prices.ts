import type {AwsClients} from '../aws/clients.js'
import {
  OFFLINE_AS_OF,
  OFFLINE_REGIONS,
  OFFLINE_SERVERLESS_US_EAST_1,
  OFFLINE_SOURCE,
  OFFLINE_US_EAST_1,
  offlineNodeHourly,
  SERVERLESS_MINIMUM_GB,
} from './offline.js'
import type {ListedProduct} from './price-list.js'

/**
 * Where every price cct shows comes from: the AWS Price List API when it answers (so every
 * region is priced), else the offline table. Each price says which, so a figure can be
 * traced. Answers are kept for the life of the process (setup's screen, its plan and its
 * apply ask the same questions), and once the API has refused or failed, the rest of the
 * process does not wait on it again.
 */

export const HOURS_PER_MONTH = 730

/** A price in USD per unit and where it came from ("Price List API, <date>" or "offline prices of <date>"). */
export interface Priced {
  usd: number
  source: string
  /** Why the offline table was used: the API's error, or that it listed no such product. */
  fallback?: string
}

/** What the lookups need of AwsClients (a narrow type, so tests can pass a stand-in). */
export type PriceLookup = Pick<AwsClients, 'pricing' | 'settings'>

/** One query's bound, pages included: the setup screen waits on it. */
const QUERY_DEADLINE_MS = 5000

interface Answer {
  products: ListedProduct[]
  /** Why the API was not used, when it was not. */
  failed?: string
}

const answers = new Map<string, Promise<Answer>>()
const refused = new Map<string, string>()

/** Forget every answer (tests that change what the API answers within one process). */
export function forgetPrices(): void {
  answers.clear()
  refused.clear()
}

function query(aws: PriceLookup, serviceCode: string, filters: Record<string, string>): Promise<Answer> {
  // Another endpoint or profile is another API (the sandbox, another account's permissions).
  const who = `${aws.settings.endpoint ?? ''}|${aws.settings.profile ?? ''}`
  const key = `${who}|${serviceCode}|${JSON.stringify(filters)}`
  let pending = answers.get(key)
  if (!pending) {
    pending = (async (): Promise<Answer> => {
      const known = refused.get(who)
      if (known) return {products: [], failed: known}
      try {
        const {getProducts} = await import('./price-list.js')
        const products = await getProducts(
          await aws.pricing(),
          serviceCode,
          filters,
          AbortSignal.timeout(QUERY_DEADLINE_MS),
        )
        return products.length
          ? {products}
          : {products, failed: `no ${serviceCode} product for ${filters.regionCode ?? 'these filters'}`}
      } catch (error) {
        const why = describeFailure(error)
        refused.set(who, why)
        return {products: [], failed: why}
      }
    })()
    answers.set(key, pending)
  }
  return pending
}

function describeFailure(error: unknown): string {
  const e = error as {name?: string; code?: string; message?: string}
  const name =
    e?.name === 'AbortError' || e?.name === 'TimeoutError'
      ? `no answer within ${QUERY_DEADLINE_MS / 1000} s`
      : (e?.code ?? e?.name ?? 'error')
  if (/AccessDenied/i.test(name)) return `${name} (needs pricing:GetProducts)`
  return name
}

function fromApi(product: ListedProduct, usd: number): Priced {
  return {usd, source: product.published ? `Price List API, ${product.published}` : 'Price List API'}
}

/** Offline, for a region the table covers; else us-east-1's price, saying so. */
function offline(region: string, usd: number, fallback?: string): Priced {
  return {
    usd,
    source: OFFLINE_REGIONS.includes(region) ? OFFLINE_SOURCE : `offline us-east-1 prices of ${OFFLINE_AS_OF}`,
    fallback,
  }
}

function usage(product: ListedProduct): string {
  return product.attributes.usagetype ?? ''
}

/** The paid on-demand price of the first product that `pick` accepts. */
async function pickPrice(
  answer: Promise<Answer>,
  pick: (p: ListedProduct) => boolean,
  unit?: RegExp,
): Promise<Priced | {failed: string}> {
  const {products, failed} = await answer
  const {listPrice} = await import('./price-list.js')
  for (const product of products.filter(pick)) {
    const usd = listPrice(product, unit)
    if (usd !== undefined) return fromApi(product, usd)
  }
  return {failed: failed ?? 'no matching product listed'}
}

function orOffline(found: Priced | {failed: string}, region: string, usd: number): Priced {
  return 'usd' in found ? found : offline(region, usd, found.failed)
}

// ---------------------------------------------------------------- ElastiCache

export type Engine = 'redis' | 'valkey'

export interface NodePrices {
  region: string
  engine: Engine
  /** One node's hourly price, or why there is none. */
  hourly(nodeType: string): Priced | {note: string}
}

/** Every node type's hourly price in one query (the setup screen lists ten). */
export async function cacheNodePrices(aws: PriceLookup, region: string, engine: Engine): Promise<NodePrices> {
  const answer = await query(aws, 'AmazonElastiCache', {
    regionCode: region,
    productFamily: 'Cache Instance',
    cacheEngine: engine === 'valkey' ? 'Valkey' : 'Redis',
  })
  const {listPrice} = await import('./price-list.js')
  const listed = new Map<string, Priced>()
  for (const product of answer.products) {
    const type = product.attributes.instanceType
    // Node hours only: the family also lists surcharges (extended support) per node type.
    if (!type || /ExtendedSupport/i.test(`${usage(product)} ${product.attributes.operation ?? ''}`)) continue
    const usd = listPrice(product, /^Hrs$/i)
    if (usd !== undefined && !listed.has(type)) listed.set(type, fromApi(product, usd))
  }
  return {
    region,
    engine,
    hourly(nodeType) {
      const found = listed.get(nodeType)
      if (found) return found
      const why = answer.failed ?? `the Price List API lists no ${engine} ${nodeType} in ${region}`
      const usd = offlineNodeHourly(region, engine, nodeType)
      if (usd !== undefined) return {usd, source: OFFLINE_SOURCE, fallback: why}
      return {note: `no price for ${nodeType} in ${region} (${why}); see the ElastiCache pricing page`}
    },
  }
}

export interface CostEstimate {
  monthlyUsd?: number
  /** What it assumes and where the price came from, or why there is no number. */
  note: string
  source?: string
  /** Why the offline table was used. */
  fallback?: string
}

export function monthlyCost(prices: NodePrices, nodeType: string, nodes: number): CostEstimate {
  const hourly = prices.hourly(nodeType)
  if (!('usd' in hourly)) return {note: hourly.note}
  const monthlyUsd = Math.round(hourly.usd * HOURS_PER_MONTH * nodes * 100) / 100
  return {
    monthlyUsd,
    note: `${nodes} node${nodes === 1 ? '' : 's'}, ${hourly.source}`,
    source: hourly.source,
    fallback: hourly.fallback,
  }
}

export function formatCost(cost: CostEstimate): string {
  return cost.monthlyUsd === undefined ? cost.note : `about $${cost.monthlyUsd.toFixed(2)}/month (${cost.note})`
}

// ---------------------------------------------------------------- ElastiCache Serverless

export interface ServerlessPrices {
  engine: Engine
  storageGbHour: Priced
  ecpuPerMillion: Priced
  /** What is metered at least, in GB (Valkey 0.1, Redis OSS 1). */
  minimumGb: number
}

/**
 * A serverless cache is billed for data stored (GB-hours, never below the engine's minimum)
 * and for ECPUs (about one per KB a command reads or writes). Products are told apart by unit,
 * not usage type (whose names vary by region prefix).
 */
export async function serverlessPrices(aws: PriceLookup, region: string, engine: Engine): Promise<ServerlessPrices> {
  const answer = query(aws, 'AmazonElastiCache', {
    regionCode: region,
    productFamily: 'ElastiCache Serverless',
    cacheEngine: engine === 'valkey' ? 'Valkey' : 'Redis',
  })
  const unitOf = (p: ListedProduct) => p.onDemand[0]?.unit ?? ''
  const [storage, ecpu] = await Promise.all([
    pickPrice(answer, (p) => /^GB-?(Hrs|Hours?)$/i.test(unitOf(p)), /^GB-?(Hrs|Hours?)$/i),
    pickPrice(answer, (p) => /ECPU/i.test(unitOf(p)), /ECPU/i),
  ])
  const offlinePrices = OFFLINE_SERVERLESS_US_EAST_1[engine]
  // Listed per ECPU; shown and computed per million, as the pricing page states it.
  const perMillion: Priced | {failed: string} = 'usd' in ecpu ? {...ecpu, usd: round10(ecpu.usd * 1e6)} : ecpu
  return {
    engine,
    storageGbHour: orOffline(storage, region, offlinePrices.storageGbHour),
    ecpuPerMillion: orOffline(perMillion, region, offlinePrices.ecpuPerMillion),
    minimumGb: SERVERLESS_MINIMUM_GB[engine],
  }
}

const round10 = (n: number) => Math.round(n * 1e10) / 1e10

/** "100 MB" or "1 GB". */
export const formatGb = (gb: number) => (gb < 1 ? `${Math.round(gb * 1000)} MB` : `${gb} GB`)

/**
 * Before creating: the storage floor is what an idle cache costs; ECPUs depend on traffic,
 * so they are a rate, and --max-data-gb caps storage (the most it can cost).
 */
export function serverlessEstimate(prices: ServerlessPrices, maxDataGb?: number): CostEstimate {
  const {storageGbHour, ecpuPerMillion, minimumGb} = prices
  const monthlyUsd = Math.round(storageGbHour.usd * minimumGb * HOURS_PER_MONTH * 100) / 100
  const cap =
    maxDataGb === undefined
      ? ''
      : `; storage at most $${(storageGbHour.usd * maxDataGb * HOURS_PER_MONTH).toFixed(2)}/month at --max-data-gb ${maxDataGb}`
  return {
    monthlyUsd,
    note: `${formatGb(minimumGb)} minimum storage at $${storageGbHour.usd}/GB-hour, plus $${ecpuPerMillion.usd} per million ECPUs, about one per KB read or written${cap}, ${storageGbHour.source}`,
    source: storageGbHour.source,
    fallback: storageGbHour.fallback ?? ecpuPerMillion.fallback,
  }
}

// ---------------------------------------------------------------- NAT gateway

export interface NatPrices {
  hourly: Priced
  perGb: Priced
}

export async function natPrices(aws: PriceLookup, region: string): Promise<NatPrices> {
  const answer = query(aws, 'AmazonEC2', {regionCode: region, productFamily: 'NAT Gateway'})
  // Usage types carry a region prefix outside us-east-1 (EU-NatGateway-Hours); RegionalNatGateway-* is another product.
  const [hourly, perGb] = await Promise.all([
    pickPrice(answer, (p) => /(^|-)NatGateway-Hours$/.test(usage(p)), /^Hrs$/i),
    pickPrice(answer, (p) => /(^|-)NatGateway-Bytes$/.test(usage(p)), /^GB$/i),
  ])
  return {
    hourly: orOffline(hourly, region, OFFLINE_US_EAST_1.natHourly),
    perGb: orOffline(perGb, region, OFFLINE_US_EAST_1.natPerGb),
  }
}

export function natMonthlyUsd(prices: NatPrices): number {
  return Math.round(prices.hourly.usd * HOURS_PER_MONTH * 100) / 100
}

// ---------------------------------------------------------------- DynamoDB reads

/** Infrequent-access tables are priced apart (IA-ReadRequestUnits); cct's saving is on standard tables. */
const INFREQUENT_ACCESS = /(^|-)IA-/

/** Per read request unit, on-demand. */
export async function dynamodbOnDemandRead(aws: PriceLookup, region: string): Promise<Priced> {
  const answer = query(aws, 'AmazonDynamoDB', {
    regionCode: region,
    productFamily: 'Amazon DynamoDB PayPerRequest Throughput',
    group: 'DDB-ReadUnits',
  })
  const found = await pickPrice(answer, (p) => /ReadRequestUnits$/.test(usage(p)) && !INFREQUENT_ACCESS.test(usage(p)))
  return orOffline(found, region, OFFLINE_US_EAST_1.dynamodbPerReadRequestUnit)
}

/** Per provisioned read capacity unit and hour. */
export async function dynamodbProvisionedRead(aws: PriceLookup, region: string): Promise<Priced> {
  const answer = query(aws, 'AmazonDynamoDB', {regionCode: region, productFamily: 'Provisioned IOPS'})
  const found = await pickPrice(
    answer,
    (p) => /ReadCapacityUnit-Hrs$/.test(usage(p)) && !INFREQUENT_ACCESS.test(usage(p)),
  )
  return orOffline(found, region, OFFLINE_US_EAST_1.dynamodbPerRcuHour)
}

// ---------------------------------------------------------------- Lambda duration

export type Architecture = 'x86_64' | 'arm64'

/** Per GB-second of duration, first tier. */
export async function lambdaGbSecond(aws: PriceLookup, region: string, architecture: Architecture): Promise<Priced> {
  const answer = query(aws, 'AWSLambda', {
    regionCode: region,
    group: architecture === 'arm64' ? 'AWS-Lambda-Duration-ARM' : 'AWS-Lambda-Duration',
  })
  const found = await pickPrice(answer, (p) => /Lambda-GB-Second(-ARM)?$/.test(usage(p)))
  return orOffline(found, region, OFFLINE_US_EAST_1.lambdaPerGbSecond[architecture])
}

/** A price with where it came from, for a report line. */
export function describePrice(price: Priced, amount: string): string {
  return `${amount}, ${price.source}${price.fallback ? ` (Price List API: ${price.fallback})` : ''}`
}
