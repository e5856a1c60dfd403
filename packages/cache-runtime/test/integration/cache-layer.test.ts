/**
 * The layer zip: reproducible, complete, and its Node helper usable from a function the
 * way Lambda loads it (require and import of `cct-cache`), against a real redis-server.
 */
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {promisify} from 'node:util'

import {unzipSync} from 'fflate'

import {PACKAGE_ROOT, buildLayer, type LayerBuild} from '../../scripts/layer/build.js'
import {embedLua} from '../../scripts/layer/lua.js'
import {extractLayer, unixModes} from '../../scripts/layer/extract.js'
import {startRedis, type RedisServer} from '../support/redis.js'

const exec = promisify(execFile)

let work: string
let first: LayerBuild
let second: LayerBuild
let redis: RedisServer

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'cct-layer-'))
  first = await buildLayer(join(work, 'a'))
  second = await buildLayer(join(work, 'b'))
  redis = await startRedis()
})

after(async () => {
  await redis.close()
  rmSync(work, {recursive: true, force: true})
})

describe('layer zip', () => {
  it('is byte-for-byte reproducible, and its manifest names its hash', () => {
    const a = readFileSync(first.zipPath)
    const b = readFileSync(second.zipPath)
    assert.ok(a.equals(b), 'two builds of the same sources differ')
    const digest = createHash('sha256').update(a).digest()
    assert.equal(first.manifest.sha256, digest.toString('hex'))
    assert.equal(first.manifest.codeSha256, digest.toString('base64'))
    assert.equal(first.manifest.size, a.byteLength)
    assert.deepEqual(readFileSync(first.manifestPath, 'utf8'), readFileSync(second.manifestPath, 'utf8'))
    assert.deepEqual(JSON.parse(readFileSync(first.manifestPath, 'utf8')), first.manifest)
    assert.deepEqual(first.manifest.compatibleRuntimes, ['nodejs22.x', 'nodejs24.x', 'python3.12', 'python3.13'])
  })

  it('holds the Node package and the Python module with redis-py, and no bytecode', () => {
    const paths = Object.keys(unzipSync(readFileSync(first.zipPath)))
    for (const expected of [
      'nodejs/node_modules/cct-cache/package.json',
      'nodejs/node_modules/cct-cache/index.js',
      'nodejs/node_modules/cct-cache/index.mjs',
      'nodejs/node_modules/cct-cache/index.d.ts',
      'python/cache_helper.py',
      'python/redis/__init__.py',
      'python/redis/client.py',
      `python/redis-${first.manifest.python.redisPy}.dist-info/METADATA`,
    ]) {
      assert.ok(paths.includes(expected), `missing ${expected}`)
    }
    assert.deepEqual(paths, [...paths].sort(), 'entries are not sorted')
    assert.ok(!paths.some((p) => p.includes('__pycache__') || p.endsWith('.pyc')), 'bytecode in the layer')
    assert.ok(
      paths.every(
        (p) =>
          p.startsWith('nodejs/node_modules/cct-cache/') ||
          p.startsWith('python/') ||
          p === 'cct-auto-cache' ||
          p.startsWith('cct-auto-cache.d/'),
      ),
      'stray paths',
    )
    assert.equal(first.manifest.files, paths.length)
    // The Python helper ships with the Lua of lua/*.lua filled in, the same text the Node bundle carries.
    const helper = embedLua(readFileSync(join(PACKAGE_ROOT, 'layer/python/cache_helper.py'), 'utf8'), PACKAGE_ROOT)
    const shipped = Buffer.from(unzipSync(readFileSync(first.zipPath))['python/cache_helper.py']!).toString('utf8')
    assert.equal(shipped, helper)
    assert.doesNotMatch(shipped, /\bLUA\(/)
    assert.ok(
      shipped.includes(`_MISS = """${readFileSync(join(PACKAGE_ROOT, 'lua/miss.lua'), 'utf8').replace(/\n$/, '')}"""`),
    )
  })

  it('keeps the exec wrapper executable (0755) through extraction, as Lambda does; the rest 0644', () => {
    const modes = unixModes(readFileSync(first.zipPath))
    assert.equal(modes.get('cct-auto-cache'), 0o755)
    assert.ok([...modes].every(([path, mode]) => path === 'cct-auto-cache' || mode === 0o644))
    const opt = join(work, 'modes')
    extractLayer(first.zipPath, opt)
    assert.equal(statSync(join(opt, 'cct-auto-cache')).mode & 0o777, 0o755)
    assert.equal(statSync(join(opt, 'python/cache_helper.py')).mode & 0o777, 0o644)
  })
})

describe('the bundled Node helper', () => {
  let fn: string

  before(() => {
    // A function folder as Lambda sees it: the layer at /opt, its node_modules resolvable.
    const opt = join(work, 'opt')
    extractLayer(first.zipPath, opt)
    fn = join(work, 'fn')
    mkdirSync(fn)
    symlinkSync(join(opt, 'nodejs', 'node_modules'), join(fn, 'node_modules'))
    writeFileSync(
      join(fn, 'handler.cjs'),
      `const {getCache} = require('cct-cache')
const cache = getCache()
let loads = 0
exports.handler = cache.handler(async (event) => {
  const item = await cache.getOrLoad('article:' + event.id, async () => { loads++; return {id: event.id, via: 'require'} }, {preset: 'articles'})
  return {item, loads}
})
`,
    )
    writeFileSync(
      join(fn, 'handler.mjs'),
      `import {getCache, TTL_PRESETS} from 'cct-cache'
const cache = getCache()
let loads = 0
export const handler = cache.handler(async (event) => {
  const item = await cache.getOrLoad('article:' + event.id, async () => { loads++; return {id: event.id, via: 'import'} }, {preset: 'articles'})
  return {item, loads, articlesTtl: TTL_PRESETS.articles}
})
`,
    )
    writeFileSync(
      join(fn, 'invoke.mjs'),
      `// Two invocations in one container, then the EMF lines it printed.
const mod = await import(process.argv[2])
const handler = mod.handler ?? mod.default.handler
const results = [await handler({id: process.argv[3]}, {}), await handler({id: process.argv[3]}, {})]
console.log('RESULT ' + JSON.stringify(results))
process.exit(0)
`,
    )
  })

  async function invoke(file: string, id: string): Promise<{results: any[]; emf: any[]}> {
    const {stdout} = await exec(process.execPath, [join(fn, 'invoke.mjs'), join(fn, file), id], {
      cwd: fn,
      env: {PATH: process.env.PATH, ...redis.env, AWS_LAMBDA_FUNCTION_NAME: 'articles-api'},
    })
    const lines = stdout.trim().split('\n')
    const result = lines.find((l) => l.startsWith('RESULT '))!
    return {results: JSON.parse(result.slice(7)), emf: lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l))}
  }

  it('can be required by a CommonJS handler and caches in Redis', async () => {
    const {results, emf} = await invoke('handler.cjs', '1')
    assert.deepEqual(results, [
      {item: {id: '1', via: 'require'}, loads: 1},
      {item: {id: '1', via: 'require'}, loads: 1},
    ])
    assert.equal(await redis.command('GET', 'cct:v1:{article:1}'), '{"id":"1","via":"require"}')
    assert.deepEqual(
      emf.map((l) => [l.CacheMiss, l.CacheHit, l.FunctionName]),
      [
        [1, 0, 'articles-api'],
        [0, 1, 'articles-api'],
      ],
    )
  })

  it('can be imported by an ES module handler and shares entries with the CommonJS one', async () => {
    const {results} = await invoke('handler.mjs', '1')
    // Another "container" finds what the CommonJS function cached: no load at all.
    assert.deepEqual(results[0], {item: {id: '1', via: 'require'}, loads: 0, articlesTtl: 3600})
    const fresh = await invoke('handler.mjs', '2')
    assert.deepEqual(fresh.results[1], {item: {id: '2', via: 'import'}, loads: 1, articlesTtl: 3600})
  })

  it('ships types (generated from src/cache) that a TypeScript handler compiles against, declaring every export', async () => {
    // Every name the bundle exports must be declared: an import of one the types lack fails tsc.
    const names = first.manifest.node.exports.filter((name) => name !== 'default')
    assert.ok(names.includes('getCache') && names.includes('METRIC_NAMES'))
    writeFileSync(
      join(fn, 'check.ts'),
      `import {${names.join(', ')}, type Cache} from 'cct-cache'
export const all = [${names.join(', ')}]
const cache: Cache = getCache()
export async function load(id: string): Promise<{title: string} | null> {
  return cache.getOrLoad(\`article:\${id}\`, async () => ({title: 'x'}), {preset: 'articles'})
}
`,
    )
    writeFileSync(join(fn, 'package.json'), '{"type": "module"}')
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
    await exec(
      process.execPath,
      [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', join(fn, 'check.ts')],
      {cwd: fn},
    )
  })
})
