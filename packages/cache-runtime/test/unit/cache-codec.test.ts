import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {NOT_FOUND_MARKER, decodeEntry, encodeValue} from '../../src/cache/codec.js'

class NumberValue {
  constructor(readonly value: string) {}
}

describe('cache entry codec', () => {
  it('stores values as plain JSON and not-found as a marker that is not JSON', () => {
    assert.equal(encodeValue({a: 1}), '{"a":1}')
    assert.equal(encodeValue(undefined), NOT_FOUND_MARKER)
    assert.equal(encodeValue(null), NOT_FOUND_MARKER)
    assert.throws(() => JSON.parse(NOT_FOUND_MARKER))
  })

  it('serializes what DynamoDB clients return', () => {
    const item = {
      ss: new Set(['x', 'y']),
      big: 2n ** 60n,
      small: 7n,
      bin: Buffer.from('hi'),
      num: new NumberValue('12.5'),
      map: new Map([['k', 1]]),
    }
    assert.deepEqual(JSON.parse(encodeValue(item)!), {
      ss: ['x', 'y'],
      big: '1152921504606846976',
      small: 7,
      bin: 'aGk=',
      num: 12.5,
      map: {k: 1},
    })
  })

  it('returns undefined (do not cache) for values JSON cannot hold', () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    assert.equal(encodeValue(cyclic), undefined)
  })

  it('decodes values, falsy ones included, and flags corrupt entries', () => {
    for (const value of [0, '', false, [], {a: 1}])
      assert.deepEqual(decodeEntry(JSON.stringify(value)), {kind: 'value', value})
    assert.deepEqual(decodeEntry(NOT_FOUND_MARKER), {kind: 'not-found'})
    assert.deepEqual(decodeEntry('{"trunc'), {kind: 'corrupt'})
    assert.deepEqual(decodeEntry(''), {kind: 'corrupt'})
  })
})
