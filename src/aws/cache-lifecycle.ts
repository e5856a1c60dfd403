import {ListTagsForResourceCommand, type ElastiCacheClient} from '@aws-sdk/client-elasticache'

import {usually, type StepContext, type Takes} from '../engine/step.js'
import {conflictError} from '../errors.js'
import {hasStackTags} from '../tags.js'
import {isAwsError} from './errors.js'
import {waitUntil} from './wait.js'

/** What a replication group and a serverless cache have in common, as cct reads them. */
interface CacheResource {
  Status?: string
  ARN?: string
}

/**
 * How one kind of ElastiCache cache (a replication group, a serverless cache) is found,
 * deleted and named in messages. Both kinds live the same life (creating → available →
 * deleting → gone, with create-failed on the way), so the waits and the ownership check
 * below serve both; only the calls and their fault names differ.
 */
export interface CacheKind<T extends CacheResource> {
  /** As a message names it: "Replication group", "Serverless cache". */
  label: string
  /** describe-events' --source-type for it. */
  sourceType: 'replication-group' | 'serverless-cache'
  /** The describe call for one id; the kind's not-found fault is undefined. */
  describe(elasticache: ElastiCacheClient, id: string): Promise<T | undefined>
  /** The delete call. */
  remove(elasticache: ElastiCacheClient, id: string): Promise<unknown>
  notFoundFault: string
  /** What AWS answers while the cache's state forbids the call (creating, modifying). */
  stateFault: string
  createTakes: Takes
  deleteTakes: Takes
  /** What ElastiCache most often means by create-failed for this kind. */
  createFailedCause(resource: T): string
  /** The command that creates it again. */
  recreate: string
  /** Said after "Run `recreate` again to delete it and create it anew". */
  recreateAdvice?: string
}

/** Deletable as it is; in any other state AWS refuses the delete (the state fault). */
const DELETABLE = ['available', 'create-failed']

const isDeletable = (status: string): boolean => DELETABLE.includes(status)

/** The cache, or undefined when there is none of that id. */
async function findCache<T extends CacheResource>(
  kind: CacheKind<T>,
  elasticache: ElastiCacheClient,
  id: string,
): Promise<T | undefined> {
  try {
    return await kind.describe(elasticache, id)
  } catch (error) {
    if (isAwsError(error, kind.notFoundFault)) return undefined
    throw error
  }
}

/** true/false from the cache's tags; undefined while AWS will not read them (not yet available). */
async function ownedByStack<T extends CacheResource>(
  kind: CacheKind<T>,
  elasticache: ElastiCacheClient,
  resource: T,
  stack: string,
): Promise<boolean | undefined> {
  try {
    const {TagList = []} = await elasticache.send(new ListTagsForResourceCommand({ResourceName: resource.ARN!}))
    return hasStackTags(TagList, stack)
  } catch (error) {
    if (isAwsError(error, kind.stateFault)) return undefined
    throw error
  }
}

/** What deleting a cache in `status` will do, as rollback's preview says it. */
export function deletionDetail(status: string): string {
  if (status === 'deleting') return 'already deleting; wait until gone'
  return isDeletable(status) ? 'no final snapshot' : `${status}: wait until available, then delete (no final snapshot)`
}

/** Deletes the cache once it settles and waits until it is gone; one already deleting is only waited for. */
async function deleteCache<T extends CacheResource>(
  kind: CacheKind<T>,
  elasticache: ElastiCacheClient,
  id: string,
  alreadyDeleting: boolean,
  ctx: StepContext,
): Promise<void> {
  if (!alreadyDeleting) await deleteWhenSettled(kind, elasticache, id, ctx)
  await waitForGone(kind, elasticache, id, ctx, 'cct rollback')
}

/**
 * The delete is refused while a cache is creating or modifying (the state fault), and
 * nothing is deleted then: wait until it settles (showing its status), then delete. A
 * cache already deleting or gone is done.
 */
async function deleteWhenSettled<T extends CacheResource>(
  kind: CacheKind<T>,
  elasticache: ElastiCacheClient,
  id: string,
  ctx: StepContext,
): Promise<void> {
  await waitUntil(
    ctx,
    `${id} to be available so it can be deleted`,
    async () => {
      const c = await findCache(kind, elasticache, id)
      if (!c || c.Status === 'deleting') return {done: true, status: c?.Status ?? 'gone'}
      if (!isDeletable(c.Status ?? '')) return {done: false, status: c.Status ?? 'unknown'}
      try {
        await kind.remove(elasticache, id)
        return {done: true, status: 'deleting'}
      } catch (error) {
        // It changed state between the read and the delete (another client's change): wait again.
        if (isAwsError(error, kind.stateFault)) return {done: false, status: c.Status ?? 'unknown'}
        if (isAwsError(error, kind.notFoundFault)) return {done: true, status: 'gone'}
        throw error
      }
    },
    'cct rollback',
    usually(kind.createTakes),
  )
}

/** Until the cache is available; create-failed stops the wait with what to do next. */
async function waitForAvailable<T extends CacheResource>(
  kind: CacheKind<T>,
  elasticache: ElastiCacheClient,
  id: string,
  ctx: StepContext,
): Promise<T> {
  const cache = await waitUntil(
    ctx,
    `${id} to be available`,
    async () => {
      const c = await findCache(kind, elasticache, id)
      if (c?.Status === 'create-failed') {
        throw conflictError(
          `${kind.label} ${id} failed to create (create-failed)${kind.createFailedCause(c)} (\`aws elasticache describe-events --source-type ${kind.sourceType} --source-identifier ${id}\` says why)`,
          `Run \`${kind.recreate}\` again to delete it and create it anew${kind.recreateAdvice ?? ''}, or \`cct rollback\` to remove it`,
        )
      }
      return {done: c?.Status === 'available', status: c?.Status ?? 'missing', value: c}
    },
    kind.recreate,
    usually(kind.createTakes),
  )
  return cache!
}

async function waitForGone<T extends CacheResource>(
  kind: CacheKind<T>,
  elasticache: ElastiCacheClient,
  id: string,
  ctx: StepContext,
  resume: string,
): Promise<void> {
  await waitUntil(
    ctx,
    `${id} to be deleted`,
    async () => {
      const c = await findCache(kind, elasticache, id)
      return {done: !c, status: c?.Status ?? 'gone'}
    },
    resume,
    usually(kind.deleteTakes),
  )
}

/** One kind's lifecycle, bound: what a step calls (`replicationGroups.find(elasticache, id)`). */
export function lifecycleOf<T extends CacheResource>(kind: CacheKind<T>) {
  return {
    find: (elasticache: ElastiCacheClient, id: string) => findCache(kind, elasticache, id),
    ownedByStack: (elasticache: ElastiCacheClient, resource: T, stack: string) =>
      ownedByStack(kind, elasticache, resource, stack),
    waitForAvailable: (elasticache: ElastiCacheClient, id: string, ctx: StepContext) =>
      waitForAvailable(kind, elasticache, id, ctx),
    waitForGone: (elasticache: ElastiCacheClient, id: string, ctx: StepContext, resume: string) =>
      waitForGone(kind, elasticache, id, ctx, resume),
    delete: (elasticache: ElastiCacheClient, id: string, alreadyDeleting: boolean, ctx: StepContext) =>
      deleteCache(kind, elasticache, id, alreadyDeleting, ctx),
  }
}
