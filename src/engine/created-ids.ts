import {isPending, resolvePending} from './step.js'

/**
 * The ids a run has created, by the pending id its plans named them with (`pending(name)`):
 * a run plans every step before it changes anything, so a step's plan names what the steps
 * it needs will create by their pending ids, and the run puts in the real ones as they are made.
 */
export class CreatedIds {
  private readonly ids = new Map<string, string>()
  /** Pending ids that came out as two different real ones: resolved to neither. */
  private readonly ambiguous = new Set<string>()

  /**
   * Learns from what a step's plan said it would hand on (`planned`, with pending ids) and
   * what its apply handed on (`made`), walked side by side: each pending id is the real id
   * in the same place.
   */
  learn(planned: unknown, made: unknown): void {
    if (typeof planned === 'string') {
      if (!isPending(planned) || typeof made !== 'string' || isPending(made) || this.ambiguous.has(planned)) return
      const known = this.ids.get(planned)
      if (known === undefined) this.ids.set(planned, made)
      else if (known !== made) {
        this.ids.delete(planned)
        this.ambiguous.add(planned)
      }
    } else if (Array.isArray(planned)) {
      if (Array.isArray(made) && made.length === planned.length) planned.forEach((p, i) => this.learn(p, made[i]))
    } else if (planned && typeof planned === 'object' && made && typeof made === 'object') {
      for (const [key, value] of Object.entries(planned)) this.learn(value, (made as Record<string, unknown>)[key])
    }
  }

  /** `value` with every pending id learned so far replaced by its real id. */
  resolve<T>(value: T): T {
    return this.ids.size ? resolvePending(value, this.ids) : value
  }
}
