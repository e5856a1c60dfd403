import {CctError} from '../errors.js'
import type {Step, StepId} from './step.js'

/** The targets plus everything they need, dependencies first. */
export function closure(all: readonly Step[], targets: readonly StepId[]): Step[] {
  const byId = new Map(all.map((s) => [s.id as StepId, s]))
  const ordered: Step[] = []
  const state = new Map<StepId, 'visiting' | 'done'>()
  const visit = (id: StepId, from?: StepId): void => {
    const step = byId.get(id)
    if (!step) throw new CctError(`Unknown step "${id}"${from ? ` (needed by ${from})` : ''}`)
    const seen = state.get(id)
    if (seen === 'done') return
    if (seen === 'visiting') throw new CctError(`Steps depend on each other in a cycle through "${id}"`)
    state.set(id, 'visiting')
    for (const dep of step.needs) visit(dep, id)
    state.set(id, 'done')
    ordered.push(step)
  }
  for (const id of targets) visit(id)
  return ordered
}
