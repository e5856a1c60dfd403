import {createHash} from 'node:crypto'

/**
 * Key layout. A logical key such as `article:42` lives at `cct:v1:{article:42}`:
 * the stack and schema version namespace it, and the braces are a Redis Cluster hash
 * tag, so the entry, its generation counter and its load lock always share a slot and
 * the Lua scripts that touch all three keep working on a sharded cache (REDIS_CLUSTER).
 * Outside cluster mode the braces are just part of the name, so one format serves both
 * modes: a cache that gains shards keeps its key names.
 * The Python helper builds byte-identical keys, so both runtimes share entries.
 */
export interface KeySet {
  /** The cached value (or not-found marker). */
  entry: string
  /** Invalidation counter: bumped by every invalidate, checked by every write after a load. */
  gen: string
  /** Short cross-container lock held by the container loading this key. */
  lock: string
}

/**
 * The first part of every key. Braces in the stack or version would move the hash tag
 * off the key (`{}` even makes Redis hash the whole name, splitting an entry from its
 * lock), so they are dropped; names without braces, all of cct's, are unchanged.
 */
export function keyNamespace(stack: string, schemaVersion: string): string {
  return `${stack}:v${schemaVersion}:`.replace(/[{}]/g, '')
}

export function keySet(namespace: string, key: string): KeySet {
  if (typeof key !== 'string' || key === '') throw new TypeError('cache key must be a non-empty string')
  const entry = `${namespace}{${key}}`
  return {entry, gen: `${entry}:gen`, lock: `${entry}:lock`}
}

/** Keys longer than this are replaced by a hash: Redis keeps every key byte in memory. */
const MAX_ARGS_TEXT = 200

/**
 * The key for a call of a wrapped function, covering every argument.
 * One plain string or number argument keeps the runbook's readable shape
 * (`article:42`), so `invalidate('article:42')` reaches what `wrap` cached; anything else
 * is stable JSON of the argument list (object keys sorted), which always starts with `[`
 * and so can never collide with a plain single argument (those never start with `[`/`{`).
 */
export function callKey(prefix: string, args: readonly unknown[]): string {
  if (args.length === 0) return prefix
  if (args.length === 1) {
    const [only] = args
    if (typeof only === 'string' && only !== '' && !/^[[{]/.test(only)) return `${prefix}:${only}`
    if (typeof only === 'number' && Number.isFinite(only)) return `${prefix}:${only}`
  }
  const text = stableStringify(args)
  if (text.length <= MAX_ARGS_TEXT) return `${prefix}:${text}`
  return `${prefix}:#${createHash('sha256').update(text).digest('hex')}`
}

/**
 * JSON with object keys sorted, so `{a, b}` and `{b, a}` give one key. Sets are sorted
 * too; bigints become their digits; undefined/functions follow JSON (dropped in objects,
 * null in arrays).
 */
export function stableStringify(value: unknown): string {
  return write(value) ?? 'null'
}

function write(value: unknown): string | undefined {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value)
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null'
    case 'bigint':
      return value.toString()
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined
  }
  const object = value as {toJSON?: () => unknown}
  if (typeof object.toJSON === 'function') return write(object.toJSON())
  if (Array.isArray(value)) return `[${value.map((item) => write(item) ?? 'null').join(',')}]`
  if (value instanceof Set)
    return `[${[...value]
      .map((item) => write(item) ?? 'null')
      .sort()
      .join(',')}]`
  if (value instanceof Map) value = Object.fromEntries(value)
  const parts: string[] = []
  for (const name of Object.keys(value as object).sort()) {
    const text = write((value as Record<string, unknown>)[name])
    if (text !== undefined) parts.push(`${JSON.stringify(name)}:${text}`)
  }
  return `{${parts.join(',')}}`
}
