import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, existsSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, it} from 'node:test'

const root = join(import.meta.dirname, '..', '..')
const bin = join(root, 'bin', 'run.js')
const HEAVY = /@aws-sdk|\/listr2\/|@inquirer|\/ioredis\//

function traced(args: string[]) {
  const file = join(mkdtempSync(join(tmpdir(), 'cct-trace-')), 'loads.txt')
  const result = spawnSync(process.execPath, ['--import', join(root, 'test/support/trace-loads.mjs'), bin, ...args], {
    encoding: 'utf8',
    env: {...process.env, CCT_TRACE_LOADS: file},
  })
  const loads = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []
  return {...result, loads}
}

describe('start-up stays light', () => {
  it('--version prints oclif-style version without loading oclif or the SDK', () => {
    const {stdout, status, loads} = traced(['--version'])
    assert.equal(status, 0)
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {version: string}
    assert.equal(stdout.trim(), `cct/${pkg.version} ${process.platform}-${process.arch} node-${process.version}`)
    assert.ok(!loads.some((u) => u.includes('@oclif/core')), 'oclif not loaded')
    assert.ok(!loads.some((u) => HEAVY.test(u)))
  })

  for (const args of [['--help'], ['vpc', '--help'], ['cluster', '--help'], ['attach', '--help'], ['env', '--help']]) {
    it(`${args.join(' ')} loads no AWS SDK, listr2, inquirer or ioredis`, () => {
      const {status, stdout, loads} = traced(args)
      assert.equal(status, 0)
      assert.match(stdout, /USAGE/)
      const heavy = loads.filter((u) => HEAVY.test(u))
      assert.deepEqual(heavy, [])
      assert.ok(loads.length > 0, 'the trace saw the process load modules')
    })
  }

  it('root help lists the exit codes', () => {
    const {stdout} = traced(['--help'])
    assert.match(stdout, /EXIT CODES/)
    assert.match(stdout, /2 +bad input/)
    assert.match(stdout, /4 +AWS denied an action/)
  })
})
