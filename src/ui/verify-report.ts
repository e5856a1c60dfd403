import type {VerifyReport} from '../services/verify.js'
import {formatHours} from '../verify/criteria.js'
import {sparkline} from './sparkline.js'
import {table} from './table.js'

const mark = (ok: boolean, skipped?: boolean) => (skipped ? '-' : ok ? 'ok' : 'FAILED')

/** verify's report for people: the probe's hops, each function's path, the criteria. */
export function formatVerifyReport(report: VerifyReport, opts: {hours: number; trends: boolean}): string {
  const {cache, probe} = report
  const out: string[] = []
  out.push(
    `Stack "${report.stack}" in ${report.region}: ${cache.replicationGroupId} (${cache.engine ?? 'cache'} ${cache.engineVersion ?? ''}${cache.serverless ? ' serverless' : ''}, TLS ${cache.tls ? 'on' : 'off'}) at ${cache.host}:${cache.port}`,
  )

  out.push('', 'From inside the VPC (the probe):')
  if (!probe.ran)
    out.push(`  could not run: ${probe.failure!.message} (${probe.failure!.cause}). Run \`${probe.failure!.fix}\``)
  else {
    out.push(
      indent(
        table(
          ['HOP', 'RESULT', 'TIME', 'DETAIL'],
          probe.stages.map((s) => [
            s.stage,
            mark(s.ok, s.skipped),
            s.ms === undefined ? '' : `${s.ms.toFixed(1)} ms`,
            s.ok ? stageDetail(s) : (s.error ?? ''),
          ]),
        ),
      ),
    )
    if (probe.failure) out.push(`  → ${probe.failure.hop} broke: ${probe.failure.cause}. Fix: \`${probe.failure.fix}\``)
  }

  if (report.functions.length) {
    out.push('', "Each function's path:")
    const columns = ['vpc', 'security group', 'dynamodb route', 'layer', 'env', 'aliases'] as const
    out.push(
      indent(
        table(
          ['FUNCTION', 'VPC', 'GROUP', 'DYNAMODB', 'LAYER', 'ENV', 'ALIASES'],
          report.functions.map((f) => [
            f.name,
            ...columns.map((c) => mark(f.checks.find((x) => x.check === c)?.ok ?? false)),
          ]),
        ),
      ),
    )
    for (const f of report.functions)
      for (const c of f.checks.filter((x) => !x.ok))
        out.push(`  → ${f.name}: ${c.check}: ${c.detail}${c.fix ? `. Fix: \`${c.fix}\`` : ''}`)
  }

  if (report.traffic) {
    out.push('', 'Traffic sent (--traffic):')
    out.push(
      indent(
        table(
          ['FUNCTION', 'CALLS', 'ERRORS', 'COLD', 'P50', 'P95'],
          report.traffic.map((t) => [
            t.name,
            String(t.invocations),
            String(t.errors),
            String(t.coldStarts),
            t.durationMs ? `${t.durationMs.p50.toFixed(1)} ms` : '',
            t.durationMs ? `${t.durationMs.p95.toFixed(1)} ms` : '',
          ]),
        ),
      ),
    )
    for (const t of report.traffic.filter((x) => x.firstError)) out.push(`  → ${t.name}: ${t.firstError}`)
  }

  out.push('', `The runbook's success criteria (last ${formatHours(opts.hours)}):`)
  const headers = ['CRITERION', 'TARGET', 'MEASURED', 'RESULT', ...(opts.trends ? ['TREND'] : [])]
  out.push(
    indent(
      table(
        headers,
        report.criteria.map((c) => [
          c.criterion,
          c.target,
          c.measured,
          c.verdict === 'failed' ? 'FAILED' : c.verdict,
          ...(opts.trends ? [sparkline(c.trend ?? [])] : []),
        ]),
      ),
    ),
  )
  for (const c of report.criteria.filter((x) => x.verdict !== 'ok' && x.why))
    out.push(`  → ${c.criterion}: ${c.verdict}: ${c.why}`)

  if (report.endpoint) {
    const e = report.endpoint
    out.push(
      '',
      `Through --redis-url ${e.url}: ${e.ok ? `${e.detail}; PING p50 ${e.pingMs!.p50} ms${e.version ? `; server ${e.version}` : ''}` : `FAILED: ${e.detail}`}`,
    )
    for (const m of e.mismatch ?? []) out.push(`  → differs from the stack: ${m}`)
  }
  return out.join('\n')
}

/** The one line a failed verify ends with: the first broken thing and its fix. */
export function firstFailure(report: VerifyReport): {message: string; hint?: string} {
  const {probe} = report
  if (probe.failure)
    return {
      message: `Verification failed at ${probe.failure.hop ?? 'the probe'}: ${probe.failure.message}; likely ${probe.failure.cause}`,
      hint: `Run \`${probe.failure.fix}\``,
    }
  for (const f of report.functions) {
    const c = f.checks.find((x) => !x.ok)
    if (c)
      return {
        message: `Verification failed for ${f.name}: ${c.check}: ${c.detail}`,
        hint: c.fix ? `Run \`${c.fix}\`` : undefined,
      }
  }
  const criterion = report.criteria.find((c) => c.verdict === 'failed')
  if (criterion)
    return {
      message: `Verification failed: ${criterion.criterion} (${criterion.measured}, target ${criterion.target})`,
      hint: criterion.why,
    }
  if (report.endpoint && !report.endpoint.ok)
    return {
      message: `Verification failed: the endpoint through --redis-url did not answer (${report.endpoint.detail})`,
      hint: 'Check the tunnel',
    }
  return {message: 'Verification failed'}
}

function stageDetail(s: VerifyReport['probe']['stages'][number]): string {
  switch (s.stage) {
    case 'dns':
      return s.address ?? ''
    case 'tls':
      return s.protocol ?? ''
    case 'command':
      return `PING p50 ${s.pingMs?.p50} ms, max ${s.pingMs?.max} ms; SET/GET/SETEX/TTL ok; ${s.engine} ${s.version}`
    case 'dynamodb':
      return `ListTables answered (${s.tables} tables)`
    case 'layer':
      return 'cct-cache loads'
    default:
      return ''
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n')
}
