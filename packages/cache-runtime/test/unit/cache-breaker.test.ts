import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {CircuitBreaker, type BreakerState} from '../../src/cache/breaker.js'

describe('circuit breaker', () => {
  it('opens after N consecutive failures and stays open until a probe closes it', () => {
    const changes: BreakerState[] = []
    const breaker = new CircuitBreaker(3, 500, 4000, (s) => changes.push(s))
    breaker.failure()
    breaker.failure()
    breaker.success() // not consecutive: start over
    breaker.failure()
    breaker.failure()
    assert.equal(breaker.state, 'closed')
    assert.equal(breaker.failure(), true)
    assert.equal(breaker.state, 'open')
    // No request is let through as a probe: probing is the owner's background job.
    for (let i = 0; i < 5; i++) assert.equal(breaker.allow(), false)
    breaker.close()
    assert.equal(breaker.state, 'closed')
    assert.equal(breaker.allow(), true)
    assert.deepEqual(changes, ['open', 'closed'])
  })

  it('trips at once when asked (a connect that ran out of its budget)', () => {
    const breaker = new CircuitBreaker(5, 500, 4000)
    assert.equal(breaker.trip(), true)
    assert.equal(breaker.trip(), false)
    assert.equal(breaker.allow(), false)
  })

  it('a trip for a command timeout probes at once, then backs off as usual', () => {
    const breaker = new CircuitBreaker(
      5,
      500,
      4000,
      () => {},
      () => 1,
    )
    assert.equal(breaker.trip(true), true)
    assert.equal(breaker.allow(), false, 'no request waits for the probe')
    assert.deepEqual(
      Array.from({length: 3}, () => breaker.nextDelay()),
      [0, 500, 1000],
    )
    // The next outage opened by a connect budget starts with the backoff step.
    breaker.close()
    breaker.trip()
    assert.equal(breaker.nextDelay(), 500)
  })

  it('backs off exponentially up to the cap, jittered to 50-100% of each step', () => {
    const low = new CircuitBreaker(
      1,
      500,
      4000,
      () => {},
      () => 0,
    )
    const high = new CircuitBreaker(
      1,
      500,
      4000,
      () => {},
      () => 1,
    )
    low.trip()
    high.trip()
    const lows = Array.from({length: 6}, () => low.nextDelay())
    const highs = Array.from({length: 6}, () => high.nextDelay())
    assert.deepEqual(highs, [500, 1000, 2000, 4000, 4000, 4000])
    assert.deepEqual(lows, [250, 500, 1000, 2000, 2000, 2000])
    // A new outage starts from the short delay again.
    high.close()
    high.trip()
    assert.equal(high.nextDelay(), 500)
  })
})
