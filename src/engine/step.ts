import type {AwsClients} from '../aws/clients.js'
import type {StackOptions} from '../options.js'
import type {Waiting} from './events.js'
import type {Together} from './together.js'

/**
 * What each step hands to the steps after it (vpc id, subnet ids, group ids, ...).
 * Step modules add their entry by declaration merging, so the engine knows none of them.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface StepOutputs {}

export type StepId = keyof StepOutputs & string

/**
 * What a change does, as data: each step declares its own kinds (a discriminated union on
 * `kind`), and its apply and destroy switch on them. Ids a run creates are `pending(...)`.
 */
export interface Operation {
  readonly kind: string
}

/**
 * One change a plan would make. `op` is what apply performs; the rest is how a person reads
 * it (the plan table, `cct status`, --json) and is never parsed back.
 */
export interface Change<Op extends Operation = Operation> {
  action: 'create' | 'update' | 'delete' | 'attach' | 'detach' | 'restore' | 'wait'
  resource: string
  name: string
  /** Display text: what exactly, or how the resource differs from what is asked. */
  detail?: string
  /** For `cct status`: cct's part is absent (missing) or there but different (drift). Default: create and attach are missing, anything else drift. */
  kind?: 'missing' | 'drift'
  op: Op
  /** What it adds to the monthly bill, for the person about to confirm (e.g. "about $12.41/month (1 node, ...)"). */
  cost?: string
  /** How long performing it usually takes, when that is minutes rather than seconds (creating a cache). */
  takes?: Takes
  /** What cannot be undone once it is made (moving a cache to cluster mode): asked about before it is made, --yes accepts. */
  oneWay?: string
}

/** A usual duration in minutes, as AWS documents or as measured. */
export interface Takes {
  minMinutes: number
  maxMinutes: number
}

/** "usually 5-15 minutes". */
export function usually(takes: Takes): string {
  return takes.minMinutes === takes.maxMinutes
    ? `usually about ${takes.minMinutes} minutes`
    : `usually ${takes.minMinutes}-${takes.maxMinutes} minutes`
}

/** A resource of cct's (or cct's part of one of yours) that exists now, as `cct status` lists it. */
export interface Resource {
  resource: string
  name: string
}

export interface StepContext {
  readonly aws: AwsClients
  readonly region: string
  readonly stack: string
  readonly options: StackOptions
  /** Destroy inspects differently: it looks for everything cct recorded, not what is asked. */
  readonly mode: 'apply' | 'plan' | 'destroy' | 'unplan'
  /** Output of a step this one needs (declared in `needs`). */
  need<K extends StepId>(id: K): StepOutputs[K]
  /** Progress for the person watching; `waiting` when the step waits for AWS (waitUntil passes it). */
  progress(message: string, waiting?: Waiting): void
  /** Warnings worth reading after the run (e.g. "no internet route"). */
  note(message: string): void
  /**
   * Undoing: the run's meeting point, under `key`, of this step and the steps it shares
   * resources with (`after`, either way), so they change each resource once (together.ts).
   */
  together<Part>(key: string): Together<Part>
  readonly signal: AbortSignal
}

/**
 * The step contract (design.md): inspect is read-only and finds resources by tags;
 * plan lists the changes to converge (empty when converged), each with its operation;
 * apply performs exactly those operations;
 * destroy undoes only what cct created or changed.
 */
export interface Step<Id extends StepId = StepId, State = any, Op extends Operation = Operation> {
  readonly id: Id
  readonly title: string
  readonly needs: readonly StepId[]
  /**
   * Steps that change the same resources (a function's configuration): when both run,
   * this one runs after them (and is undone before them). Not a dependency: `cct env`
   * alone does not need `cct layer`.
   */
  readonly after?: readonly StepId[]
  /** The command that converges this step alone, for hints. */
  readonly command: string
  inspect(ctx: StepContext): Promise<State>
  plan(state: State, ctx: StepContext): Change<Op>[]
  /**
   * What of this step exists now, one entry per resource (`cct status` lists them; a
   * change with the same resource and name says how it differs).
   */
  resources(state: State, ctx: StepContext): Resource[]
  /**
   * What dependents get: real ids where resources exist, `pending(...)` ids where the
   * plan would create them (so a dry run of several steps can plan them all).
   */
  output(state: State, ctx: StepContext): StepOutputs[Id]
  /** Performs the plan's operations, and only those: it never works out its own diff. */
  apply(state: State, plan: Change<Op>[], ctx: StepContext): Promise<StepOutputs[Id]>
  /**
   * Optional: records what apply will change (crash safety: recorded before it is changed) as
   * soon as the run starts applying, before the steps it needs are done; apply follows it.
   * From the plan as planned: ids the run will create are still pending in it.
   */
  recordAhead?(state: State, plan: Change<Op>[], ctx: StepContext): Promise<void>
  destroyPlan(state: State, ctx: StepContext): Change<Op>[]
  destroy(state: State, plan: Change<Op>[], ctx: StepContext): Promise<void>
}

const PENDING = 'pending:'

/** An id that does not exist yet: what a plan would create. */
export function pending(what: string): string {
  return `${PENDING}${what}`
}

export function isPending(id: string | undefined): boolean {
  return id === undefined || id.startsWith(PENDING)
}

/** True when any string inside `value` is a pending id. */
export function hasPending(value: unknown): boolean {
  if (typeof value === 'string') return isPending(value)
  if (Array.isArray(value)) return value.some(hasPending)
  if (value instanceof Map) return [...value.values()].some(hasPending)
  if (isPlainObject(value)) return Object.values(value).some(hasPending)
  return false
}

/** An object literal (or JSON): a Map, a Buffer or a class instance in a state is not looked into as one. */
const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null &&
  typeof value === 'object' &&
  [Object.prototype, null].includes(Object.getPrototypeOf(value) as object | null)

/** Whether this run undoes (rollback or its plan): steps then look for what cct recorded, not what is asked. */
export function isUndoing(ctx: Pick<StepContext, 'mode'>): boolean {
  return ctx.mode === 'destroy' || ctx.mode === 'unplan'
}

/** `value` with every pending id that a run has since created replaced by its real id. */
export function resolvePending<T>(value: T, created: ReadonlyMap<string, string>): T {
  if (typeof value === 'string') return (created.get(value) ?? value) as T
  if (Array.isArray(value)) return value.map((v) => resolvePending(v, created)) as T
  if (value instanceof Map)
    return new Map([...value].map(([k, v]) => [resolvePending(k, created), resolvePending(v, created)])) as T
  if (isPlainObject(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolvePending(v, created)])) as T
  return value
}

/** For a switch over a step's operations: an operation it does not know is a bug. */
export function unknownOperation(op: never): never {
  throw new Error(`No such operation: ${JSON.stringify(op)}`)
}

/** The operations of a plan, in order. */
export function operations<Op extends Operation>(plan: readonly Change<Op>[]): Op[] {
  return plan.map((c) => c.op)
}
