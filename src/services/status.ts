import type {ConvergeReport} from './converge.js'

export type ResourceState = 'present' | 'missing' | 'drifted'

export interface StatusRow {
  step: string
  resource: string
  name: string
  state: ResourceState
  detail: string
}

/**
 * One row per resource of the stack, from a plan of every step: what the plan would
 * create is missing, what it would change has drifted, and a step with nothing to do
 * is present (its outputs are the resources).
 */
export function statusRows(report: ConvergeReport): StatusRow[] {
  const rows: StatusRow[] = []
  for (const step of report.steps) {
    if (step.changes.length === 0) {
      for (const [key, value] of Object.entries((step.output ?? {}) as Record<string, unknown>)) {
        const values = Array.isArray(value) ? value : [value]
        for (const v of values) if (v !== undefined && v !== null) rows.push({step: step.id, resource: key, name: String(v), state: 'present', detail: ''})
      }
      continue
    }
    for (const change of step.changes) {
      const kind = change.kind ?? (change.action === 'create' || change.action === 'attach' ? 'missing' : 'drift')
      rows.push({step: step.id, resource: change.resource, name: change.name.replace(/^pending:/, ''), state: kind === 'missing' ? 'missing' : 'drifted', detail: kind === 'missing' ? '' : `${change.action}: ${change.detail ?? ''}`})
    }
  }
  return rows
}
