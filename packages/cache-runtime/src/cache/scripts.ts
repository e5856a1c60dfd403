import {createHash} from 'node:crypto'

import type {CacheClient} from './client.js'

/**
 * The Lua scripts behind the race-free parts. Each runs atomically on the server and
 * touches only the keys of one KeySet (same hash slot). The Python helper carries the
 * same text, so a Node writer and a Python invalidator agree.
 */
export interface Script {
  readonly lua: string
  readonly sha: string
  readonly keys: number
}

function script(keys: number, lua: string): Script {
  return {lua, keys, sha: createHash('sha1').update(lua).digest('hex')}
}

/**
 * On a miss: look again (another container may just have written), read the generation
 * the coming load will be checked against, and try to take the load lock.
 * KEYS: entry, gen, lock. ARGV: token, lockMs.
 * Returns {1, value} or {0, generation, lockTaken}.
 */
export const MISS = script(
  3,
  `local v = redis.call('GET', KEYS[1])
if v then return {1, v} end
local g = redis.call('GET', KEYS[2]) or ''
local ok = redis.call('SET', KEYS[3], ARGV[1], 'NX', 'PX', ARGV[2])
if ok then return {0, g, 1} end
return {0, g, 0}`,
)

/**
 * Write a loaded value only if no invalidation happened since the load began (the
 * generation is unchanged), then release our lock. This is what stops a slow reader from
 * putting back a value an update just invalidated.
 * KEYS: entry, gen, lock. ARGV: payload, ttlMs, expectedGen, token ('' = none).
 * Returns 1 if written.
 */
export const WRITE_IF_CURRENT = script(
  3,
  `local written = 0
if (redis.call('GET', KEYS[2]) or '') == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  written = 1
end
if ARGV[4] ~= '' and redis.call('GET', KEYS[3]) == ARGV[4] then redis.call('DEL', KEYS[3]) end
return written`,
)

/**
 * Invalidate: bump the generation (so in-flight loads cannot write back) and delete the entry.
 * KEYS: entry, gen. ARGV: genTtlMs.
 */
export const INVALIDATE = script(
  2,
  `redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])`,
)

/**
 * Delete a key only if it still holds the given value: releases a lock only if it is
 * still ours, and removes a corrupt entry only if nobody has rewritten it meanwhile.
 * KEYS: key. ARGV: expected value.
 */
export const DELETE_IF_EQUALS = script(
  1,
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
)

/**
 * Keep a load lock alive while its (slow) loader runs: extend it only if it is still ours,
 * so a holder whose lock already passed to another container cannot take it back.
 * KEYS: lock. ARGV: token, lockMs. Returns 1 if extended.
 */
export const RENEW_LOCK = script(
  1,
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`,
)

/** EVALSHA, falling back to EVAL once when the server has not seen the script (NOSCRIPT). */
export async function runScript(
  client: CacheClient,
  s: Script,
  keys: readonly string[],
  args: ReadonlyArray<string | number>,
): Promise<unknown> {
  try {
    return await client.evalsha(s.sha, s.keys, ...keys, ...args)
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
    return client.eval(s.lua, s.keys, ...keys, ...args)
  }
}
