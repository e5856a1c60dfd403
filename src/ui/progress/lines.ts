import type {RunEvent} from '../../engine/events.js'
import type {RunMode} from '../../engine/runner.js'
import type {StepId} from '../../engine/step.js'
import type {ProgressRenderer} from './index.js'
import {formatDuration, outcome, shortTitle} from './words.js'

/** A repeated wait line (the same text but for its numbers) at most this often. */
const REPEAT_MS = 15_000
/** Waits without a usual duration are shown once they last this long. */
const SHORT_WAIT_SECONDS = 5

/**
 * One plain line per event worth a line, for CI logs and pipes: no colours, no cursor
 * movement, no timestamps. A step's progress reads "  Cache: waiting for ..."; the end of a
 * step reads "✔ Cache (...): done (1 change) [5.2s]", "↓ ...: skipped", "✖ ...: failed". A
 * failure's message is not repeated here: the command prints it once.
 */
export function linesRenderer(write: (line: string) => void, now: () => number = Date.now): ProgressRenderer {
  const titles = new Map<StepId, string>()
  let mode: RunMode = 'apply'
  const lastPrinted = new Map<string, number>()
  const title = (id: StepId) => titles.get(id) ?? id
  const label = (id: StepId) => shortTitle(title(id))
  return {
    onEvent(event: RunEvent) {
      switch (event.type) {
        case 'run-started':
          mode = event.mode
          for (const s of event.steps) titles.set(s.id, s.title)
          return
        case 'step-progress':
          write(`  ${label(event.id)}: ${event.message}`)
          return
        case 'step-waiting': {
          // A short wait (a function's update) is not worth a line; a long one is, every 15 s.
          if (!event.waiting.estimate && event.waiting.elapsedSeconds < SHORT_WAIT_SECONDS) return
          const shape = `${event.id} ${event.message.replace(/\d+/g, '#')}`
          const t = now()
          if (t - (lastPrinted.get(shape) ?? -Infinity) < REPEAT_MS) return
          lastPrinted.set(shape, t)
          write(`  ${label(event.id)}: ${event.message}`)
          return
        }
        case 'step-done':
          write(`✔ ${title(event.id)}: ${outcome(event.result, mode)} [${formatDuration(event.seconds)}]`)
          return
        case 'step-skipped':
          write(`↓ ${title(event.id)}: skipped${event.because ? ` (${shortTitle(title(event.because))} failed)` : ''}`)
          return
        case 'step-failed':
          write(`✖ ${title(event.id)}: failed [${formatDuration(event.seconds)}]`)
          return
        default:
          return
      }
    },
    finished: async () => {},
  }
}
