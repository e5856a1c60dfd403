import {GetProductsCommand} from '@aws-sdk/client-pricing'
import type {PricingClient} from '@aws-sdk/client-pricing'

/**
 * The AWS Price List API (`pricing:GetProducts`): what one query asks and how its answer
 * reads. Each `PriceList` entry is a JSON document per product (SKU):
 * `{product: {productFamily, attributes}, terms: {OnDemand: {<term>: {priceDimensions:
 * {<rate>: {unit, beginRange, pricePerUnit: {USD}}}}}, Reserved: ...}, publicationDate}`.
 */

/** One product of an answer, with its on-demand (not reserved) price dimensions in USD. */
export interface ListedProduct {
  family?: string
  attributes: Record<string, string>
  /** The day AWS published this price (YYYY-MM-DD). */
  published?: string
  onDemand: {usd: number; unit: string; beginRange: number; description?: string}[]
}

export function parseProduct(entry: unknown): ListedProduct | undefined {
  let doc: any
  try {
    // The SDK hands entries over as JSON text (sometimes a String object): parse either.
    doc = typeof entry === 'string' || entry instanceof String ? JSON.parse(String(entry)) : entry
  } catch {
    return undefined
  }
  if (!doc || typeof doc !== 'object' || !doc.product) return undefined
  const onDemand: ListedProduct['onDemand'] = []
  for (const term of Object.values<any>(doc.terms?.OnDemand ?? {})) {
    for (const dim of Object.values<any>(term?.priceDimensions ?? {})) {
      const usd = Number(dim?.pricePerUnit?.USD)
      // Some products are priced only in CNY (China regions); those have no USD figure.
      if (dim?.pricePerUnit?.USD === undefined || !Number.isFinite(usd)) continue
      onDemand.push({
        usd,
        unit: String(dim.unit ?? ''),
        beginRange: Number(dim.beginRange ?? 0) || 0,
        description: dim.description,
      })
    }
  }
  const published = typeof doc.publicationDate === 'string' ? doc.publicationDate.slice(0, 10) : undefined
  return {family: doc.product.productFamily, attributes: doc.product.attributes ?? {}, published, onDemand}
}

/**
 * The list price of one more unit: the lowest paid tier. Free tiers (DynamoDB's 25 RCUs)
 * are per account and usually used up, and higher tiers (Lambda past 6 billion GB-seconds
 * a month) apply only to very large accounts.
 */
export function listPrice(product: ListedProduct, unit?: RegExp): number | undefined {
  const paid = product.onDemand
    .filter((d) => d.usd > 0 && (!unit || unit.test(d.unit)))
    .sort((a, b) => a.beginRange - b.beginRange)
  return paid[0]?.usd
}

/** At most this many pages (of 100 products) per query: a query that needs more asks too broadly. */
const MAX_PAGES = 5

/**
 * Every product of one service matching every filter (TERM_MATCH: exact attribute values).
 * `signal` bounds the whole query, pages included.
 */
export async function getProducts(
  client: PricingClient,
  serviceCode: string,
  filters: Record<string, string>,
  signal: AbortSignal,
): Promise<ListedProduct[]> {
  const products: ListedProduct[] = []
  let token: string | undefined
  for (let page = 0; page < MAX_PAGES; page++) {
    const answer = await client.send(
      new GetProductsCommand({
        ServiceCode: serviceCode,
        FormatVersion: 'aws_v1',
        MaxResults: 100,
        NextToken: token,
        Filters: Object.entries(filters).map(([Field, Value]) => ({Type: 'TERM_MATCH', Field, Value})),
      }),
      {abortSignal: signal},
    )
    for (const entry of (answer.PriceList ?? []) as unknown[]) {
      const product = parseProduct(entry)
      if (product) products.push(product)
    }
    token = answer.NextToken
    if (!token) break
  }
  return products
}
