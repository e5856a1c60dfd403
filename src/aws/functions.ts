import {
  GetFunctionCommand,
  ListAliasesCommand,
  ListFunctionsCommand,
  ListVersionsByFunctionCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateFunctionConfigurationCommand,
  type FunctionConfiguration,
  type LambdaClient,
  type UpdateFunctionConfigurationCommandInput,
} from '@aws-sdk/client-lambda'

import type {StepContext} from '../engine/step.js'
import {CctError, ExitCode, usageError} from '../errors.js'
import {RUNBOOK_FUNCTIONS, type StackOptions} from '../options.js'
import {waitUntil} from './wait.js'
import {isAwsError} from './errors.js'

export interface FunctionInfo {
  name: string
  arn: string
  role: string
  runtime?: string
  memoryMb?: number
  /** What a GB-second costs depends on it (arm64 is cheaper). */
  architecture?: 'x86_64' | 'arm64'
  revisionId?: string
  vpcId?: string
  subnetIds: string[]
  securityGroupIds: string[]
  env: Record<string, string>
  layers: string[]
  tags: Record<string, string>
  lastUpdateStatus?: string
  /** Zip or Image: Lambda allows no layers on a container image. */
  packageType?: string
  /** VpcConfig.Ipv6AllowedForDualStack: a VpcConfig update without it turns it off, so cct sends it back as it was. */
  ipv6DualStack?: boolean
}

/** Lambda's limits that cct's changes could cross ("Lambda quotas"). */
export const MAX_SECURITY_GROUPS = 5
export const MAX_ENV_BYTES = 4096

/** What the environment variables weigh against Lambda's 4 KB: every key and value, in aggregate (UTF-8 bytes). */
export function envBytes(env: Record<string, string>): number {
  return Object.entries(env).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0)
}

/**
 * How many functions are worked on at once. Lambda allows 15 control-plane requests a second
 * per account and Region (GetFunction 100), and the Lambda client sends each request when
 * that rate admits it (pace.ts), so this bound is not what keeps to the rate: an update
 * holds its slot for the seconds Lambda takes, and fifty at once let every update of fifty
 * functions be sent at the full rate before the records are cleared (20 left a third of
 * them for a second and a third round, each a whole update later). It keeps a few hundred
 * functions from holding a few hundred requests at once.
 */
export const FUNCTION_CONCURRENCY = 50

/** Function updates usually take a second or two: polled this often (when the poll interval is longer). */
const FUNCTION_POLL_MS = 500

export function toFunctionInfo(config: FunctionConfiguration, tags: Record<string, string>): FunctionInfo {
  return {
    name: config.FunctionName!,
    arn: config.FunctionArn!,
    role: config.Role!,
    runtime: config.Runtime,
    memoryMb: config.MemorySize,
    architecture: config.Architectures?.[0] === 'arm64' ? 'arm64' : 'x86_64',
    revisionId: config.RevisionId,
    vpcId: config.VpcConfig?.VpcId || undefined,
    subnetIds: config.VpcConfig?.SubnetIds ?? [],
    securityGroupIds: config.VpcConfig?.SecurityGroupIds ?? [],
    env: config.Environment?.Variables ?? {},
    layers: (config.Layers ?? []).map((l) => l.Arn!),
    tags,
    lastUpdateStatus: config.LastUpdateStatus,
    packageType: config.PackageType,
    ...(config.VpcConfig?.Ipv6AllowedForDualStack !== undefined
      ? {ipv6DualStack: config.VpcConfig.Ipv6AllowedForDualStack}
      : {}),
  }
}

/**
 * A function's configuration and tags in one GetFunction (which has its own, larger rate
 * limit: 100/s against 15/s for GetFunctionConfiguration and ListTags together). Read once
 * per run: steps that look at the same function share the answer until cct changes it
 * (updateFunction, tagFunction, untagFunction forget it).
 */
export function describeFunction(
  lambda: LambdaClient,
  name: string,
  /** Read it again: what is about to be written must start from the function as it is. */
  fresh = false,
): Promise<FunctionInfo | undefined> {
  if (fresh) forget(lambda, name)
  const seen = readsOf(lambda)
  let read = seen.get(name)
  if (!read) {
    read = readFunction(lambda, name, fresh)
    seen.set(name, read)
    read.catch(() => seen.delete(name))
  }
  // A copy: a caller may change its tags (tagFunction) without the others seeing it.
  return read.then((fn) => (fn ? structuredClone(fn) : undefined))
}

async function readFunction(lambda: LambdaClient, name: string, fresh: boolean): Promise<FunctionInfo | undefined> {
  try {
    const {Configuration, Tags = {}} = await lambda.send(new GetFunctionCommand({FunctionName: name}))
    if (fresh) seen(lambda, name, Configuration!)
    return toFunctionInfo(Configuration!, Tags)
  } catch (error) {
    if (isAwsError(error, 'ResourceNotFoundException')) return undefined
    throw error
  }
}

/** What this client (one per run) has read of each function and not changed since. */
const reads = new WeakMap<LambdaClient, Map<string, Promise<FunctionInfo | undefined>>>()
const readsOf = (lambda: LambdaClient) => {
  let seen = reads.get(lambda)
  if (!seen) reads.set(lambda, (seen = new Map()))
  return seen
}
const forget = (lambda: LambdaClient, name: string) => readsOf(lambda).delete(name)

/**
 * The configuration cct saw last of a function in this run, when that was moments ago: at the
 * end of its own update (the poll that saw it finish), or in a read made to write from
 * (describeFunction's `fresh`). The next update of that function starts from it instead of
 * reading again: with three steps updating each function, and fifty functions, those reads
 * were a fifth of setup's calls. Still safe against anyone else's change: the write carries
 * the RevisionId (PreconditionFailedException, nothing overwritten) and an update someone
 * started since is waited for (ResourceConflictException, then read again).
 */
const lastSeen = new WeakMap<LambdaClient, Map<string, FunctionConfiguration>>()
const lastSeenOf = (lambda: LambdaClient) => {
  let map = lastSeen.get(lambda)
  if (!map) lastSeen.set(lambda, (map = new Map()))
  return map
}
const seen = (lambda: LambdaClient, name: string, config: FunctionConfiguration) => lastSeenOf(lambda).set(name, config)
/** What cct saw last of the function, once (a second write must see the first one's end). */
const takeSeen = (lambda: LambdaClient, name: string) => {
  const config = lastSeenOf(lambda).get(name)
  lastSeenOf(lambda).delete(name)
  return config
}
/** Whether Lambda would refuse a write now (ResourceConflictException): being created or updated. */
const isBusy = (config: FunctionConfiguration) => config.State === 'Pending' || config.LastUpdateStatus === 'InProgress'

/**
 * The functions a command works on: the ones asked for (each must exist), or by default
 * the runbook's five that exist. A missing function fails before anything changes.
 */
export async function resolveFunctions(
  lambda: LambdaClient,
  options: StackOptions,
  region: string,
): Promise<FunctionInfo[]> {
  const asked = options.functions
  const names = asked ?? RUNBOOK_FUNCTIONS
  const found = await mapBounded(names, FUNCTION_CONCURRENCY, (name) => describeFunction(lambda, name))
  const missing = names.filter((_, i) => !found[i])
  if (asked && missing.length) {
    throw usageError(
      `Function${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ${missing.length > 1 ? 'do' : 'does'} not exist in ${region}`,
      'Check --functions against `aws lambda list-functions`',
    )
  }
  const present = found.filter((f): f is FunctionInfo => f !== undefined)
  if (present.length === 0) {
    throw usageError(
      `None of the runbook's functions (${RUNBOOK_FUNCTIONS.join(', ')}) exist in ${region}`,
      'Pass --functions with the names of yours',
    )
  }
  return present
}

/** Every function of the region, all pages. */
export async function listAllFunctions(lambda: LambdaClient): Promise<FunctionConfiguration[]> {
  const configs: FunctionConfiguration[] = []
  let Marker: string | undefined
  do {
    const page = await lambda.send(new ListFunctionsCommand({Marker}))
    configs.push(...(page.Functions ?? []))
    Marker = page.NextMarker
  } while (Marker)
  return configs
}

/**
 * Every function of the account that carries a cct record (any machine may have made
 * it), found by listing all functions and reading their tags.
 */
export async function recordedFunctions(lambda: LambdaClient, recordKey: string): Promise<FunctionInfo[]> {
  const configs = await listAllFunctions(lambda)
  // Deleted between the listing and now (by anyone): undefined, no records.
  const infos = await mapBounded(configs, FUNCTION_CONCURRENCY, (config) =>
    describeFunction(lambda, config.FunctionName!),
  )
  return infos.filter(
    (fn): fn is FunctionInfo =>
      fn !== undefined && Object.keys(fn.tags).some((k) => k === recordKey || k.startsWith(`${recordKey}.`)),
  )
}

/** A published version: its configuration is frozen as it was published, aliases may point at it. */
export interface PublishedVersion {
  version: string
  subnetIds: string[]
  securityGroupIds: string[]
  aliases: string[]
}

/**
 * A function's published versions (not $LATEST) and the aliases on each. Callers of a
 * version or an alias run that version's configuration, which cct's changes to $LATEST
 * do not reach; a version in a VPC keeps its network interfaces until it is deleted.
 */
export async function publishedVersions(lambda: LambdaClient, name: string): Promise<PublishedVersion[]> {
  const versions: PublishedVersion[] = []
  let Marker: string | undefined
  do {
    const page = await lambda.send(new ListVersionsByFunctionCommand({FunctionName: name, Marker}))
    for (const v of page.Versions ?? []) {
      if (!v.Version || v.Version === '$LATEST') continue
      versions.push({
        version: v.Version,
        subnetIds: v.VpcConfig?.SubnetIds ?? [],
        securityGroupIds: v.VpcConfig?.SecurityGroupIds ?? [],
        aliases: [],
      })
    }
    Marker = page.NextMarker
  } while (Marker)
  if (versions.length === 0) return versions
  let aliasMarker: string | undefined
  do {
    const page = await lambda.send(new ListAliasesCommand({FunctionName: name, Marker: aliasMarker}))
    for (const a of page.Aliases ?? []) versions.find((v) => v.version === a.FunctionVersion)?.aliases.push(a.Name!)
    aliasMarker = page.NextMarker
  } while (aliasMarker)
  return versions
}

export type FunctionUpdate = Omit<UpdateFunctionConfigurationCommandInput, 'FunctionName' | 'RevisionId'>

/**
 * One configuration update, done the way Lambda requires: wait while a previous update is
 * InProgress (else ResourceConflictException; a Failed one is no reason to wait), build the change from the configuration as
 * it is then (finishing an update changes RevisionId, and Environment and Layers are
 * replaced whole, so a merge must start from the latest), and pass that RevisionId so a
 * change someone makes in the instant before the write fails instead of being
 * overwritten. `build` returns undefined when nothing is left to change.
 */
export function updateFunction(
  lambda: LambdaClient,
  fn: FunctionInfo,
  build: (current: FunctionInfo) => FunctionUpdate | undefined | Promise<FunctionUpdate | undefined>,
  ctx: Pick<StepContext, 'progress' | 'signal' | 'options'>,
  resume: string,
): Promise<FunctionInfo> {
  return oneAtATime(lambda, fn.name, () => writeFunction(lambda, fn, build, ctx, resume))
}

/**
 * cct's own updates of one function, one after the other within a run. Steps that change
 * the same function can run at once (the cluster step moving the helpers to cluster mode
 * while attach moves the function into the VPC); Lambda takes one update at a time, and
 * the second must start from the revision the first left, or it is refused as "changed
 * by someone else" (PreconditionFailedException).
 */
function oneAtATime<T>(lambda: LambdaClient, name: string, work: () => Promise<T>): Promise<T> {
  let queue = updating.get(lambda)
  if (!queue) updating.set(lambda, (queue = new Map()))
  const run = (queue.get(name) ?? Promise.resolve()).catch(() => undefined).then(work)
  queue.set(name, run)
  const done = () => {
    if (queue.get(name) === run) queue.delete(name)
  }
  run.then(done, done)
  return run
}
const updating = new WeakMap<LambdaClient, Map<string, Promise<unknown>>>()

async function writeFunction(
  ...[lambda, fn, build, ctx, resume]: Parameters<typeof updateFunction>
): Promise<FunctionInfo> {
  // A role that just got its VPC policy can take seconds to be usable (IAM is eventually consistent).
  let roleRetries = 6
  let conflictRetries = 5
  let written: FunctionConfiguration
  for (;;) {
    const known = takeSeen(lambda, fn.name)
    const latest = known && !isBusy(known) ? known : await waitForFunction(lambda, fn.name, ctx, resume, 'before')
    const current = latest && latest.RevisionId !== fn.revisionId ? toFunctionInfo(latest, fn.tags) : fn
    const update = await build(current)
    if (!update) return current
    try {
      forget(lambda, fn.name)
      written = await lambda.send(
        new UpdateFunctionConfigurationCommand({FunctionName: fn.name, RevisionId: current.revisionId, ...update}),
      )
      fn = toFunctionInfo(written, fn.tags)
      break
    } catch (error) {
      const message = (error as Error).message ?? ''
      if (isAwsError(error, 'PreconditionFailedException')) {
        throw new CctError(
          `${fn.name} was changed by someone else while cct was updating it; nothing was overwritten`,
          {
            exitCode: ExitCode.Conflict,
            hint: `Run \`${resume}\` again to merge with the new configuration`,
            cause: error,
          },
        )
      }
      fn = current
      // Someone else's update started between our wait and our write: wait for it, rebuild.
      if (isAwsError(error, 'ResourceConflictException') && conflictRetries-- > 0) continue
      if (isAwsError(error, 'InvalidParameterValueException') && /execution role/i.test(message) && roleRetries-- > 0) {
        ctx.progress(`${fn.name}: waiting for the role's new permissions to propagate`)
        await new Promise((r) => setTimeout(r, ctx.options.pollIntervalMs))
        continue
      }
      throw error
    }
  }
  const done = await waitForFunction(lambda, fn.name, ctx, resume, 'after', written)
  forget(lambda, fn.name) // a read made while the write was on its way would be stale
  if (done) seen(lambda, fn.name, done)
  return done ? toFunctionInfo(done, fn.tags) : fn
}

/**
 * Waits until Lambda may take a write: while a function is being created (`State:
 * Pending`, Lambda making its network interfaces) or updated (`LastUpdateStatus:
 * InProgress`). What an earlier update left (`Failed`, cct's or anyone's, e.g.
 * SubnetOutOfIPAddresses) does not stop the next write, which replaces it; so `before`
 * waits only. `after` cct's own write (or create), Failed is cct's failure and says why.
 */
export async function waitForFunction(
  lambda: LambdaClient,
  name: string,
  ctx: Pick<StepContext, 'progress' | 'signal' | 'options'>,
  resume: string,
  when: 'before' | 'after',
  /** What the write itself answered (InProgress, as a rule): the first poll, without asking again. */
  written?: FunctionConfiguration,
): Promise<FunctionConfiguration | undefined> {
  let answered = written
  return waitUntil(
    ctx,
    `${name} to finish updating`,
    async () => {
      // GetFunction: its rate limit is the one that many functions polled at once can afford.
      const config =
        answered ??
        ((await lambda.send(new GetFunctionCommand({FunctionName: name}))) as {Configuration: FunctionConfiguration})
          .Configuration
      answered = undefined
      const busy = isBusy(config)
      if (!busy && when === 'after' && (config.State === 'Failed' || config.LastUpdateStatus === 'Failed')) {
        const code = config.LastUpdateStatusReasonCode ?? config.StateReasonCode
        const reason = config.LastUpdateStatus === 'Failed' ? config.LastUpdateStatusReason : config.StateReason
        throw new CctError(
          `Lambda could not update ${name}${code ? ` (${code})` : ''}: ${reason ?? 'no reason given'}`,
          {exitCode: ExitCode.Failure, hint: `Fix the cause, then run \`${resume}\` again`},
        )
      }
      return {
        done: !busy,
        status: config.State === 'Pending' ? 'Pending' : (config.LastUpdateStatus ?? 'unknown'),
        value: config,
      }
    },
    resume,
    undefined,
    FUNCTION_POLL_MS,
  )
}

/**
 * Adds tags to a function. Tags asked for the same function in the same turn of the event loop
 * go in one TagResource: the function steps record ahead together as a run starts applying
 * (Step.recordAhead), so each function gets one record write for the run, not one per step
 * (each on Lambda's 15 requests a second).
 */
export async function tagFunction(lambda: LambdaClient, fn: FunctionInfo, tags: Record<string, string>): Promise<void> {
  if (Object.keys(tags).length === 0) return
  const batches = tagBatchesOf(lambda)
  let batch = batches.get(fn.name)
  if (!batch) {
    const tagging = {tags: {} as Record<string, string>, sent: Promise.resolve()}
    tagging.sent = new Promise<void>((turn) => setImmediate(turn)).then(async () => {
      batches.delete(fn.name)
      forget(lambda, fn.name)
      await lambda.send(new TagResourceCommand({Resource: fn.arn.replace(/:\$LATEST$/, ''), Tags: tagging.tags}))
      forget(lambda, fn.name)
    })
    tagging.sent.catch(() => {}) // observed by every caller
    batches.set(fn.name, (batch = tagging))
  }
  Object.assign(batch.tags, tags)
  await batch.sent
  Object.assign(fn.tags, tags)
}

/** TagResource requests of this client not sent yet, by function. */
const tagBatches = new WeakMap<LambdaClient, Map<string, {tags: Record<string, string>; sent: Promise<void>}>>()
const tagBatchesOf = (lambda: LambdaClient) => {
  let batches = tagBatches.get(lambda)
  if (!batches) tagBatches.set(lambda, (batches = new Map()))
  return batches
}

export async function untagFunction(lambda: LambdaClient, fn: FunctionInfo, keys: string[]): Promise<void> {
  if (keys.length === 0) return
  forget(lambda, fn.name)
  await lambda.send(new UntagResourceCommand({Resource: fn.arn.replace(/:\$LATEST$/, ''), TagKeys: keys}))
  forget(lambda, fn.name)
  for (const k of keys) delete fn.tags[k]
}

/** Runs `work` over `items`, at most `limit` at a time, results in input order. */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await work(items[i]!, i)
    }
  }
  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker))
  return results
}
