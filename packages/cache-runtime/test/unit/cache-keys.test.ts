import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import calculateSlot from 'cluster-key-slot'

import {callKey, stableStringify} from '../../src/cache/index.js'
import {keyNamespace, keySet} from '../../src/cache/keys.js'

describe('cache keys', () => {
  it('namespace entries by stack and schema version, in one Redis Cluster hash slot', () => {
    const keys = keySet(keyNamespace('cct', '1'), 'article:42')
    assert.deepEqual(keys, {
      entry: 'cct:v1:{article:42}',
      gen: 'cct:v1:{article:42}:gen',
      lock: 'cct:v1:{article:42}:lock',
    })
    assert.throws(() => keySet('cct:v1:', ''), TypeError)
  })

  it('put an entry, its generation and its lock in one cluster slot, whatever braces the key or stack hold', () => {
    const keys = ['article:42', 'a:[{"b":1}]', 'x}y', '{}', 'ddb:articles:0f3a:item:9c1d', 'a{b}c']
    for (const stack of ['cct', 'my{stack}', 'x{}', '}{']) {
      const namespace = keyNamespace(stack, '1')
      assert.doesNotMatch(namespace, /[{}]/)
      for (const key of keys) {
        const set = keySet(namespace, key)
        const slot = calculateSlot(set.entry)
        assert.equal(calculateSlot(set.gen), slot, `${stack} ${key}`)
        assert.equal(calculateSlot(set.lock), slot, `${stack} ${key}`)
      }
    }
    // Distinct keys spread over the slots (the hash tag is the logical key, not the stack).
    const slots = new Set(Array.from({length: 50}, (_, i) => calculateSlot(keySet('cct:v1:', `k:${i}`).entry)))
    assert.ok(slots.size > 40)
  })

  it('keep the runbook shape for one plain argument', () => {
    assert.equal(callKey('article', ['42']), 'article:42')
    assert.equal(callKey('article', [42]), 'article:42')
    assert.equal(callKey('articles:list', []), 'articles:list')
  })

  it('cover every argument, not only the first', () => {
    assert.notEqual(callKey('search', ['news', 1]), callKey('search', ['news', 2]))
    assert.equal(callKey('search', ['news', 1]), 'search:["news",1]')
    assert.equal(callKey('q', [{b: 1, a: [2, {d: 1, c: 2}]}]), 'q:[{"a":[2,{"c":2,"d":1}],"b":1}]')
  })

  it('cannot confuse one argument with several', () => {
    assert.notEqual(callKey('p', ['["a",1]']), callKey('p', ['a', 1]))
    assert.notEqual(callKey('p', [true]), callKey('p', ['true']))
  })

  it('hash long argument lists', () => {
    const key = callKey('p', [{text: 'x'.repeat(500)}])
    assert.match(key, /^p:#[0-9a-f]{64}$/)
    assert.notEqual(key, callKey('p', [{text: 'y'.repeat(500)}]))
  })

  it('serialize objects, Sets and Maps independent of insertion order', () => {
    assert.equal(stableStringify({b: 1, a: 2}), stableStringify({a: 2, b: 1}))
    assert.equal(stableStringify(new Set(['b', 'a'])), '["a","b"]')
    assert.equal(
      stableStringify(
        new Map([
          ['b', 1],
          ['a', 2],
        ]),
      ),
      '{"a":2,"b":1}',
    )
    assert.equal(stableStringify({a: undefined, b: [undefined], c: 10n}), '{"b":[null],"c":10}')
  })
})
