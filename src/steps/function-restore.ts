import type {LambdaClient} from '@aws-sdk/client-lambda'

import {
  FUNCTION_CONCURRENCY,
  describeFunction,
  mapBounded,
  untagFunction,
  updateFunction,
  type FunctionInfo,
  type FunctionUpdate,
} from '../aws/functions.js'
import {decodeRecord, recordTagKeys} from '../aws/records.js'
import type {StepContext, StepId} from '../engine/step.js'
import {functionTally} from './function-tally.js'

/** What one function step undoes on a function, from the record it kept there. */
export interface RestorePart {
  /** The record's tag key; its tags go once the function is restored. */
  recordKey: string
  /** For the progress line: "environment", "layers", "VPC configuration". */
  what: string
  /** The change that undoes it on the function as it is now; undefined when nothing of cct's is left. */
  update(current: FunctionInfo, record: unknown): FunctionUpdate | undefined
  /**
   * The step may end once the function is restored, without waiting for the records to be
   * cleared, when a peer that restores the same function waits for that: what the step's
   * end lets go (the cache, once no function's environment names it) goes sooner.
   */
  endsWhenRestored?: boolean
}

/**
 * Rollback of the function steps (attach, layer-attach, env): each gives its part per
 * function, and each function gets one configuration update that undoes them all (Lambda
 * takes VpcConfig, Layers and Environment in one update, and allows one update at a time),
 * then one untag of every record it undid. Records go only after the update, so a rollback
 * cut short finds them and finishes the job; an update that finds nothing of cct's left
 * (done before the cut) is not made. A step whose parts say `endsWhenRestored` ends with the
 * updates, its peers with the untags.
 */
export async function restoreFunctions(
  ctx: StepContext,
  step: StepId,
  parts: ReadonlyMap<string, RestorePart>,
): Promise<void> {
  const together = ctx.together<RestorePart>('restore-functions')
  const all = await together.meet(step, parts)
  const lambda = await ctx.aws.lambda()
  // Told by the step that makes each change: the others' lines would only repeat it.
  const tally = functionTally(ctx, [...all.keys()])
  await mapBounded([...all], FUNCTION_CONCURRENCY, async ([name, given]) => {
    const {restored, cleared} = together.once(name, () => {
      const restoring = restoreOne(lambda, name, given, ctx, tally)
      const clearing = restoring.then(async (done) => {
        if (done) await untagFunction(lambda, done.fn, done.keys)
        tally.set(name, 'restored')
      })
      clearing.catch(() => {}) // observed by the steps that wait for it
      return {restored: restoring, cleared: clearing}
    })
    // Someone must wait for the records to go: this step, unless a peer that gave a part does.
    const mine = parts.get(name)!
    const othersWait = given.some((part) => part !== mine && !part.endsWhenRestored)
    await (mine.endsWhenRestored && othersWait ? restored : cleared)
  })
}

/**
 * Restores one function (one update of every part's change) and says which record tags to
 * clear now that it is; undefined when nothing was left to restore.
 */
async function restoreOne(
  lambda: LambdaClient,
  name: string,
  parts: RestorePart[],
  ctx: StepContext,
  tally: ReturnType<typeof functionTally>,
): Promise<{fn: FunctionInfo; keys: string[]} | undefined> {
  // As it is now: a run since (or the one cut short) may have changed it and its records.
  const fn = await describeFunction(lambda, name, true)
  if (!fn) return undefined // deleted since: nothing left to restore
  const recorded = parts.flatMap((part) => {
    const record = decodeRecord<unknown>(part.recordKey, fn.tags)
    return record === undefined ? [] : [{part, record}]
  })
  if (recorded.length === 0) return undefined
  tally.set(name, `restoring ${recorded.map(({part}) => part.what).join(' and ')}`)
  await updateFunction(
    lambda,
    fn,
    (current) => {
      const update: FunctionUpdate = Object.assign(
        {},
        ...recorded.map(({part, record}) => part.update(current, record)),
      )
      return Object.keys(update).length ? update : undefined
    },
    ctx,
    'cct rollback',
  )
  return {fn, keys: recorded.flatMap(({part}) => recordTagKeys(part.recordKey, fn.tags))}
}
