import {styleText} from 'node:util'

import type {RunEvent} from '../../engine/events.js'
import type {RunMode} from '../../engine/runner.js'
import type {StepId} from '../../engine/step.js'
import type {ProgressRenderer} from './index.js'
import {formatDuration, outcome, shortTitle} from './words.js'

/** The step's own time (from when what it needs was done), dimmed as listr2 dims its timer. */
const dim = (text: string) => styleText('dim', text)

/** What listr2 hands a task function; only the parts used here. */
interface ListrTask {
  title: string
  output: string
  skip(message?: string): void
}

/**
 * One listr2 task per step, driven by the run's events: the engine runs the steps, the
 * task only shows what it is told. Events that come before listr2 starts a task are kept
 * and shown when it does.
 */
class StepTask {
  /** The step's title; `title` is what the task shows now. */
  readonly base: string
  title: string
  private output?: string
  private task?: ListrTask
  private skipped?: string
  private settle!: {resolve: () => void; reject: (error: Error) => void}
  private readonly finished: Promise<void>

  constructor(title: string) {
    this.base = title
    this.title = title
    this.finished = new Promise<void>((resolve, reject) => {
      this.settle = {resolve, reject}
    })
    this.finished.catch(() => {})
  }

  /** The listr2 task function: shows what is known, and ends when the step does. */
  attach(task: ListrTask): Promise<void> {
    this.task = task
    task.title = this.title
    if (this.output !== undefined) task.output = this.output
    if (this.skipped !== undefined) task.skip(this.skipped)
    return this.finished
  }

  setOutput(text: string): void {
    this.output = text
    if (this.task) this.task.output = text
  }

  done(title: string): void {
    this.setTitle(title)
    this.settle.resolve()
  }

  skip(message: string): void {
    this.skipped = message
    this.task?.skip(message)
    this.settle.resolve()
  }

  /** Marked failed (✖ and the title); the message is printed once, by the command. */
  fail(title: string): void {
    this.setTitle(title)
    this.settle.reject(new Error(title))
  }

  private setTitle(title: string): void {
    this.title = title
    if (this.task) this.task.title = title
  }
}

/** listr2's default renderer: a live list of the steps on a terminal, redrawn in place. */
export async function liveRenderer(): Promise<ProgressRenderer> {
  const {Listr} = await import('listr2')
  const tasks = new Map<StepId, StepTask>()
  let mode: RunMode = 'apply'
  let running: Promise<unknown> = Promise.resolve()
  const title = (id: StepId) => tasks.get(id)?.base ?? id
  return {
    onEvent(event: RunEvent) {
      switch (event.type) {
        case 'run-started': {
          mode = event.mode
          for (const s of event.steps) tasks.set(s.id, new StepTask(s.title))
          const list = new Listr(
            event.steps.map((s) => ({
              title: s.title,
              task: (_ctx: unknown, task: ListrTask) => tasks.get(s.id)!.attach(task),
              rendererOptions: {outputBar: 1},
            })),
            {
              concurrent: true,
              exitOnError: false,
              collectErrors: false,
              registerSignalListeners: false,
              renderer: 'default',
              rendererOptions: {
                collapseSubtasks: false,
                showErrorMessage: false,
                collapseSkips: true,
                suffixSkips: false,
              },
            },
          )
          running = list.run().catch(() => {})
          return
        }
        case 'step-applying':
          tasks
            .get(event.id)
            ?.setOutput(
              `${mode === 'destroy' ? 'removing' : 'making'} ${event.changes} change${event.changes === 1 ? '' : 's'}`,
            )
          return
        case 'step-progress':
        case 'step-waiting':
          tasks.get(event.id)?.setOutput(event.message)
          return
        case 'step-done': {
          const task = tasks.get(event.id)
          task?.done(`${task.base}: ${outcome(event.result, mode)} ${dim(`[${formatDuration(event.seconds)}]`)}`)
          return
        }
        case 'step-skipped': {
          const task = tasks.get(event.id)
          task?.skip(`${task.base}: skipped${event.because ? ` (${shortTitle(title(event.because))} failed)` : ''}`)
          return
        }
        case 'step-failed': {
          const task = tasks.get(event.id)
          task?.fail(`${task.base}: failed ${dim(`[${formatDuration(event.seconds)}]`)}`)
          return
        }
        default:
          return
      }
    },
    finished: () => running.then(() => {}),
  }
}
