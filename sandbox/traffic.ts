/**
 * Traffic for the seeded APIs, through Lambda Invoke as API Gateway would send it: HTTP API
 * v2 events, mostly GETs by id with Zipf-like key popularity (a few hot articles get most
 * reads, which is what makes a cache pay), some list pages, a few PUTs and a few ids that
 * do not exist. `planTraffic` is pure and deterministic for a seed; `runTraffic` sends the
 * plan open-loop (arrivals do not wait for answers, as users do not) with a cap on requests
 * in flight, and sums up what Lambda reported (REPORT Duration, Init Duration) from
 * `LogType: Tail`.
 *
 *   node --import tsx sandbox/cli.ts traffic --rate 10 --duration 20 --seed 1 [--json]
 */
import {makeRow, mix, random, SEED_TABLES, type Row, type SeedTable} from './seed-data.js'

export type RequestKind = 'get' | 'missing' | 'list' | 'put'

export interface PlannedRequest {
  /** When to send it, in ms after the start. */
  atMs: number
  functionName: string
  kind: RequestKind
  /** The API Gateway HTTP API (payload 2.0) event, without its clock fields. */
  event: ApiEvent
}

export interface ApiEvent {
  version: '2.0'
  routeKey: string
  rawPath: string
  rawQueryString: string
  headers: Record<string, string>
  queryStringParameters?: Record<string, string>
  pathParameters?: Record<string, string>
  requestContext: {
    accountId: string
    apiId: string
    domainName: string
    http: {method: string; path: string; protocol: string; sourceIp: string; userAgent: string}
    requestId: string
    routeKey: string
    stage: string
    time?: string
    timeEpoch?: number
  }
  body?: string
  isBase64Encoded: boolean
}

export interface TrafficPlanOptions {
  /** Invocations per second, on average (arrivals are Poisson). Default 10. */
  rate?: number
  /** Seconds of traffic. Default 20. */
  durationSeconds?: number
  /** At most this many invocations (default: whatever the rate and duration give, at most 100 000). */
  maxInvocations?: number
  /** Which seeded functions (default all five). */
  functions?: string[]
  /** Same seed, same plan. Default 1. */
  seed?: number
  /** Shares of PUTs, list GETs and GETs of ids that do not exist; the rest are GETs by id. */
  putRatio?: number
  listRatio?: number
  missingRatio?: number
}

/** How often each API is called relative to the others: articles are the front page. */
const POPULARITY: Record<string, number> = {
  'articles-api': 0.35,
  'video-list-api': 0.25,
  'news-api': 0.2,
  'resources-api': 0.1,
  'contributors-api': 0.1,
}
/** Zipf exponent: ~1 is what web object popularity measures (Breslau et al. 1999). */
const ZIPF_S = 1.05
const MAX_PLAN = 100_000

export function planTraffic(opts: TrafficPlanOptions = {}): PlannedRequest[] {
  const rate = opts.rate ?? 10
  const duration = opts.durationSeconds ?? 20
  const seed = opts.seed ?? 1
  const putRatio = opts.putRatio ?? 0.05
  const listRatio = opts.listRatio ?? 0.1
  const missingRatio = opts.missingRatio ?? 0.02
  if (!(rate > 0)) throw new Error(`rate must be above 0 per second, got ${rate}`)
  if (!(duration > 0)) throw new Error(`duration must be above 0 seconds, got ${duration}`)
  for (const [name, r] of Object.entries({putRatio, listRatio, missingRatio}))
    if (!(r >= 0 && r <= 1)) throw new Error(`${name} must be between 0 and 1, got ${r}`)
  if (putRatio + listRatio + missingRatio > 1) throw new Error('put, list and missing ratios add up to more than 1')
  const limit = Math.min(opts.maxInvocations ?? MAX_PLAN, MAX_PLAN)

  const tables = (opts.functions ?? SEED_TABLES.map((t) => t.functionName)).map((name) => {
    const table = SEED_TABLES.find((t) => t.functionName === name)
    if (!table)
      throw new Error(`no seeded function ${name} (known: ${SEED_TABLES.map((t) => t.functionName).join(', ')})`)
    return table
  })
  if (!tables.length) throw new Error('no functions to call')
  const weights = cumulative(tables.map((t) => POPULARITY[t.functionName] ?? 0.1))
  const keys = new Map(tables.map((t) => [t.functionName, popularity(t, seed)]))

  const rng = random(mix(seed, 'traffic'))
  const plan: PlannedRequest[] = []
  let t = 0
  while (plan.length < limit) {
    t += (-Math.log(1 - rng()) / rate) * 1000 // exponential gaps: Poisson arrivals
    if (t >= duration * 1000) break
    const table = tables[search(weights, rng())]!
    const {ids, cdf} = keys.get(table.functionName)!
    const r = rng()
    const n = plan.length + 1
    const id = () => ids[search(cdf, rng())]!
    const [kind, event]: [RequestKind, ApiEvent] =
      r < putRatio
        ? ['put', putEvent(table, id(), rng, seed, n)]
        : r < putRatio + listRatio
          ? ['list', listEvent(table, rng, seed, n)]
          : r < putRatio + listRatio + missingRatio
            ? ['missing', getEvent(table, `${table.idPrefix}-x${Math.floor(rng() * 1e6)}`, seed, n)]
            : ['get', getEvent(table, id(), seed, n)]
    plan.push({atMs: Math.round(t * 1000) / 1000, functionName: table.functionName, kind, event})
  }
  return plan
}

/**
 * The reads of plan[from..] that even a perfect cache (no TTL, no eviction, exact
 * invalidation) would send to DynamoDB: a GET of an item not read since its last PUT (or
 * ever), a list page not read since the last PUT on its table, and every GET of an id that
 * was never read before. What a cache can save is measured against this floor.
 */
export function unavoidableReads(plan: PlannedRequest[], from = 0): number {
  const held = new Set<string>()
  let reads = 0
  plan.forEach((p, i) => {
    const item = `${p.functionName} ${p.event.rawPath}`
    if (p.kind === 'put') {
      held.delete(item)
      for (const key of held) if (key.startsWith(`${p.functionName} ?`)) held.delete(key)
      return
    }
    const key = p.kind === 'list' ? `${p.functionName} ?${p.event.rawQueryString}` : item
    if (i >= from && !held.has(key)) reads++
    held.add(key)
  })
  return reads
}

/** The table's ids in a seeded popularity order, with the Zipf CDF over those ranks. */
function popularity(table: SeedTable, seed: number): {ids: string[]; cdf: number[]} {
  const ids = Array.from({length: table.count}, (_, i) => `${table.idPrefix}-${String(i + 1).padStart(3, '0')}`)
  const rng = random(mix(seed, `popularity:${table.tableName}`))
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1))
    ;[ids[i], ids[j]] = [ids[j]!, ids[i]!]
  }
  return {ids, cdf: cumulative(ids.map((_, rank) => 1 / Math.pow(rank + 1, ZIPF_S)))}
}

function cumulative(weights: number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0)
  let sum = 0
  return weights.map((w) => (sum += w / total))
}

/** The first index whose cumulative share reaches u. */
function search(cdf: number[], u: number): number {
  let lo = 0
  let hi = cdf.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (cdf[mid]! < u) lo = mid + 1
    else hi = mid
  }
  return lo
}

function event(
  method: string,
  route: string,
  path: string,
  seed: number,
  n: number,
  extra: Partial<ApiEvent> = {},
): ApiEvent {
  const query = extra.queryStringParameters
  const routeKey = `${method} ${route}`
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: query ? new URLSearchParams(query).toString() : '',
    headers: {accept: 'application/json', host: 'api.cct-demo.example.com', 'user-agent': 'cct-sandbox-traffic'},
    ...extra,
    requestContext: {
      accountId: '123456789012',
      apiId: 'cctdemo',
      domainName: 'api.cct-demo.example.com',
      http: {method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.10', userAgent: 'cct-sandbox-traffic'},
      requestId: `traffic-${seed}-${n}`,
      routeKey,
      stage: '$default',
    },
    isBase64Encoded: false,
  }
}

const getEvent = (table: SeedTable, id: string, seed: number, n: number) =>
  event('GET', `${table.path}/{id}`, `${table.path}/${encodeURIComponent(id)}`, seed, n, {pathParameters: {id}})

function listEvent(table: SeedTable, rng: () => number, seed: number, n: number): ApiEvent {
  const query: Record<string, string> = {limit: String([10, 20, 20, 50][Math.floor(rng() * 4)])}
  // Readers of the news browse by section: the index query, not the scan.
  if (table.tableName === 'news' && rng() < 0.5)
    query.category = ['politics', 'faith', 'community', 'education', 'culture', 'opinion'][Math.floor(rng() * 6)]!
  return event('GET', table.path, table.path, seed, n, {queryStringParameters: query})
}

function putEvent(table: SeedTable, id: string, rng: () => number, seed: number, n: number): ApiEvent {
  const row: Row = makeRow(table.tableName, id, rng)
  delete row[table.key] // the id is the path's
  return event('PUT', `${table.path}/{id}`, `${table.path}/${encodeURIComponent(id)}`, seed, n, {
    pathParameters: {id},
    headers: {
      'content-type': 'application/json',
      host: 'api.cct-demo.example.com',
      'user-agent': 'cct-sandbox-traffic',
    },
    body: JSON.stringify(row),
  })
}

// ---- sending ----

/** What traffic needs from an Invoke answer (the AWS SDK's InvokeCommandOutput fits). */
export interface InvokeAnswer {
  FunctionError?: string
  Payload?: Uint8Array
  /** base64 of the log's last 4 KB (LogType: Tail). */
  LogResult?: string
}
export type Invoker = (functionName: string, payload: string, signal: AbortSignal) => Promise<InvokeAnswer>

export interface InvocationResult {
  functionName: string
  kind: RequestKind
  /** The API's HTTP status, when the function answered. */
  statusCode?: number
  /** Lambda's FunctionError (Unhandled) or the Invoke call's own failure. */
  error?: string
  /** From the REPORT line. */
  durationMs?: number
  initDurationMs?: number
  /** Round trip as the caller saw it. */
  latencyMs: number
}

export interface TrafficProgress {
  planned: number
  sent: number
  done: number
  errors: number
  inFlight: number
  elapsedMs: number
}

export interface TrafficSummary {
  seed: number
  planned: number
  /**
   * Planned arrivals not sent because every slot was busy until the duration ran out
   * (functions slower than rate x concurrency allows, e.g. hanging until their timeout).
   */
  notSent: number
  invocations: number
  /** Invocations with a FunctionError or a failed Invoke call (Lambda's Errors metric, plus the caller's). */
  errors: number
  /** HTTP status the APIs answered -> count. */
  statusCodes: Record<string, number>
  kinds: Record<RequestKind, number>
  coldStarts: number
  /** From REPORT lines; null when no invocation reported one. */
  durationMs: {p50: number | null; p95: number | null; max: number | null}
  latencyMs: {p50: number | null; p95: number | null}
  elapsedSeconds: number
  perFunction: Record<
    string,
    {invocations: number; errors: number; coldStarts: number; p50: number | null; p95: number | null}
  >
  /** The first few errors, for the reader. */
  sampleErrors: string[]
}

export interface TrafficOptions extends TrafficPlanOptions {
  /** The sandbox (moto) endpoint and region, for the default Lambda client. */
  endpoint?: string
  region?: string
  /**
   * Requests in flight at most; later arrivals wait (default 4). Each concurrent request may
   * start a container (a python3 with boto3): on a small machine a burst of cold starts
   * starves itself past Lambda's 10 s init limit, while 4 warm containers serve 10/s.
   */
  concurrency?: number
  /** How long to wait for the last answers after the duration (default 15 s: a seeded function's 10 s Timeout and a cold start). */
  drainSeconds?: number
  onProgress?: (p: TrafficProgress) => void
  /** Defaults to Lambda Invoke (RequestResponse, LogType Tail) at `endpoint`. */
  invoke?: Invoker
}

export async function runTraffic(opts: TrafficOptions): Promise<TrafficSummary> {
  const plan = planTraffic(opts)
  const concurrency = Math.max(1, opts.concurrency ?? 4)
  const {invoke, close} = opts.invoke ? {invoke: opts.invoke, close: () => {}} : await lambdaInvoker(opts, concurrency)
  const abort = new AbortController()
  const results: InvocationResult[] = []
  const began = performance.now()
  let sent = 0
  let inFlight = 0
  let errors = 0
  let wake: (() => void) | undefined
  const progress = () =>
    opts.onProgress?.({
      planned: plan.length,
      sent,
      done: results.length,
      errors,
      inFlight,
      elapsedMs: performance.now() - began,
    })

  const one = async (request: PlannedRequest) => {
    const start = performance.now()
    const now = new Date()
    const event = {
      ...request.event,
      requestContext: {...request.event.requestContext, time: now.toISOString(), timeEpoch: now.getTime()},
    }
    let result: InvocationResult
    try {
      result = {
        ...parseAnswer(await invoke(request.functionName, JSON.stringify(event), abort.signal)),
        functionName: request.functionName,
        kind: request.kind,
        latencyMs: performance.now() - start,
      }
    } catch (e) {
      result = {
        functionName: request.functionName,
        kind: request.kind,
        error: `${(e as Error).name}: ${(e as Error).message}`,
        latencyMs: performance.now() - start,
      }
    }
    if (result.error) errors++
    results.push(result)
    inFlight--
    wake?.()
    progress()
  }

  const pending: Promise<void>[] = []
  try {
    const end = began + (opts.durationSeconds ?? 20) * 1000
    for (const request of plan) {
      const wait = began + request.atMs - performance.now()
      if (wait > 0) await sleep(wait)
      // Open loop, but bounded in flight and in time: when slow answers hold every slot
      // until the duration is over, the rest of the plan is dropped, not sent late.
      while (inFlight >= concurrency && performance.now() < end) {
        // Woken by an answer, or by the end of the duration; the timer is cleared either way,
        // or each wait would keep the process alive until the end of the duration.
        let timer: NodeJS.Timeout | undefined
        await new Promise<void>((resolve) => {
          wake = resolve
          timer = setTimeout(resolve, end - performance.now())
        })
        clearTimeout(timer)
      }
      if (inFlight >= concurrency) break
      inFlight++
      sent++
      pending.push(one(request))
    }
    // Bounded: answers still missing after the drain time are abandoned (and counted as errors).
    const drained = Promise.allSettled(pending)
    const timer = setTimeout(
      () => abort.abort(new Error('traffic: gave up waiting for the answer')),
      (opts.drainSeconds ?? 15) * 1000,
    )
    await drained
    clearTimeout(timer)
  } finally {
    close()
  }
  return summarize(plan.length, plan.length - sent, results, opts.seed ?? 1, (performance.now() - began) / 1000)
}

function parseAnswer(answer: InvokeAnswer): Omit<InvocationResult, 'functionName' | 'kind' | 'latencyMs'> {
  const log = answer.LogResult ? Buffer.from(answer.LogResult, 'base64').toString('utf8') : ''
  const report = /REPORT RequestId:.*?\bDuration: ([\d.]+) ms/.exec(log)
  const init = /REPORT RequestId:.*?\bInit Duration: ([\d.]+) ms/.exec(log)
  const payload = answer.Payload ? Buffer.from(answer.Payload).toString('utf8') : ''
  let statusCode: number | undefined
  let error: string | undefined
  if (answer.FunctionError) {
    error = `${answer.FunctionError}: ${payload.slice(0, 300)}`
  } else {
    try {
      const parsed = JSON.parse(payload) as {statusCode?: unknown}
      if (typeof parsed?.statusCode === 'number') statusCode = parsed.statusCode
      else error = `no statusCode in the answer: ${payload.slice(0, 200)}`
    } catch {
      error = `the answer is not JSON: ${payload.slice(0, 200)}`
    }
  }
  return {
    ...(statusCode === undefined ? {} : {statusCode}),
    ...(error === undefined ? {} : {error}),
    ...(report ? {durationMs: Number(report[1])} : {}),
    ...(init ? {initDurationMs: Number(init[1])} : {}),
  }
}

/** Nearest-rank percentile; null for no data. */
export function percentile(values: number[], p: number): number | null {
  if (!values.length) return null
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

function summarize(
  planned: number,
  notSent: number,
  results: InvocationResult[],
  seed: number,
  elapsedSeconds: number,
): TrafficSummary {
  const durations = (rs: InvocationResult[]) => rs.flatMap((r) => (r.durationMs === undefined ? [] : [r.durationMs]))
  const statusCodes: Record<string, number> = {}
  const kinds: Record<RequestKind, number> = {get: 0, missing: 0, list: 0, put: 0}
  for (const r of results) {
    kinds[r.kind]++
    if (r.statusCode !== undefined) statusCodes[r.statusCode] = (statusCodes[r.statusCode] ?? 0) + 1
  }
  const perFunction: TrafficSummary['perFunction'] = {}
  for (const name of [...new Set(results.map((r) => r.functionName))].sort()) {
    const rs = results.filter((r) => r.functionName === name)
    perFunction[name] = {
      invocations: rs.length,
      errors: rs.filter((r) => r.error).length,
      coldStarts: rs.filter((r) => r.initDurationMs !== undefined).length,
      p50: percentile(durations(rs), 50),
      p95: percentile(durations(rs), 95),
    }
  }
  const all = durations(results)
  const latencies = results.map((r) => r.latencyMs)
  return {
    seed,
    planned,
    notSent,
    invocations: results.length,
    errors: results.filter((r) => r.error).length,
    statusCodes,
    kinds,
    coldStarts: results.filter((r) => r.initDurationMs !== undefined).length,
    durationMs: {p50: percentile(all, 50), p95: percentile(all, 95), max: all.length ? Math.max(...all) : null},
    latencyMs: {p50: percentile(latencies, 50), p95: percentile(latencies, 95)},
    elapsedSeconds: Math.round(elapsedSeconds * 100) / 100,
    perFunction,
    sampleErrors: [...new Set(results.flatMap((r) => (r.error ? [`${r.functionName}: ${r.error}`] : [])))].slice(0, 5),
  }
}

/** The summary as a few lines for people. */
export function formatSummary(s: TrafficSummary): string {
  const ms = (v: number | null) => (v === null ? 'n/a' : `${v.toFixed(1)} ms`)
  const statuses =
    Object.entries(s.statusCodes)
      .map(([code, n]) => `${code}×${n}`)
      .join(' ') || 'none'
  const lines = [
    `traffic: ${s.invocations} invocations in ${s.elapsedSeconds.toFixed(1)} s (${s.kinds.get} get, ${s.kinds.missing} missing, ${s.kinds.list} list, ${s.kinds.put} put), ${s.errors} errors, ${s.coldStarts} cold starts` +
      (s.notSent ? `; ${s.notSent} of ${s.planned} not sent (every slot busy)` : ''),
    `  status ${statuses}; Duration p50 ${ms(s.durationMs.p50)}, p95 ${ms(s.durationMs.p95)}; round trip p50 ${ms(s.latencyMs.p50)}, p95 ${ms(s.latencyMs.p95)}`,
    ...Object.entries(s.perFunction).map(
      ([name, f]) =>
        `  ${name.padEnd(17)} ${String(f.invocations).padStart(5)} calls ${String(f.errors).padStart(4)} errors ${String(f.coldStarts).padStart(3)} cold  p50 ${ms(f.p50)}  p95 ${ms(f.p95)}`,
    ),
    ...s.sampleErrors.map((e) => `  error: ${e}`),
  ]
  return lines.join('\n')
}

/** Lambda Invoke (RequestResponse, LogType Tail) at the sandbox's endpoint. */
export async function lambdaInvoker(
  opts: {endpoint?: string; region?: string},
  concurrency = 4,
): Promise<{invoke: Invoker; close: () => void}> {
  if (!opts.endpoint) throw new Error('traffic needs the sandbox endpoint (or an invoke function)')
  const [{LambdaClient, InvokeCommand}, {Agent}] = await Promise.all([
    import('@aws-sdk/client-lambda'),
    import('node:http'),
  ])
  const client = new LambdaClient({
    endpoint: opts.endpoint,
    region: opts.region ?? 'us-east-1',
    credentials: {accessKeyId: 'test', secretAccessKey: 'test'},
    // A retry would double-count an invocation that ran; report the failure instead.
    maxAttempts: 1,
    requestHandler: {httpAgent: new Agent({keepAlive: true, maxSockets: concurrency})},
  })
  return {
    invoke: (FunctionName, payload, abortSignal) =>
      client.send(new InvokeCommand({FunctionName, Payload: new TextEncoder().encode(payload), LogType: 'Tail'}), {
        abortSignal,
      }),
    close: () => client.destroy(),
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
