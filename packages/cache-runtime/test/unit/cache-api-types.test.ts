/**
 * The shipped types (templates/layer/nodejs/cct-cache.d.ts) must describe src/cache exactly.
 * The assignments below are checked by `tsc -p tsconfig.test.json`: a drift either way
 * fails the typecheck. The runtime test checks the export names.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import * as real from '../../src/cache/index.js'

type Shipped = typeof import('cct-cache')
type Real = typeof real

export const shippedFitsReal = (x: Shipped): Real => x
export const realFitsShipped = (x: Real): Shipped => x
export const cacheTypes = (a: import('cct-cache').Cache, b: real.Cache): [real.Cache, import('cct-cache').Cache] => [a, b]
export const configTypes = (a: import('cct-cache').CacheConfig, b: real.CacheConfig): [real.CacheConfig, import('cct-cache').CacheConfig] => [a, b]
export const optionTypes = (a: import('cct-cache').CacheOptions, b: real.CacheOptions): [real.CacheOptions, import('cct-cache').CacheOptions] => [a, b]

describe('cct-cache public API', () => {
  it('exports exactly what the shipped types declare', () => {
    assert.deepEqual(Object.keys(real).sort(), [
      'METRIC_NAMES',
      'TTL_PRESETS',
      'VERSION',
      'callKey',
      'createCache',
      'getCache',
      'presetEnvName',
      'readConfig',
      'stableStringify',
    ])
  })
})
