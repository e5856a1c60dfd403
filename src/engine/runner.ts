import type {AwsClients} from '../aws/clients.js'
import {CctError, explainAwsError} from '../errors.js'
import type {StackOptions} from '../options.js'
import type {RunListener} from './events.js'
import {closure} from './graph.js'
import {Together} from './together.js'
import {
  hasPending,
  type Change,
  type Resource,
  type Step,
  type StepContext,
  type StepId,
  type StepOutputs,
} from './step.js'

/** apply converges, plan shows what apply would do; destroy undoes, unplan shows what destroy would do. */
export type RunMode = 'apply' | 'plan' | 'destroy' | 'unplan'

export interface StepResult {
  id: StepId
  title: string
  /** Changes planned (and, unless a dry run, made). */
  changes: Change[]
  /** Whether this step was asked for, or only inspected because a target needs it. */
  target: boolean
  output?: unknown
  /** What of the step exists now (planning a target only): `cct status` lists these. */
  resources?: Resource[]
  status: 'converged' | 'changed' | 'planned' | 'failed' | 'skipped'
  error?: string
}

export interface RunResult {
  mode: RunMode
  steps: StepResult[]
  notes: string[]
}

export interface RunRequest {
  steps: readonly Step[]
  targets: readonly StepId[]
  mode: RunMode
  aws: AwsClients
  region: string
  options: StackOptions
  /** Told what happens as it happens (src/ui/progress renders it); nothing is printed without it. */
  onEvent?: RunListener
  signal?: AbortSignal
}

class Deferred<T> {
  readonly promise: Promise<T>
  resolve!: (value: T) => void
  reject!: (error: unknown) => void
  constructor() {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
    this.promise.catch(() => {}) // observed by dependents, or by nobody
  }
}

/** A step it waits for failed (or was itself skipped): this one does not run. */
class DependencyFailed extends Error {}

/**
 * Runs steps as a graph: each starts as soon as what it needs is done, so independent
 * steps run concurrently. Steps that are only needed (not targeted) are inspected, never
 * changed, and must already exist. Destroy runs the graph in reverse. What happens is
 * told to `onEvent` (RunEvent); the runner itself prints nothing.
 */
export async function runSteps(request: RunRequest): Promise<RunResult> {
  const {mode, targets} = request
  const emit: RunListener = request.onEvent ?? (() => {})
  const steps = closure(request.steps, targets)
  const targetSet = new Set<StepId>(targets)
  const undoing = mode === 'destroy' || mode === 'unplan'
  const outputs = new Map<StepId, Deferred<unknown>>(steps.map((s) => [s.id, new Deferred()]))
  const done = new Map<StepId, Deferred<void>>(steps.map((s) => [s.id, new Deferred<void>()]))
  const dependents = new Map<StepId, StepId[]>()
  const inRun = new Set(steps.map((s) => s.id))
  // `after` orders two steps only when both run: they change the same resources. Undoing,
  // it does not order them: they undo together, one change per resource (ctx.together).
  const afters = (s: Step) => (s.after ?? []).filter((id) => inRun.has(id))
  for (const s of steps)
    for (const d of [...s.needs, ...(undoing ? [] : afters(s))]) dependents.set(d, [...(dependents.get(d) ?? []), s.id])
  const ended = new Map<StepId, Deferred<void>>(steps.map((s) => [s.id, new Deferred<void>()]))
  const meetings = new Map<string, Together<unknown>>()
  /** The steps a step shares resources with through `after` (either way, transitively), itself included, in graph order. */
  const peersOf = (id: StepId): StepId[] => {
    const linked = new Set<StepId>([id])
    for (let grew = true; grew;) {
      grew = false
      for (const s of steps)
        for (const a of afters(s))
          if (linked.has(s.id) !== linked.has(a)) {
            linked.add(s.id)
            linked.add(a)
            grew = true
          }
    }
    return steps.map((s) => s.id).filter((s) => linked.has(s))
  }
  const results = new Map<StepId, StepResult>()
  const errors = new Map<StepId, unknown>()
  /** For a skipped step: the failed step that caused it (followed through skipped ones). */
  const skippedBecause = new Map<StepId, StepId | undefined>()
  const notes: string[] = []
  const controller = new AbortController()
  request.signal?.addEventListener('abort', () => controller.abort(request.signal?.reason), {once: true})

  const resolved = new Map<StepId, unknown>()
  const runOne = async (step: Step): Promise<void> => {
    const isTarget = targetSet.has(step.id)
    const result: StepResult = {id: step.id, title: step.title, changes: [], target: isTarget, status: 'converged'}
    results.set(step.id, result)
    let started = 0
    const seconds = () => (started ? (Date.now() - started) / 1000 : 0)
    const ctx: StepContext = {
      aws: request.aws,
      region: request.region,
      stack: request.options.stack,
      options: request.options,
      mode,
      signal: controller.signal,
      need: ((id: StepId) => {
        if (!resolved.has(id)) throw new CctError(`Step ${step.id} asked for ${id}, which it does not declare in needs`)
        return resolved.get(id)
      }) as StepContext['need'],
      progress: (message, waiting) =>
        emit(
          waiting
            ? {type: 'step-waiting', id: step.id, message, waiting}
            : {type: 'step-progress', id: step.id, message},
        ),
      note: (message) => notes.push(message),
      together: <Part>(key: string) => {
        const peers = peersOf(step.id)
        const at = `${key}:${peers.join(',')}`
        if (!meetings.has(at)) meetings.set(at, new Together(peers, (id) => ended.get(id)!.promise))
        return meetings.get(at) as Together<Part>
      },
    }
    // What this step waits for before it runs (or, undoing, before it removes).
    const waitFor = async (
      ids: readonly StepId[],
      promises: Map<StepId, Deferred<unknown>> | Map<StepId, Deferred<void>>,
    ) => {
      try {
        await Promise.all(ids.map((d) => promises.get(d)!.promise))
      } catch {
        const cause = ids.find((d) => errors.has(d) || skippedBecause.has(d))
        throw Object.assign(new DependencyFailed(), {cause: cause && (skippedBecause.get(cause) ?? cause)})
      }
    }
    try {
      // Every mode inspects in dependency order (a step's inspect may need the ids its
      // dependencies found); destroy then removes in reverse, once what needs it is gone.
      await waitFor(step.needs, outputs)
      for (const d of step.needs) resolved.set(d, await outputs.get(d)!.promise)
      if (!undoing) await waitFor(afters(step), done)
      const start = () => {
        started = Date.now()
        emit({type: 'step-started', id: step.id})
      }
      if (!undoing) start()
      const state = await step.inspect(ctx)
      if (undoing) {
        outputs.get(step.id)!.resolve(step.output(state, ctx))
        await waitFor(dependents.get(step.id) ?? [], done)
        // Undoing, a step's own work starts once what depends on it is gone.
        start()
        result.changes = isTarget ? step.destroyPlan(state, ctx) : []
        if (result.changes.length > 0 && mode === 'destroy') {
          emit({type: 'step-applying', id: step.id, changes: result.changes.length})
          await step.destroy(state, result.changes, ctx)
          result.status = 'changed'
        } else if (result.changes.length > 0) {
          result.status = 'planned'
        }
        emit({type: 'step-done', id: step.id, result, seconds: seconds()})
        return
      }
      const changes = isTarget ? step.plan(state, ctx) : []
      result.changes = changes
      if (isTarget && mode === 'plan') result.resources = step.resources(state, ctx)
      let output: unknown
      if (!isTarget) {
        output = step.output(state, ctx)
        if (hasPending(output) && mode === 'apply') {
          throw new CctError(`${step.title} is not set up for stack "${ctx.stack}"`, {
            exitCode: 2,
            hint: `Run \`${step.command}\` first (or \`cct setup\`)`,
          })
        }
      } else if (changes.length === 0) {
        output = step.output(state, ctx)
      } else if (mode === 'plan') {
        output = step.output(state, ctx)
        result.status = 'planned'
      } else {
        emit({type: 'step-applying', id: step.id, changes: changes.length})
        output = await step.apply(state, changes, ctx)
        result.status = 'changed'
      }
      result.output = output
      outputs.get(step.id)!.resolve(output)
      emit({type: 'step-done', id: step.id, result, seconds: seconds()})
    } catch (error) {
      if (error instanceof DependencyFailed) {
        result.status = 'skipped'
        const because = error.cause as StepId | undefined
        skippedBecause.set(step.id, because)
        emit({type: 'step-skipped', id: step.id, because})
      } else {
        result.status = 'failed'
        errors.set(step.id, error)
        result.error = explainAwsError(error).line
        emit({type: 'step-failed', id: step.id, error: result.error, seconds: seconds()})
      }
      outputs.get(step.id)!.reject(error)
      done.get(step.id)!.reject(error)
    } finally {
      done.get(step.id)!.resolve()
      ended.get(step.id)!.resolve()
    }
  }

  const ordered = undoing ? [...steps].reverse() : steps
  emit({
    type: 'run-started',
    mode,
    steps: ordered.map((s) => ({id: s.id, title: s.title, target: targetSet.has(s.id)})),
  })
  await Promise.all(ordered.map((step) => runOne(step)))

  const stepResults = steps.map((s) => results.get(s.id)).filter((r): r is StepResult => r !== undefined)
  // The first failure in graph order is the one to report; the others followed from it or ran beside it.
  const failed = steps.find((s) => errors.has(s.id))
  emit({type: 'run-finished', ok: !failed})
  if (failed) throw Object.assign(explainAwsError(errors.get(failed.id)), {result: {mode, steps: stepResults, notes}})
  return {mode, steps: stepResults, notes}
}

export type {StepOutputs}
