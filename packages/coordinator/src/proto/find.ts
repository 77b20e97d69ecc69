// FIND_COORDINATOR as a sans-IO state machine (SPEC.md §8.3): a node that knows no coordinator asks
// up to `fanout` neighbours; each answers with the coordinator adverts it holds and, while the TTL
// lasts, asks `fanout` of its own neighbours in turn (3 hops reach at most 3 + 9 + 27 = 39 peers).
// Replies travel back hop by hop along the path the query came (each hop remembers where a query came
// from for `routeTtlMs`), so nobody needs to dial the asker. Every table is bounded; queries from one
// neighbour are rate-limited and the surplus dropped and counted.
import { toHex } from '@saorsa-gossip/types'
import type { PeerId, Rng } from '@saorsa-gossip/types'
import { MAX_FIND_TTL, MAX_REPLY_ADVERTS, QUERY_ID_BYTES } from '../codec.js'
import type { CoordinatorMessage } from '../codec.js'

export interface FindConfig {
  /** Hops a query travels (default 3, at most 3). */
  ttl: number
  /** Neighbours asked at each hop (default 3). */
  fanout: number
  /** How long a hop remembers a query (dedup and reply route), ms (default 30 s). */
  routeTtlMs: number
  /** Queries remembered at once (default 4,096); beyond it new queries are dropped. */
  maxRoutes: number
  /** Queries accepted from one neighbour per minute (default 20, ADR-007's forward limit). */
  perPeerPerMinute: number
  /** Shortest interval between two queries of our own, ms (default 5 s). */
  minQueryIntervalMs: number
  /** Replies relayed back per query (default 9). */
  maxRepliesPerRoute: number
}

export const DEFAULT_FIND_CONFIG: Readonly<FindConfig> = {
  ttl: 3,
  fanout: 3,
  routeTtlMs: 30_000,
  maxRoutes: 4096,
  perPeerPerMinute: 20,
  minQueryIntervalMs: 5_000,
  maxRepliesPerRoute: 9
}

export type FindCommand =
  | { type: 'send'; to: PeerId; msg: CoordinatorMessage }
  /** Adverts (unverified bytes) arrived for a query of ours. */
  | { type: 'found'; from: PeerId; adverts: Uint8Array[] }
  /** Something was dropped: `reason` is `rate`, `duplicate`, `table-full`, `unsolicited`, `reply-limit`. */
  | { type: 'dropped'; from: PeerId; reason: string }

interface Route {
  /** Undefined for our own queries. */
  from: PeerId | undefined
  expires: number
  replies: number
}

interface Bucket {
  tokens: number
  at: number
}

export class FindCoordinator {
  readonly config: FindConfig
  readonly #rng: Rng
  readonly #routes = new Map<string, Route>()
  readonly #buckets = new Map<PeerId, Bucket>()
  #lastOwn = Number.NEGATIVE_INFINITY

  constructor(config: Partial<FindConfig>, rng: Rng) {
    this.config = { ...DEFAULT_FIND_CONFIG, ...config }
    if (this.config.ttl < 1 || this.config.ttl > MAX_FIND_TTL) throw new RangeError(`ttl must be 1..${MAX_FIND_TTL}`)
    this.#rng = rng
  }

  /** Starts a query of our own to `neighbours`; undefined when rate-limited or nobody to ask. */
  query(now: number, neighbours: readonly PeerId[]): FindCommand[] | undefined {
    this.#expire(now)
    if (neighbours.length === 0 || now - this.#lastOwn < this.config.minQueryIntervalMs) return undefined
    if (this.#routes.size >= this.config.maxRoutes) return undefined
    this.#lastOwn = now
    const queryId = this.#rng.bytes(QUERY_ID_BYTES)
    this.#routes.set(toHex(queryId), { from: undefined, expires: now + this.config.routeTtlMs, replies: 0 })
    return this.#pick(neighbours, undefined).map((to) => ({ type: 'send', to, msg: { type: 'find', queryId, ttl: this.config.ttl } }))
  }

  /** A query from neighbour `from`; `local` = the adverts we can answer with (already verified). */
  onFind(from: PeerId, queryId: Uint8Array, ttl: number, now: number, neighbours: readonly PeerId[], local: readonly Uint8Array[]): FindCommand[] {
    this.#expire(now)
    if (!this.#take(from, now)) return [{ type: 'dropped', from, reason: 'rate' }]
    const key = toHex(queryId)
    if (this.#routes.has(key)) return [{ type: 'dropped', from, reason: 'duplicate' }]
    if (this.#routes.size >= this.config.maxRoutes) return [{ type: 'dropped', from, reason: 'table-full' }]
    this.#routes.set(key, { from, expires: now + this.config.routeTtlMs, replies: 0 })
    const out: FindCommand[] = []
    if (local.length > 0) out.push({ type: 'send', to: from, msg: { type: 'found', queryId, adverts: local.slice(0, MAX_REPLY_ADVERTS) } })
    if (ttl > 1) {
      for (const to of this.#pick(neighbours, from)) out.push({ type: 'send', to, msg: { type: 'find', queryId, ttl: ttl - 1 } })
    }
    return out
  }

  /** A reply from `from`: ours → `found`; someone else's → relayed one hop back. */
  onFound(from: PeerId, queryId: Uint8Array, adverts: Uint8Array[], now: number): FindCommand[] {
    this.#expire(now)
    const route = this.#routes.get(toHex(queryId))
    if (route === undefined) return [{ type: 'dropped', from, reason: 'unsolicited' }]
    if (++route.replies > this.config.maxRepliesPerRoute) return [{ type: 'dropped', from, reason: 'reply-limit' }]
    if (route.from === undefined) return [{ type: 'found', from, adverts }]
    if (route.from === from) return [{ type: 'dropped', from, reason: 'unsolicited' }]
    return [{ type: 'send', to: route.from, msg: { type: 'found', queryId, adverts } }]
  }

  /** Queries remembered (own and relayed). */
  get routes(): number {
    return this.#routes.size
  }

  #pick(neighbours: readonly PeerId[], except: PeerId | undefined): PeerId[] {
    return this.#rng.shuffle(neighbours.filter((p) => p !== except)).slice(0, this.config.fanout)
  }

  #take(peer: PeerId, now: number): boolean {
    const rate = this.config.perPeerPerMinute / 60_000
    const cap = this.config.perPeerPerMinute
    let b = this.#buckets.get(peer)
    if (b === undefined) {
      if (this.#buckets.size >= this.config.maxRoutes) this.#buckets.delete(this.#buckets.keys().next().value as PeerId)
      b = { tokens: cap, at: now }
      this.#buckets.set(peer, b)
    }
    b.tokens = Math.min(cap, b.tokens + (now - b.at) * rate)
    b.at = now
    if (b.tokens < 1) return false
    b.tokens -= 1
    return true
  }

  #expire(now: number): void {
    for (const [k, r] of this.#routes) if (r.expires <= now) this.#routes.delete(k)
    for (const [p, b] of this.#buckets) if (now - b.at > 60_000) this.#buckets.delete(p)
  }
}
