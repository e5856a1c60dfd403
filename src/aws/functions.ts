import {
  GetFunctionConfigurationCommand,
  ListAliasesCommand,
  ListFunctionsCommand,
  ListVersionsByFunctionCommand,
  ListTagsCommand,
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

/** How many functions are updated at once: AWS throttles control-plane calls per account. */
export const FUNCTION_CONCURRENCY = 4

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

export async function describeFunction(lambda: LambdaClient, name: string): Promise<FunctionInfo | undefined> {
  let config: FunctionConfiguration
  try {
    config = await lambda.send(new GetFunctionConfigurationCommand({FunctionName: name}))
  } catch (error) {
    if (isAwsError(error, 'ResourceNotFoundException')) return undefined
    throw error
  }
  const {Tags = {}} = await lambda.send(new ListTagsCommand({Resource: config.FunctionArn!.replace(/:\$LATEST$/, '')}))
  return toFunctionInfo(config, Tags)
}

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
  const infos = await mapBounded(configs, FUNCTION_CONCURRENCY, async (config) => {
    try {
      const {Tags = {}} = await lambda.send(new ListTagsCommand({Resource: config.FunctionArn!}))
      return toFunctionInfo(config, Tags)
    } catch (error) {
      // Deleted between the listing and now (by anyone, or by a concurrent step): no records.
      if (isAwsError(error, 'ResourceNotFoundException')) return undefined
      throw error
    }
  })
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
export async function updateFunction(
  lambda: LambdaClient,
  fn: FunctionInfo,
  build: (current: FunctionInfo) => FunctionUpdate | undefined | Promise<FunctionUpdate | undefined>,
  ctx: Pick<StepContext, 'progress' | 'signal' | 'options'>,
  resume: string,
): Promise<FunctionInfo> {
  // A role that just got its VPC policy can take seconds to be usable (IAM is eventually consistent).
  let roleRetries = 6
  let conflictRetries = 5
  for (;;) {
    const latest = await waitForFunction(lambda, fn.name, ctx, resume, 'before')
    const current = latest && latest.RevisionId !== fn.revisionId ? toFunctionInfo(latest, fn.tags) : fn
    const update = await build(current)
    if (!update) return current
    try {
      const config = await lambda.send(
        new UpdateFunctionConfigurationCommand({FunctionName: fn.name, RevisionId: current.revisionId, ...update}),
      )
      fn = toFunctionInfo(config, fn.tags)
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
  const done = await waitForFunction(lambda, fn.name, ctx, resume, 'after')
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
): Promise<FunctionConfiguration | undefined> {
  return waitUntil(
    ctx,
    `${name} to finish updating`,
    async () => {
      const config = await lambda.send(new GetFunctionConfigurationCommand({FunctionName: name}))
      const busy = config.State === 'Pending' || config.LastUpdateStatus === 'InProgress'
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
  )
}

export async function tagFunction(lambda: LambdaClient, fn: FunctionInfo, tags: Record<string, string>): Promise<void> {
  if (Object.keys(tags).length === 0) return
  await lambda.send(new TagResourceCommand({Resource: fn.arn.replace(/:\$LATEST$/, ''), Tags: tags}))
  Object.assign(fn.tags, tags)
}

export async function untagFunction(lambda: LambdaClient, fn: FunctionInfo, keys: string[]): Promise<void> {
  if (keys.length === 0) return
  await lambda.send(new UntagResourceCommand({Resource: fn.arn.replace(/:\$LATEST$/, ''), TagKeys: keys}))
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
