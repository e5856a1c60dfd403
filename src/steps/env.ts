import {mapBounded, FUNCTION_CONCURRENCY, recordedFunctions, resolveFunctions, tagFunction, untagFunction, updateFunction, describeFunction, type FunctionInfo} from '../aws/functions.js'
import {decodeRecord, encodeRecord, recordKey, recordTagKeys} from '../aws/records.js'
import {isPending, isUndoing, type Change, type Step, type StepContext} from '../engine/step.js'

export interface EnvOutput {
  functions: string[]
}

declare module '../engine/step.js' {
  interface StepOutputs {
    env: EnvOutput
  }
}

export const ENV_KEYS = ['REDIS_HOST', 'REDIS_PORT', 'REDIS_TLS'] as const

/** What a variable was before cct (null: absent), and what cct set it to. */
type EnvRecord = Record<string, {before: string | null; set: string}>

export interface EnvState {
  desired: Record<string, string>
  functions: FunctionInfo[]
}

const envRecordKey = (ctx: StepContext) => recordKey(ctx.stack, 'env')

export const envStep: Step<'env', EnvState> = {
  id: 'env',
  title: 'Function environment (REDIS_HOST, REDIS_PORT, REDIS_TLS)',
  needs: ['cluster'],
  after: ['attach', 'layer-attach'],
  command: 'cct env',

  async inspect(ctx) {
    const {host, port, tls} = ctx.need('cluster')
    const lambda = await ctx.aws.lambda()
    const desired = {REDIS_HOST: host, REDIS_PORT: String(port), REDIS_TLS: String(tls)}
    const functions = isUndoing(ctx) ? await recordedFunctions(lambda, envRecordKey(ctx)) : await resolveFunctions(lambda, ctx.options, ctx.region)
    return {desired, functions}
  },

  plan(state) {
    return state.functions
      .map((fn) => ({fn, diff: changedKeys(fn, state.desired)}))
      .filter(({diff}) => diff.length > 0)
      .map(({fn, diff}) => ({action: 'update', resource: 'function-env', name: fn.name, detail: diff.map((k) => `${k}=${isPending(state.desired[k]) ? 'the new endpoint' : state.desired[k]}`).join(' ') + ' (other variables kept)', kind: diff.some((k) => fn.env[k] !== undefined) ? 'drift' : 'missing'}) satisfies Change)
  },

  output(state) {
    return {functions: state.functions.map((f) => f.name)}
  },

  async apply(state, _plan, ctx) {
    const lambda = await ctx.aws.lambda()
    await mapBounded(state.functions, FUNCTION_CONCURRENCY, async (fn) => {
      const diff = changedKeys(fn, state.desired)
      if (diff.length === 0) return
      const record: EnvRecord = decodeRecord<EnvRecord>(envRecordKey(ctx), fn.tags) ?? {}
      for (const key of ENV_KEYS) record[key] = {before: record[key]?.before !== undefined ? record[key].before : (fn.env[key] ?? null), set: state.desired[key]!}
      await tagFunction(lambda, fn, encodeRecord(envRecordKey(ctx), record))
      ctx.progress(`${fn.name}: setting ${diff.join(', ')}`)
      // Environment.Variables is replaced, not merged, by Lambda: send every variable.
      await updateFunction(lambda, fn, (current) => (changedKeys(current, state.desired).length ? {Environment: {Variables: {...current.env, ...state.desired}}} : undefined), ctx, 'cct env')
    })
    return {functions: state.functions.map((f) => f.name)}
  },

  destroyPlan(state) {
    return state.functions.map((fn) => ({action: 'restore', resource: 'function-env', name: fn.name, detail: `${ENV_KEYS.join(', ')} back to what they were (changes made since are kept)`}) satisfies Change)
  },

  async destroy(state, _plan, ctx) {
    const lambda = await ctx.aws.lambda()
    await mapBounded(state.functions, FUNCTION_CONCURRENCY, async (recorded) => {
      const fn = (await describeFunction(lambda, recorded.name)) ?? recorded
      const record = decodeRecord<EnvRecord>(envRecordKey(ctx), fn.tags) ?? {}
      ctx.progress(`${fn.name}: restoring ${Object.keys(record).join(', ')}`)
      await updateFunction(lambda, fn, (current) => restoredEnv(current.env, record), ctx, 'cct rollback')
      await untagFunction(lambda, fn, recordTagKeys(envRecordKey(ctx), fn.tags))
    })
  },
}

/** The environment with cct's values put back to what they were; undefined when none is still cct's. */
function restoredEnv(current: Record<string, string>, record: EnvRecord): {Environment: {Variables: Record<string, string>}} | undefined {
  const env = {...current}
  let changed = false
  for (const [key, {before, set}] of Object.entries(record)) {
    if (env[key] !== set) continue // someone changed it since: theirs now
    if (before === null) delete env[key]
    else env[key] = before
    changed = true
  }
  return changed ? {Environment: {Variables: env}} : undefined
}

function changedKeys(fn: FunctionInfo, desired: Record<string, string>): string[] {
  return ENV_KEYS.filter((k) => fn.env[k] !== desired[k])
}
