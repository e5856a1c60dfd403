import {createHash} from 'node:crypto'

import type {CacheClient} from './client.js'
import {LUA} from './lua.js'

/**
 * The Lua scripts behind the race-free parts. Each runs atomically on the server and
 * touches only the keys of one KeySet (same hash slot). Their text is in lua/*.lua, which
 * the layer build puts into both helpers, so a Node writer and a Python invalidator agree.
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
export const MISS = script(3, LUA.miss)

/**
 * Write a loaded value only if no invalidation happened since the load began (the
 * generation is unchanged), then release our lock. This is what stops a slow reader from
 * putting back a value an update just invalidated.
 * KEYS: entry, gen, lock. ARGV: payload, ttlMs, expectedGen, token ('' = none).
 * Returns 1 if written.
 */
export const WRITE_IF_CURRENT = script(3, LUA.write_if_current)

/**
 * Invalidate: bump the generation (so in-flight loads cannot write back) and delete the entry.
 * KEYS: entry, gen. ARGV: genTtlMs.
 */
export const INVALIDATE = script(2, LUA.invalidate)

/**
 * Delete a key only if it still holds the given value: releases a lock only if it is
 * still ours, and removes a corrupt entry only if nobody has rewritten it meanwhile.
 * KEYS: key. ARGV: expected value.
 */
export const DELETE_IF_EQUALS = script(1, LUA.delete_if_equals)

/**
 * Keep a load lock alive while its (slow) loader runs: extend it only if it is still ours,
 * so a holder whose lock already passed to another container cannot take it back.
 * KEYS: lock. ARGV: token, lockMs. Returns 1 if extended.
 */
export const RENEW_LOCK = script(1, LUA.renew_lock)

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
