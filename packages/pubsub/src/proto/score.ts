// Peer scores: a number per peer that misbehaviour lowers and time heals. Sans-IO: `now` comes in.
//
// A score starts at 0. Each penalty subtracts a fixed amount (ScoreConfig); each first delivery of a
// valid message adds a little, capped at `maxPositive` so good behaviour cannot bank an unlimited
// allowance. Scores decay exponentially toward 0 with `halfLifeMs`. A peer whose score falls below
// `graylistThreshold` is graylisted: its links are pruned, it is disconnected and what it sends is
// ignored until decay lifts it back above the threshold.
import type { PeerId } from '@saorsa-gossip/types'

/** What costs (or earns) score. */
export type ScoreEvent =
  /** A message failed validation (signature, origin key, message ID, freshness, malformed frame). */
  | 'invalid'
  /** The same peer sent the same message again. */
  | 'duplicate'
  /** The peer asked for more messages (IWANT/GRAFT ids, syncs) than its budget allows. */
  | 'iwant-abuse'
  /** The peer sent more messages (or bytes) per second than its budget allows. */
  | 'rate'
  /** The same, by a peer still on its starting budget (new, or penalised within the trust ramp). */
  | 'newcomer-rate'
  /** The peer relayed a message older than the freshness window (a replay: no honest relay forwards one). */
  | 'stale'
  /** The peer was the first to deliver a valid message (positive). */
  | 'first-delivery'

export interface ScoreConfig {
  /** Change of score per event (negative = penalty). */
  readonly weights: Readonly<Record<ScoreEvent, number>>
  /** Positive scores stop growing here. */
  readonly maxPositive: number
  /** Below this a peer is graylisted. */
  readonly graylistThreshold: number
  /** Scores halve toward 0 every `halfLifeMs`. */
  readonly halfLifeMs: number
  /** At most this many peers are tracked; beyond it the entry closest to 0 is forgotten. */
  readonly maxPeers: number
}

export const DEFAULT_SCORE_CONFIG: ScoreConfig = {
  weights: { invalid: -100, duplicate: -10, 'iwant-abuse': -20, rate: -10, 'newcomer-rate': -40, stale: -10, 'first-delivery': 1 },
  maxPositive: 100,
  graylistThreshold: -400,
  halfLifeMs: 5 * 60_000,
  maxPeers: 10_000
}

interface Entry {
  value: number
  at: number
}

export class PeerScores {
  readonly config: ScoreConfig
  readonly #entries = new Map<PeerId, Entry>()

  constructor(config: Partial<ScoreConfig> = {}) {
    this.config = { ...DEFAULT_SCORE_CONFIG, ...config, weights: { ...DEFAULT_SCORE_CONFIG.weights, ...config.weights } }
  }

  /** The decayed score of `peer` at `now` (0 for a peer never scored). */
  get(peer: PeerId, now: number): number {
    const e = this.#entries.get(peer)
    if (e === undefined) return 0
    this.#decay(e, now)
    return e.value
  }

  /** Whether `peer` is graylisted at `now`. */
  isGraylisted(peer: PeerId, now: number): boolean {
    return this.get(peer, now) < this.config.graylistThreshold
  }

  /**
   * Applies `event` to `peer`. Returns true when this event took the peer from at-or-above the
   * graylist threshold to below it (the caller prunes and disconnects it once, then).
   */
  record(peer: PeerId, event: ScoreEvent, now: number): boolean {
    let e = this.#entries.get(peer)
    if (e === undefined) {
      if (this.#entries.size >= this.config.maxPeers) this.#evict(now)
      e = { value: 0, at: now }
      this.#entries.set(peer, e)
    }
    this.#decay(e, now)
    const before = e.value
    e.value = Math.min(this.config.maxPositive, e.value + this.config.weights[event])
    return before >= this.config.graylistThreshold && e.value < this.config.graylistThreshold
  }

  /** Every tracked peer with its decayed score. */
  snapshot(now: number): Map<PeerId, number> {
    const out = new Map<PeerId, number>()
    for (const [peer, e] of this.#entries) {
      this.#decay(e, now)
      out.set(peer, Math.round(e.value * 100) / 100)
    }
    return out
  }

  /** Forgets entries that have decayed to within 0.5 of zero. */
  prune(now: number): void {
    for (const [peer, e] of this.#entries) {
      this.#decay(e, now)
      if (Math.abs(e.value) < 0.5) this.#entries.delete(peer)
    }
  }

  #decay(e: Entry, now: number): void {
    if (now > e.at) {
      e.value *= 0.5 ** ((now - e.at) / this.config.halfLifeMs)
      e.at = now
    }
  }

  #evict(now: number): void {
    let victim: PeerId | undefined
    let best = Infinity
    for (const [peer, e] of this.#entries) {
      this.#decay(e, now)
      if (Math.abs(e.value) < best) {
        best = Math.abs(e.value)
        victim = peer
      }
    }
    if (victim !== undefined) this.#entries.delete(victim)
  }
}

/** A token bucket: `rate` tokens per second, at most `burst` saved up. Sans-IO. */
export class TokenBucket {
  #tokens: number
  #at: number
  #rate: number
  #burst: number
  constructor(rate: number, burst: number, now: number) {
    this.#rate = rate
    this.#burst = burst
    this.#tokens = burst
    this.#at = now
  }

  get rate(): number {
    return this.#rate
  }

  get burst(): number {
    return this.#burst
  }

  /**
   * Changes the rate and burst. The time since the last refill is then credited at the new rate (the
   * caller raises limits gradually, so this over-credits by little); saved tokens are capped at the new burst.
   */
  setLimits(rate: number, burst: number): void {
    this.#rate = rate
    this.#burst = burst
    this.#tokens = Math.min(this.#tokens, burst)
  }

  /** Takes `n` tokens if available; false (and nothing taken) otherwise. */
  take(n: number, now: number): boolean {
    this.#refill(now)
    if (this.#tokens < n) return false
    this.#tokens -= n
    return true
  }

  #refill(now: number): void {
    if (now > this.#at) {
      this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#at) / 1000) * this.#rate)
      this.#at = now
    }
  }
}
