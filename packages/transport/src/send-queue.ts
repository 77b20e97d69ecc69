// A bounded FIFO of frames for one peer and channel. `put` waits while the queue is full (that is the
// backpressure a sender feels), `take` waits while it is empty. One queue per (peer, channel), so a
// stalled peer fills only its own queue and never delays sends to others.
import { AbortError } from '@saorsa-gossip/types'

interface Waiter {
  resolve: () => void
  reject: (e: Error) => void
}

/** Thrown into waiters when the queue closes (the link went down). */
export class QueueClosedError extends Error {
  constructor(reason: string) {
    super(reason)
    this.name = 'QueueClosedError'
  }
}

export class SendQueue {
  readonly #items: Uint8Array[] = []
  #head = 0
  #bytes = 0
  #closed: Error | undefined
  #putWaiters: Waiter[] = []
  #takeWaiter: Waiter | undefined
  readonly maxFrames: number
  readonly maxBytes: number

  constructor(maxFrames: number, maxBytes: number) {
    this.maxFrames = maxFrames
    this.maxBytes = maxBytes
  }

  get length(): number {
    return this.#items.length - this.#head
  }
  get bytes(): number {
    return this.#bytes
  }

  #full(extra: number): boolean {
    // An empty queue always accepts one frame, however large (its size is checked elsewhere).
    return this.length > 0 && (this.length >= this.maxFrames || this.#bytes + extra > this.maxBytes)
  }

  /** Appends `frame`, waiting for room; rejects with AbortError or QueueClosedError. */
  async put(frame: Uint8Array, signal?: AbortSignal): Promise<void> {
    while (true) {
      if (this.#closed !== undefined) throw this.#closed
      if (signal?.aborted === true) throw new AbortError('send aborted while the peer queue was full', { cause: signal.reason })
      if (!this.#full(frame.length)) break
      await new Promise<void>((resolve, reject) => {
        const w: Waiter = { resolve, reject }
        const onAbort = (): void => {
          this.#putWaiters = this.#putWaiters.filter((x) => x !== w)
          reject(new AbortError('send aborted while the peer queue was full', { cause: signal?.reason }))
        }
        // Whichever way the wait ends, the listener leaves the caller's (possibly long-lived) signal.
        w.resolve = () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        }
        w.reject = (e) => {
          signal?.removeEventListener('abort', onAbort)
          reject(e)
        }
        signal?.addEventListener('abort', onAbort, { once: true })
        this.#putWaiters.push(w)
      })
    }
    this.#items.push(frame)
    this.#bytes += frame.length
    const t = this.#takeWaiter
    this.#takeWaiter = undefined
    t?.resolve()
  }

  /** Removes and returns the oldest frame, waiting for one; rejects with QueueClosedError. */
  async take(): Promise<Uint8Array> {
    while (this.length === 0) {
      if (this.#closed !== undefined) throw this.#closed
      await new Promise<void>((resolve, reject) => {
        this.#takeWaiter = { resolve, reject }
      })
    }
    const frame = this.#items[this.#head] as Uint8Array
    this.#items[this.#head] = undefined as unknown as Uint8Array
    this.#head++
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items.splice(0, this.#head)
      this.#head = 0
    }
    this.#bytes -= frame.length
    // Wake every waiting sender; each re-checks for room in order.
    const ws = this.#putWaiters
    this.#putWaiters = []
    for (const w of ws) w.resolve()
    return frame
  }

  /**
   * Removes and returns, without waiting, up to `maxFrames` frames totalling at most `maxBytes`, in
   * order (stopping at the first that does not fit). Lets a writer coalesce a burst into one write.
   */
  takeAvailable(maxFrames: number, maxBytes: number): Uint8Array[] {
    const out: Uint8Array[] = []
    let bytes = 0
    while (this.length > 0 && out.length < maxFrames) {
      const next = this.#items[this.#head] as Uint8Array
      if (bytes + next.length > maxBytes) break
      this.#items[this.#head] = undefined as unknown as Uint8Array
      this.#head++
      this.#bytes -= next.length
      bytes += next.length
      out.push(next)
    }
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items.splice(0, this.#head)
      this.#head = 0
    }
    if (out.length > 0) {
      const ws = this.#putWaiters
      this.#putWaiters = []
      for (const w of ws) w.resolve()
    }
    return out
  }

  /** Drops queued frames and fails every waiter with `reason`. */
  close(reason: string): void {
    if (this.#closed !== undefined) return
    this.#closed = new QueueClosedError(reason)
    this.#items.length = 0
    this.#head = 0
    this.#bytes = 0
    for (const w of this.#putWaiters) w.reject(this.#closed)
    this.#putWaiters = []
    this.#takeWaiter?.reject(this.#closed)
    this.#takeWaiter = undefined
  }
}
