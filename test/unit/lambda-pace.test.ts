/**
 * The Lambda client's pacing (src/aws/pace.ts): which quota each operation spends, a burst
 * of one second's requests, and reads no write waits for sent after the writes waiting.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {lambdaPacer, lambdaQuota, RateBucket} from '../../src/aws/pace.js'

describe('Lambda pacing', () => {
  it("counts each operation against AWS's quota for it", () => {
    assert.equal(lambdaQuota('GetFunction'), 'getFunction')
    assert.equal(lambdaQuota('GetPolicy'), 'getPolicy')
    for (const op of ['GetFunctionConfiguration', 'UpdateFunctionConfiguration', 'TagResource', 'ListTags'])
      assert.equal(lambdaQuota(op), 'controlPlane', op)
    assert.equal(lambdaQuota('Invoke'), undefined)
  })

  it('lets a third of a second of requests go at once and holds the rest', async () => {
    const bucket = new RateBucket(15)
    const sent: number[] = []
    const all = Array.from({length: 7}, (_, i) => bucket.take().then(() => sent.push(i)))
    await new Promise((r) => setImmediate(r))
    assert.equal(sent.length, 5)
    await Promise.all(all)
    assert.deepEqual(sent, [...Array(7).keys()], 'first come, first served')
  })

  it('sends background reads after the writes that wait, whenever they came', async () => {
    const pace = lambdaPacer()
    await Promise.all(Array.from({length: 5}, () => pace.take('TagResource'))) // the burst spent
    const order: string[] = []
    const take = (op: string) => pace.take(op).then(() => order.push(op))
    await Promise.all([
      take('UntagResource'),
      take('ListVersionsByFunction'),
      take('UpdateFunctionConfiguration'),
      take('GetFunction'),
    ])
    assert.deepEqual(order, ['GetFunction', 'UpdateFunctionConfiguration', 'UntagResource', 'ListVersionsByFunction'])
  })

  it('takes the bucket for empty when Lambda refuses a request', async () => {
    const bucket = new RateBucket(15)
    await bucket.take()
    bucket.empty()
    let sent = false
    const next = bucket.take().then(() => (sent = true))
    await new Promise((r) => setImmediate(r))
    assert.equal(sent, false, 'waits for the rate, though the bucket had 4 left by its count')
    await next
  })
})
