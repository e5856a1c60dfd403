/**
 * What each command puts in the envelope's `result`: the public shape, in the user's words.
 * The engine's words stay out: no run modes ("unplan"), no `pending:` ids (an id a run would
 * create is null, and its step says `willCreate`), step statuses read as what happened.
 * Stack and region are in the envelope, so results do not repeat them.
 *
 * Changing a type here (or one it uses) changes schemas/: run `npm run schemas` and commit.
 */
import {hasPending, isPending, pending, type Change} from '../engine/step.js'
import type {StepResult} from '../engine/runner.js'
import type {ConvergeReport} from '../services/converge.js'
import type {CostReport} from '../services/cost.js'
import type {StatusRow} from '../services/status.js'
import type {VerifyReport} from '../services/verify.js'
import type {PolicyDocument} from '../policy.js'
import type {JsonValue} from './envelope.js'

/** One change of a plan (or made by a run). */
export interface ChangeJson {
  action: Change['action']
  /** The kind of resource (vpc, subnet, replication-group, function, ...). */
  resource: string
  /** Its id, or the name it gets when a run creates it. */
  name: string
  /** Why, or what exactly: display text, not meant to be parsed. */
  detail: string | null
  /**
   * What the change does, as data: `kind` (create-vpc, set-security-groups, set-env, ...) and
   * its parameters; what the run performs. An id a run would create is null.
   */
  operation: {kind: string; [key: string]: JsonValue}
  /** What cannot be undone once the change is made (moving a cache to cluster mode); null for the rest. */
  oneWay: string | null
}

/** One resource kind of the stack and what the run did (or would do) to it. */
export interface StepJson {
  /** e.g. "vpc", "sg", "cluster", "layer-attach": the part of the stack. */
  step: string
  title: string
  /** Asked for by this command; false when it was only read because an asked step depends on it. */
  requested: boolean
  /**
   * unchanged: already as asked; changed: this run changed it; would-change: a dry run found
   * changes to make; not-requested: only read, for a requested step that depends on it (its
   * `output` says whether it exists); failed: see `error`; skipped: not run because a step it
   * needs failed.
   */
  status: 'unchanged' | 'changed' | 'would-change' | 'not-requested' | 'failed' | 'skipped'
  changes: ChangeJson[]
  /** Ids and endpoints the step provides (vpcId, subnetIds, host, ...); an id a run would create is null. */
  output: {[key: string]: JsonValue} | null
  /** Some ids in `output` do not exist yet: a run (without --dry-run) creates them. */
  willCreate: boolean
  error: string | null
}

/** setup, plan, rollback and each step command (vpc, sg, cluster, ...). */
export interface StepsResult {
  /** Nothing was changed: `changes` is what a run would do. */
  dryRun: boolean
  steps: StepJson[]
  /** AWS API calls the run made; `mutating` is 0 for a dry run or a stack already in place. */
  awsCalls: {total: number; mutating: number}
}

export interface StatusResult {
  resources: StatusRow[]
}

export type VerifyResult = Omit<VerifyReport, 'stack' | 'region'>

export type CostResult = Omit<CostReport, 'stack' | 'region'>

/** `cct policy`: the IAM policy document for one command (or `all`), and what each statement is for. */
export interface PolicyResult {
  /** The command the policy is for, or "all". */
  for: string
  /** The IAM policy document, as printed without --json. */
  document: PolicyDocument
  statements: {
    sid: string
    /** What the statement's actions are for. */
    why: string
    actions: string[]
    /** Set when cct works without the statement: what it does instead. */
    optional: string | null
  }[]
}

/** The engine's prefix of an id that does not exist yet. */
const PENDING = pending('')

/** An id a run would create: null in `output`. */
function publicOutput(value: unknown): JsonValue {
  if (typeof value === 'string') return isPending(value) ? null : value
  if (Array.isArray(value)) return value.map(publicOutput)
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, publicOutput(v)]),
    )
  return (value ?? null) as JsonValue
}

const STATUS: Record<StepResult['status'], StepJson['status']> = {
  converged: 'unchanged',
  changed: 'changed',
  planned: 'would-change',
  failed: 'failed',
  skipped: 'skipped',
}

/** A step's status in the public words (also those of `--progress json`). */
export function stepStatus(s: StepResult): StepJson['status'] {
  // A step only read is not "unchanged" when it does not even exist: say it was not asked for.
  return !s.target && s.status === 'converged' ? 'not-requested' : STATUS[s.status]
}

export function stepsResult(report: ConvergeReport): StepsResult {
  const undoing = report.mode === 'destroy' || report.mode === 'unplan'
  // Undoing runs dependents first: list the steps in the order they ran, as the table does.
  const steps = undoing ? [...report.steps].reverse() : report.steps
  return {
    dryRun: report.mode === 'plan' || report.mode === 'unplan',
    steps: steps.map((s) => ({
      step: s.id,
      title: s.title,
      requested: s.target,
      status: stepStatus(s),
      changes: s.changes.map((c) => ({
        action: c.action,
        resource: c.resource,
        // A resource a run would create is named by the name it will get.
        name: c.name.startsWith(PENDING) ? c.name.slice(PENDING.length) : c.name,
        detail: c.detail === undefined ? null : c.detail.replaceAll(PENDING, 'new '),
        operation: publicOutput(c.op) as ChangeJson['operation'],
        oneWay: c.oneWay ?? null,
      })),
      output:
        s.output === undefined || s.output === null ? null : (publicOutput(s.output) as {[key: string]: JsonValue}),
      willCreate: hasPending(s.output),
      error: s.error ?? null,
    })),
    awsCalls: {...report.calls},
  }
}
