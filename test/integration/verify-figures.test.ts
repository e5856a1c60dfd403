/**
 * verify's and cost's figures equal an independent count: hits and misses as redis INFO
 * counted them on the cache node, DynamoDB read units as the sandbox metered them at the
 * server. Traffic is real: the seeded articles-api before setup (no cache), then the
 * runbook's cached articles example in the same function after setup.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaClient,
  UpdateFunctionCodeCommand,
} from '@aws-sdk/client-lambda'
import {zipSync, strToU8} from 'fflate'

import {STACK_STEPS} from '../../src/stack-steps.js'
import {keyspace, primaryNode} from '../support/cache-node.js'
import {cli, jsonResult, runSteps} from '../support/cct.js'
import {useSandbox} from '../support/sandbox.js'
import {articleGet} from '../support/stack-reads.js'

const sandbox = useSandbox({seed: true, seedData: true, fidelity: {metricsPeriodSeconds: 1}})
const EXAMPLE = join(import.meta.dirname, '..', '..', 'templates', 'functions', 'articles-api', 'python', 'index.py')

async function fidelity<T>(path: string): Promise<T> {
  return (await (await fetch(`${sandbox().endpoint}/cct-fidelity/${path}`)).json()) as T
}

describe('verify and cost figures', () => {
  it('equal redis INFO for hits and misses and the server-side count of DynamoDB read units', async () => {
    const s = sandbox()
    const lambda = new LambdaClient({endpoint: s.endpoint, region: s.region, maxAttempts: 1})
    const invoke = async (event: unknown) => {
      const r = await lambda.send(
        new InvokeCommand({FunctionName: 'articles-api', Payload: Buffer.from(JSON.stringify(event))}),
      )
      assert.equal(r.FunctionError, undefined, Buffer.from(r.Payload!).toString())
      return JSON.parse(Buffer.from(r.Payload!).toString()) as {statusCode: number}
    }
    // Before setup: the seeded API reads DynamoDB directly, every time.
    for (let i = 0; i < 10; i++) assert.equal((await invoke(articleGet(`a-00${(i % 5) + 1}`))).statusCode, 200)
    const before = await fidelity<{capacity: Record<string, {read: number}>}>('dynamodb-requests')
    const readsBefore = before.capacity.articles!.read
    assert.ok(readsBefore > 0)
    // CloudWatch takes query times in whole seconds: keep the last read before setup out of setup's second.
    await new Promise((r) => setTimeout(r, 1100))

    await runSteps(s, STACK_STEPS)
    // The runbook's cached version of the same API, in the same function, on the cct layer.
    const code = zipSync({'index.py': [strToU8(readFileSync(EXAMPLE, 'utf8')), {mtime: new Date('2024-01-01')}]})
    await lambda.send(new UpdateFunctionCodeCommand({FunctionName: 'articles-api', ZipFile: code}))
    for (;;) {
      const c = await lambda.send(new GetFunctionConfigurationCommand({FunctionName: 'articles-api'}))
      if (c.LastUpdateStatus !== 'InProgress') break
      await new Promise((r) => setTimeout(r, 100))
    }
    for (let i = 0; i < 60; i++)
      assert.equal((await invoke(articleGet(`a-0${String((i % 12) + 1).padStart(2, '0')}`))).statusCode, 200)

    const info = await keyspace(s.endpoint, await primaryNode(s.endpoint))
    // INFO counts key lookups (entries, generations, locks), not the application's reads.
    assert.ok(info.hits > 0 && info.misses > 0, JSON.stringify(info))
    await new Promise((r) => setTimeout(r, 2500)) // two metric periods: INFO's deltas reach CloudWatch
    const after = await fidelity<{capacity: Record<string, {read: number}>}>('dynamodb-requests')

    const result = await cli(['verify', '--json', '--hours', '1'], s.env)
    const report = jsonResult<{
      measurements: {
        hits: number
        misses: number
        readsBefore: number
        readsAfter: number
        tables: string[]
        perFunction: {name: string; helperHits: number; helperReads: number}[]
      }
      criteria: {criterion: string; verdict: string; measured: string}[]
    }>(result)
    assert.equal(report.measurements.hits, info.hits, 'CacheHits of the node = keyspace_hits')
    assert.equal(report.measurements.misses, info.misses, 'CacheMisses of the node = keyspace_misses')
    assert.ok(report.measurements.tables.includes('articles'))
    assert.equal(report.measurements.readsBefore, readsBefore, 'read units before setup, as metered at the server')
    assert.equal(
      report.measurements.readsBefore + report.measurements.readsAfter,
      after.capacity.articles!.read,
      'and after it',
    )
    const hitRate = report.criteria.find((c) => c.criterion === 'Cache hit rate')!
    const rate = ((info.hits / (info.hits + info.misses)) * 100).toFixed(1)
    assert.match(
      hitRate.measured,
      new RegExp(
        `^80\\.0% of 60 reads by the functions; nodes: ${rate.replace('.', '\\.')}% \\(${info.hits} hits, ${info.misses} misses\\) of key lookups`,
      ),
    )
    const helper = report.measurements.perFunction.find((f) => f.name === 'articles-api')!
    assert.deepEqual(
      [helper.helperHits, helper.helperReads],
      [48, 60],
      "the helper's own EMF metrics: 12 keys, a miss each, then hits",
    )
    assert.equal(hitRate.verdict, 'not yet', 'minutes of data, an hour asked for')

    const cost = await cli(['cost', '--json', '--hours', '1'], s.env)
    assert.equal(cost.code, 0, cost.stderr)
    assert.deepEqual(cost.mutating, [], 'cost is read-only')
    const lines = jsonResult<{lines: {item: string; monthlyUsd?: number; source: string}[]}>(cost).lines
    const cache = lines.find((l) => l.item.startsWith('Cache cct-cache'))!
    assert.equal(cache.monthlyUsd, -12.41, '1 × cache.t3.micro redis at $0.017/h × 730 h')
    assert.match(
      cache.source,
      /\$0\.017\/node-hour × 730 h, Price List API, 2025-10-14$/,
      "the price's source: the sandbox's Price List API",
    )
    const reads = lines.find((l) => l.item.startsWith('DynamoDB reads on articles'))!
    assert.match(
      reads.source,
      new RegExp(
        `ConsumedReadCapacityUnits Sum: ${Math.round(after.capacity.articles!.read - readsBefore)} after setup .*, ${Math.round(readsBefore)} before`,
      ),
    )
    assert.ok(
      lines.some(
        (l) =>
          l.item === 'Lambda duration of articles-api' &&
          /AWS\/Lambda Duration Sum.*\$0\.0000166667\/GB-second \(x86_64\), Price List API, 2025-10-02$/.test(l.source),
      ),
    )
  })
})
