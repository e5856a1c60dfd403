import type {StepContext} from '../engine/step.js'

/** At most one line this often while the counts change (a last one when every function is through). */
const EVERY_MS = 1000

/**
 * Progress over many functions as one line of counts per state ("3 moving into the VPC,
 * 12 in the VPC, 35 waiting their turn"), not a line per function and event: fifty functions
 * would print hundreds. With one function it names it.
 */
export function functionTally(
  ctx: Pick<StepContext, 'progress'>,
  names: readonly string[],
  first = 'waiting their turn',
): {set(name: string, state: string): void} {
  const states = new Map(names.map((n) => [n, first]))
  let last = 0
  let shown = ''
  return {
    set(name, state) {
      states.set(name, state)
      const counts = new Map<string, number>()
      for (const s of states.values()) counts.set(s, (counts.get(s) ?? 0) + 1)
      const line =
        names.length === 1
          ? `${name}: ${state}`
          : [...counts]
              .filter(([s]) => s !== first || counts.size === 1)
              .map(([s, n]) => `${n} ${s}`)
              .join(', ') + (counts.has(first) && counts.size > 1 ? `, ${counts.get(first)} ${first}` : '')
      const through = !counts.has(first) && [...counts.keys()].length === 1
      if (line === shown || (!through && Date.now() - last < EVERY_MS)) return
      last = Date.now()
      shown = line
      ctx.progress(line)
    },
  }
}
