import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {CloudWatchClient, PutMetricDataCommand} from '@aws-sdk/client-cloudwatch'
import {GetFunctionConfigurationCommand, LambdaClient, UpdateFunctionConfigurationCommand} from '@aws-sdk/client-lambda'

import {STACK_STEPS} from '../../src/stack-steps.js'
import {cli, runSteps} from '../support/cct.js'
import {useSandbox} from '../support/sandbox.js'

const sandbox = useSandbox({seed: true})

/** Real AWS refuses writes to AWS/ElastiCache; moto takes them, so the test can set the traffic. */
async function seedTraffic(node: string, hits: number, misses: number) {
  const s = sandbox()
  const cloudwatch = new CloudWatchClient({endpoint: s.endpoint, region: s.region, maxAttempts: 1})
  const Timestamp = new Date(Date.now() - 600_000)
  await cloudwatch.send(
    new PutMetricDataCommand({
      Namespace: 'AWS/ElastiCache',
      MetricData: [
        {MetricName: 'CacheHits', Dimensions: [{Name: 'CacheClusterId', Value: node}], Value: hits, Timestamp},
        {MetricName: 'CacheMisses', Dimensions: [{Name: 'CacheClusterId', Value: node}], Value: misses, Timestamp},
      ],
    }),
  )
}

interface Report {
  ok: boolean
  hitRate: {rate?: number; hits: number; misses: number}
  checks: {name: string; ok: boolean; detail: string}[]
  endpoint?: {ok: boolean; url: string}
}

describe('cct verify', () => {
  it('reports configuration, a working endpoint through --redis-url, and the hit rate per node', async () => {
    await runSteps(sandbox(), STACK_STEPS)
    await seedTraffic('cct-cache-001', 900, 100)
    const s = sandbox()
    const result = await cli(['verify', '--json', '--redis-url', `redis://${s.redisHost}:${s.redisPort}`], s.env)
    assert.equal(result.code, 0, result.stderr)
    assert.deepEqual(result.mutating, [], 'verify changes nothing')
    const report = JSON.parse(result.stdout) as Report
    assert.equal(report.ok, true)
    assert.equal(report.hitRate.hits, 900)
    assert.equal(report.hitRate.misses, 100)
    assert.equal(report.hitRate.rate, 0.9)
    assert.equal(report.endpoint?.ok, true)
    assert.ok(report.checks.every((c) => c.ok))
    const text = await cli(['verify'], s.env)
    assert.match(text.stdout, /Hit rate: 90\.0% \(900 hits, 100 misses in the last 24 h, over cct-cache-001\)/)
    assert.match(text.stdout, /Endpoint not tried: it answers only inside its VPC/)
  })

  it('fails with exit 7 when a function lost its REDIS_HOST, naming the check', async () => {
    await runSteps(sandbox(), STACK_STEPS)
    const s = sandbox()
    const lambda = new LambdaClient({endpoint: s.endpoint, region: s.region, maxAttempts: 1})
    const c = await lambda.send(new GetFunctionConfigurationCommand({FunctionName: 'news-api'}))
    const {REDIS_HOST: _, ...rest} = c.Environment!.Variables!
    await lambda.send(new UpdateFunctionConfigurationCommand({FunctionName: 'news-api', Environment: {Variables: rest}}))
    const result = await cli(['verify'], s.env)
    assert.equal(result.code, 7)
    assert.match(result.stdout, /Function environment.*FAILED.*news-api: REDIS_HOST=/)
    assert.match(result.stderr, /Function environment \(REDIS_HOST, REDIS_PORT, REDIS_TLS\) failed verification\. Run `cct setup` to converge/)
  })

  it('an endpoint that does not answer fails the check, and the URL password is never printed', async () => {
    await runSteps(sandbox(), STACK_STEPS)
    const result = await cli(['verify', '--redis-url', 'redis://:s3cret-pass@127.0.0.1:9'], sandbox().env)
    assert.equal(result.code, 7)
    assert.match(result.stdout, /endpoint +FAILED +redis:\/\/:\*\*\*\*@127\.0\.0\.1:9/)
    assert.ok(!(result.stdout + result.stderr).includes('s3cret'), 'no secret in the output')
  })

  it('on a stack without a cache it says to run setup', async () => {
    const result = await cli(['verify'], sandbox().env)
    assert.equal(result.code, 2)
    assert.match(result.stderr, /Stack "cct" has no cache in us-east-1\. Run `cct setup` first/)
  })
})
