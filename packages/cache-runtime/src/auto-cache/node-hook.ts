/**
 * cct auto-cache for Node: DynamoDB reads through the cct cache, with no code change.
 *
 * The layer's exec wrapper loads this file with NODE_OPTIONS=--require. It watches module
 * loads (CommonJS `require`, which the SDK's own CommonJS build uses internally even when
 * the function `import`s it) for the AWS SDK v3 client base class and wraps its `send`:
 * the first time a DynamoDB client (DynamoDBClient, or a lib-dynamodb DocumentClient,
 * which shares its client's middleware stack) sends, one middleware is added to its
 * stack. It sits first in the build step, where the request is the JSON body DynamoDB will
 * receive (after lib-dynamodb's marshalling), and returns the output the deserializer
 * would (before lib-dynamodb's unmarshalling). Keys and stored values are byte-for-byte
 * those of the Python hook (templates/layer/auto-cache/python/cct_auto_cache.py, whose
 * docstring is the contract), so both languages share entries and invalidations.
 *
 * A function whose bundle carries its own SDK copy never loads it through require: that
 * copy cannot be hooked. We tell at init (its handler file holds the DynamoDB protocol's
 * target prefix), log it once and emit an AutoCacheUnhookable metric.
 */
import {createHash, randomUUID} from 'node:crypto'
import {existsSync, readFileSync} from 'node:fs'
import Module from 'node:module'
import {join} from 'node:path'

import type {Cache} from '../cache/index.js'

declare const __dirname: string

type Json = null | boolean | number | string | Json[] | {[key: string]: Json}
type Wire = Record<string, any>
type Output = Record<string, any>
interface BuildArgs {
  input: Record<string, unknown>
  request?: {body?: unknown; headers?: Record<string, string>}
}
interface Result {
  output: Output
  response: unknown
}
type Next = (args: BuildArgs) => Promise<Result>
interface MiddlewareStack {
  add(middleware: never, options: Record<string, unknown>): void
}

const DEFAULT_TTL = 300 // DAX's default item and query cache TTL
const GENERATION_TTL = 86_400
const PREFIX = 'ddb'
const TARGET_PREFIX = 'DynamoDB_20120810'

const logged = new Set<string>()
function logOnce(key: string, message: string): void {
  if (logged.has(key)) return
  logged.add(key)
  console.error(`[cct-auto-cache] ${message}`)
}

// --- settings ------------------------------------------------------------------------

type Ttls = Record<string, {item?: number; query?: number}>

export function readTtls(raw: string | undefined): Ttls {
  const ttls: Ttls = {}
  if (!raw?.trim()) return ttls
  try {
    const parsed: unknown = JSON.parse(raw)
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object')
    const ok = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 0
    for (const [table, value] of Object.entries(parsed)) {
      if (ok(value)) ttls[table] = {item: value, query: value}
      else if (value && typeof value === 'object') {
        const entry: {item?: number; query?: number} = {}
        for (const kind of ['item', 'query'] as const)
          if (ok((value as Record<string, unknown>)[kind])) entry[kind] = (value as Record<string, number>)[kind]
        ttls[table] = entry
      } else throw new Error(`${table}: want seconds or {item, query}`)
    }
    return ttls
  } catch (error) {
    logOnce('ttls', `ignoring CCT_AUTO_CACHE_TTLS (${(error as Error).message}): using ${DEFAULT_TTL}s`)
    return {}
  }
}

let ttls: Ttls | undefined
export function ttlFor(table: string, kind: 'item' | 'query'): number {
  ttls ??= readTtls(process.env.CCT_AUTO_CACHE_TTLS)
  for (const name of [table, '*']) {
    const seconds = ttls[name]?.[kind]
    if (seconds !== undefined) return seconds
  }
  return DEFAULT_TTL
}

// --- the helper ----------------------------------------------------------------------

let cache: Cache | undefined
function helper(): Cache {
  if (cache) return cache
  const here = join(__dirname, '../../nodejs/node_modules/cct-cache')
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(existsSync(here) ? here : 'cct-cache') as typeof import('../cache/index.js')
  cache = mod.getCache()
  return cache
}

// --- metrics -------------------------------------------------------------------------

const METRICS = ['AutoCacheHit', 'AutoCacheMiss', 'AutoCacheBypass', 'AutoCacheInvalidation', 'AutoCacheUnhookable']

function emit(table: string | undefined, counts: Record<string, number>): void {
  const env = process.env
  if (['false', '0', 'no', 'off'].includes((env.CACHE_METRICS ?? 'true').trim().toLowerCase())) return
  const names = METRICS.filter((n) => counts[n])
  if (names.length === 0) return
  const doc = {
    _aws: {
      Timestamp: Date.now(),
      CloudWatchMetrics: [
        {
          Namespace: env.CACHE_METRICS_NAMESPACE?.trim() || 'cct/cache',
          // Per function (what cct verify counts, as it counts the helper's CacheHit and
          // CacheMiss) and, for table metrics, per function and table.
          Dimensions: table === undefined ? [['FunctionName']] : [['FunctionName'], ['FunctionName', 'Table']],
          Metrics: names.map((Name) => ({Name, Unit: 'Count'})),
        },
      ],
    },
    FunctionName: (env.AWS_LAMBDA_FUNCTION_NAME || 'local').trim(),
    ...(table === undefined ? {} : {Table: table}),
    ...counts,
  }
  process.stdout.write(`${JSON.stringify(doc)}\n`)
}
const count = (table: string | undefined, name: string, n = 1) => emit(table ?? '?', {[name]: n})

// --- stored values: DynamoDB's own JSON (as on the wire; B and BS in base64) ------------

const PAGE_FIELDS = ['Items', 'Count', 'ScannedCount', 'LastEvaluatedKey'] as const
function pageOf(wire: Wire): Json {
  const page: Record<string, Json> = {}
  for (const field of PAGE_FIELDS) if (wire[field] !== undefined) page[field] = wire[field]
  return page
}

// --- keys (identical to the Python hook's) ---------------------------------------------

export function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`
  if (value && typeof value === 'object') {
    const keys = Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stable((value as Record<string, unknown>)[k])}`).join(',')}}`
  }
  return JSON.stringify(value)
}

const NUMBER = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/

/**
 * DynamoDB's one value of a number however it is written: "1", "1.0", "+01" and "1e0" name
 * the same item. The same digits as the Python hook's canonical_number.
 */
export function canonicalNumber(text: string): string {
  const m = NUMBER.exec(text.trim())
  if (!m || !(m[2] || m[3])) return text
  const whole = m[2] ?? ''
  const frac = m[3] ?? ''
  const digits = (whole + frac).replace(/^0+/, '')
  if (!digits) return '0'
  const significant = digits.replace(/0+$/, '')
  const exponent = Number(m[4] ?? 0) - frac.length + (digits.length - significant.length)
  let plain: string
  if (exponent >= 0) plain = significant + '0'.repeat(exponent)
  else {
    const point = significant.length + exponent
    plain =
      point <= 0
        ? `0.${'0'.repeat(-point)}${significant}`
        : `${significant.slice(0, point)}.${significant.slice(point)}`
  }
  return (m[1] === '-' ? '-' : '') + plain
}

/** A Key with its numbers in one spelling: an entry filled under one is found, and evicted, under any other. */
export function canonicalKey(key: Wire): Wire {
  return Object.fromEntries(
    Object.entries(key).map(([name, value]) => [
      name,
      value && typeof value === 'object' && typeof value.N === 'string' ? {N: canonicalNumber(value.N)} : value,
    ]),
  )
}

export function entryKey(table: string, generation: string, kind: string, params: unknown): string {
  const p = params as Wire
  const canonical = kind === 'item' && p?.Key && typeof p.Key === 'object' ? {...p, Key: canonicalKey(p.Key)} : params
  return `${PREFIX}:${table}:${generation}:${kind}:${createHash('sha256').update(stable(canonical)).digest('hex')}`
}
/** The table's page generation: Query and Scan pages, projected GetItems. */
export const generationKey = (table: string) => `${PREFIX}:${table}:gen`
/** The table's item generation: GetItem and BatchGetItem entries of whole items. */
export const itemGenerationKey = (table: string) => `${PREFIX}:${table}:igen`
/** The table's key attribute names, as any container learned them from a Key. */
export const keyNamesKey = (table: string) => `${PREFIX}:${table}:keys`

/** A generation's value (a new one when there is none: the read that makes it fills the first entry under it). */
async function generation(key: string): Promise<string | undefined> {
  const value = await helper().getOrLoad(key, async () => randomUUID().replaceAll('-', ''), {ttl: GENERATION_TTL})
  return typeof value === 'string' ? value : undefined
}

const keyNames = new Map<string, string[]>()

/** A request's Key names the table's key attributes exactly: kept, and shared once. */
async function learnKey(table: string | undefined, key: unknown): Promise<void> {
  if (!table || !key || typeof key !== 'object' || Array.isArray(key)) return
  const names = Object.keys(key).sort()
  if (!names.length || keyNames.get(table)?.join('\0') === names.join('\0')) return
  keyNames.set(table, names)
  try {
    await helper().set(keyNamesKey(table), names, {ttl: GENERATION_TTL})
  } catch (error) {
    logOnce('learn-key', `could not share the key of ${table}: ${String(error)}`)
  }
}

/** The key of a whole item about to be written, or undefined when it cannot be told. */
async function keyOf(table: string, item: unknown): Promise<Wire | undefined> {
  let names = keyNames.get(table)
  if (!names) {
    const shared = await helper()
      .get<unknown>(keyNamesKey(table))
      .catch(() => undefined)
    if (!Array.isArray(shared) || !shared.length) return undefined
    keyNames.set(table, (names = (shared as string[]).slice().sort()))
  }
  if (!item || typeof item !== 'object' || !names.every((n) => n in (item as Wire))) return undefined
  return Object.fromEntries(names.map((n) => [n, (item as Wire)[n]]))
}

/** A write's target: its table, and the written item's key (undefined: any item). */
type Target = [table: string | undefined, key: Wire | undefined]

async function invalidate(targets: Target[]): Promise<void> {
  const byTable = new Map<string, Array<Wire | undefined>>()
  for (const [table, key] of targets) if (table) byTable.set(table, [...(byTable.get(table) ?? []), key])
  for (const table of [...byTable.keys()].sort()) {
    const keys = byTable.get(table)!
    try {
      const itemGen = keys.includes(undefined) ? undefined : await helper().get<unknown>(itemGenerationKey(table))
      // Not told (or Redis did not answer): every item of the table. The helper replays
      // an invalidation Redis missed, so nothing stale outlives an outage.
      const doomed =
        typeof itemGen === 'string'
          ? keys.map((key) => entryKey(table, itemGen, 'item', {Key: key}))
          : [itemGenerationKey(table)]
      await helper().invalidate(generationKey(table), ...doomed)
      count(table, 'AutoCacheInvalidation')
    } catch (error) {
      logOnce('invalidate', `could not invalidate ${table}: ${String(error)}`)
    }
  }
}

// --- reads -----------------------------------------------------------------------------

/** One exchange with DynamoDB: the SDK's result, and the JSON body DynamoDB answered with. */
interface Sent {
  result: Result
  wire: Wire
}
interface Io {
  /** Send the request (or the same request with another body) to DynamoDB. */
  send(body?: Wire): Promise<Sent>
  /** Answer from the cache: the SDK deserializes this body as if DynamoDB had sent it. */
  serve(wire: Wire): Promise<Result>
}

const wantsCapacity = (body: Wire) =>
  body.ReturnConsumedCapacity !== undefined && body.ReturnConsumedCapacity !== 'NONE'

async function throughCache(
  table: string,
  key: string,
  ttl: number,
  toValue: (wire: Wire) => Json,
  fromValue: (value: any) => Wire,
  io: Io,
): Promise<Result> {
  let answer: Sent | undefined
  const value = await helper().getOrLoad<Json>(
    key,
    async () => {
      answer = await io.send()
      return toValue(answer.wire)
    },
    {ttl},
  )
  if (answer) {
    count(table, 'AutoCacheMiss')
    return answer.result
  }
  count(table, 'AutoCacheHit')
  return io.serve(fromValue(value))
}

const ITEM_PARAMS = ['Key', 'ProjectionExpression', 'ExpressionAttributeNames', 'AttributesToGet']

type Route = (body: Wire, io: Io) => Promise<Result>
const passOn = async (io: Io) => (await io.send()).result

const getItem: Route = async (body, io) => {
  const table = body.TableName as string
  const ttl = ttlFor(table, 'item')
  await learnKey(table, body.Key)
  if (body.ConsistentRead || wantsCapacity(body) || !ttl) return (count(table, 'AutoCacheBypass'), passOn(io))
  const params = Object.fromEntries(ITEM_PARAMS.filter((k) => body[k] !== undefined).map((k) => [k, body[k]]))
  // A projection is a part of the item a write's key cannot name: it follows the pages.
  const whole = Object.keys(params).join() === 'Key'
  const gen = await generation(whole ? itemGenerationKey(table) : generationKey(table))
  if (gen === undefined) return (count(table, 'AutoCacheMiss'), passOn(io))
  // null: not found, negative-cached by the helper (CACHE_TTL_NOT_FOUND at most).
  return throughCache(
    table,
    entryKey(table, gen, 'item', params),
    ttl,
    (wire) => wire.Item ?? null,
    (v) => (v === null ? {} : {Item: v}),
    io,
  )
}

const page =
  (kind: 'query' | 'scan'): Route =>
  async (body, io) => {
    const table = body.TableName as string
    const ttl = ttlFor(table, 'query')
    if (body.ConsistentRead || wantsCapacity(body) || !ttl) return (count(table, 'AutoCacheBypass'), passOn(io))
    const gen = await generation(generationKey(table))
    if (gen === undefined) return (count(table, 'AutoCacheMiss'), passOn(io))
    const {TableName: _t, ConsistentRead: _c, ReturnConsumedCapacity: _r, ...params} = body
    return throughCache(table, entryKey(table, gen, kind, params), ttl, pageOf, (v) => v, io)
  }

const sameKey = (item: Wire, key: Wire) =>
  stable(canonicalKey(Object.fromEntries(Object.keys(key).map((name) => [name, item[name]])))) ===
  stable(canonicalKey(key))

/** Thrown by a key's loader when DynamoDB left that key unprocessed: nothing is cached. */
class Unprocessed extends Error {}

const batchGet: Route = async (body, io) => {
  const request = (body.RequestItems ?? {}) as Record<string, Wire>
  if (wantsCapacity(body)) {
    for (const table of Object.keys(request)) count(table, 'AutoCacheBypass')
    return passOn(io)
  }
  const cacheApi = helper()
  interface Row {
    key: Wire
    entry: string
    value: Json | null | undefined
    missed: boolean
  }
  const plans = new Map<string, Row[] | undefined>()
  const ttls = new Map<string, number>()
  const forward: Record<string, Wire> = {}
  for (const [table, spec] of Object.entries(request)) {
    const ttl = ttlFor(table, 'item')
    ttls.set(table, ttl)
    const cacheable =
      ttl > 0 && !spec.ConsistentRead && spec.ProjectionExpression === undefined && spec.AttributesToGet === undefined
    for (const key of (spec.Keys ?? []) as Wire[]) await learnKey(table, key)
    const gen = cacheable ? await generation(itemGenerationKey(table)) : undefined
    if (gen === undefined) {
      count(table, cacheable ? 'AutoCacheMiss' : 'AutoCacheBypass', (spec.Keys as unknown[] | undefined)?.length || 1)
      forward[table] = spec
      plans.set(table, undefined)
      continue
    }
    plans.set(
      table,
      await Promise.all(
        (spec.Keys as Wire[]).map(async (key) => {
          const entry = entryKey(table, gen, 'item', {Key: key})
          const value = await cacheApi.get<Json>(entry)
          return {key, entry, value, missed: value === undefined}
        }),
      ),
    )
  }
  // The misses go through getOrLoad (single flight, cross-container lock, negative
  // caching); their loaders share one BatchGetItem of every key that missed above.
  const missing: Record<string, Wire> = {...forward}
  for (const [table, rows] of plans) {
    const keys = (rows ?? []).filter((r) => r.missed).map((r) => r.key)
    if (keys.length) missing[table] = {...request[table], Keys: keys}
  }
  let batch: Promise<Sent> | undefined
  const fetch = () => (batch ??= io.send({...body, RequestItems: missing}))
  await Promise.all(
    [...plans].flatMap(([table, rows]) =>
      (rows ?? [])
        .filter((r) => r.missed)
        .map(async (row) => {
          try {
            row.value = await cacheApi.getOrLoad<Json>(
              row.entry,
              async () => {
                const {wire} = await fetch()
                const found = ((wire.Responses?.[table] ?? []) as Wire[]).find((item) => sameKey(item, row.key))
                if (found) return found
                if (((wire.UnprocessedKeys?.[table]?.Keys ?? []) as Wire[]).some((u) => sameKey(u, row.key)))
                  throw new Unprocessed()
                return null
              },
              {ttl: ttls.get(table)!},
            )
          } catch (error) {
            if (!(error instanceof Unprocessed)) throw error
            row.value = undefined
          }
        }),
    ),
  )
  const fetched = Object.keys(forward).length > 0 ? await fetch() : batch ? await batch : undefined
  const responses: Record<string, Wire[]> = {}
  for (const [table, rows] of plans) {
    const got = fetched?.wire.Responses?.[table] as Wire[] | undefined
    if (!rows) {
      if (got) responses[table] = got
      continue
    }
    const missed = rows.filter((r) => r.missed).length
    emit(table, {AutoCacheHit: rows.length - missed, AutoCacheMiss: missed})
    responses[table] = rows.filter((r) => r.value !== undefined && r.value !== null).map((r) => r.value as Wire)
  }
  const wire: Wire = {Responses: responses, UnprocessedKeys: fetched?.wire.UnprocessedKeys ?? {}}
  if (fetched?.wire.ConsumedCapacity) wire.ConsumedCapacity = fetched.wire.ConsumedCapacity
  return io.serve(wire)
}

// --- writes ----------------------------------------------------------------------------

const STATEMENT = /^\s*(?:(insert\s+into|update|delete\s+from|upsert\s+into)|(select|exists))\b/i
const WRITE_TABLE = /^\s*(?:insert\s+into|update|delete\s+from|upsert\s+into)\s+("(?:[^"]|"")+"|[A-Za-z0-9_.-]+)/i

/** The table a PartiQL statement writes; undefined for a read, '' when it cannot be told. */
export function statementWriteTable(statement: unknown): string | undefined {
  if (typeof statement !== 'string') return undefined
  const verb = STATEMENT.exec(statement)
  if (!verb || verb[2]) return undefined
  const match = WRITE_TABLE.exec(statement)
  if (!match) {
    logOnce('partiql', 'cannot tell the table of a PartiQL write; its cached reads age out by TTL')
    return ''
  }
  const name = match[1]!
  return name.startsWith('"') ? name.slice(1, -1).replaceAll('""', '"') : name
}

/** (table, the written item's key): a Key names it; a whole Item does once the key attributes are known. */
async function writtenItem(table: string | undefined, key: Wire | undefined, item?: Wire): Promise<Target> {
  if (key !== undefined) return (await learnKey(table, key), [table, key])
  return [table, table ? await keyOf(table, item) : undefined]
}

const statementTargets = (statements: unknown[]): Target[] =>
  statements
    .map(statementWriteTable)
    .filter((t): t is string => Boolean(t))
    .map((t) => [t, undefined])

/** What a write can change, as (table, key) pairs; an undefined key means any item of the table. */
export async function writtenItems(operation: string, body: Wire): Promise<Target[]> {
  switch (operation) {
    case 'PutItem':
      return [await writtenItem(body.TableName, undefined, body.Item)]
    case 'UpdateItem':
    case 'DeleteItem':
      return [await writtenItem(body.TableName, body.Key)]
    case 'DeleteTable':
      keyNames.delete(body.TableName)
      return [[body.TableName, undefined]]
    case 'BatchWriteItem':
      return Promise.all(
        Object.entries((body.RequestItems ?? {}) as Record<string, Wire[]>).flatMap(([table, requests]) =>
          (requests.length ? requests : [{}]).map((r) =>
            r.DeleteRequest
              ? writtenItem(table, r.DeleteRequest.Key)
              : writtenItem(table, undefined, r.PutRequest?.Item),
          ),
        ),
      )
    case 'TransactWriteItems':
      return Promise.all(
        (body.TransactItems ?? []).flatMap((entry: Wire) =>
          Object.entries(entry)
            // A condition check writes nothing.
            .filter(([kind, part]) => kind !== 'ConditionCheck' && part?.TableName)
            .map(([kind, part]) =>
              kind === 'Put'
                ? writtenItem(part.TableName, undefined, part.Item)
                : writtenItem(part.TableName, part.Key),
            ),
        ),
      )
    case 'ExecuteStatement':
      return statementTargets([body.Statement])
    case 'BatchExecuteStatement':
      return statementTargets((body.Statements ?? []).map((s: Wire) => s.Statement))
    case 'ExecuteTransaction':
      return statementTargets((body.TransactStatements ?? []).map((s: Wire) => s.Statement))
    default:
      return []
  }
}

const write =
  (operation: string): Route =>
  async (body, io) => {
    const targets = await writtenItems(operation, body)
    if (targets.length === 0) return passOn(io) // PartiQL reads, condition checks only
    try {
      return await passOn(io)
    } finally {
      // After the write (also a failed or timed-out one, which may have happened): a read
      // that started before it cannot write back what it read (per-entry invalidation in
      // the helper), nor be found under the old generation.
      await invalidate(targets)
    }
  }

const transactGet: Route = async (body, io) => {
  for (const entry of body.TransactItems ?? []) count(entry.Get?.TableName, 'AutoCacheBypass')
  return passOn(io)
}

const ROUTES: Record<string, Route> = {
  GetItem: getItem,
  BatchGetItem: batchGet,
  Query: page('query'),
  Scan: page('scan'),
  TransactGetItems: transactGet,
}
for (const op of [
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'DeleteTable',
  'BatchWriteItem',
  'TransactWriteItems',
  'ExecuteStatement',
  'BatchExecuteStatement',
  'ExecuteTransaction',
])
  ROUTES[op] = write(op)

// --- the middlewares -------------------------------------------------------------------
// Two, because lib-dynamodb unmarshalls right outside the deserializer and signs after the
// build step: the build one routes (and may change the request body before it is signed);
// the innermost one, between the deserializer and the network, records DynamoDB's JSON
// answer or hands the deserializer a cached one. So DocumentClient users get their plain
// objects on a hit too, and every response is parsed by the SDK's own code.

const SLOT = Symbol.for('cct.autoCache.exchange')
interface Exchange {
  serve?: string
  wire?: string
}
type Context = {commandName?: string; [SLOT]?: Exchange}

const decoder = new TextDecoder()
const encoder = new TextEncoder()
function bodyText(body: unknown): string | undefined {
  if (typeof body === 'string') return body
  if (body instanceof Uint8Array) return decoder.decode(body)
  return undefined
}

export const autoCacheMiddleware =
  (next: Next, context: Context) =>
  async (args: BuildArgs): Promise<Result> => {
    const route = ROUTES[(context.commandName ?? '').replace(/Command$/, '')]
    const text = route ? bodyText(args.request?.body) : undefined
    if (!route || text === undefined) return next(args)
    let sent = false
    const io: Io = {
      async send(body) {
        sent = true
        let request = args.request as Record<string, any>
        if (body) {
          const headers = Object.fromEntries(
            Object.entries(request.headers ?? {}).filter(([k]) => k.toLowerCase() !== 'content-length'),
          )
          // Same request, another body; clone() keeps the class later middleware expects.
          request = typeof request.clone === 'function' ? request.clone() : {...request}
          request.headers = headers
          request.body =
            typeof args.request!.body === 'string' ? JSON.stringify(body) : encoder.encode(JSON.stringify(body))
        }
        const exchange: Exchange = {}
        context[SLOT] = exchange
        const result = await next({...args, request} as BuildArgs)
        return {result, wire: JSON.parse(exchange.wire ?? '{}') as Wire}
      },
      async serve(wire) {
        context[SLOT] = {serve: JSON.stringify(wire)}
        return next(args)
      },
    }
    try {
      return await route(JSON.parse(text) as Wire, io)
    } catch (error) {
      if (sent) throw error // DynamoDB's (or the network's) error: the caller's to see
      logOnce(`route-${context.commandName}`, `${context.commandName} not cached: ${String(error)}`)
      return next(args)
    } finally {
      delete context[SLOT]
    }
  }

type Response = {statusCode: number; headers: Record<string, string>; body?: any}
type InnerNext = (args: unknown) => Promise<{response: Response; output?: unknown}>

async function readBody(body: any): Promise<Uint8Array> {
  if (body instanceof Uint8Array) return body
  if (typeof body === 'string') return encoder.encode(body)
  const chunks: Buffer[] = []
  for await (const chunk of body) chunks.push(Buffer.from(chunk))
  return new Uint8Array(Buffer.concat(chunks))
}

export const exchangeMiddleware = (next: InnerNext, context: Context) => async (args: any) => {
  const exchange = context[SLOT]
  if (!exchange) return next(args)
  if (exchange.serve !== undefined) {
    const requestId = randomUUID().replaceAll('-', '').toUpperCase()
    return {
      response: {
        statusCode: 200,
        reason: 'OK',
        headers: {'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': requestId, 'x-cct-cache': 'hit'},
        body: encoder.encode(exchange.serve),
      },
    }
  }
  const out = await next(args)
  if (out.response.statusCode === 200 && out.response.body !== undefined) {
    const bytes = await readBody(out.response.body)
    out.response.body = bytes
    exchange.wire = decoder.decode(bytes)
  }
  return out
}

// --- installing ------------------------------------------------------------------------

const PATCHED = Symbol.for('cct.autoCache.patched')
const hookedStacks = new WeakSet<object>()

function patchSend(proto: any): void {
  if (!proto || typeof proto.send !== 'function' || proto[PATCHED]) return
  const original = proto.send
  proto.send = function (this: {config?: {serviceId?: string}; middlewareStack?: MiddlewareStack}, ...rest: unknown[]) {
    const stack = this?.middlewareStack
    if (this?.config?.serviceId === 'DynamoDB' && stack && !hookedStacks.has(stack)) {
      hookedStacks.add(stack)
      stack.add(autoCacheMiddleware as never, {
        step: 'build',
        priority: 'high',
        name: 'cctAutoCacheMiddleware',
        override: true,
      })
      stack.add(exchangeMiddleware as never, {
        step: 'deserialize',
        priority: 'low',
        name: 'cctAutoCacheExchangeMiddleware',
        override: true,
      })
    }
    return original.apply(this, rest)
  }
  Object.defineProperty(proto, PATCHED, {value: true})
}

/** Patch what a loaded module exports, when it is (or carries) the SDK's client base class. */
export function patchExports(exports: any): void {
  if (!exports || (typeof exports !== 'object' && typeof exports !== 'function')) return
  try {
    for (const name of ['DynamoDBClient', 'DynamoDBDocumentClient']) {
      const cls = Object.getOwnPropertyDescriptor(exports, name) ? exports[name] : undefined
      if (typeof cls === 'function') patchSend(Object.getPrototypeOf(cls.prototype))
    }
    const base = Object.getOwnPropertyDescriptor(exports, 'Client') ? exports.Client : undefined
    if (typeof base === 'function' && Object.getOwnPropertyDescriptor(exports, 'Command')) patchSend(base.prototype)
  } catch {
    // A module with throwing getters is none of ours.
  }
}

/** Tell whether the handler's own file bundles a DynamoDB client we cannot hook. */
function checkBundledSdk(): void {
  const root = process.env.LAMBDA_TASK_ROOT
  const handler = process.env._HANDLER
  if (!root || !handler) return
  const base = join(root, handler.slice(0, handler.lastIndexOf('.')))
  for (const ext of ['.js', '.mjs', '.cjs']) {
    const file = base + ext
    if (!existsSync(file)) continue
    if (readFileSync(file, 'latin1').includes(TARGET_PREFIX)) {
      logOnce(
        'bundled',
        `${handler}: this function bundles its own AWS SDK copy, which auto-cache cannot hook; its DynamoDB reads are not cached. Use the runtime's SDK (mark @aws-sdk/* external) to cache them.`,
      )
      emit(undefined, {AutoCacheUnhookable: 1})
    }
    return
  }
}

function install(): void {
  const M = Module as unknown as {
    _load: (request: string, parent: unknown, isMain: boolean) => unknown
    [PATCHED]?: boolean
  }
  if (M[PATCHED]) return
  M[PATCHED] = true
  const load = M._load
  M._load = function (request, parent, isMain) {
    const exports = load.call(this, request, parent, isMain)
    if (request.includes('@aws-sdk/') || request.includes('@smithy/')) patchExports(exports)
    return exports
  }
  try {
    checkBundledSdk()
  } catch {
    // Best effort: a file we cannot read changes nothing.
  }
}

install()
