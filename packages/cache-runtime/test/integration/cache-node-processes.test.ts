/**
 * Several Lambda containers missing the same key at once: real processes, one Redis.
 * This file is also the child program (CCT_STAMPEDE_CHILD=1).
 */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {createInterface} from 'node:readline'
import {after, before, describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'

import {createCache} from '../../src/cache/index.js'
import {startRedis, type RedisServer} from '../support/redis.js'

const CHILDREN = 4

if (process.env.CCT_STAMPEDE_CHILD === '1') {
  await child()
} else {
  let redis: RedisServer
  before(async () => {
    redis = await startRedis()
  })
  after(async () => {
    await redis.close()
  })

  describe('stampede across processes', () => {
    it(`${CHILDREN} containers missing one key at once load it once`, async () => {
      const lines = await runChildren(redis, CHILDREN)
      const results = lines.map((line) => JSON.parse(line) as {loaded: boolean; value: string})
      assert.equal(results.length, CHILDREN)
      assert.equal(results.filter((r) => r.loaded).length, 1, `loads: ${JSON.stringify(results)}`)
      const values = new Set(results.map((r) => r.value))
      assert.equal(values.size, 1, 'every container got the same value')
    })
  })
}

async function runChildren(redis: RedisServer, count: number): Promise<string[]> {
  const file = fileURLToPath(import.meta.url)
  const procs = Array.from({length: count}, () =>
    spawn(process.execPath, ['--import', 'tsx', file], {
      env: {...process.env, ...redis.env, CCT_STAMPEDE_CHILD: '1', CACHE_METRICS: 'off', CACHE_LOCK_WAIT_MS: '5000'},
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  )
  try {
    const readers = procs.map((proc) => createInterface({input: proc.stdout!})[Symbol.asyncIterator]())
    // Every child connected and waiting: then release them together.
    for (const reader of readers) {
      const ready = await reader.next()
      assert.equal(ready.value, 'ready')
    }
    for (const proc of procs) proc.stdin!.write('go\n')
    const results: string[] = []
    for (const reader of readers) {
      const line = await reader.next()
      results.push(String(line.value))
    }
    return results
  } finally {
    for (const proc of procs) if (proc.exitCode === null) proc.kill()
  }
}

async function child(): Promise<void> {
  const cache = createCache({log: () => {}})
  await cache.get('warm-up') // connect before the race starts
  process.stdout.write('ready\n')
  const input = createInterface({input: process.stdin})[Symbol.asyncIterator]()
  await input.next()
  let loaded = false
  const value = await cache.getOrLoad('stampede:article:1', async () => {
    loaded = true
    await sleep(300) // a slow DynamoDB read: the others must wait for it, not repeat it
    return `loaded by ${process.pid}`
  })
  process.stdout.write(`${JSON.stringify({loaded, value})}\n`)
  await cache.close()
  process.exit(0)
}
