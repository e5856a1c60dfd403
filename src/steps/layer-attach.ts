import type {LambdaClient} from '@aws-sdk/client-lambda'

import {
  FUNCTION_CONCURRENCY,
  mapBounded,
  recordedFunctions,
  resolveFunctions,
  tagFunction,
  updateFunction,
  type FunctionInfo,
} from '../aws/functions.js'
import {decodeRecord, encodeRecord, recordKey} from '../aws/records.js'
import {isUndoing, operations, type Change, type Step, type StepContext} from '../engine/step.js'
import {conflictError} from '../errors.js'
import {layerTargets} from '../layer-bundle.js'
import {restoreFunctions, type RestorePart} from './function-restore.js'
import {functionTally} from './function-tally.js'
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
const isOurLayer = (arn: string, ctx: Pick<StepContext, 'stack'>) => arn.includes(`:layer:${layerName(ctx.stack)}:`)

/** Put this version of cct's layer on a function (in place of an older one, or appended); take it off. */
export type LayerAttachOp =
  {kind: 'set-layer'; functionName: string; layerVersionArn: string} | {kind: 'remove-layer'; functionName: string}

export const layerAttachStep: Step<'layer-attach', LayerAttachState, LayerAttachOp> = {
  id: 'layer-attach',
  title: 'Cache layer on the functions',
  needs: ['layer'],
  after: ['attach'],
  command: 'cct layer',

  async inspect(ctx) {
    const {layerVersionArn} = ctx.need('layer')
    const lambda = await ctx.aws.lambda()
    if (isUndoing(ctx))
      return {layerVersionArn, functions: (await recordedFunctions(lambda, layersRecordKey(ctx))).map((fn) => ({fn}))}
    const functions = await resolveFunctions(lambda, ctx.options, ctx.region)
    return {layerVersionArn, functions: functions.map((fn) => ({fn, target: desiredLayers(fn, layerVersionArn, ctx)}))}
  },

  plan(state) {
    return state.functions
      .filter(({target}) => target)
      .map(({fn, target}) => {
        const replacing = fn.layers.find((arn) => !target!.includes(arn) && arn.includes(':layer:'))
        const detail = replacing
          ? `has ${shortArn(replacing)}, needs ${shortArn(state.layerVersionArn)}: replaced in place (other layers kept, in order)`
          : `add the cache layer after ${fn.layers.length} existing layer(s)`
        return {
          action: 'update',
          resource: 'function-layers',
          name: fn.name,
          detail,
          kind: replacing ? 'drift' : 'missing',
          op: {kind: 'set-layer', functionName: fn.name, layerVersionArn: state.layerVersionArn},
        } satisfies Change<LayerAttachOp>
      })
  },

  resources(state) {
    return state.functions.map(({fn}) => ({resource: 'function-layers', name: fn.name}))
  },

  output(state) {
    return {functions: state.functions.map(({fn}) => fn.name)}
  },

  /** Each function's record of its layers, as the run starts applying (tagFunction makes it one write with the others'). */
  async recordAhead(state, plan, ctx) {
    const lambda = await ctx.aws.lambda()
    await mapBounded(operations(plan), FUNCTION_CONCURRENCY, async (op) => {
      if (op.kind === 'set-layer')
        await recordLayers(lambda, state.functions.find((f) => f.fn.name === op.functionName)!.fn, ctx)
    })
  },

  async apply(state, plan, ctx) {
    const lambda = await ctx.aws.lambda()
    const tally = functionTally(
      ctx,
      plan.map((c) => c.name),
    )
    await mapBounded(operations(plan), FUNCTION_CONCURRENCY, async (op) => {
      if (op.kind !== 'set-layer')
        throw new Error(`layer-attach apply was given ${op.kind}, which only destroy performs`)
      const {fn} = state.functions.find((f) => f.fn.name === op.functionName)!
      await recordLayers(lambda, fn, ctx) // made ahead as a rule; here if the plan was made again
      tally.set(fn.name, 'attaching the cache layer')
      // Layers, like Environment, are replaced whole by Lambda: send the full list.
      await updateFunction(
        lambda,
        fn,
        (current) => {
          const layers = desiredLayers(current, op.layerVersionArn, ctx)
          return layers ? {Layers: layers} : undefined
        },
        ctx,
        'cct layer',
      )
      tally.set(fn.name, 'with the layer')
    })
    return {functions: state.functions.map(({fn}) => fn.name)}
  },

  destroyPlan(state) {
    return state.functions.map(
      ({fn}) =>
        ({
          action: 'restore',
          resource: 'function-layers',
          name: fn.name,
          detail: 'the cache layer comes off (other layers kept)',
          op: {kind: 'remove-layer', functionName: fn.name},
        }) satisfies Change<LayerAttachOp>,
    )
  },

  async destroy(_state, plan, ctx) {
    const parts = new Map<string, RestorePart>()
    for (const op of operations(plan)) {
      if (op.kind !== 'remove-layer')
        throw new Error(`layer-attach destroy was given ${op.kind}, which only apply performs`)
      parts.set(op.functionName, {
        recordKey: layersRecordKey(ctx),
        what: 'layers',
        update: (current, record) => {
          const before = (record as {before?: string[]}).before ?? []
          // Take off only cct's layer; put back a version of it the function had before cct.
          const restored = current.layers.flatMap((arn) =>
            isOurLayer(arn, ctx) ? before.filter((b) => isOurLayer(b, ctx)) : [arn],
          )
          return restored.join() === current.layers.join() ? undefined : {Layers: restored}
        },
      })
    }
    await restoreFunctions(ctx, 'layer-attach', parts)
  },
}

/** Records the function's layers before cct's first change to them (a later run keeps the first record). */
async function recordLayers(lambda: LambdaClient, fn: FunctionInfo, ctx: StepContext): Promise<void> {
  if (!decodeRecord(layersRecordKey(ctx), fn.tags))
    await tagFunction(lambda, fn, encodeRecord(layersRecordKey(ctx), {before: fn.layers}))
}

/** The function's layers with cct's in place of an older version of it, or appended; undefined when already right. */
export function desiredLayers(
  fn: FunctionInfo,
  layerVersionArn: string,
  ctx: Pick<StepContext, 'stack'>,
): string[] | undefined {
  if (fn.layers.includes(layerVersionArn)) return undefined
  if (fn.packageType === 'Image') {
    throw conflictError(
      `Function ${fn.name} is a container image (PackageType Image); Lambda allows no layers on it`,
      'Copy the cache helper into the image instead (the layer zip is in dist/layer/ of cct), or leave it out of --functions',
    )
  }
  const runtime = fn.runtime
  if (runtime && !layerTargets().runtimes.includes(runtime)) {
    throw conflictError(
      `Function ${fn.name} runs ${runtime}; the cache layer is built for ${layerTargets().runtimes.join(', ')}`,
      `Upgrade its runtime, or leave it out of --functions`,
    )
  }
  const index = fn.layers.findIndex((arn) => isOurLayer(arn, ctx))
  if (index >= 0)
    return fn.layers
      .map((arn, i) => (i === index ? layerVersionArn : arn))
      .filter((arn, i) => i === index || !isOurLayer(arn, ctx))
  if (fn.layers.length >= MAX_LAYERS) {
    throw conflictError(
      `Function ${fn.name} already has ${fn.layers.length} layers; Lambda allows ${MAX_LAYERS}`,
      'Remove one of its layers (or merge two), or leave it out of --functions',
    )
  }
  return [...fn.layers, layerVersionArn]
}

function shortArn(arn: string): string {
  return arn.split(':layer:')[1] ?? arn
}
