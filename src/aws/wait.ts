import {CctError, ExitCode} from '../errors.js'
import type {StepContext} from '../engine/step.js'

export interface Poll<T> {
  done: boolean
  /** What the resource says now, shown beside the elapsed time. */
  status: string
  value?: T
}

/**
 * Polls until `check` says done, showing what is awaited and for how long. A timeout
 * names the command that resumes; an interrupt stops at once.
 */
export async function waitUntil<T>(
  ctx: Pick<StepContext, 'progress' | 'signal' | 'options'>,
  what: string,
  check: () => Promise<Poll<T>>,
  resume: string,
  estimate?: string,
  /** The shortest pause between polls (default 1 s). */
  minIntervalMs = 1000,
): Promise<T | undefined> {
  const started = Date.now()
  const deadline = started + ctx.options.waitTimeoutSeconds * 1000
  for (;;) {
    const poll = await check()
    const elapsed = Math.round((Date.now() - started) / 1000)
    if (poll.done) return poll.value
    const line = `waiting for ${what}: ${poll.status} (${formatSeconds(elapsed)} elapsed${estimate ? `, ${estimate}` : ''})`
    ctx.progress(line, {what, status: poll.status, elapsedSeconds: elapsed, ...(estimate ? {estimate} : {})})
    if (Date.now() >= deadline) {
      throw new CctError(`Gave up waiting for ${what} after ${formatSeconds(elapsed)} (still ${poll.status})`, {
        exitCode: ExitCode.Timeout,
        hint: `Run \`${resume}\` again to resume`,
      })
    }
    // A tenth of the time waited so far, between the shortest pause and the poll interval:
    // a wait ends at most ~10% (or the shortest pause) after what it waits for, and a wait
    // of minutes polls no more often than the interval says.
    const pause = Math.min(ctx.options.pollIntervalMs, Math.max(minIntervalMs, (Date.now() - started) / 10))
    await sleep(pause, ctx.signal)
  }
}

export function formatSeconds(seconds: number): string {
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const timer = setTimeout(resolve, ms)
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        reject(signal.reason)
      },
      {once: true},
    )
  })
}
