import {usageError} from '../errors.js'

/** An IPv4 block: network address as an unsigned 32-bit number and prefix length. */
export interface Cidr {
  base: number
  prefix: number
}

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/

export function parseCidr(text: string, what = 'CIDR'): Cidr {
  const m = CIDR.exec(text.trim())
  const octets = m ? m.slice(1, 5).map(Number) : []
  const prefix = m ? Number(m[5]) : NaN
  if (!m || octets.some((o) => o > 255) || prefix > 32) {
    throw usageError(`${what} "${text}" is not an IPv4 CIDR block`, 'Write it as a.b.c.d/n, for example 10.0.0.0/16')
  }
  const address = octets.reduce((acc, o) => acc * 256 + o, 0)
  const base = prefix === 0 ? 0 : address - (address % 2 ** (32 - prefix))
  if (base !== address) {
    throw usageError(`${what} "${text}" has host bits set`, `Did you mean ${formatCidr({base, prefix})}?`)
  }
  return {base, prefix}
}

export function formatCidr({base, prefix}: Cidr): string {
  return `${[24, 16, 8, 0].map((shift) => Math.floor(base / 2 ** shift) % 256).join('.')}/${prefix}`
}

export function size(c: Cidr): number {
  return 2 ** (32 - c.prefix)
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + size(b) && b.base < a.base + size(a)
}

/** Whether block `outer` contains all of block `inner` (both written a.b.c.d/n); false when either is not a CIDR. */
export function contains(outer: string, inner: string): boolean {
  try {
    const a = parseCidr(outer)
    const b = parseCidr(inner)
    return a.prefix <= b.prefix && a.base <= b.base && b.base + size(b) <= a.base + size(a)
  } catch {
    return false
  }
}

/** AWS's limits for a VPC's primary block, and room for two subnets of `subnetPrefix`. */
/** `source`/`prefixSource`: where the values came from when not from --cidr / --subnet-prefix (`cct.json "cidr"`). */
export function validateVpcCidr(text: string, subnetPrefix: number, source?: string, prefixSource?: string): Cidr {
  const what = source ? `VPC CIDR (${source})` : 'VPC CIDR'
  const cidr = parseCidr(text, what)
  if (cidr.prefix < 16 || cidr.prefix > 28) {
    throw usageError(`${what} ${text} is /${cidr.prefix}; AWS allows /16 to /28`, 'Pick a block such as 10.0.0.0/16')
  }
  validateSubnetPrefix(subnetPrefix, prefixSource)
  if (subnetPrefix <= cidr.prefix) {
    throw usageError(
      `${what} ${text} is too small for two /${subnetPrefix} subnets`,
      `Use a /${subnetPrefix - 1} or larger block, or a longer --subnet-prefix`,
    )
  }
  return cidr
}

export function validateSubnetPrefix(prefix: number, source = '--subnet-prefix'): void {
  if (!Number.isInteger(prefix) || prefix < 16 || prefix > 28) {
    throw usageError(`${source} ${prefix} is outside AWS's /16 to /28`, 'Use 24 (256 addresses) unless you need more')
  }
}

/**
 * The first `count` blocks of `/prefix` inside `within` that overlap none of `taken`.
 * Skips the first block when there is room, so a new 10.0.0.0/16 gets 10.0.1.0/24 and
 * 10.0.2.0/24 as in the runbook.
 */
export function freeBlocks(within: Cidr, prefix: number, taken: readonly Cidr[], count: number): Cidr[] {
  const step = 2 ** (32 - prefix)
  const total = size(within) / step
  const start = total > count ? 1 : 0
  const found: Cidr[] = []
  for (let i = start; i < total && found.length < count; i++) {
    const candidate = {base: within.base + i * step, prefix}
    if (!taken.some((t) => overlaps(t, candidate))) found.push(candidate)
  }
  return found
}
