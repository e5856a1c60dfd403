import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {CacheMetrics} from '../../src/cache/metrics.js'

function recorder(enabled = true) {
  const lines: string[] = []
  const metrics = new CacheMetrics({enabled, namespace: 'cct/cache', service: 'news-api', sink: (l) => lines.push(l), now: () => 1700000000000})
  return {metrics, lines}
}

describe('cache metrics (EMF)', () => {
  it('writes one valid EMF line per call outside a batch', () => {
    const {metrics, lines} = recorder()
    metrics.count('CacheMiss')
    metrics.loadTime(12.3456)
    metrics.endCall()
    metrics.endCall() // nothing new: no line
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
    assert.deepEqual(lines.map((l) => JSON.parse(l).LoadTime.length), [100, 50])
  })

  it('writes nothing when disabled', () => {
    const {metrics, lines} = recorder(false)
    metrics.count('CacheHit')
    metrics.endCall()
    assert.deepEqual(lines, [])
  })
})
