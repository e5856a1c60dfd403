/**
 * The price source without a server: how a Price List answer reads, and what stands in when
 * the API cannot be asked. What the sandbox can produce (an answer per region, an
 * AccessDeniedException) is tested against it in test/integration/pricing.test.ts; the
 * stand-in clients here produce only what the sandbox cannot: throttling, a hung
 * connection, an unreachable host.
 */
import assert from 'node:assert/strict'
import {beforeEach, describe, it} from 'node:test'

import {listPrice, parseProduct} from '../../src/pricing/price-list.js'
import {
  cacheNodePrices,
  dynamodbOnDemandRead,
  forgetPrices,
  lambdaGbSecond,
  monthlyCost,
  natPrices,
  type PriceLookup,
} from '../../src/pricing/prices.js'

const dimension = (unit: string, usd: string, beginRange = '0') => ({
  unit,
  beginRange,
  endRange: 'Inf',
  pricePerUnit: {USD: usd},
  appliesTo: [],
  description: '',
})

function entry(attributes: Record<string, string>, onDemand: object[], extra: object = {}): string {
  const dims = Object.fromEntries(onDemand.map((d, i) => [`SKU.JRTCKXETXF.R${i}`, d]))
  return JSON.stringify({
    product: {productFamily: 'Cache Instance', attributes, sku: 'SKU'},
    serviceCode: 'AmazonElastiCache',
    terms: {OnDemand: {'SKU.JRTCKXETXF': {priceDimensions: dims, sku: 'SKU', offerTermCode: 'JRTCKXETXF'}}, ...extra},
    publicationDate: '2025-10-14T21:46:52Z',
  })
}

describe('reading a PriceList entry', () => {
  it('takes the on-demand USD dimensions and the publication day; reserved terms are not on-demand prices', () => {
    const reserved = {Reserved: {'SKU.HU7G6KETJZ': {priceDimensions: {x: dimension('Hrs', '0.0070000000')}}}}
    const product = parseProduct(
      entry(
        {instanceType: 'cache.t3.micro', usagetype: 'EU-NodeUsage:cache.t3.micro'},
        [dimension('Hrs', '0.0190000000')],
        reserved,
      ),
    )!
    assert.equal(product.published, '2025-10-14')
    assert.equal(product.attributes.instanceType, 'cache.t3.micro')
    assert.deepEqual(
      product.onDemand.map((d) => d.usd),
      [0.019],
    )
    assert.equal(listPrice(product, /^Hrs$/), 0.019)
  })

  it('the list price is the first paid tier: a free tier and later volume tiers are skipped', () => {
    const rcu = parseProduct(
      entry({}, [
        dimension('ReadCapacityUnit-Hrs', '0.0001300000', '18600'),
        dimension('ReadCapacityUnit-Hrs', '0.0000000000', '0'),
      ]),
    )!
    assert.equal(listPrice(rcu), 0.00013)
    const lambda = parseProduct(
      entry({}, [
        dimension('Lambda-GB-Second', '0.0000133334', '15000000000'),
        dimension('Lambda-GB-Second', '0.0000166667', '0'),
      ]),
    )!
    assert.equal(listPrice(lambda), 0.0000166667)
  })

  it('an entry that is not JSON, has no product or no USD price gives nothing rather than a wrong number', () => {
    assert.equal(parseProduct('{not json'), undefined)
    assert.equal(parseProduct('{"terms": {}}'), undefined)
    const yuan = parseProduct(entry({}, [{unit: 'Hrs', beginRange: '0', pricePerUnit: {CNY: '0.12'}}]))!
    assert.equal(listPrice(yuan), undefined)
    assert.ok(parseProduct(new String(entry({}, [dimension('Hrs', '0.1')]))), 'the SDK may hand over String objects')
  })
})

/** A stand-in for AwsClients whose Price List client fails as given, counting its calls. */
function failing(error: () => Error, endpoint = 'http://stand-in.invalid'): PriceLookup & {sent: number} {
  const lookup = {
    sent: 0,
    settings: {endpoint},
    pricing: async () =>
      ({
        send: async () => {
          lookup.sent++
          throw error()
        },
      }) as never,
  }
  return lookup
}

describe('when the Price List API cannot be asked', () => {
  beforeEach(() => forgetPrices())

  it('throttled past its retries: the offline table, saying why; the process then stops asking', async () => {
    const aws = failing(() => Object.assign(new Error('Rate exceeded'), {name: 'ThrottlingException'}))
    const nodes = await cacheNodePrices(aws, 'us-east-1', 'valkey')
    const hourly = nodes.hourly('cache.t4g.micro')
    assert.ok('usd' in hourly)
    assert.equal(hourly.usd, 0.0128)
    assert.equal(hourly.source, 'offline prices of 2025-06-01')
    assert.equal(hourly.fallback, 'ThrottlingException')
    assert.deepEqual(monthlyCost(nodes, 'cache.t4g.micro', 1), {
      monthlyUsd: 9.34,
      note: '1 node, offline prices of 2025-06-01',
      source: 'offline prices of 2025-06-01',
      fallback: 'ThrottlingException',
    })
    const nat = await natPrices(aws, 'us-east-1')
    assert.equal(nat.hourly.usd, 0.045)
    assert.equal(aws.sent, 1, 'after one failure the process does not wait on the API again')
  })

  it('no route to the host: a region the table lacks has no cache price (and says so); other services use us-east-1 prices, saying so', async () => {
    const aws = failing(() =>
      Object.assign(new Error('getaddrinfo ENOTFOUND api.pricing.us-east-1.amazonaws.com'), {code: 'ENOTFOUND'}),
    )
    const nodes = await cacheNodePrices(aws, 'eu-west-3', 'redis')
    assert.deepEqual(monthlyCost(nodes, 'cache.t3.micro', 1), {
      note: 'no price for cache.t3.micro in eu-west-3 (ENOTFOUND); see the ElastiCache pricing page',
    })
    const reads = await dynamodbOnDemandRead(aws, 'eu-west-3')
    assert.equal(reads.source, 'offline us-east-1 prices of 2025-06-01')
    assert.equal(reads.usd, 0.000000125)
    assert.equal((await lambdaGbSecond(aws, 'eu-west-3', 'arm64')).usd, 0.0000133334)
  })

  it('a connection that never answers is given up on within the deadline', async () => {
    const lookup: PriceLookup = {
      settings: {endpoint: 'http://hung.invalid'},
      pricing: async () =>
        ({
          // As the SDK does: the abort signal ends the call.
          send: (_command: unknown, options: {abortSignal: AbortSignal}) =>
            new Promise((_resolve, reject) =>
              options.abortSignal.addEventListener('abort', () =>
                reject(Object.assign(new Error('aborted'), {name: 'AbortError'})),
              ),
            ),
        }) as never,
    }
    // The open socket of a hung request keeps a process alive; the stand-in has none.
    const socket = setInterval(() => {}, 1000)
    const started = Date.now()
    const nat = await natPrices(lookup, 'us-east-2').finally(() => clearInterval(socket))
    const took = Date.now() - started
    assert.ok(took >= 4_500 && took < 8_000, `gave up after ${took} ms (the deadline is 5 s)`)
    assert.equal(nat.hourly.source, 'offline prices of 2025-06-01')
    assert.equal(nat.hourly.fallback, 'no answer within 5 s')
  })
})
