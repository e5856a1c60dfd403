import type {RunMode, StepResult} from '../../engine/runner.js'

/** "Cache" for "Cache (ElastiCache replication group)": the title without its explanation. */
export function shortTitle(title: string): string {
  return title.replace(/\s*\(.*\)$/, '')
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

/** What became of a step that ran, after its title: "up to date", "done (8 changes)", "kept", ... */
export function outcome(result: StepResult, mode: RunMode): string {
  const n = result.changes.length
  if (mode === 'destroy' || mode === 'unplan') {
    if (!result.target) return 'kept'
    if (n === 0) return 'nothing to remove'
    return mode === 'destroy' ? `removed (${plural(n, 'change')})` : `${plural(n, 'change')} planned`
  }
  if (!result.target) return 'in place'
  if (n === 0) return 'up to date'
  return result.status === 'planned' ? `${plural(n, 'change')} planned` : `done (${plural(n, 'change')})`
}

export function formatDuration(seconds: number): string {
  if (seconds < 10) return `${seconds.toFixed(1)}s`
  if (seconds < 60) return `${Math.round(seconds)}s`
  const s = Math.round(seconds)
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
}
