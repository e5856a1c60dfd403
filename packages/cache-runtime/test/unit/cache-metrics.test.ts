import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {setImmediate as tick} from 'node:timers/promises'

import {CacheMetrics} from '../../src/cache/metrics.js'

function recorder(enabled = true) {
  const lines: string[] = []
  const metrics = new CacheMetrics({
    enabled,
    namespace: 'cct/cache',
    service: 'news-api',
    sink: (l) => lines.push(l),
    now: () => 1700000000000,
  })
  return {metrics, lines}
}

describe('cache metrics (EMF)', () => {
  it('outside a batch, writes one valid EMF line once the cache is quiet, not per call', async () => {
    const {metrics, lines} = recorder()
    metrics.beginCall()
    metrics.count('CacheMiss')
    metrics.loadTime(12.3456)
    metrics.endCall()
    // Nothing is written on the call's own path: the caller's code runs first.
    assert.equal(lines.length, 0)
    await tick()
    metrics.beginCall()
    metrics.endCall() // nothing new: no line
    await tick()
    assert.equal(lines.length, 1)
    const line = JSON.parse(lines[0]!)
    assert.deepEqual(line._aws.CloudWatchMetrics[0].Dimensions, [['FunctionName']])
    assert.equal(line._aws.Timestamp, 1700000000000)
    assert.equal(line.FunctionName, 'news-api')
    assert.equal(line.CacheMiss, 1)
    assert.equal(line.CacheHit, 0)
    assert.deepEqual(line.LoadTime, [12.346])
    const names = line._aws.CloudWatchMetrics[0].Metrics.map((m: {Name: string}) => m.Name)
    assert.ok(names.includes('LoadTime'))
    for (const name of names) assert.ok(name in line)
  })

  it('calls that follow each other without a quiet moment share one line', async () => {
    const {metrics, lines} = recorder()
    // Like a handler awaiting three cache calls in a row: each next call starts before
    // the previous one's deferred write runs.
    for (let i = 0; i < 3; i++) {
      metrics.beginCall()
      await Promise.resolve()
      metrics.count('CacheHit')
      metrics.endCall()
      if (i < 2) metrics.beginCall()
      await tick()
      if (i < 2) metrics.endCall()
    }
    await tick()
    assert.equal(lines.length, 1)
    assert.equal(JSON.parse(lines[0]!).CacheHit, 3)
  })

  it('batches a whole invocation into one line', async () => {
    const {metrics, lines} = recorder()
    await metrics.batch(async () => {
      for (let i = 0; i < 5; i++) {
        metrics.count('CacheHit')
        metrics.endCall()
      }
    })
    assert.equal(lines.length, 1)
    assert.equal(JSON.parse(lines[0]!).CacheHit, 5)
  })

  it('never puts more than 100 values of a metric in one line', () => {
    const {metrics, lines} = recorder()
    for (let i = 0; i < 150; i++) metrics.loadTime(i)
    metrics.flush()
    assert.deepEqual(
      lines.map((l) => JSON.parse(l).LoadTime.length),
      [100, 50],
    )
  })

  it('writes nothing when disabled', async () => {
    const {metrics, lines} = recorder(false)
    metrics.count('CacheHit')
    metrics.endCall()
    await tick()
    assert.deepEqual(lines, [])
  })
})
