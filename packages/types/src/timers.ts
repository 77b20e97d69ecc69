// Real timers for the drivers of the sans-IO cores: every pending timer is tracked so that `stop()`
// can cancel them all, and none keeps the process alive on its own.

/** A set of pending timers that can be cancelled together. */
export class TimerSet {
  readonly #pending = new Set<ReturnType<typeof setTimeout>>()

  /** Calls `fn` after `after` ms, unless `clear()` runs first. */
  schedule(after: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#pending.delete(t)
      fn()
    }, after)
    ;(t as { unref?: () => void }).unref?.()
    this.#pending.add(t)
  }

  /** Cancels every pending timer. */
  clear(): void {
    for (const t of this.#pending) clearTimeout(t)
    this.#pending.clear()
  }

  /** Number of pending timers. */
  get size(): number {
    return this.#pending.size
  }
}
