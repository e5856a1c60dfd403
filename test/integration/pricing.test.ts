/**
 * Prices come from the Price List API (the sandbox's catalogue, sandbox/fidelity/pricing.py)
 * when it answers, so a region the offline table lacks (eu-west-1) is priced; when it refuses
 * (AccessDeniedException, as for a role without pricing:GetProducts) the offline table is
 * used and every figure says so. The real `cct` process throughout: its pricing client is
 * created for us-east-1 whatever the stack's region (the sandbox refuses a request signed for
 * a region without the API, as that endpoint would not resolve on AWS).
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {GetProductsCommand, PricingClient} from '@aws-sdk/client-pricing'

import {seedAccount} from '../../sandbox/seed.js'
import {cli, jsonResult, runSteps, type CliResult} from '../support/cct.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({seed: true, redis: false})
const IRELAND = 'eu-west-1'

const priceCalls = (r: CliResult) => r.calls.filter((c) => c.service === 'pricing')
const planned = (r: CliResult) =>
  jsonResult<{steps: {step: string; changes: {resource: string; detail: string | null}[]}[]}>(r)
const detail = (r: CliResult, step: string, resource: string) =>
  planned(r)
    .steps.find((s) => s.step === step)!
    .changes.find((c) => c.resource === resource)!.detail!

async function inIreland() {
  const s = sandbox()
  await seedAccount({endpoint: s.endpoint, region: IRELAND})
  return {...s.env, AWS_REGION: IRELAND, AWS_DEFAULT_REGION: IRELAND}
}

describe('prices from the Price List API', () => {
  it('setup --dry-run in a region the offline table lacks: the cache and the NAT are priced from the API, in one read-only query each', async () => {
    const env = await inIreland()
    const plan = await cli(
      [
        'setup',
        '--dry-run',
        '--yes',
        '--json',
        '--nat',
        '--engine',
        'valkey',
        '--node-type',
        'cache.t4g.micro',
        '--replicas',
        '1',
      ],
      env,
    )
    assert.equal(plan.code, 0, plan.stderr)
    // eu-west-1 Valkey cache.t4g.micro: $0.0144/h × 730 h × 2 nodes.
    assert.match(
      detail(plan, 'cluster', 'replication-group'),
      /; about \$21\.02\/month \(2 nodes, Price List API, 2025-10-14\)$/,
    )
    assert.match(
      detail(plan, 'nat', 'nat-gateway'),
      /^about \$35\.04\/month \+ \$0\.048\/GB processed \(Price List API, 2025-10-21\)$/,
    )
    assert.deepEqual(
      priceCalls(plan),
      [
        {service: 'pricing', operation: 'GetProducts', mutating: false},
        {service: 'pricing', operation: 'GetProducts', mutating: false},
      ],
      'one query for the node types, one for NAT; GetProducts is read-only',
    )
    assert.deepEqual(plan.mutating, [])
  })

  it('the cluster step alone prices its plan the same way', async () => {
    const env = await inIreland()
    const plan = await cli(['cluster', '--dry-run', '--json', '--node-type', 'cache.r7g.large'], env)
    assert.equal(plan.code, 0, plan.stderr)
    assert.match(
      detail(plan, 'cluster', 'replication-group'),
      /about \$175\.93\/month \(1 node, Price List API, 2025-10-14\)/,
      'redis cache.r7g.large at $0.241/h',
    )
  })

  it('cct cost --json in that region: the cache line is priced from the API and says so', async () => {
    const env = await inIreland()
    await runSteps({endpoint: sandbox().endpoint, region: IRELAND}, ['vpc', 'sg', 'subnet-group', 'cluster'])
    const cost = await cli(['cost', '--json', '--hours', '1'], env)
    assert.equal(cost.code, 0, cost.stderr)
    assert.deepEqual(cost.mutating, [], 'cost is read-only, price queries included')
    assert.equal((JSON.parse(cost.stdout) as {region: string}).region, IRELAND)
    const report = jsonResult<{lines: {item: string; monthlyUsd?: number; source: string}[]}>(cost)
    const cache = report.lines.find((l) => l.item.startsWith('Cache cct-cache'))!
    assert.equal(cache.monthlyUsd, -13.87, '1 × cache.t3.micro redis at $0.019/h × 730 h')
    assert.equal(cache.source, 'DescribeReplicationGroups; $0.019/node-hour × 730 h, Price List API, 2025-10-14')
  })
})

describe('when the Price List API refuses', () => {
  it('AccessDeniedException: the offline table prices what it can, every figure says it is offline, and nothing else changes', async () => {
    await sandbox().configure({pricingAccessDenied: true})
    const env = sandbox().env
    const plan = await cli(
      ['setup', '--dry-run', '--yes', '--json', '--nat', '--engine', 'valkey', '--node-type', 'cache.t4g.micro'],
      env,
    )
    assert.equal(plan.code, 0, plan.stderr)
    assert.match(
      detail(plan, 'cluster', 'replication-group'),
      /about \$9\.34\/month \(1 node, offline prices of 2025-06-01\)$/,
    )
    assert.match(
      detail(plan, 'nat', 'nat-gateway'),
      /^about \$32\.85\/month \+ \$0\.045\/GB processed \(offline prices of 2025-06-01\)$/,
    )
    assert.equal(priceCalls(plan).length, 1, 'after the refusal the process does not ask again')
    assert.deepEqual(plan.mutating, [])

    const ireland = await cli(['cluster', '--dry-run', '--json'], await inIreland())
    assert.match(
      detail(ireland, 'cluster', 'replication-group'),
      /no price for cache\.t3\.micro in eu-west-1 \(AccessDeniedException \(needs pricing:GetProducts\)\); see the ElastiCache pricing page$/,
    )
  })

  it('cct cost: the cache line comes from the offline table, naming why', async () => {
    const env = sandbox().env
    await runSteps(sandbox(), ['vpc', 'sg', 'subnet-group', 'cluster'])
    await sandbox().configure({pricingAccessDenied: true})
    const cost = await cli(['cost', '--json', '--hours', '1'], env)
    assert.equal(cost.code, 0, cost.stderr)
    const cache = jsonResult<{lines: {item: string; monthlyUsd?: number; source: string}[]}>(cost).lines.find((l) =>
      l.item.startsWith('Cache cct-cache'),
    )!
    assert.equal(cache.monthlyUsd, -12.41)
    assert.equal(
      cache.source,
      'DescribeReplicationGroups; $0.017/node-hour × 730 h, offline prices of 2025-06-01 (Price List API: AccessDeniedException (needs pricing:GetProducts))',
    )
    assert.deepEqual(cost.mutating, [])
  })
})

describe("the sandbox's Price List API", () => {
  const client = (region = 'us-east-1') => new PricingClient({endpoint: sandbox().endpoint, region, maxAttempts: 1})
  const filters = (f: Record<string, string>) =>
    Object.entries(f).map(([Field, Value]) => ({Type: 'TERM_MATCH' as const, Field, Value}))

  it('answers GetProducts as AWS does: TERM_MATCH filters, one JSON document per product, pages of MaxResults', async () => {
    const query = {
      ServiceCode: 'AmazonElastiCache',
      Filters: filters({regionCode: IRELAND, productFamily: 'Cache Instance', cacheEngine: 'Redis'}),
    }
    const first = await client().send(new GetProductsCommand({...query, MaxResults: 4}))
    assert.equal(first.FormatVersion, 'aws_v1')
    assert.equal(first.PriceList?.length, 4)
    const product = JSON.parse(String(first.PriceList![0])) as {
      product: {attributes: Record<string, string>}
      terms: {OnDemand: object; Reserved: object}
    }
    assert.equal(product.product.attributes.regionCode, IRELAND)
    assert.equal(product.product.attributes.cacheEngine, 'Redis')
    assert.match(product.product.attributes.usagetype!, /^EU-NodeUsage:cache\./)
    assert.ok(product.terms.OnDemand && product.terms.Reserved)
    let all = first.PriceList!.length
    for (let token = first.NextToken; token;) {
      const page = await client().send(new GetProductsCommand({...query, MaxResults: 4, NextToken: token}))
      all += page.PriceList!.length
      token = page.NextToken
    }
    assert.equal(all, 10, 'ten Redis node types in eu-west-1, no Valkey or Memcached')
  })

  it('answers only where AWS has the API, and AccessDeniedException when the caller may not', async () => {
    await assert.rejects(
      client(IRELAND).send(new GetProductsCommand({ServiceCode: 'AWSLambda'})),
      /no Price List API in eu-west-1/,
    )
    await sandbox().configure({pricingAccessDenied: true})
    await assert.rejects(
      client().send(new GetProductsCommand({ServiceCode: 'AWSLambda'})),
      (e: Error & {$metadata: {httpStatusCode: number}}) => {
        assert.equal(e.name, 'AccessDeniedException')
        assert.equal(e.$metadata.httpStatusCode, 400)
        assert.match(e.message, /not authorized to perform: pricing:GetProducts/)
        return true
      },
    )
  })
})
