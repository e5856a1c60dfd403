import type {AwsClients} from '../aws/clients.js'
import {CctError, explainAwsError} from '../errors.js'
import type {StackOptions} from '../options.js'
import type {RendererChoice} from '../ui/renderer.js'
import {closure} from './graph.js'
import {hasPending, type Change, type Resource, type Step, type StepContext, type StepId, type StepOutputs} from './step.js'

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
  renderer: RendererChoice
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

class DependencyFailed extends Error {}

/**
 * Runs steps as a graph: each starts as soon as what it needs is done, so independent
 * steps run concurrently. Steps that are only needed (not targeted) are inspected, never
 * changed, and must already exist. Destroy runs the graph in reverse.
 */
export async function runSteps(request: RunRequest): Promise<RunResult> {
  const {Listr} = await import('listr2')
  const {mode, targets} = request
  const steps = closure(request.steps, targets)
  const targetSet = new Set<StepId>(targets)
  const undoing = mode === 'destroy' || mode === 'unplan'
  const outputs = new Map<StepId, Deferred<unknown>>(steps.map((s) => [s.id, new Deferred()]))
  const done = new Map<StepId, Deferred<void>>(steps.map((s) => [s.id, new Deferred<void>()]))
  const dependents = new Map<StepId, StepId[]>()
  const inRun = new Set(steps.map((s) => s.id))
  // `after` orders two steps only when both run: they change the same resources.
  const afters = (s: Step) => (s.after ?? []).filter((id) => inRun.has(id))
  for (const s of steps) for (const d of [...s.needs, ...afters(s)]) dependents.set(d, [...(dependents.get(d) ?? []), s.id])
  const results = new Map<StepId, StepResult>()
  const errors = new Map<StepId, unknown>()
  const notes: string[] = []
  const controller = new AbortController()
  request.signal?.addEventListener('abort', () => controller.abort(request.signal?.reason), {once: true})

  const resolved = new Map<StepId, unknown>()
  const runOne = async (step: Step, setOutput: (text: string) => void, setTitle: (text: string) => void): Promise<void> => {
    const isTarget = targetSet.has(step.id)
    const result: StepResult = {id: step.id, title: step.title, changes: [], target: isTarget, status: 'converged'}
    results.set(step.id, result)
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
      progress: setOutput,
      note: (message) => notes.push(message),
    }
    try {
      // Every mode inspects in dependency order (a step's inspect may need the ids its
      // dependencies found); destroy then removes in reverse, once what needs it is gone.
      try {
        for (const d of step.needs) resolved.set(d, await outputs.get(d)!.promise)
        if (!undoing) await Promise.all(afters(step).map((d) => done.get(d)!.promise))
      } catch {
        throw new DependencyFailed()
      }
      setOutput('inspecting')
      const state = await step.inspect(ctx)
      if (undoing) {
        outputs.get(step.id)!.resolve(step.output(state, ctx))
        try {
          await Promise.all((dependents.get(step.id) ?? []).map((d) => done.get(d)!.promise))
        } catch {
          throw new DependencyFailed()
        }
        result.changes = isTarget ? step.destroyPlan(state, ctx) : []
        if (result.changes.length > 0 && mode === 'destroy') {
          setOutput(`removing (${plural(result.changes.length, 'change')})`)
          await step.destroy(state, result.changes, ctx)
          result.status = 'changed'
        } else if (result.changes.length > 0) {
          result.status = 'planned'
        }
        setTitle(`${step.title}: ${!isTarget ? 'kept' : result.changes.length === 0 ? 'nothing to remove' : mode === 'destroy' ? `removed (${plural(result.changes.length, 'change')})` : `${plural(result.changes.length, 'change')} planned`}`)
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
        setOutput(`applying ${changes.length} change(s)`)
        output = await step.apply(state, changes, ctx)
        result.status = 'changed'
      }
      result.output = output
      outputs.get(step.id)!.resolve(output)
      setTitle(`${step.title}: ${describe(result, isTarget)}`)
    } catch (error) {
      if (error instanceof DependencyFailed) {
        result.status = 'skipped'
        setTitle(`${step.title}: skipped (a step it depends on failed)`)
      } else {
        result.status = 'failed'
        errors.set(step.id, error)
        result.error = explainAwsError(error).line
        setTitle(`${step.title}: failed`)
      }
      outputs.get(step.id)!.reject(error)
      done.get(step.id)!.reject(error)
      throw error
    } finally {
      done.get(step.id)!.resolve()
    }
  }

  // A line-per-event log (CI, pipes) gets the same progress, throttled: a repeated wait
  // line (the same text but for its numbers) at most every 15 s, no step chatter.
  const lastPrinted = new Map<string, number>()
  const progressWorthPrinting = (text: string): boolean => {
    if (request.renderer !== 'simple') return true
    if (/^(inspecting|applying \d+|removing \()/.test(text)) return false
    const shape = text.replace(/\d+/g, '#')
    const now = Date.now()
    if (now - (lastPrinted.get(shape) ?? -Infinity) < 15_000) return false
    lastPrinted.set(shape, now)
    return true
  }
  const {rendererOptions} = await import('../ui/renderer.js')
  const renderer = await rendererOptions(request.renderer)
  const ordered = undoing ? [...steps].reverse() : steps
  const list = new Listr(
    ordered.map((step) => ({
      title: step.title,
      task: async (_ctx: unknown, task: {output: string; title: string}) => {
        try {
          await runOne(
            step,
            (text) => {
              if (progressWorthPrinting(text)) task.output = text
            },
            (text) => {
              task.title = text
            },
          )
        } catch (error) {
          if (error instanceof DependencyFailed) return
          throw error
        }
      },
    })),
    {concurrent: true, exitOnError: false, collectErrors: false, registerSignalListeners: false, ...renderer},
  )
  await list.run().catch(() => {})

  const stepResults = steps.map((s) => results.get(s.id)).filter((r): r is StepResult => r !== undefined)
  // The first failure in graph order is the one to report; the others followed from it or ran beside it.
  const failed = steps.find((s) => errors.has(s.id))
  if (failed) throw Object.assign(explainAwsError(errors.get(failed.id)), {result: {mode, steps: stepResults, notes}})
  return {mode, steps: stepResults, notes}
}

function describe(result: StepResult, isTarget: boolean): string {
  if (!isTarget) return 'in place'
  const n = result.changes.length
  if (n === 0) return 'up to date'
  return result.status === 'planned' ? `${plural(n, 'change')} planned` : `done (${plural(n, 'change')})`
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

export type {StepOutputs}
