import type {ConvergeReport} from '../services/converge.js'
import {table} from './table.js'

/** What a person reads after a converge, dry run or destroy. */
export function formatReport(report: ConvergeReport): string {
  // Undoing runs dependents first: list it in that order.
  const ordered = report.mode === 'destroy' || report.mode === 'unplan' ? [...report.steps].reverse() : report.steps
  const targets = ordered.filter((s) => s.target)
  const changes = targets.flatMap((s) => s.changes.map((c) => [s.id, c.action, c.resource, c.name, c.detail ?? ''].map(showPending)))
  const lines: string[] = []
  if (report.mode === 'unplan') {
    lines.push(changes.length ? `Rollback of stack "${report.stack}" in ${report.region} would (dry run, nothing changed):` : `Nothing of stack "${report.stack}" to remove in ${report.region}.`)
  } else if (report.mode === 'plan') {
    lines.push(changes.length ? `Plan for stack "${report.stack}" in ${report.region} (dry run, nothing changed):` : `Stack "${report.stack}" in ${report.region} is up to date; nothing to do.`)
  } else if (report.mode === 'destroy') {
    lines.push(changes.length ? `Removed from stack "${report.stack}" in ${report.region}:` : `Nothing of stack "${report.stack}" to remove in ${report.region}.`)
  } else {
    lines.push(changes.length ? `Changed in stack "${report.stack}" in ${report.region}:` : `Stack "${report.stack}" in ${report.region} is up to date; no change made.`)
  }
  if (changes.length) lines.push('', table(['STEP', 'ACTION', 'RESOURCE', 'NAME', 'DETAIL'], changes))
  for (const step of targets) {
    if (step.output && report.mode === 'apply') lines.push('', `${step.id}: ${formatOutput(step.output)}`)
  }
  for (const note of report.notes) lines.push('', `Note: ${note}`)
  return lines.join('\n')
}

function formatOutput(output: unknown): string {
  return Object.entries(output as Record<string, unknown>)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`)
    .join(' ')
}

/** Ids a plan would create read as "new cct-rt", not as the engine's placeholder. */
function showPending(text: string): string {
  return text.replaceAll('pending:', 'new ')
}
