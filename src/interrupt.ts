import {CctError, ExitCode} from './errors.js'

/** What an interrupted run says: nothing is half-made that a re-run cannot finish. */
export function interruptedError(): CctError {
  return new CctError('Interrupted', {
    exitCode: ExitCode.Interrupted,
    hint: 'What was created is tagged; run the same command again to resume',
  })
}

export interface InterruptOptions {
  /** Aborted on the first SIGINT or SIGTERM: no further AWS call starts, a call in flight is given up on. */
  controller: AbortController
  /** Reports the interruption (one line, or the --json envelope) unless the command already did. */
  report: (error: CctError) => void
  /** How long the command may take to stop on its own before cct exits anyway. */
  graceMs?: number
}

/**
 * SIGINT (Ctrl-C) and SIGTERM stop cct at once with exit 130. The first signal aborts
 * the run (every resource cct creates is tagged as it is created, so the same command
 * resumes); if the command has not exited within the grace period (a prompt, a call
 * that ignores the abort), cct reports and exits itself; a second signal exits at once.
 */
export function exitOnInterrupt({controller, report, graceMs = 1000}: InterruptOptions): () => void {
  let signals = 0
  const stop = () => {
    report(interruptedError())
    process.exit(ExitCode.Interrupted)
  }
  const onSignal = () => {
    signals += 1
    if (signals > 1) return stop()
    controller.abort(interruptedError())
    setTimeout(stop, graceMs).unref()
    // unref: a command that finishes on its own exits with its own report, and no later.
    process.exitCode = ExitCode.Interrupted
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return () => {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
