import type {StepId} from './step.js'

/**
 * Undoing, steps that change the same resources (`after`: the function steps all update a
 * function's configuration) make one change per resource, together, instead of one each
 * in turn: each step gives its part for each resource; once every peer has given its own
 * (or ended without: nothing to undo, failed, skipped), the change of each resource is made
 * once, by whichever step gets to it first, and every step that gave a part waits for it.
 */
export class Together<Part> {
  private readonly given = new Map<StepId, Map<string, Part>>()
  private readonly arrived = new Map<StepId, () => void>()
  private readonly arrivals: Map<StepId, Promise<void>>
  private readonly changes = new Map<string, unknown>()

  constructor(
    private readonly peers: readonly StepId[],
    ended: (id: StepId) => Promise<void>,
  ) {
    this.arrivals = new Map(
      peers.map((id) => [id, Promise.race([new Promise<void>((r) => this.arrived.set(id, r)), ended(id)])]),
    )
  }

  /** This step's parts by resource; resolves to every peer's parts for those resources, in peer order. */
  async meet(step: StepId, parts: ReadonlyMap<string, Part>): Promise<Map<string, Part[]>> {
    this.given.set(step, new Map(parts))
    this.arrived.get(step)?.()
    await Promise.all(this.arrivals.values())
    return new Map(
      [...parts.keys()].map((resource) => [
        resource,
        this.peers.flatMap((id) => (this.given.get(id)?.has(resource) ? [this.given.get(id)!.get(resource)!] : [])),
      ]),
    )
  }

  /** `change` made once per resource, whoever asks first; the others get the same outcome to wait for. */
  once<T>(resource: string, change: () => T): T {
    if (!this.changes.has(resource)) this.changes.set(resource, change())
    return this.changes.get(resource) as T
  }
}
