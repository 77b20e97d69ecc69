// Admission of unauthenticated work (SPEC.md §5.5): the bounds on what a stream may make us hold
// before it is authenticated, the channel streams waiting for their session id, and the inbound
// handshake slots. Sans-IO cores — time is a parameter, no timers, no streams: PqLinks asks them
// whom to admit and whom to drop, and does the dropping.
//
// What it guarantees (each bound an exported constant below):
// - at most MAX_PENDING_HANDSHAKES inbound handshakes at once, each costing us an X-Wing
//   encapsulation and an ML-DSA signature;
// - a holder that makes us wait (M1 after the stream opened, M3 after our M2) keeps its slot only for
//   HANDSHAKE_STALL_MS, or HANDSHAKE_STALL_UNDER_PRESSURE_MS once HANDSHAKE_PRESSURE_SLOTS are in use;
// - under pressure, one source holds at most MAX_HANDSHAKES_PER_SOURCE slots, more only by giving up
//   its own oldest waiting one — so no source ever holds more than max(HANDSHAKE_PRESSURE_SLOTS,
//   MAX_HANDSHAKES_PER_SOURCE) slots, half of them by default;
// - when every slot is held, a newcomer is not refused: the oldest handshake that is waiting on its
//   peer, from the source holding the most slots, is dropped for it. Only when no holder is waiting
//   (all are being computed) is the newcomer refused (`handshake:busy`).
// An honest initiator answers within a round trip plus a few milliseconds of signing, so it is never
// the oldest waiter for long; a staller is dropped by its timer, by the pressure budget or by the
// next newcomer, whichever comes first.
import { MAX_HANDSHAKE_MESSAGE_BYTES } from './handshake.js'
import { FRAME_HEADER_BYTES } from './libp2p-streams.js'

/** Inbound handshakes in progress at once (each costs an encapsulation and a signature). */
export const MAX_PENDING_HANDSHAKES = 64
/** Slots in use from which the node is under pressure: the per-source limit and the short stall
 *  budget apply. Half the slots (of another `maxPendingHandshakes` too), so a flood from one source
 *  leaves the other half to everyone else. */
export const HANDSHAKE_PRESSURE_SLOTS = MAX_PENDING_HANDSHAKES / 2
/** Slots one source (an IP, an IPv6 /64, a relay; IP + PeerId on loopback) may hold under pressure.
 *  Eight concurrent joins from one address is far above what honest peers behind one NAT do. */
export const MAX_HANDSHAKES_PER_SOURCE = 8
/** Time a peer may make us wait: for M1 after opening the stream, for M3 after our M2. An honest
 *  initiator sends M1 with the stream and M3 one round trip plus a signature after M2. */
export const HANDSHAKE_STALL_MS = 2_000
/** The same budget under pressure (still above a 300 ms intercontinental round trip). */
export const HANDSHAKE_STALL_UNDER_PRESSURE_MS = 500

/** Length of the session id that opens every channel stream (the transcript hash th3, SPEC §5.1). */
export const SESSION_ID_BYTES = 32
/** Time an inbound channel stream may take to deliver its session id. The dialer writes it with the
 *  stream (it travels with the protocol name), so this only ever waits on a staller. */
export const PREAMBLE_TIMEOUT_MS = 2_000
/** Inbound channel streams waiting for their session id at once; a newcomer beyond drops the oldest
 *  (an honest one waits for one packet, so the oldest is a staller). */
export const MAX_PENDING_CHANNEL_STREAMS = 128
/** Bytes an unauthenticated channel stream may make us hold: one frame header and the session id. */
export const PREAMBLE_BUFFER_BYTES = FRAME_HEADER_BYTES + SESSION_ID_BYTES
/** Bytes an unauthenticated handshake stream may make us hold: one frame header and one handshake
 *  message at its limit (16 KiB, `MAX_HANDSHAKE_MESSAGE_BYTES`). The initiator speaks only after our
 *  reply, so an honest one never has two messages in flight. */
export const HANDSHAKE_BUFFER_BYTES = FRAME_HEADER_BYTES + MAX_HANDSHAKE_MESSAGE_BYTES

/** Settings of the slots; every field optional (defaults: the constants above). */
export interface HandshakeSlotsInit {
  max?: number
  pressure?: number
  perSource?: number
  /** Budget for M1 (PqLinks' `firstMessageTimeoutMs`). */
  m1StallMs?: number
  /** Budget for M3 after M2. */
  m3StallMs?: number
  pressureStallMs?: number
}

/** What the peer owes us while a slot waits. */
export type SlotStage = 'm1' | 'm3'

/** One inbound handshake in progress. */
export interface Slot {
  readonly id: number
  readonly source: string
  readonly startedAt: number
  /** What we wait for from the peer, or undefined while we compute or write. */
  waiting: SlotStage | undefined
  waitingSince: number
}

/** Why a holder loses its slot. */
export type EvictReason = 'handshake:timeout' | 'handshake:evicted'

export type Admission =
  | { type: 'admit'; slot: Slot; evict: Array<{ slot: Slot; reason: EvictReason }> }
  | { type: 'refuse'; reason: 'handshake:busy'; evict: Array<{ slot: Slot; reason: EvictReason }> }

function positive(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`)
  return v
}

export class HandshakeSlots {
  readonly max: number
  readonly pressure: number
  readonly perSource: number
  readonly #m1StallMs: number
  readonly #m3StallMs: number
  readonly #pressureStallMs: number
  readonly #slots = new Map<number, Slot>()
  readonly #bySource = new Map<string, number>()
  #next = 0

  constructor(init: HandshakeSlotsInit = {}) {
    this.max = positive('maxPendingHandshakes', init.max ?? MAX_PENDING_HANDSHAKES)
    this.pressure = Math.min(this.max, positive('handshakePressureSlots', init.pressure ?? Math.ceil(this.max / 2)))
    this.perSource = positive('maxHandshakesPerSource', init.perSource ?? MAX_HANDSHAKES_PER_SOURCE)
    this.#m1StallMs = positive('firstMessageTimeoutMs', init.m1StallMs ?? HANDSHAKE_STALL_MS)
    this.#m3StallMs = positive('stallTimeoutMs', init.m3StallMs ?? HANDSHAKE_STALL_MS)
    this.#pressureStallMs = positive('pressureStallTimeoutMs', init.pressureStallMs ?? HANDSHAKE_STALL_UNDER_PRESSURE_MS)
  }

  /** Slots in use. */
  get size(): number {
    return this.#slots.size
  }

  get underPressure(): boolean {
    return this.#slots.size >= this.pressure
  }

  /** The wait budget in force for `stage` (with `inUse` slots held: by default, now). */
  budget(stage: SlotStage, inUse = this.#slots.size): number {
    const normal = stage === 'm1' ? this.#m1StallMs : this.#m3StallMs
    return inUse >= this.pressure ? Math.min(normal, this.#pressureStallMs) : normal
  }

  /** The slots in use (for accounting). */
  slots(): IterableIterator<Slot> {
    return this.#slots.values()
  }

  /**
   * A new inbound handshake from `source`. First drops holders past the budget that will be in force
   * with the newcomer counted; then, under pressure, a source at its limit can only replace its own
   * oldest waiter; when every slot is held, the oldest waiter of the largest source makes room.
   * Evicted slots are already released.
   */
  admit(source: string, now: number): Admission {
    const evict: Array<{ slot: Slot; reason: EvictReason }> = []
    for (const slot of this.overdue(now, this.#slots.size + 1)) {
      this.release(slot)
      evict.push({ slot, reason: 'handshake:timeout' })
    }
    if (this.underPressure && (this.#bySource.get(source) ?? 0) >= this.perSource) {
      const own = this.#oldestWaiting((s) => s.source === source)
      if (own === undefined) return { type: 'refuse', reason: 'handshake:busy', evict }
      this.release(own)
      evict.push({ slot: own, reason: 'handshake:evicted' })
    } else if (this.#slots.size >= this.max) {
      const victim = this.#victim()
      if (victim === undefined) return { type: 'refuse', reason: 'handshake:busy', evict }
      this.release(victim)
      evict.push({ slot: victim, reason: 'handshake:evicted' })
    }
    const slot: Slot = { id: ++this.#next, source, startedAt: now, waiting: undefined, waitingSince: now }
    this.#slots.set(slot.id, slot)
    this.#bySource.set(source, (this.#bySource.get(source) ?? 0) + 1)
    return { type: 'admit', slot, evict }
  }

  /** The slot now waits for the peer's `stage` message; returns the budget to arm a timer with. */
  wait(slot: Slot, stage: SlotStage, now: number): number {
    slot.waiting = stage
    slot.waitingSince = now
    return this.budget(stage)
  }

  /** The peer delivered; we compute (not evictable meanwhile). */
  work(slot: Slot): void {
    slot.waiting = undefined
  }

  /** True while `slot` holds a slot (false once released or evicted). */
  holds(slot: Slot): boolean {
    return this.#slots.get(slot.id) === slot
  }

  /** Frees `slot`; idempotent. */
  release(slot: Slot): void {
    if (!this.holds(slot)) return
    this.#slots.delete(slot.id)
    const n = (this.#bySource.get(slot.source) ?? 1) - 1
    if (n > 0) this.#bySource.set(slot.source, n)
    else this.#bySource.delete(slot.source)
  }

  /** Waiters past the budget for their stage (with `inUse` slots held: by default, now). */
  overdue(now: number, inUse = this.#slots.size): Slot[] {
    const out: Slot[] = []
    for (const s of this.#slots.values()) {
      if (s.waiting !== undefined && now - s.waitingSince > this.budget(s.waiting, inUse)) out.push(s)
    }
    return out
  }

  /** The oldest waiting slot among those matching `pick`. */
  #oldestWaiting(pick: (s: Slot) => boolean): Slot | undefined {
    let best: Slot | undefined
    for (const s of this.#slots.values()) {
      if (s.waiting === undefined || !pick(s)) continue
      if (best === undefined || s.startedAt < best.startedAt) best = s
    }
    return best
  }

  /** Whom to drop when full: the oldest waiter of the source holding the most slots (among sources
   *  with a waiter; ties go to the source whose waiter is older). */
  #victim(): Slot | undefined {
    let best: Slot | undefined
    let bestCount = 0
    for (const s of this.#slots.values()) {
      if (s.waiting === undefined) continue
      const n = this.#bySource.get(s.source) ?? 0
      if (best === undefined || n > bestCount || (n === bestCount && s.startedAt < best.startedAt)) {
        best = s
        bestCount = n
      }
    }
    return best
  }
}

/** Inbound channel streams waiting for their session id, oldest first, at most `max`
 *  (MAX_PENDING_CHANNEL_STREAMS): a newcomer beyond drops the oldest. */
export class PreambleWaiters<T> {
  readonly max: number
  readonly #waiting = new Map<number, T>()
  #next = 0

  constructor(max: number = MAX_PENDING_CHANNEL_STREAMS) {
    this.max = positive('maxPendingChannelStreams', max)
  }

  get size(): number {
    return this.#waiting.size
  }

  values(): IterableIterator<T> {
    return this.#waiting.values()
  }

  /** Adds `entry`; returns its id and the entries dropped to make room for it (oldest first). */
  add(entry: T): { id: number; dropped: T[] } {
    const dropped: T[] = []
    for (const [id, e] of this.#waiting) {
      if (this.#waiting.size < this.max) break
      this.#waiting.delete(id)
      dropped.push(e)
    }
    const id = ++this.#next
    this.#waiting.set(id, entry)
    return { id, dropped }
  }

  /** Removes entry `id`; false if it was already gone (dropped or removed). */
  remove(id: number): boolean {
    return this.#waiting.delete(id)
  }
}
