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
  /** Reuse this VPC instead of creating one. */
  vpcId?: string
  /** Reuse these subnets (with vpcId). */
  subnetIds?: string[]
  /** Seconds a wait may take before it gives up with a resume hint. */
  waitTimeoutSeconds: number
  /** Polling interval of waits. */
  pollIntervalMs: number
}

export const DEFAULT_STACK = 'cct'

export function defaultOptions(overrides: Partial<StackOptions> = {}): StackOptions {
  return {
    stack: DEFAULT_STACK,
    cidr: '10.0.0.0/16',
    subnetPrefix: 24,
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
  validateStackName(options.stack)
  if (options.vpcId || options.subnetIds?.length) validateSubnetPrefix(options.subnetPrefix)
  else validateVpcCidr(options.cidr, options.subnetPrefix)
  if (options.vpcId !== undefined && !/^vpc-[0-9a-f]{8,17}$/.test(options.vpcId)) {
    throw usageError(`"${options.vpcId}" is not a VPC id`, 'VPC ids look like vpc-0abc1234def567890')
  }
  for (const id of options.subnetIds ?? []) {
    if (!/^subnet-[0-9a-f]{8,17}$/.test(id)) throw usageError(`"${id}" is not a subnet id`, 'Subnet ids look like subnet-0abc1234def567890')
  }
  if (options.subnetIds && options.subnetIds.length < 2) {
    throw usageError('--subnet-ids needs at least two subnets', 'Pass two subnets in different availability zones, comma-separated')
  }
  if (!Number.isInteger(options.waitTimeoutSeconds) || options.waitTimeoutSeconds <= 0) {
    throw usageError(`--wait-timeout ${options.waitTimeoutSeconds} is not a positive number of seconds`, 'Pass e.g. --wait-timeout 1800')
  }
}
