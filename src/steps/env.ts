import type {LambdaClient} from '@aws-sdk/client-lambda'

import {
  MAX_ENV_BYTES,
  envBytes,
  mapBounded,
  FUNCTION_CONCURRENCY,
  recordedFunctions,
  resolveFunctions,
  tagFunction,
  untagFunction,
  updateFunction,
  type FunctionInfo,
} from '../aws/functions.js'
import {decodeRecord, encodeRecord, recordKey, recordTagKeys} from '../aws/records.js'
import {isPending, isUndoing, operations, type Change, type Step, type StepContext} from '../engine/step.js'
import {conflictError} from '../errors.js'
import {restoreFunctions, type RestorePart} from './function-restore.js'
import {functionTally} from './function-tally.js'

export interface EnvOutput {
  functions: string[]
}

declare module '../engine/step.js' {
  interface StepOutputs {
    env: EnvOutput
  }
}

export const ENV_KEYS = ['REDIS_HOST', 'REDIS_PORT', 'REDIS_TLS'] as const

/**
 * REDIS_CLUSTER=true on the functions of a sharded stack (cluster mode enabled): both helpers
 * then connect in cluster mode to the configuration endpoint. Set only then, and recorded
 * like the others, so rollback restores exactly what was there (usually: no such variable).
 */
export const CLUSTER_KEY = 'REDIS_CLUSTER'

/** A primary endpoint's length, for sizing an environment before the cache exists. */
const TYPICAL_ENDPOINT = 'master.cct-cache.abcdef.use1.cache.amazonaws.com'

/**
 * Zero-code caching (auto-cache). Lambda runs AWS_LAMBDA_EXEC_WRAPPER before the runtime;
 * ours is the layer's /opt/cct-auto-cache. A wrapper the function already had moves to
 * CCT_NEXT_EXEC_WRAPPER, which ours execs next; per-table TTLs go in CCT_AUTO_CACHE_TTLS.
 * All three are recorded like the REDIS_* ones, so rollback puts back exactly what was there.
 */
export const AUTO_CACHE_WRAPPER = '/opt/cct-auto-cache'
export const AUTO_CACHE_KEYS = ['AWS_LAMBDA_EXEC_WRAPPER', 'CCT_NEXT_EXEC_WRAPPER', 'CCT_AUTO_CACHE_TTLS'] as const

/** What a variable was before cct (null: absent), and what cct set it to (null: removed). */
export type EnvRecord = Record<string, {before: string | null; set: string | null}>

/** Per variable: the value wanted, null for "absent". Keys not listed are left alone. */
export type Desired = Record<string, string | null>

export interface EnvState {
  desired: Record<string, string>
  /** On, off (undo cct's wrapper where it is still cct's), or never chosen (leave as is). */
  autoCache: boolean | undefined
  autoCacheTtls?: string
  /** The tag key of the env record (cct:<stack>:env). */
  recordKey: string
  functions: FunctionInfo[]
}

const wanted = (fn: Pick<FunctionInfo, 'env' | 'tags'>, state: EnvState, tags = fn.tags) =>
  desiredFor(fn.env, decodeRecord<EnvRecord>(state.recordKey, tags) ?? {}, state)

const envRecordKey = (ctx: StepContext) => recordKey(ctx.stack, 'env')

/**
 * What the env step does to a function's variables. `vars` is every variable cct manages on
 * it as it should be (null: absent), including those already right: the record keeps what
 * each was before cct.
 */
export type EnvOp = {kind: 'set-env'; functionName: string; vars: Desired} | {kind: 'restore-env'; functionName: string}

export const envStep: Step<'env', EnvState, EnvOp> = {
  id: 'env',
  title: 'Function environment (REDIS_HOST, REDIS_PORT, REDIS_TLS)',
  needs: ['cluster'],
  after: ['attach', 'layer-attach'],
  command: 'cct env',

  async inspect(ctx) {
    const {host, port, tls, clusterMode} = ctx.need('cluster')
    const lambda = await ctx.aws.lambda()
    const desired: Record<string, string> = {REDIS_HOST: host, REDIS_PORT: String(port), REDIS_TLS: String(tls)}
    if (clusterMode) desired[CLUSTER_KEY] = 'true'
    const functions = isUndoing(ctx)
      ? await recordedFunctions(lambda, envRecordKey(ctx))
      : await resolveFunctions(lambda, ctx.options, ctx.region)
    const ttls = ctx.options.autoCacheTtls
    return {
      desired,
      functions,
      recordKey: envRecordKey(ctx),
      autoCache: ctx.options.autoCache,
      ...(ttls && Object.keys(ttls).length ? {autoCacheTtls: JSON.stringify(ttls)} : {}),
    }
  },

  plan(state) {
    const changes: Change<EnvOp>[] = []
    for (const fn of state.functions) {
      const vars = wanted(fn, state)
      const diff = changedKeys(fn, vars)
      if (diff.length === 0) continue
      // The endpoint's length is not known before the cache exists: count a typical one.
      const size = envBytes(
        Object.fromEntries(
          Object.entries(applyEnv(fn.env, vars)).map(([k, v]) => [k, isPending(v) ? TYPICAL_ENDPOINT : v]),
        ),
      )
      if (size > MAX_ENV_BYTES) {
        throw conflictError(
          `Function ${fn.name}'s environment would be ${size} bytes with cct's variables; Lambda allows ${MAX_ENV_BYTES} (4 KB, every key and value together)`,
          'Remove variables it does not need, or leave it out of --functions',
        )
      }
      const detail = diff.map((k) => describeVar(k, fn.env[k], vars[k]!)).join('; ') + ' (other variables kept)'
      const kind = diff.some((k) => fn.env[k] !== undefined) ? 'drift' : 'missing'
      changes.push({
        action: 'update',
        resource: 'function-env',
        name: fn.name,
        detail,
        kind,
        op: {kind: 'set-env', functionName: fn.name, vars},
      })
    }
    return changes
  },

  resources(state) {
    return state.functions.map((fn) => ({resource: 'function-env', name: fn.name}))
  },

  output(state) {
    return {functions: state.functions.map((f) => f.name)}
  },

  /**
   * The records, while the cache is being made: with fifty functions, a TagResource each after
   * the cache was available took as long again as the updates (Lambda's 15 requests a second).
   * A new cache's endpoint is not known yet: its record says so (pending), and rollback takes
   * it for the stack's endpoint (restoredEnv).
   */
  async recordAhead(state, plan, ctx) {
    const lambda = await ctx.aws.lambda()
    await mapBounded(operations(plan), FUNCTION_CONCURRENCY, async (op) => {
      if (op.kind !== 'set-env') return
      await writeRecord(
        lambda,
        state.functions.find((f) => f.name === op.functionName)!,
        op.vars,
        ctx,
        true,
      )
    })
  },

  async apply(state, plan, ctx) {
    const lambda = await ctx.aws.lambda()
    const tally = functionTally(
      ctx,
      plan.map((c) => c.name),
    )
    await mapBounded(operations(plan), FUNCTION_CONCURRENCY, async (op) => {
      if (op.kind !== 'set-env') throw new Error(`env apply was given ${op.kind}, which only destroy performs`)
      const fn = state.functions.find((f) => f.name === op.functionName)!
      await writeEnv(lambda, fn, op.vars, ctx, 'cct env', (doing) => tally.set(fn.name, doing))
    })
    return {functions: state.functions.map((f) => f.name)}
  },

  destroyPlan(state) {
    return state.functions.map(
      (fn) =>
        ({
          action: 'restore',
          resource: 'function-env',
          name: fn.name,
          detail: `${ENV_KEYS.join(', ')} back to what they were (changes made since are kept)`,
          op: {kind: 'restore-env', functionName: fn.name},
        }) satisfies Change<EnvOp>,
    )
  },

  async destroy(state, plan, ctx) {
    const parts = new Map<string, RestorePart>()
    for (const op of operations(plan)) {
      if (op.kind !== 'restore-env') throw new Error(`env destroy was given ${op.kind}, which only apply performs`)
      parts.set(op.functionName, {
        recordKey: envRecordKey(ctx),
        what: 'environment',
        update: (current, record) => restoredEnv(current.env, record as EnvRecord, state.desired.REDIS_HOST),
        // The cache's deletion waits for this step: it may start once no function's
        // environment names the cache, while the records are cleared (by attach and layer-attach).
        endsWhenRestored: true,
      })
    }
    await restoreFunctions(ctx, 'env', parts)
  },
}

/**
 * Sets `vars` on a function the way every env change of cct's is made (the env step's, and
 * the cluster step's move of the helpers to cluster mode): the record first (what each
 * variable was before cct, and what cct sets it to; tags `cct:<stack>:env`), then the
 * update, so `cct rollback` restores exactly what was there, however far a run got.
 */
export async function writeEnv(
  lambda: LambdaClient,
  fn: FunctionInfo,
  vars: Desired,
  ctx: StepContext,
  resume: string,
  tell: (doing: string) => void = () => {},
): Promise<void> {
  // The env step records ahead (recordAhead), so this writes nothing unless the plan was
  // made again since; the cluster step's moves of the helpers are recorded here.
  await writeRecord(lambda, fn, vars, ctx)
  tell(`setting ${changedKeys(fn, vars).join(', ')}`)
  // Environment.Variables is replaced, not merged, by Lambda: send every variable, as they are at write time.
  await updateFunction(
    lambda,
    fn,
    (current) =>
      changedKeys(current, vars).length ? {Environment: {Variables: applyEnv(current.env, vars)}} : undefined,
    ctx,
    resume,
  )
  tell('set')
}

/** Every function whose helper cct pointed at the stack's cache (it carries cct's env record). */
export const functionsWithEnv = async (lambda: LambdaClient, ctx: StepContext) =>
  recordedFunctions(lambda, envRecordKey(ctx))

/** "REDIS_PORT is 7000, needs 6379", "REDIS_HOST=the new endpoint", "CCT_NEXT_EXEC_WRAPPER removed". */
function describeVar(key: string, has: string | undefined, needs: string | null): string {
  const value = (v: string) => (isPending(v) ? 'the new endpoint' : v)
  if (needs === null) return `${key} removed`
  return has === undefined ? `${key}=${value(needs)}` : `${key} is ${has}, needs ${value(needs)}`
}

/**
 * Writes (or rewrites) the env record of a function for these variables, unless it already
 * says so: what each was before cct (kept from an earlier record), what cct sets it to.
 */
async function writeRecord(
  lambda: LambdaClient,
  fn: FunctionInfo,
  vars: Desired,
  ctx: StepContext,
  /**
   * Ahead of the change: a record that would lose an entry is left to apply. The entry says
   * what the variable goes back to, and a plan made again before the change (runner.ts) reads
   * it from the record (auto-cache turned off kept cct's wrapper when it was gone).
   */
  ahead = false,
): Promise<void> {
  const record: EnvRecord = decodeRecord<EnvRecord>(envRecordKey(ctx), fn.tags) ?? {}
  for (const key of Object.keys(vars)) {
    const before = record[key]?.before !== undefined ? record[key].before : (fn.env[key] ?? null)
    // Back to what was there before cct: nothing of ours left to undo for that key.
    if (!ENV_KEYS.includes(key as (typeof ENV_KEYS)[number]) && vars[key] === before) {
      if (ahead && key in record) return
      delete record[key]
    }
    // Recorded ahead as the endpoint of the cache the run was creating: the stack's endpoint,
    // which REDIS_HOST is set to, whatever it is now (restoredEnv).
    else if (!pendingValue(record[key]?.set)) record[key] = {before, set: vars[key]!}
  }
  const tags = encodeRecord(envRecordKey(ctx), record)
  const recorded = recordTagKeys(envRecordKey(ctx), fn.tags)
  if (recorded.every((k) => k in tags) && Object.keys(tags).every((k) => fn.tags[k] === tags[k])) return
  await tagFunction(lambda, fn, tags)
  // A record that grew past one tag (turning auto-cache on later adds keys) is split
  // into numbered tags; the old single tag would still win when it is read back, and
  // rollback would restore from it. Drop the tags the new encoding does not use.
  await untagFunction(
    lambda,
    fn,
    recordTagKeys(envRecordKey(ctx), fn.tags).filter((k) => !(k in tags)),
  )
}

/**
 * The environment with cct's values put back to what they were; undefined when none is still
 * cct's. A value recorded as pending (the endpoint of a cache the run was creating, recorded
 * ahead) is cct's when it is the stack's endpoint now (`endpoint`); with no cache left to say
 * what that is, the variable is left as it is.
 */
export function restoredEnv(
  current: Record<string, string>,
  record: EnvRecord,
  endpoint?: string,
): {Environment: {Variables: Record<string, string>}} | undefined {
  const env = {...current}
  let changed = false
  for (const [key, entry] of Object.entries(record)) {
    const {before} = entry
    const set = pendingValue(entry.set) ? (endpoint && !isPending(endpoint) ? endpoint : undefined) : entry.set
    if (set === undefined || (env[key] ?? null) !== set) continue // someone changed it since: theirs now
    if (before === null) delete env[key]
    else env[key] = before
    changed = true
  }
  return changed ? {Environment: {Variables: env}} : undefined
}

/** A recorded value that is an id the run was to create (isPending takes undefined for one too). */
const pendingValue = (value: string | null | undefined) => typeof value === 'string' && isPending(value)

export function changedKeys(fn: Pick<FunctionInfo, 'env'>, desired: Desired): string[] {
  return Object.keys(desired).filter((k) => (fn.env[k] ?? null) !== desired[k])
}

function applyEnv(env: Record<string, string>, desired: Desired): Record<string, string> {
  const out = {...env}
  for (const [key, value] of Object.entries(desired)) {
    if (value === null) delete out[key]
    else out[key] = value
  }
  return out
}

/** What a function's environment should hold: REDIS_*, and the auto-cache variables. */
export function desiredFor(
  env: Record<string, string>,
  record: EnvRecord,
  state: Pick<EnvState, 'desired' | 'autoCache' | 'autoCacheTtls'>,
): Desired {
  const want: Desired = {...state.desired}
  // Not sharded (any more): cct's REDIS_CLUSTER goes back to what it was, where it is still cct's.
  const cluster = record[CLUSTER_KEY]
  if (!(CLUSTER_KEY in want) && cluster && (env[CLUSTER_KEY] ?? null) === cluster.set)
    want[CLUSTER_KEY] = cluster.before
  if (state.autoCache === undefined) return want
  const current = env.AWS_LAMBDA_EXEC_WRAPPER ?? null
  if (state.autoCache) {
    // The wrapper to chain: the function's own, i.e. what it had before cct, or one set since.
    const theirs = current === AUTO_CACHE_WRAPPER ? (record.AWS_LAMBDA_EXEC_WRAPPER?.before ?? null) : current
    want.AWS_LAMBDA_EXEC_WRAPPER = AUTO_CACHE_WRAPPER
    want.CCT_NEXT_EXEC_WRAPPER = theirs ?? record.CCT_NEXT_EXEC_WRAPPER?.before ?? null
    want.CCT_AUTO_CACHE_TTLS = state.autoCacheTtls ?? record.CCT_AUTO_CACHE_TTLS?.before ?? null
    return want
  }
  // Off: put back what cct changed, where it is still cct's value.
  for (const key of AUTO_CACHE_KEYS) {
    const entry = record[key]
    if (entry && (env[key] ?? null) === entry.set) want[key] = entry.before
  }
  return want
}
