// The adverts a node has verified, bounded and expiring, ranked by a local score that never travels
// (SPEC.md §8.2): roles and NAT class as ADR-004 of the original design weighs them, minus what this
// node saw go wrong when it dialled the coordinator.
import type { PeerId } from '@saorsa-gossip/types'
import type { CoordinatorAdvert, NatClass, Role, SignedAdvert } from './advert.js'

/** Score of a role (ADR-004: relay is the scarcest service). */
const ROLE_SCORE: Readonly<Record<Role, number>> = { coordinator: 0, reflector: 10, relay: 20, rendezvous: 10 }
/** Score of a NAT class: endpoint-independent mapping is the easiest to reach. */
const NAT_SCORE: Readonly<Record<NatClass, number>> = { eim: 30, edm: 20, unknown: 10, symmetric: 0 }
/** Score lost per failed dial (recovers on the next success). */
const FAILURE_PENALTY = 25

/** A cached advert and what this node thinks of it. */
export interface CachedAdvert extends SignedAdvert {
  /** When this node last received (a copy of) the advert, Unix ms. */
  receivedAt: number
  /** Local rank: roles + NAT class − 25 per consecutive failed dial. Not signed, never sent. */
  score: number
  /** Consecutive failed dials since the last success. */
  failures: number
}

/** What `put` did. */
export type PutResult = 'added' | 'updated' | 'unchanged' | 'older' | 'evicted-other'

/** Scores a fresh advert (no dial history). */
export function baseScore(a: CoordinatorAdvert): number {
  let s = NAT_SCORE[a.natClass]
  for (const r of a.roles) s += ROLE_SCORE[r]
  return s
}

export interface AdvertCacheInit {
  /** Most adverts kept (default 256); beyond it the one that expires first is dropped. */
  capacity?: number
}

/** Verified adverts by PeerId. Only verified adverts may be put (decodeAdvert checks them). */
export class AdvertCache {
  readonly capacity: number
  readonly #byPeer = new Map<PeerId, CachedAdvert>()

  constructor(init: AdvertCacheInit = {}) {
    this.capacity = init.capacity ?? 256
    if (!Number.isInteger(this.capacity) || this.capacity < 1) throw new RangeError('capacity must be a positive integer')
  }

  /** Caches `signed` unless we hold a newer advert of the same peer; refreshes `receivedAt` on a copy. */
  put(signed: SignedAdvert, now: number): PutResult {
    this.prune(now)
    const peer = signed.advert.peer
    const old = this.#byPeer.get(peer)
    if (old !== undefined) {
      if (signed.advert.notBefore < old.advert.notBefore) return 'older'
      if (signed.advert.notBefore === old.advert.notBefore) {
        old.receivedAt = now
        return 'unchanged'
      }
      this.#byPeer.set(peer, { ...signed, receivedAt: now, failures: old.failures, score: baseScore(signed.advert) - FAILURE_PENALTY * old.failures })
      return 'updated'
    }
    let result: PutResult = 'added'
    if (this.#byPeer.size >= this.capacity) {
      let victim: CachedAdvert | undefined
      for (const c of this.#byPeer.values()) if (victim === undefined || c.advert.notAfter < victim.advert.notAfter) victim = c
      if (victim !== undefined && victim.advert.notAfter <= signed.advert.notAfter) {
        this.#byPeer.delete(victim.advert.peer)
        result = 'evicted-other'
      } else return 'older'
    }
    this.#byPeer.set(peer, { ...signed, receivedAt: now, failures: 0, score: baseScore(signed.advert) })
    return result
  }

  /** The advert of `peer`, if cached and still valid. */
  get(peer: PeerId, now: number): CachedAdvert | undefined {
    const c = this.#byPeer.get(peer)
    if (c === undefined) return undefined
    if (c.advert.notAfter <= now) {
      this.#byPeer.delete(peer)
      return undefined
    }
    return c
  }

  /** Valid adverts, best score first (ties: most recently received first); optionally with `role`. */
  list(now: number, role?: Role): CachedAdvert[] {
    this.prune(now)
    const all = [...this.#byPeer.values()].filter((c) => role === undefined || c.advert.roles.includes(role))
    return all.sort((a, b) => b.score - a.score || b.receivedAt - a.receivedAt)
  }

  /** Records the outcome of dialling `peer`: failures lower its score, a success restores it. */
  recordDial(peer: PeerId, ok: boolean): void {
    const c = this.#byPeer.get(peer)
    if (c === undefined) return
    c.failures = ok ? 0 : c.failures + 1
    c.score = baseScore(c.advert) - FAILURE_PENALTY * c.failures
  }

  /** Drops expired adverts; returns how many. */
  prune(now: number): number {
    let n = 0
    for (const [p, c] of this.#byPeer) {
      if (c.advert.notAfter <= now) {
        this.#byPeer.delete(p)
        n++
      }
    }
    return n
  }

  get size(): number {
    return this.#byPeer.size
  }
}
