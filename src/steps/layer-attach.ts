import {FUNCTION_CONCURRENCY, describeFunction, mapBounded, recordedFunctions, resolveFunctions, tagFunction, untagFunction, updateFunction, type FunctionInfo} from '../aws/functions.js'
import {decodeRecord, encodeRecord, recordKey, recordTagKeys} from '../aws/records.js'
import {isUndoing, type Change, type Step, type StepContext} from '../engine/step.js'
import {conflictError} from '../errors.js'
import {LAYER_RUNTIMES} from '../layer-bundle.js'
import {layerName} from './layer.js'

export interface LayerAttachOutput {
  functions: string[]
}

declare module '../engine/step.js' {
  interface StepOutputs {
    'layer-attach': LayerAttachOutput
  }
}

/** Lambda's limit of layers on one function. */
export const MAX_LAYERS = 5

export interface LayerAttachState {
  layerVersionArn: string
  functions: {fn: FunctionInfo; target?: string[]}[]
}

const layersRecordKey = (ctx: StepContext) => recordKey(ctx.stack, 'layers')

/** Whether an ARN is any version of this stack's cache layer. */
const isOurLayer = (arn: string, ctx: StepContext) => arn.includes(`:layer:${layerName(ctx.stack)}:`)

export const layerAttachStep: Step<'layer-attach', LayerAttachState> = {
  id: 'layer-attach',
  title: 'Cache layer on the functions',
  needs: ['layer'],
  after: ['attach'],
  command: 'cct layer',

  async inspect(ctx) {
    const {layerVersionArn} = ctx.need('layer')
    const lambda = await ctx.aws.lambda()
    if (isUndoing(ctx)) return {layerVersionArn, functions: (await recordedFunctions(lambda, layersRecordKey(ctx))).map((fn) => ({fn}))}
    const functions = await resolveFunctions(lambda, ctx.options, ctx.region)
    return {layerVersionArn, functions: functions.map((fn) => ({fn, target: desiredLayers(fn, layerVersionArn, ctx)}))}
  },

  plan(state) {
    return state.functions
      .filter(({target}) => target)
      .map(({fn, target}) => {
        const replacing = fn.layers.find((arn) => !target!.includes(arn) && arn.includes(':layer:'))
        return {action: 'update', resource: 'function-layers', name: fn.name, detail: replacing ? `replace ${shortArn(replacing)} in place (other layers kept, in order)` : `add the cache layer after ${fn.layers.length} existing layer(s)`, kind: replacing ? 'drift' : 'missing'} satisfies Change
      })
  },

  output(state) {
    return {functions: state.functions.map(({fn}) => fn.name)}
  },

  async apply(state, _plan, ctx) {
    const lambda = await ctx.aws.lambda()
    await mapBounded(state.functions, FUNCTION_CONCURRENCY, async ({fn, target}) => {
      if (!target) return
      if (!decodeRecord(layersRecordKey(ctx), fn.tags)) await tagFunction(lambda, fn, encodeRecord(layersRecordKey(ctx), {before: fn.layers}))
      ctx.progress(`${fn.name}: attaching the cache layer`)
      // Layers, like Environment, are replaced whole by Lambda: send the full list.
      await updateFunction(lambda, fn, (current) => {
        const layers = desiredLayers(current, state.layerVersionArn, ctx)
        return layers ? {Layers: layers} : undefined
      }, ctx, 'cct layer')
    })
    return {functions: state.functions.map(({fn}) => fn.name)}
  },

  destroyPlan(state) {
    return state.functions.map(({fn}) => ({action: 'restore', resource: 'function-layers', name: fn.name, detail: 'the cache layer comes off (other layers kept)'}) satisfies Change)
  },

  async destroy(state, _plan, ctx) {
    const lambda = await ctx.aws.lambda()
    await mapBounded(state.functions, FUNCTION_CONCURRENCY, async ({fn: recorded}) => {
      const fn = (await describeFunction(lambda, recorded.name)) ?? recorded
      const before = decodeRecord<{before: string[]}>(layersRecordKey(ctx), fn.tags)?.before ?? []
      ctx.progress(`${fn.name}: removing the cache layer`)
      await updateFunction(lambda, fn, (current) => {
        // Take off only cct's layer; put back a version of it the function had before cct.
        const restored = current.layers.flatMap((arn) => (isOurLayer(arn, ctx) ? before.filter((b) => isOurLayer(b, ctx)) : [arn]))
        return restored.join() === current.layers.join() ? undefined : {Layers: restored}
      }, ctx, 'cct rollback')
      await untagFunction(lambda, fn, recordTagKeys(layersRecordKey(ctx), fn.tags))
    })
  },
}

/** The function's layers with cct's in place of an older version of it, or appended; undefined when already right. */
function desiredLayers(fn: FunctionInfo, layerVersionArn: string, ctx: StepContext): string[] | undefined {
  if (fn.layers.includes(layerVersionArn)) return undefined
  const runtime = fn.runtime
  if (runtime && !LAYER_RUNTIMES.includes(runtime)) {
    throw conflictError(`Function ${fn.name} runs ${runtime}; the cache layer is built for ${LAYER_RUNTIMES.join(', ')}`, `Upgrade its runtime, or leave it out of --functions`)
  }
  const index = fn.layers.findIndex((arn) => isOurLayer(arn, ctx))
  if (index >= 0) return fn.layers.map((arn, i) => (i === index ? layerVersionArn : arn)).filter((arn, i) => i === index || !isOurLayer(arn, ctx))
  if (fn.layers.length >= MAX_LAYERS) {
    throw conflictError(`Function ${fn.name} already has ${fn.layers.length} layers; Lambda allows ${MAX_LAYERS}`, 'Remove one of its layers (or merge two), or leave it out of --functions')
  }
  return [...fn.layers, layerVersionArn]
}

function shortArn(arn: string): string {
  return arn.split(':layer:')[1] ?? arn
}
