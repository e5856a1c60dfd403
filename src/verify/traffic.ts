import {InvokeCommand} from '@aws-sdk/client-lambda'
import type {LambdaClient} from '@aws-sdk/client-lambda'

/** What N invocations of one function showed, read from Lambda's own REPORT lines. */
export interface TrafficResult {
  name: string
  invocations: number
  errors: number
  coldStarts: number
  durationMs?: {p50: number; p95: number}
  /** The first error's message, to show why. */
  firstError?: string
}

/** An API Gateway HTTP API (v2) GET of the function's root path: what the runbook's functions serve. */
export function defaultEvent(name: string): unknown {
  return {
    version: '2.0',
    routeKey: 'GET /',
    rawPath: '/',
    rawQueryString: '',
    headers: {accept: 'application/json', 'user-agent': 'cct-verify'},
    requestContext: {
      http: {method: 'GET', path: '/', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'cct-verify'},
      stage: '$default',
      routeKey: 'GET /',
    },
    isBase64Encoded: false,
    pathParameters: {},
    queryStringParameters: {},
    cctVerify: name,
  }
}

/** Invokes each function `n` times in turn (never concurrently: it is the user's traffic). */
export async function sendTraffic(
  lambda: LambdaClient,
  names: string[],
  n: number,
  event: (name: string) => unknown,
  onProgress?: (done: number, total: number) => void,
): Promise<TrafficResult[]> {
  const results: TrafficResult[] = []
  let done = 0
  for (const name of names) {
    const durations: number[] = []
    const result: TrafficResult = {name, invocations: 0, errors: 0, coldStarts: 0}
    for (let i = 0; i < n; i++) {
      const answer = await lambda.send(
        new InvokeCommand({FunctionName: name, LogType: 'Tail', Payload: Buffer.from(JSON.stringify(event(name)))}),
      )
      result.invocations++
      const log = Buffer.from(answer.LogResult ?? '', 'base64').toString('utf8')
      const report = parseReport(log)
      if (report?.durationMs !== undefined) durations.push(report.durationMs)
      if (report?.initMs !== undefined) result.coldStarts++
      const status = statusOf(answer.Payload)
      if (answer.FunctionError || (status !== undefined && status >= 500)) {
        result.errors++
        result.firstError ??= Buffer.from(answer.Payload ?? [])
          .toString('utf8')
          .slice(0, 200)
      }
      onProgress?.(++done, names.length * n)
    }
    durations.sort((a, b) => a - b)
    if (durations.length) result.durationMs = {p50: nearestRank(durations, 50), p95: nearestRank(durations, 95)}
    results.push(result)
  }
  return results
}

/** Duration and Init Duration of the REPORT line Lambda writes at the end of each invocation. */
export function parseReport(log: string): {durationMs?: number; initMs?: number} | undefined {
  const line = log.split('\n').find((l) => l.startsWith('REPORT '))
  if (!line) return undefined
  const field = (name: string) => {
    const m = new RegExp(`\\t${name}: ([\\d.]+) ms`).exec(`\t${line.slice(7)}`)
    return m ? Number(m[1]) : undefined
  }
  return {durationMs: field('Duration'), initMs: field('Init Duration')}
}

function statusOf(payload: Uint8Array | undefined): number | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(payload ?? []).toString('utf8')) as {statusCode?: number}
    return typeof parsed?.statusCode === 'number' ? parsed.statusCode : undefined
  } catch {
    return undefined
  }
}

function nearestRank(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!
}
