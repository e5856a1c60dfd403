/**
 * In-process request coalescing: while a load for a key is running, later callers for the
 * same key await that load instead of starting their own. Results are shared objects;
 * treat them as read-only.
 */
export class SingleFlight {
  private readonly flights = new Map<string, Promise<unknown>>()

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const running = this.flights.get(key)
    if (running) return running as Promise<T>
    const flight = work().finally(() => {
      if (this.flights.get(key) === flight) this.flights.delete(key)
    })
    this.flights.set(key, flight)
    return flight
  }

  /** After an invalidation, new callers must not join a load that may read old data. */
  forget(key: string): void {
    this.flights.delete(key)
  }

  get size(): number {
    return this.flights.size
  }
}
