/**
 * Everything a user can choose about a stack, from flags or the config file. Services
 * and steps read this; they know nothing of flags.
 */
export interface StackOptions {
  stack: string
  /** New VPC's CIDR (default 10.0.0.0/16). */
  cidr: string
  /** Prefix length of each of the two subnets cct creates (default 24). */
  subnetPrefix: number
  /** Opt-in NAT gateway for internet calls other than DynamoDB/S3 (costs money). */
  nat: boolean
  /** Reuse this VPC instead of creating one. */
  vpcId?: string
  /** Reuse these subnets (with vpcId). */
  subnetIds?: string[]
  /** Cache engine; Valkey is about 20% cheaper and client-compatible. */
  engine: 'redis' | 'valkey'
  /** Engine version; default per engine (redis 7.1, valkey 8.0). */
  engineVersion?: string
  nodeType: string
  /** Read replicas (per shard); one or more turns on Multi-AZ automatic failover. */
  replicas: number
  /**
   * Shards (node groups). 1: cluster mode disabled, one primary. More: a cluster-mode-enabled
   * group reached through its configuration endpoint (the helpers with REDIS_CLUSTER=true).
   */
  shards: number
  /** In-transit encryption (at rest is always on). */
  tls: boolean
  /**
   * ElastiCache Serverless instead of a replication group: no nodes, shards or replicas to
   * choose, always TLS and cluster mode, billed for data stored and ECPUs.
   */
  serverless: boolean
  /** Serverless: the most data the cache may hold, in GB (CacheUsageLimits.DataStorage.Maximum). */
  maxDataGb?: number
  /** Serverless: the most ECPUs per second it may use (CacheUsageLimits.ECPUPerSecond.Maximum). */
  maxEcpu?: number
  /**
   * Zero-code caching: the layer's exec wrapper reads DynamoDB through the cache (see the
   * README's consistency contract). undefined: never chosen, which means off.
   */
  autoCache?: boolean
  /** Auto-cache TTLs in seconds per table ("*": every table): seconds, or {item, query}; 0 = not cached. */
  autoCacheTtls?: AutoCacheTtls
  /** Opt-in alarms on the runbook's targets: an email address (cct makes a topic) or an SNS topic ARN. */
  alarms?: string
  /** Functions to attach; undefined means the runbook's five, those that exist. */
  functions?: string[]
  /** Move functions that are in another VPC (recording what they had). */
  force: boolean
  /** Seconds a wait may take before it gives up with a resume hint. */
  waitTimeoutSeconds: number
  /** Polling interval of waits. */
  pollIntervalMs: number
  /**
   * Where each value a user gave came from, as messages name it: `--node-type` for a flag,
   * `cct.json "nodeType"` for the config file. Absent: a default (messages then name the flag).
   */
  sources?: OptionSources
}

export type OptionSources = Partial<Record<keyof StackOptions, string>>

/** The flag of each option, for messages about values that came from no file. */
export const OPTION_FLAGS: Partial<Record<keyof StackOptions, string>> = {
  stack: '--stack',
  cidr: '--cidr',
  subnetPrefix: '--subnet-prefix',
  nat: '--nat',
  vpcId: '--vpc-id',
  subnetIds: '--subnet-ids',
  engine: '--engine',
  engineVersion: '--engine-version',
  nodeType: '--node-type',
  replicas: '--replicas',
  shards: '--shards',
  tls: '--tls',
  serverless: '--serverless',
  maxDataGb: '--max-data-gb',
  maxEcpu: '--max-ecpu',
  autoCache: '--auto-cache',
  autoCacheTtls: 'autoCacheTtls',
  alarms: '--alarms',
  functions: '--functions',
  waitTimeoutSeconds: '--wait-timeout',
}

/** How a message names an option: where its value came from, else its flag. */
export function optionLabel(options: Pick<StackOptions, 'sources'>, key: keyof StackOptions): string {
  return options.sources?.[key] ?? OPTION_FLAGS[key] ?? key
}

export type AutoCacheTtls = Record<string, number | {item?: number; query?: number}>

export const DEFAULT_STACK = 'cct'

/** The functions of the runbook, attached by default when they exist. */
export const RUNBOOK_FUNCTIONS = ['articles-api', 'video-list-api', 'news-api', 'resources-api', 'contributors-api']

export const DEFAULT_ENGINE_VERSION = {redis: '7.1', valkey: '8.0'} as const

/** The newest major version of each engine a serverless cache offers (it takes a major version only). */
/**
 * Nodes, replicas included, in one cluster-mode group: "up to 500 per cluster if the engine
 * version is Valkey 7.2 and higher, or Redis OSS 5.0.6 to 7.1" ("Working with shards in ElastiCache").
 */
export const MAX_CLUSTER_NODES = 500

export const SERVERLESS_MAJOR_VERSION = {valkey: '8', redis: '7'} as const

export function defaultOptions(overrides: Partial<StackOptions> = {}): StackOptions {
  return {
    stack: DEFAULT_STACK,
    cidr: '10.0.0.0/16',
    subnetPrefix: 24,
    nat: false,
    engine: 'redis',
    nodeType: 'cache.t3.micro',
    replicas: 0,
    shards: 1,
    tls: true,
    serverless: false,
    force: false,
    waitTimeoutSeconds: 1800,
    pollIntervalMs: 5000,
    ...overrides,
  }
}

/**
 * Checks what can be checked without AWS, so bad input fails before any call: the
 * stack name, CIDR, prefix and id shapes. Existence checks happen in the steps' inspect.
 */
export async function validateOptions(options: StackOptions): Promise<void> {
  const {validateStackName} = await import('./stack-name.js')
  const {validateVpcCidr, validateSubnetPrefix} = await import('./net/cidr.js')
  const {usageError} = await import('./errors.js')
  const label = (key: keyof StackOptions) => optionLabel(options, key)
  const given = (key: keyof StackOptions) => options.sources?.[key] !== undefined
  validateStackName(options.stack, options.sources?.stack?.startsWith('--') ? undefined : options.sources?.stack)
  // Contradictions are refused, never resolved silently: the user's VPC is used as it is.
  if (options.vpcId !== undefined && given('cidr')) {
    throw usageError(
      `${label('cidr')} cannot be used with ${label('vpcId')}: cct creates no VPC when it uses yours`,
      `Leave out ${label('cidr')}; subnets cct adds to your VPC take free blocks of its own CIDR`,
    )
  }
  if (options.nat && options.subnetIds?.length) {
    throw usageError(
      `${label('nat')} cannot be used with ${label('subnetIds')}: cct routes to a NAT only from the private subnets it creates`,
      'Leave out --subnet-ids, or route your own subnets to a NAT gateway',
    )
  }
  if (options.alarms !== undefined) (await import('./steps/alarms.js')).validateAlarmTarget(options.alarms)
  const fromFile = (key: keyof StackOptions) =>
    options.sources?.[key]?.startsWith('--') ? undefined : options.sources?.[key]
  if (options.vpcId || options.subnetIds?.length) validateSubnetPrefix(options.subnetPrefix, label('subnetPrefix'))
  else validateVpcCidr(options.cidr, options.subnetPrefix, fromFile('cidr'), label('subnetPrefix'))
  if (options.vpcId !== undefined && !/^vpc-[0-9a-f]{8,17}$/.test(options.vpcId)) {
    throw usageError(
      `"${options.vpcId}" (${label('vpcId')}) is not a VPC id`,
      'VPC ids look like vpc-0abc1234def567890',
    )
  }
  for (const id of options.subnetIds ?? []) {
    if (!/^subnet-[0-9a-f]{8,17}$/.test(id))
      throw usageError(
        `"${id}" (${label('subnetIds')}) is not a subnet id`,
        'Subnet ids look like subnet-0abc1234def567890',
      )
  }
  if (options.subnetIds && options.subnetIds.length < 2) {
    throw usageError(
      `${label('subnetIds')} needs at least two subnets`,
      'Pass two subnets in different availability zones, comma-separated',
    )
  }
  if (!['redis', 'valkey'].includes(options.engine))
    throw usageError(`${label('engine')} ${options.engine} is not supported`, 'Use redis or valkey')
  if (!/^cache\.[a-z0-9]+\.[a-z0-9]+$/.test(options.nodeType)) {
    throw usageError(
      `"${options.nodeType}" (${label('nodeType')}) is not an ElastiCache node type`,
      'Node types look like cache.t4g.micro or cache.r7g.large',
    )
  }
  if (options.engineVersion !== undefined && !/^\d+(\.(\d+|x))*$/.test(options.engineVersion)) {
    throw usageError(
      `"${options.engineVersion}" (${label('engineVersion')}) is not an engine version`,
      'Versions look like 7.1 (redis) or 8.0 (valkey)',
    )
  }
  if (!Number.isInteger(options.replicas) || options.replicas < 0 || options.replicas > 5) {
    throw usageError(
      `${label('replicas')} ${options.replicas} is outside 0-5`,
      'A replication group has one primary and up to five replicas',
    )
  }
  if (!Number.isInteger(options.shards) || options.shards < 1 || options.shards > 500) {
    throw usageError(
      `${label('shards')} ${options.shards} is outside 1-500`,
      'Pass 1 for one primary (cluster mode disabled), or 2-500 shards (cluster mode enabled)',
    )
  }
  const nodes = options.shards * (1 + options.replicas)
  if (options.shards > 1 && nodes > MAX_CLUSTER_NODES) {
    throw usageError(
      `${label('shards')} ${options.shards} with ${label('replicas')} ${options.replicas} is ${nodes} nodes; a cluster-mode group has at most ${MAX_CLUSTER_NODES}`,
      `Pass at most ${label('shards')} ${Math.floor(MAX_CLUSTER_NODES / (1 + options.replicas))} with ${label('replicas')} ${options.replicas}`,
    )
  }
  validateServerless(options, label, given, usageError)
  if (options.functions !== undefined && options.functions.length === 0) {
    throw usageError(
      `${label('functions')} names no function`,
      "Pass names like articles-api,news-api, or leave it out for the runbook's five",
    )
  }
  for (const name of options.functions ?? []) {
    // name:alias, name:3, or a qualified ARN: a version's configuration cannot change, and
    // an alias only points at one. cct changes $LATEST; versions are published from it.
    const qualified = /^(?:arn:aws[a-z-]*:lambda:[^:]*:\d*:function:)?([A-Za-z0-9_-]{1,64}):([A-Za-z0-9_$-]+)$/.exec(
      name,
    )
    if (qualified) {
      const [, fn, qualifier] = qualified
      throw usageError(
        `"${name}" (${label('functions')}) names ${/^\d+$/.test(qualifier!) ? `published version ${qualifier}` : qualifier === '$LATEST' ? '$LATEST' : `alias ${qualifier}`} of ${fn}; cct changes a function's $LATEST (a version's configuration cannot change)`,
        `Pass ${fn}; after setup, publish a version (aws lambda publish-version --function-name ${fn}) and point the alias at it`,
      )
    }
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(name) && !/^arn:aws[a-z-]*:lambda:/.test(name)) {
      throw usageError(
        `"${name}" (${label('functions')}) is not a Lambda function name`,
        'Pass names like articles-api, comma-separated',
      )
    }
  }
  for (const [table, ttl] of Object.entries(options.autoCacheTtls ?? {})) {
    const ok = (n: unknown) => typeof n === 'number' && Number.isFinite(n) && n >= 0
    const valid =
      ok(ttl) ||
      (ttl !== null &&
        typeof ttl === 'object' &&
        Object.entries(ttl).every(([k, v]) => ['item', 'query'].includes(k) && ok(v)))
    const where = options.sources?.autoCacheTtls
      ? options.sources.autoCacheTtls.replace(/"$/, `.${table}"`)
      : `autoCacheTtls.${table}`
    if (!valid)
      throw usageError(
        `${where} must be seconds or {"item": seconds, "query": seconds}`,
        'For example {"*": 300, "articles": {"item": 600, "query": 60}}; 0 turns caching off for that table',
      )
  }
  if (!Number.isInteger(options.waitTimeoutSeconds) || options.waitTimeoutSeconds <= 0) {
    throw usageError(
      `${label('waitTimeoutSeconds')} ${options.waitTimeoutSeconds} is not a positive number of seconds`,
      'Pass e.g. --wait-timeout 1800',
    )
  }
}

/**
 * A serverless cache has no nodes, shards or replicas, and always encrypts in transit:
 * asking for those with it is a contradiction, refused rather than ignored. Its usage limits
 * are CreateServerlessCache's ranges.
 */
function validateServerless(
  options: StackOptions,
  label: (key: keyof StackOptions) => string,
  given: (key: keyof StackOptions) => boolean,
  usageError: (message: string, hint?: string) => Error,
): void {
  if (!options.serverless) {
    const limit = (['maxDataGb', 'maxEcpu'] as const).find((key) => options[key] !== undefined)
    if (limit)
      throw usageError(
        `${label(limit)} is a limit of a serverless cache; it cannot be used without ${label('serverless')}`,
        `Add ${label('serverless')}, or leave out ${label(limit)}`,
      )
    return
  }
  const nodeChoices: [keyof StackOptions, string][] = [
    ['nodeType', 'has no nodes to choose'],
    ['shards', 'scales itself and has no shards to choose'],
    ['replicas', 'keeps its own replicas across zones'],
  ]
  for (const [key, why] of nodeChoices) {
    if (given(key))
      throw usageError(
        `${label(key)} cannot be used with ${label('serverless')}: a serverless cache ${why}`,
        `Leave out ${label(key)}, or leave out ${label('serverless')} for a replication group`,
      )
  }
  if (!options.tls)
    throw usageError(
      `${label('tls') === '--tls' ? '--no-tls' : label('tls')} cannot be used with ${label('serverless')}: a serverless cache always encrypts in transit`,
      `Leave out ${label('tls') === '--tls' ? '--no-tls' : label('tls')}; cct's helpers connect with TLS`,
    )
  if (options.engineVersion !== undefined && !/^\d+(\.\d+)?$/.test(options.engineVersion))
    throw usageError(
      `"${options.engineVersion}" (${label('engineVersion')}) is not a major engine version`,
      'A serverless cache takes a major version: 8 or 7 (valkey), 7 (redis)',
    )
  const range = (key: 'maxDataGb' | 'maxEcpu', lo: number, hi: number, what: string) => {
    const value = options[key]
    if (value !== undefined && !(Number.isInteger(value) && value >= lo && value <= hi))
      throw usageError(`${label(key)} ${value} is outside ${lo}-${hi}`, `A serverless cache's ${what}`)
  }
  range('maxDataGb', 1, 5000, 'data storage limit is 1-5000 GB')
  range('maxEcpu', 1000, 15_000_000, 'ECPU limit is 1,000-15,000,000 per second')
}
