import type {Change} from '../engine/step.js'
import type {ConvergeReport} from './converge.js'

export type ResourceState = 'present' | 'missing' | 'drifted'

export interface StatusRow {
  step: string
  resource: string
  name: string
  state: ResourceState
  /** How it differs from what is asked (drifted), or what is missing; empty when present. */
  detail: string
}

/**
 * One row per resource of the stack, from a plan of every step: each resource a step found
 * is present unless a planned change names it (then it has drifted, or cct's part of it is
 * missing, and the change says how); a change that names no resource found is something
 * missing. A step that drifted still lists every resource it has.
 */
export function statusRows(report: ConvergeReport): StatusRow[] {
  const rows: StatusRow[] = []
  for (const step of report.steps) {
    const changes = step.changes.map((c) => ({...c, name: shown(c.name)}))
    const named = (name: string) => changes.filter((c) => c.name === name)
    const found = step.resources ?? []
    for (const resource of found) {
      const on = named(resource.name)
      const state = on.length === 0 ? 'present' : on.some((c) => c.kind === 'missing') ? 'missing' : 'drifted'
      rows.push({step: step.id, resource: resource.resource, name: resource.name, state, detail: describe(on)})
    }
    const elsewhere = changes.filter((c) => !found.some((r) => r.name === c.name))
    for (const name of [...new Set(elsewhere.map((c) => c.name))]) {
      const on = named(name)
      const missing = on.some(
        (c) => (c.kind ?? (c.action === 'create' || c.action === 'attach' ? 'missing' : 'drift')) === 'missing',
      )
      rows.push({
        step: step.id,
        resource: on[0]!.resource,
        name,
        state: missing ? 'missing' : 'drifted',
        detail: describe(on),
      })
    }
  }
  return rows
}

/** Whether every resource of the stack is there as asked. */
export function allPresent(rows: readonly StatusRow[]): boolean {
  return rows.every((r) => r.state === 'present')
}

function describe(changes: readonly Change[]): string {
  return changes.map((c) => shown(c.detail ?? c.action)).join('; ')
}

/** Ids a plan would create read as "new cct-rt", names as the name they will get. */
function shown(text: string): string {
  return text.replace(/^pending:/, '').replaceAll('pending:', 'new ')
}
