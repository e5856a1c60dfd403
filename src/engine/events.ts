import type {StepResult, RunMode} from './runner.js'
import type {StepId} from './step.js'

/** A wait a step is in: what for, what the resource says now, and how long waits of this kind usually take. */
export interface Waiting {
  /** e.g. "cct-cache to be available". */
  what: string
  /** What the resource says now (creating, 2 network interfaces still attached, ...). */
  status: string
  elapsedSeconds: number
  /** e.g. "usually 5-15 minutes". */
  estimate?: string
}

/**
 * What the runner tells whoever watches a run, in the order it happens. The engine only
 * emits these; one UI module (src/ui/progress/) renders them.
 */
export type RunEvent =
  /** The steps of the run, in the order they are shown (dependents first when undoing). */
  | {type: 'run-started'; mode: RunMode; steps: {id: StepId; title: string; target: boolean}[]}
  /** What it needs is done: the step inspects (and then changes) its resources. */
  | {type: 'step-started'; id: StepId}
  /** The step has `changes` changes to make and starts making them. */
  | {type: 'step-applying'; id: StepId; changes: number}
  /** A line for the person watching (a function being updated, an id just created). */
  | {type: 'step-progress'; id: StepId; message: string}
  /** The step waits for AWS; emitted at each poll. `message` is the same as one line. */
  | {type: 'step-waiting'; id: StepId; message: string; waiting: Waiting}
  /** Converged, changed, planned, or only read (not a target). */
  | {type: 'step-done'; id: StepId; result: StepResult; seconds: number}
  /** Not run: a step it needs failed. */
  | {type: 'step-skipped'; id: StepId; because: StepId | undefined}
  /** `error` is the one line the command also reports; a renderer marks the step and need not repeat it. */
  | {type: 'step-failed'; id: StepId; error: string; seconds: number}
  | {type: 'run-finished'; ok: boolean}

export type RunListener = (event: RunEvent) => void
