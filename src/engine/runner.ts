import {isDeepStrictEqual} from 'node:util'

import type {AwsClients} from '../aws/clients.js'
import {CctError, explainAwsError} from '../errors.js'
import type {StackOptions} from '../options.js'
import {CreatedIds} from './created-ids.js'
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

/**
 * A run whose steps are all inspected and planned, nothing changed yet. `result` is what it
 * would do (mode plan or unplan: what a dry run shows); `perform` makes exactly those
 * changes, from the same states and plans, without reading the stack again.
 */
export interface PlannedRun {
  readonly result: RunResult
  /** Applies (or destroys) what was planned; told to `onEvent`. Once. */
  perform(onEvent?: RunListener): Promise<RunResult>
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

const deferreds = <T>(steps: readonly Step[]) =>
  new Map<StepId, Deferred<T>>(steps.map((s) => [s.id, new Deferred<T>()]))

/** A step it waits for failed (or was itself skipped): this one does not run. */
class DependencyFailed extends Error {}

/** What one step's inspect found and what its plan says: made once, shown, then performed. */
interface Planned {
  state: unknown
  changes: Change[]
  output: unknown
}

/** The steps of one run and how they depend on each other. */
class Graph {
  readonly steps: Step[]
  readonly undoing: boolean
  private readonly targets: Set<StepId>
  private readonly dependentsOf = new Map<StepId, StepId[]>()
  private readonly inRun: Set<StepId>

  constructor(request: Pick<RunRequest, 'steps' | 'targets' | 'mode'>) {
    this.steps = closure(request.steps, request.targets)
    this.targets = new Set(request.targets)
    this.undoing = request.mode === 'destroy' || request.mode === 'unplan'
    this.inRun = new Set(this.steps.map((s) => s.id))
    for (const s of this.steps)
      for (const d of s.needs) this.dependentsOf.set(d, [...(this.dependentsOf.get(d) ?? []), s.id])
  }

  isTarget(id: StepId): boolean {
    return this.targets.has(id)
  }

  /** The steps that need this one. */
  dependents(id: StepId): StepId[] {
    return this.dependentsOf.get(id) ?? []
  }

  /**
   * `after` orders two steps only when both run: they change the same resources. Undoing,
   * it does not order them: they undo together, one change per resource (ctx.together).
   */
  afters(step: Step): StepId[] {
    return (step.after ?? []).filter((id) => this.inRun.has(id))
  }

  /** The steps a step shares resources with through `after` (either way, transitively), itself included, in graph order. */
  peersOf(id: StepId): StepId[] {
    const linked = new Set<StepId>([id])
    for (let grew = true; grew;) {
      grew = false
      for (const s of this.steps)
        for (const a of this.afters(s))
          if (linked.has(s.id) !== linked.has(a)) {
            linked.add(s.id)
            linked.add(a)
            grew = true
          }
    }
    return this.steps.map((s) => s.id).filter((s) => linked.has(s))
  }
}

/** What a pass gives the work it runs for one step. */
interface StepTurn {
  readonly result: StepResult
  readonly ctx: StepContext
  /** Waits until the given steps are done in this pass (or `on`); a failed or skipped one makes this step skipped. */
  waitFor(ids: readonly StepId[], on?: Map<StepId, Deferred<unknown>>): Promise<void>
  /** The step's own work starts (its clock, its step-started event). */
  start(): void
  emit: RunListener
}

interface Pass {
  graph: Graph
  request: RunRequest
  /** The mode this pass reports (a planning pass of an apply run is a plan). */
  mode: RunMode
  emit: RunListener
  signal: AbortSignal
  notes: string[]
  /** What `ctx.need` answers: the outputs of the steps needed, as this pass knows them. */
  resolved: Map<StepId, unknown>
  /** Failed along with the step (besides its done): what dependents wait for. */
  alsoFails?: Map<StepId, Deferred<unknown>>
}

/**
 * One pass over the graph, every step concurrently, each doing `work` when it may: its
 * result, its events, and what a failure does (the steps waiting for it are skipped).
 */
async function runPass(pass: Pass, work: (step: Step, turn: StepTurn) => Promise<void>): Promise<RunResult> {
  const {graph, request, emit, mode} = pass
  const done = deferreds<unknown>(graph.steps)
  const ended = deferreds<void>(graph.steps)
  const meetings = new Map<string, Together<unknown>>()
  const results = new Map<StepId, StepResult>()
  const errors = new Map<StepId, unknown>()
  /** For a skipped step: the failed step that caused it (followed through skipped ones). */
  const skippedBecause = new Map<StepId, StepId | undefined>()

  const runOne = async (step: Step): Promise<void> => {
    const result: StepResult = {
      id: step.id,
      title: step.title,
      changes: [],
      target: graph.isTarget(step.id),
      status: 'converged',
    }
    results.set(step.id, result)
    let started = 0
    const seconds = () => (started ? (Date.now() - started) / 1000 : 0)
    const ctx: StepContext = {
      aws: request.aws,
      region: request.region,
      stack: request.options.stack,
      options: request.options,
      mode: request.mode,
      signal: pass.signal,
      need: ((id: StepId) => {
        if (!pass.resolved.has(id))
          throw new CctError(`Step ${step.id} asked for ${id}, which it does not declare in needs`)
        return pass.resolved.get(id)
      }) as StepContext['need'],
      progress: (message, waiting) =>
        emit(
          waiting
            ? {type: 'step-waiting', id: step.id, message, waiting}
            : {type: 'step-progress', id: step.id, message},
        ),
      note: (message) => pass.notes.push(message),
      together: <Part>(key: string) => {
        const peers = graph.peersOf(step.id)
        const at = `${key}:${peers.join(',')}`
        if (!meetings.has(at)) meetings.set(at, new Together(peers, (id) => ended.get(id)!.promise))
        return meetings.get(at) as Together<Part>
      },
    }
    const turn: StepTurn = {
      result,
      ctx,
      emit,
      async waitFor(ids, on = done) {
        try {
          await Promise.all(ids.map((d) => on.get(d)!.promise))
        } catch {
          const cause = ids.find((d) => errors.has(d) || skippedBecause.has(d))
          throw Object.assign(new DependencyFailed(), {cause: cause && (skippedBecause.get(cause) ?? cause)})
        }
      },
      start() {
        started = Date.now()
        emit({type: 'step-started', id: step.id})
      },
    }
    try {
      await work(step, turn)
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
      pass.alsoFails?.get(step.id)!.reject(error)
      done.get(step.id)!.reject(error)
    } finally {
      done.get(step.id)!.resolve(undefined)
      ended.get(step.id)!.resolve()
    }
  }

  const ordered = graph.undoing ? [...graph.steps].reverse() : graph.steps
  emit({
    type: 'run-started',
    mode,
    steps: ordered.map((s) => ({id: s.id, title: s.title, target: graph.isTarget(s.id)})),
  })
  await Promise.all(ordered.map((step) => runOne(step)))

  const stepResults = graph.steps.map((s) => results.get(s.id)).filter((r): r is StepResult => r !== undefined)
  const notes = [...new Set(pass.notes)]
  // The first failure in graph order is the one to report; the others followed from it or ran beside it.
  const failed = graph.steps.find((s) => errors.has(s.id))
  emit({type: 'run-finished', ok: !failed})
  if (failed) throw Object.assign(explainAwsError(errors.get(failed.id)), {result: {mode, steps: stepResults, notes}})
  return {mode, steps: stepResults, notes}
}

/**
 * Runs steps as a graph: each starts as soon as what it needs is done, so independent
 * steps run concurrently. Steps that are only needed (not targeted) are inspected, never
 * changed, and must already exist. Destroy runs the graph in reverse. What happens is
 * told to `onEvent` (RunEvent); the runner itself prints nothing.
 */
export async function runSteps(request: RunRequest): Promise<RunResult> {
  const planned = await planSteps(request)
  return request.mode === 'apply' || request.mode === 'destroy' ? planned.perform(request.onEvent) : planned.result
}

/**
 * Inspects and plans every step of the run, once (in dependency order, concurrently), and
 * changes nothing: everything a plan refuses is refused before the run's first change.
 */
export async function planSteps(request: RunRequest): Promise<PlannedRun> {
  const graph = new Graph(request)
  const controller = new AbortController()
  request.signal?.addEventListener('abort', () => controller.abort(request.signal?.reason), {once: true})
  const notes: string[] = []
  const plans = new Map<StepId, Planned>()
  // Inspect goes in dependency order in every mode (a step's inspect may need the ids its
  // dependencies found); undoing, each step's plan is shown once what depends on it is planned.
  const outputs = deferreds<unknown>(graph.steps)
  const resolved = new Map<StepId, unknown>()
  const {mode} = request
  let notSetUp: CctError | undefined
  const result = await runPass(
    {
      graph,
      request,
      mode: graph.undoing ? 'unplan' : 'plan',
      emit: request.onEvent ?? (() => {}),
      signal: controller.signal,
      notes,
      resolved,
      alsoFails: outputs,
    },
    async (step, {result, ctx, waitFor, start}) => {
      await waitFor(step.needs, outputs)
      for (const d of step.needs) resolved.set(d, await outputs.get(d)!.promise)
      if (!graph.undoing) start()
      const state = await step.inspect(ctx)
      const output = step.output(state, ctx)
      outputs.get(step.id)!.resolve(output)
      if (graph.undoing) {
        await waitFor(graph.dependents(step.id))
        start()
        result.changes = graph.isTarget(step.id) ? step.destroyPlan(state, ctx) : []
      } else {
        result.changes = graph.isTarget(step.id) ? step.plan(state, ctx) : []
        if (graph.isTarget(step.id) && mode === 'plan') result.resources = step.resources(state, ctx)
        // Refused once every step is planned: a mistake in what was typed for the step asked
        // for (a misspelt node type) is the first thing to fix, before the step it needs.
        if (!graph.isTarget(step.id) && mode === 'apply' && hasPending(output)) {
          notSetUp ??= new CctError(`${step.title} is not set up for stack "${ctx.stack}"`, {
            exitCode: 2,
            hint: `Run \`${step.command}\` first (or \`cct setup\`)`,
          })
        }
        result.output = output
      }
      if (result.changes.length > 0) result.status = 'planned'
      plans.set(step.id, {state, changes: result.changes, output})
    },
  )
  if (notSetUp) throw notSetUp
  let performed = false
  return {
    result,
    perform(onEvent) {
      if (mode !== 'apply' && mode !== 'destroy') throw new Error(`A ${mode} run has nothing to perform`)
      if (performed) throw new Error('A planned run is performed once')
      performed = true
      const pass: Pass = {
        graph,
        request,
        mode,
        emit: onEvent ?? (() => {}),
        signal: controller.signal,
        notes,
        resolved: new Map(graph.steps.map((s) => [s.id, plans.get(s.id)!.output])),
      }
      return graph.undoing ? destroyPass(pass, plans) : applyPass(pass, plans)
    },
  }
}

/**
 * Applies each step's plan once the steps it needs (and comes after) are done, in place
 * of the pending ids in it the real ids its dependencies created.
 */
function applyPass(pass: Pass, plans: Map<StepId, Planned>): Promise<RunResult> {
  const {graph} = pass
  const created = new CreatedIds()
  return runPass(pass, async (step, {result, ctx, waitFor, start, emit}) => {
    const planned = plans.get(step.id)!
    // Its records are written while what it needs is still being made: the cache's 20 s (or
    // 15 minutes) leave the time, and its end then waits only for the changes themselves.
    const recording =
      graph.isTarget(step.id) && planned.changes.length > 0 && step.recordAhead
        ? step.recordAhead(planned.state, planned.changes, ctx)
        : undefined
    recording?.catch(() => {}) // awaited below; a failure is this step's
    try {
      await waitFor(step.needs)
      await waitFor(graph.afters(step))
    } catch (error) {
      await recording?.catch(() => {}) // no write of this step outlives its end
      throw error
    }
    await recording
    start()
    let state = created.resolve(planned.state)
    let changes = created.resolve(planned.changes)
    // A dependency that came out other than its plan could tell (more than ids: a new
    // cache's nodes where its plan could not know them) made this step's plan on inputs
    // that are not so: it is inspected and planned again on what is.
    const asPlanned = step.needs.every((d) =>
      isDeepStrictEqual(created.resolve(plans.get(d)!.output), pass.resolved.get(d)),
    )
    if (graph.isTarget(step.id) && !asPlanned) {
      state = await step.inspect(ctx)
      changes = step.plan(state, ctx)
    }
    result.changes = changes
    let output: unknown = created.resolve(planned.output)
    if (graph.isTarget(step.id) && changes.length > 0) {
      emit({type: 'step-applying', id: step.id, changes: changes.length})
      output = await step.apply(state, changes, ctx)
      created.learn(planned.output, output)
      result.status = 'changed'
    } else if (!asPlanned) {
      output = step.output(state, ctx)
    }
    result.output = output
    pass.resolved.set(step.id, output)
  })
}

/** Undoes each step's destroy plan once the steps that need it are undone. */
function destroyPass(pass: Pass, plans: Map<StepId, Planned>): Promise<RunResult> {
  return runPass(pass, async (step, {result, ctx, waitFor, start, emit}) => {
    await waitFor(pass.graph.dependents(step.id))
    start()
    const {state, changes} = plans.get(step.id)!
    result.changes = changes
    if (changes.length === 0) return
    emit({type: 'step-applying', id: step.id, changes: changes.length})
    await step.destroy(state, changes, ctx)
    result.status = 'changed'
  })
}

export type {StepOutputs}
