import type {RunEvent} from '../../engine/events.js'
import {stepStatus} from '../../json/results.js'
import type {ProgressRenderer} from './index.js'

/**
 * `--progress json`: one JSON object per event, a line each, on stderr (stdout keeps the
 * command's own output, or its --json envelope). The public words of the envelope: step
 * ids, `status` as in a result's steps, no run modes.
 */
export function jsonLinesRenderer(write: (line: string) => void): ProgressRenderer {
  return {
    onEvent(event: RunEvent) {
      const line = jsonEvent(event)
      if (line) write(JSON.stringify(line))
    },
    finished: async () => {},
  }
}

export function jsonEvent(event: RunEvent): Record<string, unknown> | undefined {
  switch (event.type) {
    case 'run-started':
      return {
        event: 'start',
        dryRun: event.mode === 'plan' || event.mode === 'unplan',
        removing: event.mode === 'destroy' || event.mode === 'unplan',
        steps: event.steps.map((s) => ({step: s.id, title: s.title, requested: s.target})),
      }
    case 'step-started':
      return {event: 'step-start', step: event.id}
    case 'step-applying':
      return {event: 'step-changing', step: event.id, changes: event.changes}
    case 'step-progress':
      return {event: 'progress', step: event.id, message: event.message}
    case 'step-waiting': {
      const {what, status, elapsedSeconds, estimate} = event.waiting
      return {
        event: 'waiting',
        step: event.id,
        for: what,
        status,
        elapsedSeconds,
        estimate: estimate ?? null,
        message: event.message,
      }
    }
    case 'step-done':
      return {
        event: 'step-done',
        step: event.id,
        status: stepStatus(event.result),
        changes: event.result.changes.length,
        seconds: round(event.seconds),
      }
    case 'step-skipped':
      return {event: 'step-skipped', step: event.id, because: event.because ?? null}
    case 'step-failed':
      return {event: 'step-failed', step: event.id, error: event.error, seconds: round(event.seconds)}
    case 'run-finished':
      return {event: 'finish', ok: event.ok}
  }
}

const round = (seconds: number) => Math.round(seconds * 10) / 10
