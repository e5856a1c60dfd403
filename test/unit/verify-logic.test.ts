/** verify's pure parts: reading Lambda's REPORT line, naming the broken hop, trends, CIDR containment. */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {contains} from '../../src/net/cidr.js'
import {sparkline} from '../../src/ui/sparkline.js'
import {diagnose} from '../../src/verify/probe-run.js'
import {parseReport} from '../../src/verify/traffic.js'

describe('verify logic', () => {
  it('reads Duration and Init Duration from REPORT lines as Lambda writes them', () => {
    const cold =
      'START RequestId: 1 Version: $LATEST\nhello\nEND RequestId: 1\nREPORT RequestId: 1\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 60 MB\tInit Duration: 150.20 ms\t\n'
    assert.deepEqual(parseReport(cold), {durationMs: 12.34, initMs: 150.2})
    const warm =
      'REPORT RequestId: 2\tDuration: 3.00 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\tMax Memory Used: 60 MB\t'
    assert.deepEqual(parseReport(warm), {durationMs: 3, initMs: undefined})
    assert.equal(parseReport('no report here'), undefined)
  })

  it('names the cause and the fix of each broken hop', () => {
    const target = {host: 'master.cct-cache.abc.use1.cache.amazonaws.com', port: 6379, tls: true}
    assert.equal(diagnose({stage: 'tcp', ok: false, error: 'ETIMEDOUT: no answer within 2 s'}, target).fix, 'cct sg')
    assert.match(
      diagnose({stage: 'tcp', ok: false, error: 'ETIMEDOUT: no answer within 2 s'}, target).cause,
      /security group does not admit/,
    )
    assert.equal(diagnose({stage: 'tcp', ok: false, error: 'connect ECONNREFUSED'}, target).fix, 'cct cluster')
    assert.equal(
      diagnose({stage: 'dynamodb', ok: false, error: 'ETIMEDOUT: no answer within 2 s'}, target).fix,
      'cct vpc',
    )
    assert.match(
      diagnose({stage: 'dynamodb', ok: false, error: 'ETIMEDOUT: no answer within 2 s'}, target).cause,
      /gateway endpoint/,
    )
    assert.match(diagnose({stage: 'tls', ok: false, error: 'wrong version number'}, target).cause, /TLS mismatch/)
    assert.match(
      diagnose({stage: 'command', ok: false, error: 'ETIMEDOUT: no answer within 2 s'}, {...target, tls: false}).cause,
      /expect TLS/,
    )
  })

  it('draws a trend, and nothing from one point', () => {
    assert.equal(sparkline([0, 1, 2, 3, 4, 5, 6, 7]), '▁▂▃▄▅▆▇█')
    assert.equal(sparkline([5]), '')
    assert.equal(sparkline([2, 2, 2]), '▄▄▄')
  })

  it('knows when a CIDR block contains another', () => {
    assert.equal(contains('10.0.0.0/16', '10.0.1.0/24'), true)
    assert.equal(contains('10.0.1.0/24', '10.0.0.0/16'), false)
    assert.equal(contains('0.0.0.0/0', '10.0.1.0/24'), true)
    assert.equal(contains('10.1.0.0/16', '10.0.1.0/24'), false)
    assert.equal(contains('nonsense', '10.0.1.0/24'), false)
  })
})
