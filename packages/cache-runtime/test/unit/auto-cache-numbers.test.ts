/**
 * A DynamoDB number has one value however a request spells it ("1", "1.0", "+01", "1e0"),
 * and both auto-cache hooks must name its item's entry alike: Node and Python functions
 * share entries, and a write through one evicts what a read through the other filled.
 * (Importing the Node hook installs its module hook in this process, which loads no SDK.)
 */
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {canonicalNumber, entryKey} from '../../src/auto-cache/node-hook.js'

const PYTHON_HOOK = join(import.meta.dirname, '../../layer/auto-cache/python')
const SPELLINGS = [
  ['1', '1.0', '+01', '1e0', '1E+0', '10e-1', '0.1e1', '1.000'],
  ['0', '0.0', '-0', '+0', '0e10', '-0.000e-3', '.0'],
  ['-1.5', '-1.50', '-15e-1', '-0.015E2'],
  ['100', '1e2', '100.00', '0.1e3', '1000e-1'],
  ['0.001', '1E-3', '.001', '0.0010'],
  ['12345678901234567890123456789012345678', '1.2345678901234567890123456789012345678e37'],
]

function pythonCanonical(values: string[]): string[] {
  const script = `import json, sys\nsys.path.insert(0, ${JSON.stringify(PYTHON_HOOK)})\nimport cct_auto_cache as c\nprint(json.dumps([c.canonical_number(v) for v in json.loads(sys.argv[1])]))`
  return JSON.parse(execFileSync('python3', ['-c', script, JSON.stringify(values)], {encoding: 'utf8'})) as string[]
}

describe('number keys in auto-cache entries', () => {
  it('every spelling of a number has one canonical form, the same in the Node and Python hooks', () => {
    const all = SPELLINGS.flat()
    const python = pythonCanonical(all)
    assert.deepEqual(
      all.map((v) => canonicalNumber(v)),
      python,
    )
    for (const group of SPELLINGS) assert.equal(new Set(group.map(canonicalNumber)).size, 1, group.join(' '))
    assert.equal(
      new Set(SPELLINGS.map((g) => canonicalNumber(g[0]!))).size,
      SPELLINGS.length,
      'distinct numbers stay distinct',
    )
  })

  it('an item entry is named by the value of its number key, not its spelling', () => {
    const key = (n: string) => entryKey('scores', 'g1', 'item', {Key: {n: {N: n}, s: {S: '1.0'}}})
    assert.equal(key('1.0'), key('1'))
    assert.notEqual(key('1.5'), key('1'))
    // Strings are not numbers: "1.0" and "1" are two items.
    assert.notEqual(
      entryKey('t', 'g1', 'item', {Key: {id: {S: '1.0'}}}),
      entryKey('t', 'g1', 'item', {Key: {id: {S: '1'}}}),
    )
  })
})
