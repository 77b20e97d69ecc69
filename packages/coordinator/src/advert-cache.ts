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
  /**
   * When this node drops the advert, Unix ms: its `notAfter`, but at most `maxTrustedValidityMs` after
   * the last copy arrived (an advert may claim 24 h; a live coordinator re-publishes long before).
   */
  expiresAt: number
  /** Local rank: roles + NAT class − 25 per consecutive failed dial. Not signed, never sent. */
  score: number
  /** Consecutive failed dials since the last success. */
  failures: number
  /**
   * Whether this node has been in contact with the coordinator itself (bootstrapped or rejoined
   * through it, or had it as a neighbour), or it is our own. Unknown adverts never evict known ones.
   */
  known: boolean
}

/** What `put` did. `full` = not cached: the cache holds no advert this one may displace. */
export type PutResult = 'added' | 'updated' | 'unchanged' | 'older' | 'evicted-other' | 'full'

/** Scores a fresh advert (no dial history). */
export function baseScore(a: CoordinatorAdvert): number {
  let s = NAT_SCORE[a.natClass]
  for (const r of a.roles) s += ROLE_SCORE[r]
  return s
}

export interface AdvertCacheInit {
  /** Most adverts kept (default 256). */
  capacity?: number
  /** Most adverts of coordinators this node has not been in contact with (default half the capacity). */
  maxUnknown?: number
  /** Longest time an advert is kept after its last copy arrived (default 2 h, twice the default validity); for an unknown advert, after its first copy. */
  maxTrustedValidityMs?: number
  /** Most unknown adverts whose first address is in one address range (/24 of IPv4, /48 of IPv6; default 16). */
  maxUnknownPerRange?: number
}

/** The address range an advert's first address hint is in: its /24 (IPv4) or /48 (IPv6), else the host as written. */
export function addressRange(addrs: readonly string[]): string {
  const p = (addrs[0] ?? '').split('/')
  const host = p[2] ?? ''
  if (p[1] === 'ip4') return `ip4:${host.split('.').slice(0, 3).join('.')}`
  if (p[1] === 'ip6') return `ip6:${host.toLowerCase().split(':').slice(0, 3).join(':')}`
  return `${p[1] ?? ''}:${host.toLowerCase()}`
}

/** Peers remembered as known before their advert arrives (a node bootstraps before it hears adverts). */
const MAX_KNOWN_PEERS = 1024

/**
 * Verified adverts by PeerId. Only verified adverts may be put (decodeAdvert checks them).
 *
 * Identities are free, so the cache is built to survive a flood of valid adverts from made-up
 * coordinators (SPEC.md §8.2): adverts of coordinators this node has been in contact with ("known")
 * are never displaced by unknown ones; unknown adverts take at most `maxUnknown` places, at most
 * `maxUnknownPerRange` of them from one address range, and a new unknown advert displaces none
 * (first come, first kept) — but keeps its place only `maxTrustedValidityMs` from its first copy;
 * a known advert is kept at most that long after its last copy, whatever it claims.
 */
export class AdvertCache {
  readonly capacity: number
  readonly maxUnknown: number
  readonly maxTrustedValidityMs: number
  readonly maxUnknownPerRange: number
  readonly #byPeer = new Map<PeerId, CachedAdvert>()
  readonly #known = new Set<PeerId>()

  constructor(init: AdvertCacheInit = {}) {
    this.capacity = init.capacity ?? 256
    if (!Number.isInteger(this.capacity) || this.capacity < 1) throw new RangeError('capacity must be a positive integer')
    this.maxUnknown = init.maxUnknown ?? Math.max(1, Math.floor(this.capacity / 2))
    if (!Number.isInteger(this.maxUnknown) || this.maxUnknown < 0 || this.maxUnknown > this.capacity) throw new RangeError('maxUnknown must be an integer in 0..capacity')
    this.maxTrustedValidityMs = init.maxTrustedValidityMs ?? 2 * 60 * 60 * 1000
    if (!(this.maxTrustedValidityMs > 0)) throw new RangeError('maxTrustedValidityMs must be positive')
    this.maxUnknownPerRange = init.maxUnknownPerRange ?? 16
  }

  /**
   * Caches `signed` unless we hold a newer advert of the same peer; refreshes `receivedAt` on a copy.
   * `opts.known` marks the coordinator as known (our own advert, or one we are in contact with).
   */
  put(signed: SignedAdvert, now: number, opts: { known?: boolean } = {}): PutResult {
    this.prune(now)
    const peer = signed.advert.peer
    if (opts.known === true) this.markKnown(peer)
    const known = this.#known.has(peer)
    const expiresAt = Math.min(signed.advert.notAfter, now + this.maxTrustedValidityMs)
    const old = this.#byPeer.get(peer)
    if (old !== undefined) {
      if (signed.advert.notBefore < old.advert.notBefore) return 'older'
      old.known ||= known
      // A copy or a newer advert keeps a known coordinator's advert; an unknown one keeps its place
      // only for maxTrustedValidityMs from its first copy, however often it is re-sent (else made-up
      // coordinators would hold their places for ever).
      const keepUntil = old.known ? Math.max(old.expiresAt, expiresAt) : Math.min(old.expiresAt, signed.advert.notAfter)
      if (signed.advert.notBefore === old.advert.notBefore) {
        old.receivedAt = now
        old.expiresAt = keepUntil
        return 'unchanged'
      }
      this.#byPeer.set(peer, { ...signed, receivedAt: now, expiresAt: keepUntil, failures: old.failures, known: old.known, score: baseScore(signed.advert) - FAILURE_PENALTY * old.failures })
      return 'updated'
    }
    let result: PutResult = 'added'
    const unknown = [...this.#byPeer.values()].filter((c) => !c.known)
    if (!known) {
      if (unknown.length >= this.maxUnknown) return 'full'
      const range = addressRange(signed.advert.addrs)
      if (unknown.filter((c) => addressRange(c.advert.addrs) === range).length >= this.maxUnknownPerRange) return 'full'
    }
    if (this.#byPeer.size >= this.capacity) {
      // Full: only a known advert displaces one — the unknown advert that expires first, else the
      // known one that does. An unknown advert displaces nothing (first come, first kept).
      if (!known) return 'full'
      let victim: CachedAdvert | undefined
      for (const c of unknown) if (victim === undefined || c.expiresAt < victim.expiresAt) victim = c
      if (victim === undefined) {
        for (const c of this.#byPeer.values()) if (victim === undefined || c.expiresAt < victim.expiresAt) victim = c
        if (victim === undefined || victim.expiresAt > expiresAt) return 'full'
      }
      this.#byPeer.delete(victim.advert.peer)
      result = 'evicted-other'
    }
    this.#byPeer.set(peer, { ...signed, receivedAt: now, expiresAt, failures: 0, known, score: baseScore(signed.advert) })
    return result
  }

  /** Marks `peer` as a coordinator this node has been in contact with (whether or not its advert is cached yet). */
  markKnown(peer: PeerId): void {
    this.#known.delete(peer)
    this.#known.add(peer)
    if (this.#known.size > MAX_KNOWN_PEERS) this.#known.delete(this.#known.values().next().value as PeerId)
    const c = this.#byPeer.get(peer)
    if (c !== undefined) c.known = true
  }

  /** The advert of `peer`, if cached and still valid. */
  get(peer: PeerId, now: number): CachedAdvert | undefined {
    const c = this.#byPeer.get(peer)
    if (c === undefined) return undefined
    if (c.expiresAt <= now) {
      this.#byPeer.delete(peer)
      return undefined
    }
    return c
  }

  /** Valid adverts, best first: known before unknown, then by score, then most recently received. Optionally only those with `role`. */
  list(now: number, role?: Role): CachedAdvert[] {
    this.prune(now)
    const all = [...this.#byPeer.values()].filter((c) => role === undefined || c.advert.roles.includes(role))
    return all.sort((a, b) => Number(b.known) - Number(a.known) || b.score - a.score || b.receivedAt - a.receivedAt)
  }

  /** Records the outcome of dialling `peer`: failures lower its score, a success restores it and makes it known. */
  recordDial(peer: PeerId, ok: boolean): void {
    if (ok) this.markKnown(peer)
    const c = this.#byPeer.get(peer)
    if (c === undefined) return
    c.failures = ok ? 0 : c.failures + 1
    c.score = baseScore(c.advert) - FAILURE_PENALTY * c.failures
  }

  /** Drops expired adverts; returns how many. */
  prune(now: number): number {
    let n = 0
    for (const [p, c] of this.#byPeer) {
      if (c.expiresAt <= now) {
        this.#byPeer.delete(p)
        n++
      }
    }
    return n
  }

  get size(): number {
    return this.#byPeer.size
  }

  /** How many cached adverts are of coordinators this node has been in contact with. */
  get knownCount(): number {
    let n = 0
    for (const c of this.#byPeer.values()) if (c.known) n++
    return n
  }
}
