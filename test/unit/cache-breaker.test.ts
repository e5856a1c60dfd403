import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {CircuitBreaker, type BreakerState} from '../../src/cache/breaker.js'

describe('circuit breaker', () => {
  it('opens after N consecutive failures, half-opens after the cooldown, closes on success', () => {
    let now = 0
    const changes: BreakerState[] = []
    const breaker = new CircuitBreaker(3, 1000, () => now, (s) => changes.push(s))
    breaker.failure()
    breaker.failure()
    breaker.success() // not consecutive: start over
    breaker.failure()
    breaker.failure()
    assert.equal(breaker.state, 'closed')
    breaker.failure()
    assert.equal(breaker.state, 'open')
    assert.equal(breaker.allow(), false)
    now = 999
    assert.equal(breaker.allow(), false)
    now = 1000
    assert.equal(breaker.allow(), true) // the probe
    assert.equal(breaker.state, 'half-open')
    assert.equal(breaker.allow(), false) // only one probe at a time
    breaker.success()
    assert.equal(breaker.state, 'closed')
    assert.equal(breaker.allow(), true)
    assert.deepEqual(changes, ['open', 'half-open', 'closed'])
  })

  it('reopens when the probe fails', () => {
    let now = 0
    const breaker = new CircuitBreaker(1, 500, () => now)
    breaker.failure()
    now = 600
    assert.equal(breaker.allow(), true)
    breaker.failure()
    assert.equal(breaker.state, 'open')
    assert.equal(breaker.allow(), false)
    now = 1100
    assert.equal(breaker.allow(), true)
  })
})
