/**
 * The layer bundles a slimmed copy of @ioredis/commands' metadata. ioredis must not be
 * able to tell: every lookup it makes answers the same on the slim copy.
 */
import assert from 'node:assert/strict'
import {copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {after, describe, it} from 'node:test'

import {queriedFlags, slimCommands} from '../../scripts/layer/bundle-node.js'
import {PACKAGE_ROOT} from '../../scripts/layer/build.js'

interface CommandsModule {
  list: string[]
  exists(name: string, options?: {caseInsensitive?: boolean}): boolean
  hasFlag(name: string, flag: string): boolean
  getKeyIndexes(name: string, args: unknown[], options?: {nameCaseInsensitive?: boolean}): number[]
}

const require = createRequire(join(PACKAGE_ROOT, 'package.json'))
const originalPath = require.resolve('@ioredis/commands')
const original = require(originalPath) as CommandsModule
const dir = mkdtempSync(join(tmpdir(), 'cct-slim-'))
const metadata = JSON.parse(readFileSync(join(dirname(originalPath), 'commands.json'), 'utf8'))
const flags = queriedFlags(PACKAGE_ROOT)
copyFileSync(originalPath, join(dir, 'index.js'))
writeFileSync(join(dir, 'commands.json'), JSON.stringify(slimCommands(metadata, flags)))
const slim = createRequire(join(dir, 'index.js'))('./index.js') as CommandsModule

after(() => rmSync(dir, {recursive: true, force: true}))

describe('slimmed Redis command metadata', () => {
  it('keeps the flags ioredis asks about', () => {
    assert.ok(flags.has('readonly') && flags.has('loading'), [...flags].join(','))
  })

  it('answers list, exists, hasFlag and getKeyIndexes exactly like the original', () => {
    assert.deepEqual(slim.list, original.list)
    const args = ['k1', 'k2', 'k3', 'k4', 'k5', 'k6']
    for (const name of original.list) {
      assert.equal(slim.exists(name, {caseInsensitive: true}), original.exists(name, {caseInsensitive: true}))
      for (const flag of flags) assert.equal(slim.hasFlag(name, flag), original.hasFlag(name, flag), `${name} ${flag}`)
      const subs = Object.keys(metadata[name].subcommands ?? {})
      for (const first of [undefined, ...subs]) {
        const callArgs = first === undefined ? ['2', ...args] : [first, '2', ...args]
        let expected: unknown
        try {
          expected = original.getKeyIndexes(name, callArgs)
        } catch (error) {
          expected = String(error)
        }
        let actual: unknown
        try {
          actual = slim.getKeyIndexes(name, callArgs)
        } catch (error) {
          actual = String(error)
        }
        assert.deepEqual(actual, expected, `${name} ${first ?? ''}`)
      }
    }
  })

  it('is smaller', () => {
    assert.ok(JSON.stringify(slimCommands(metadata, flags)).length < JSON.stringify(metadata).length * 0.75)
  })
})
