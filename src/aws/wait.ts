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
    await sleep(pollPause(Date.now() - started, ctx.options.pollIntervalMs, minIntervalMs), ctx.signal)
  }
}

/**
 * The pause before the next poll, `elapsedMs` into a wait: a twentieth of the time waited so
 * far, at least the shortest pause, so a wait of seconds ends within ~5% (or the shortest
 * pause) of what it waits for: the 20 s a cache takes in the sandbox is seen within a second
 * (a tenth, as before, was up to 2 s late). At most the poll interval, or a fortieth of the
 * time waited once that is longer: a cache's creation on AWS (5-15 minutes) is polled about
 * as often as it was (a 10-minute one 119 times where it was 138; 5 minutes 91 where 78,
 * 15 minutes 135 where 198) and seen within 2.5% of its time.
 */
export function pollPause(elapsedMs: number, pollIntervalMs: number, minIntervalMs: number): number {
  const longest = Math.max(pollIntervalMs, elapsedMs / 40)
  return Math.min(longest, Math.max(minIntervalMs, elapsedMs / 20))
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
