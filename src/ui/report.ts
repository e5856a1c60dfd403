import {pending, type Change} from '../engine/step.js'
import type {StepResult} from '../engine/runner.js'
import {DEFAULT_ENGINE_VERSION, SERVERLESS_MAJOR_VERSION, type StackOptions} from '../options.js'
import type {ConvergeReport} from '../services/converge.js'
import {plural, shortTitle} from './progress/words.js'
import {table} from './table.js'

/** What fits a terminal people actually have: the short plan and the summaries wrap to this. */
export const SCREEN_WIDTH = 100

/**
 * Every change, one row each: what `cct plan` and `--dry-run` print (nothing is asked after
 * it, so it may be long). Undoing lists dependents first, in the order they are removed.
 */
export function formatReport(report: ConvergeReport): string {
  const targets = ordered(report).filter((s) => s.target)
  const changes = targets.flatMap((s) =>
    s.changes.map((c) => [s.id, c.action, c.resource, c.name, c.detail ?? ''].map(showPending)),
  )
  const where = `stack "${report.stack}" in ${report.region}`
  const lines: string[] = []
  if (report.mode === 'unplan' || report.mode === 'destroy') {
    lines.push(
      changes.length
        ? `Rollback of ${where} would (dry run, nothing changed):`
        : `Nothing of stack "${report.stack}" to remove in ${report.region}.`,
    )
  } else {
    lines.push(
      changes.length
        ? `Plan for ${where} (dry run, nothing changed):`
        : `Stack "${report.stack}" in ${report.region} is up to date; nothing to do.`,
    )
  }
  if (changes.length) lines.push('', table(['STEP', 'ACTION', 'RESOURCE', 'NAME', 'DETAIL'], changes))
  for (const note of report.notes) lines.push('', `Note: ${note}`)
  return lines.join('\n')
}

/**
 * The plan a person reads before saying yes: one line (or two) per part of the stack, each
 * resource kind once ("create vpc cct-vpc (10.0.0.0/16), 2 subnets"), the functions and
 * roles of yours named, then what it costs and how long it takes. Fits `width` columns.
 */
export function formatShortPlan(report: ConvergeReport, options: {listedBy: string; width?: number}): string {
  const width = options.width ?? SCREEN_WIDTH
  const steps = ordered(report).filter((s) => s.target && s.changes.length > 0)
  const count = steps.reduce((n, s) => n + s.changes.length, 0)
  const removing = report.mode === 'unplan' || report.mode === 'destroy'
  const lines = [
    '',
    ...wrap(
      `${removing ? 'Rollback' : 'Plan'} for stack "${report.stack}" in ${report.region}: ${plural(count, 'change')} (\`${options.listedBy}\` lists each)`,
      width,
    ),
  ]
  lines.push(...stepLines(steps, report.stack, width))
  const changes = steps.flatMap((s) => s.changes.map((c) => ({step: s, change: c})))
  const costs = changes.filter((c) => c.change.cost)
  const oneWay = [...new Set(changes.map((c) => c.change.oneWay).filter((w): w is string => Boolean(w)))]
  if (costs.length || oneWay.length || changes.some((c) => c.change.takes)) lines.push('')
  if (costs.length)
    lines.push(
      ...labelled(
        'Cost',
        costs.map((c) => `${shortTitle(c.step.title).toLowerCase()}: ${c.change.cost}`).join('; '),
        8,
        width,
      ),
    )
  if (oneWay.length) lines.push(...labelled('Undo', `not possible: ${oneWay.join('; ')}`, 8, width))
  const slowest = changes
    .filter((c) => c.change.takes)
    .sort((a, b) => b.change.takes!.maxMinutes - a.change.takes!.maxMinutes)[0]
  if (slowest) {
    const {minMinutes, maxMinutes} = slowest.change.takes!
    const span = minMinutes === maxMinutes ? `about ${minMinutes}` : `${minMinutes}-${maxMinutes}`
    const verb = removing ? 'removing' : slowest.change.action === 'create' ? 'creating' : 'changing'
    lines.push(
      ...labelled(
        'Time',
        `usually ${span} minutes, most of it ${verb} the ${shortTitle(slowest.step.title).toLowerCase()} ${showPending(slowest.change.name)}`,
        8,
        width,
      ),
    )
  }
  for (const note of report.notes) lines.push(...labelled('Note', note, 8, width))
  return lines.join('\n')
}

/** After a step command or rollback: what changed, grouped as in the plan, the ids the steps provide, and the notes. */
export function formatRunSummary(report: ConvergeReport, width = SCREEN_WIDTH): string {
  const steps = ordered(report).filter((s) => s.target && s.changes.length > 0)
  const count = steps.reduce((n, s) => n + s.changes.length, 0)
  const where = `stack "${report.stack}" in ${report.region}`
  const removing = report.mode === 'destroy' || report.mode === 'unplan'
  const lines: string[] = ['']
  if (count === 0)
    lines.push(
      removing
        ? `Nothing of stack "${report.stack}" to remove in ${report.region}.`
        : `Stack "${report.stack}" in ${report.region} is up to date; no change made.`,
    )
  else
    lines.push(
      `${removing ? 'Removed from' : 'Changed in'} ${where}: ${plural(count, 'change')}`,
      ...stepLines(steps, report.stack, width),
    )
  // A step's ids are what its command is run for (`cct vpc`: the VPC and subnets to use elsewhere).
  if (!removing) {
    for (const step of report.steps.filter((s) => s.target)) {
      const fields = outputFields(step.output)
      if (fields.length === 0) continue
      const column = Math.max(...fields.map(([k]) => k.length)) + 6
      lines.push(`${shortTitle(step.title)}:`, ...fields.flatMap(([k, v]) => labelled(k, v, column, width)))
    }
  }
  for (const note of report.notes) lines.push(...labelled('Note', note, 8, width))
  return lines.join('\n')
}

/** The end of `cct setup`: where the cache is, what it serves, what it costs, what to run next. */
export function formatSetupSummary(report: ConvergeReport, options: StackOptions, width = SCREEN_WIDTH): string {
  const step = (id: string) => report.steps.find((s) => s.id === id)
  const cluster = step('cluster')?.output as {host: string; port: number; tls: boolean} | undefined
  const functions = (step('attach')?.output as {functions: string[]} | undefined)?.functions ?? []
  const count = report.steps.filter((s) => s.target).reduce((n, s) => n + s.changes.length, 0)
  const cost = step('cluster')?.changes.find((c) => c.cost)?.cost
  const where = `stack "${report.stack}" in ${report.region}`
  const lines = [
    '',
    count ? `Set up ${where}: ${plural(count, 'change')} made.` : `The ${where} was already set up; no change made.`,
  ]
  const pad = 13
  const version = options.engineVersion ?? DEFAULT_ENGINE_VERSION[options.engine]
  if (cluster)
    lines.push(...labelled('cache', `${cluster.host}:${cluster.port} (TLS ${cluster.tls ? 'on' : 'off'})`, pad, width))
  lines.push(
    ...labelled(
      cluster ? '' : 'cache',
      options.serverless
        ? `${options.engine} ${options.engineVersion ?? SERVERLESS_MAJOR_VERSION[options.engine]}, serverless (cluster mode)${cost ? `, ${cost}` : ''}`
        : `${options.engine} ${version} on ${options.nodeType} x${options.shards * (1 + options.replicas)}${options.shards > 1 ? ` (${options.shards} shards, cluster mode)` : ''}${cost ? `, ${cost}` : ''}`,
      pad,
      width,
    ),
  )
  lines.push(...labelled('functions', functions.join(', ') || 'none', pad, width))
  for (const note of report.notes) lines.push(...labelled('note', note, pad, width))
  const next = [
    'cct verify     checks that each function reaches the cache',
    'cct status     lists every resource of the stack',
    'cct rollback   removes it all and restores the functions',
  ]
  lines.push(...next.map((line, i) => `${(i === 0 ? '  next' : '').padEnd(pad)}${line}`))
  return lines.join('\n')
}

function ordered(report: ConvergeReport): StepResult[] {
  // Undoing runs dependents first: list it in that order.
  return report.mode === 'destroy' || report.mode === 'unplan' ? [...report.steps].reverse() : report.steps
}

/** One entry per step: its short title in a column, then its changes grouped by action and resource. */
function stepLines(steps: StepResult[], stack: string, width: number): string[] {
  const seen = new Set<string>()
  const labels = steps.map((s) => shortTitle(s.title))
  const column = Math.min(22, Math.max(0, ...labels.map((l) => l.length))) + 4
  return steps.flatMap((s, i) => labelled(labels[i]!, describeChanges(s.changes, stack, seen), column, width))
}

/** "create vpc cct-vpc (10.0.0.0/16), 2 subnets; attach 2 route-table-associations". */
function describeChanges(changes: Change[], stack: string, seen: Set<string>): string {
  const byAction = new Map<string, Map<string, Change[]>>()
  for (const c of changes) {
    const resources = byAction.get(c.action) ?? new Map<string, Change[]>()
    resources.set(c.resource, [...(resources.get(c.resource) ?? []), c])
    byAction.set(c.action, resources)
  }
  // A step with one change can say more about it (the cache's engine and size) than a step with several.
  const detailWidth = changes.length === 1 ? 60 : 30
  return [...byAction]
    .map(
      ([action, resources]) =>
        `${action} ${[...resources].map(([resource, group]) => describeGroup(resource, group, stack, seen, detailWidth)).join(', ')}`,
    )
    .join('; ')
}

function describeGroup(
  resource: string,
  group: Change[],
  stack: string,
  seen: Set<string>,
  detailWidth: number,
): string {
  const names = [...new Set(group.map((c) => showPending(c.name)))]
  if (group.length === 1) {
    const detail = shortDetail(group[0]!, stack, detailWidth)
    return `${resource} ${names[0]}${detail ? ` (${detail})` : ''}`
  }
  // What cct creates or deletes is counted; what is yours (functions, roles) is named, once.
  const ours =
    group[0]!.action === 'create' ||
    group[0]!.action === 'delete' ||
    names.every((n) => n.startsWith(`${stack}-`) || n.startsWith('new '))
  if (ours) return `${group.length} ${pluralWord(resource)}`
  const key = names.join(', ')
  if (seen.has(key)) return `${resource} of the same ${names.length}`
  seen.add(key)
  return `${resource} ${key}`
}

/**
 * The detail without the cost (said on its own line), cut after its last comma-separated
 * part that fits; none when it only names other resources the same plan creates (the line
 * above says they are new). Details put what matters most first.
 */
function shortDetail(change: Change, stack: string, width: number): string | undefined {
  let detail = change.detail
  if (!detail || detail.includes(PENDING) || detail.includes(`new ${stack}-`)) return undefined
  if (change.cost && detail.endsWith(change.cost)) detail = detail.slice(0, -change.cost.length).replace(/[;,]\s*$/, '')
  if (!detail) return undefined
  while (detail.length > width && detail.includes(', ')) detail = detail.slice(0, detail.lastIndexOf(', '))
  return detail.length <= width ? detail : undefined
}

function pluralWord(word: string): string {
  return word.endsWith('s') ? word : `${word}s`
}

/** `label` in a column of `column` characters (indented by 2), `text` wrapped at `width` under it. */
function labelled(label: string, text: string, column: number, width: number): string[] {
  const head = `  ${label}`
  const lines = wrap(text, width - column)
  const first =
    head.length + 2 <= column
      ? [`${head.padEnd(column)}${lines[0] ?? ''}`]
      : [head, `${' '.repeat(column)}${lines[0] ?? ''}`]
  return [...first, ...lines.slice(1).map((l) => `${' '.repeat(column)}${l}`)].map((l) => l.trimEnd())
}

/** Words into lines of at most `width` characters (a longer word gets a line of its own). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else {
      line = line ? `${line} ${word}` : word
    }
  }
  if (line) lines.push(line)
  return lines
}

/** A step's output as [name, value] rows, leaving out what is empty (no NAT: nothing to show). */
function outputFields(output: unknown): [string, string][] {
  if (!output || typeof output !== 'object') return []
  return Object.entries(output as Record<string, unknown>)
    .filter(([, v]) => v !== undefined && v !== '' && !(Array.isArray(v) && v.length === 0))
    .map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)])
}

const PENDING = pending('')

/** Ids a plan would create read as "new cct-rt", not as the engine's placeholder. */
function showPending(text: string): string {
  return text.replaceAll(PENDING, 'new ')
}
