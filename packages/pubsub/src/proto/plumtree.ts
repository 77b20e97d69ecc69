// Plumtree (Leitão, Pereira, Rodrigues: "Epidemic Broadcast Trees", SRDS 2007) as a sans-IO core,
// one broadcast tree per topic over the neighbours membership gives us, plus anti-entropy over IBLT
// sketches and peer scoring (SPEC.md §7).
//
// Per topic a node splits its neighbours into `eager` (tree links: full messages) and `lazy` (the
// rest: batched IHAVE digests). A first copy of a message is validated once, delivered, pushed to the
// eager peers and announced to the lazy ones; a duplicate turns its sender's link lazy (PRUNE, both
// sides). A node that hears of a message only by IHAVE waits `graftTimeoutMs` for the tree to bring
// it, then GRAFTs the announcer (its link becomes eager and it answers with the message), trying the
// next announcer every `graftRetryMs`. A lazy link that keeps announcing messages `optimizationHops`
// hops sooner than the tree delivers them replaces the tree link (GRAFT it, PRUNE the old parent).
//
// Every node relays every topic it hears of (delivery to local subscribers is the driver's business),
// so one membership overlay carries all topics; per-topic state is bounded by `maxTopics`.
//
// Departures from the paper, each for a failure traced in the simulator with several broadcasts in
// flight (figures in the package README, "Concurrent broadcasts"): guarded pruning (`pruneGuardMs`),
// PRUNE/GRAFT crossing rules (`inFlightMs`), IHAVEs flushed as pushes when a link turns eager, GRAFTs
// that ask for everything the peer announced, a swap cool-down, repair copies ('sync', 'relay') that
// never change links, and an immediate regraft when the last tree link is pruned.
import { fromHex, toHex } from '@saorsa-gossip/types'
import type { MessageId, PeerId, Rng, TopicId } from '@saorsa-gossip/types'
import { Iblt, IBLT_SIZES } from './iblt.js'
import { PeerScores, TokenBucket } from './score.js'
import type { ScoreConfig, ScoreEvent } from './score.js'
import type { GossipMode, IHaveEntry, PubSubCommand, PubSubEvent, PubSubInput, PubSubMessage, PubSubTimer, Validate } from './types.js'

export interface PlumtreeConfig {
  /** IHAVE digests wait this long to be batched (ms). */
  ihaveFlushMs: number
  /** Most ids in one IHAVE, IWANT or GRAFT. */
  maxIdsPerMessage: number
  /** How long to wait for the tree after the first IHAVE of an unknown message before GRAFTing (ms). */
  graftTimeoutMs: number
  /** Then how long to wait for each further announcer (ms). */
  graftRetryMs: number
  /** A lazy link announcing messages at least this many hops sooner than the tree replaces the tree link… */
  optimizationHops: number
  /** …once it has done so this many times in a row. */
  optimizationCount: number
  /** Message cache (answers GRAFT/IWANT, feeds anti-entropy): most messages… */
  cacheMaxMessages: number
  /** …and oldest message (ms). */
  cacheMaxAgeMs: number
  /** Ids already seen (replay/duplicate filter): most ids… */
  seenMaxIds: number
  /** …and how long an id is remembered (ms); must exceed the freshness window the validator enforces. */
  seenTtlMs: number
  /** Unknown messages being waited for (IHAVE heard, message not yet received). */
  maxMissing: number
  /** Announcers remembered per missing message. */
  maxAnnouncers: number
  /** Missing messages one peer's announcements may account for. */
  maxMissingPerPeer: number
  /** A duplicate does not prune a link that gave us a first copy less than this long ago (ms). */
  pruneGuardMs: number
  /** How long a PRUNE or GRAFT we sent may still be crossing the peer's messages (ms). */
  inFlightMs: number
  /**
   * After this node swaps a link, or a neighbour grafts or prunes one with it, it makes no swap for
   * this long (ms): two neighbours swapping at once can both cut the links that joined them to the rest.
   */
  optimizationCooldownMs: number
  /** Messages that travelled more hops are dropped. */
  maxHops: number
  /** Topics with state (beyond it, the least recently active topic is forgotten). */
  maxTopics: number
  /** Anti-entropy period (ms): each topic syncs with one random neighbour. */
  antiEntropyIntervalMs: number
  /** Anti-entropy covers messages received in the last `syncWindowMs` (ms; below cacheMaxAgeMs)… */
  syncWindowMs: number
  /** …except the last `syncSettleMs` (ms), which the tree may still be delivering. */
  syncSettleMs: number
  /** Per-peer budget of inbound messages of a peer in good standing: per second, and burst. */
  rateLimit: { perSecond: number; burst: number }
  /** Per-peer budget of inbound bytes (encoded frames) of a peer in good standing: per second, and burst. */
  byteLimit: { perSecond: number; burst: number }
  /**
   * The budgets a peer starts with: new to us, or just penalised. Identities cost nothing to make, so
   * a flooder that comes back under a fresh key gets only this (SPEC.md §7.5).
   */
  newPeerRateLimit: { perSecond: number; burst: number }
  newPeerByteLimit: { perSecond: number; burst: number }
  /** Time without a penalty (ms) over which a peer's budgets grow linearly from the new-peer ones to the full ones. */
  trustRampMs: number
  /** Per-peer budget of message ids it may ask us for (GRAFT/IWANT) and syncs: per second, and burst. */
  requestLimit: { perSecond: number; burst: number }
  score: Partial<ScoreConfig>
}

export const DEFAULT_PLUMTREE_CONFIG: PlumtreeConfig = {
  ihaveFlushMs: 50,
  maxIdsPerMessage: 1024,
  graftTimeoutMs: 1000,
  graftRetryMs: 500,
  optimizationHops: 2,
  optimizationCount: 2,
  cacheMaxMessages: 4096,
  cacheMaxAgeMs: 5 * 60_000,
  seenMaxIds: 262_144,
  seenTtlMs: 20 * 60_000,
  maxMissing: 8192,
  maxAnnouncers: 8,
  maxMissingPerPeer: 1024,
  pruneGuardMs: 1000,
  inFlightMs: 2000,
  optimizationCooldownMs: 5_000,
  maxHops: 255,
  maxTopics: 1024,
  antiEntropyIntervalMs: 30_000,
  syncWindowMs: 4 * 60_000,
  syncSettleMs: 5_000,
  rateLimit: { perSecond: 1000, burst: 4000 },
  // 8 MiB/s sustained is 8 one-MiB messages a second from one neighbour; the burst holds 32 of them.
  byteLimit: { perSecond: 8 * 1024 * 1024, burst: 32 * 1024 * 1024 },
  // A newcomer: 100 messages/s (twice the bench's whole-network rate), a burst of 200, and 2 MiB
  // (room for one largest message) then 512 KiB/s. What a neighbour relays beyond it is dropped
  // without blame and comes back through IHAVE / anti-entropy.
  newPeerRateLimit: { perSecond: 100, burst: 200 },
  newPeerByteLimit: { perSecond: 512 * 1024, burst: 2 * 1024 * 1024 },
  trustRampMs: 60_000,
  requestLimit: { perSecond: 4096, burst: 16_384 },
  score: {}
}

/** Most peers with per-peer state (rate budgets, link timestamps). */
const MAX_PEER_STATES = 4096
/** Most ids a peer may have outstanding from our requests (a 3,840-cell SYNC asks for at most that many). */
const SOLICITED_MAX = 4096
/** How long after our SYNC its answer is still expected (ms). */
const SOLICITED_WINDOW_MS = 10_000

interface TopicState {
  readonly eager: Set<PeerId>
  readonly lazy: Set<PeerId>
  /** Per-neighbour link history on this topic (freed with the topic, or when the neighbour goes). */
  readonly links: Map<PeerId, LinkState>
  /** When this node last swapped a tree link for a shortcut, or a neighbour changed a link with it. */
  changedAt: number
  /** Last activity (for eviction). */
  touched: number
}

/** What a topic remembers of one neighbour's link (times in ms; −Infinity = never). */
interface LinkState {
  /** It last gave us the first copy of a message. */
  lastFirst: number
  /** We last made its link eager (a fresh tree link is spared from pruning a while). */
  eagerSince: number
  /** We last sent it a PRUNE / a GRAFT (its messages may still be crossing ours). */
  prunedAt: number
  graftedAt: number
  /** Consecutive IHAVEs showing a shortcut. */
  shortcut: number
  /** When we last sent it a SYNC, and of how many cells (a SYNC_RETRY must answer it). */
  syncAt: number
  syncCells: number
}

interface CacheEntry<D> {
  readonly topic: TopicId
  readonly data: D
  readonly hops: number
  /** The neighbour that gave us the first copy (undefined for our own messages). */
  readonly from: PeerId | undefined
  readonly at: number
  /** Peers that sent us this id (to spot a peer repeating itself), capped. */
  readonly senders: PeerId[]
  /** Peers known to hold it (they sent or announced it), capped: never pushed to them. */
  readonly holders: PeerId[]
}

/** A message heard of by IHAVE and not received yet, keyed by topic ‖ id (an IHAVE naming the wrong
 *  topic cannot shadow the right one). */
interface Missing {
  readonly topic: TopicId
  readonly id: MessageId
  /** Announcers not asked yet, in the order they announced. */
  announcers: Array<{ peer: PeerId; hops: number }>
  /** Announcers already asked (never asked twice). */
  readonly asked: PeerId[]
  /** A graft timer is pending. */
  armed: boolean
}

interface PeerState {
  readonly inbound: TokenBucket
  readonly inboundBytes: TokenBucket
  /** Since when the peer has had no penalty (its budgets grow with this). */
  goodSince: number
  /** Ids we asked this peer for (IWANT, GRAFT; oldest forgotten beyond SOLICITED_MAX): their copies spend these, not the inbound budget. */
  readonly requested: Set<MessageId>
  /** Copies the answer to our last SYNC to this peer may carry (its cells), and until when. */
  syncAllowance: number
  syncAllowanceUntil: number
  readonly requests: TokenBucket
  /** Keys of the missing entries this peer announced (bounded by maxMissingPerPeer). */
  readonly announced: Set<string>
}


export class Plumtree<D> {
  readonly me: PeerId
  readonly config: PlumtreeConfig
  readonly scores: PeerScores
  readonly #rng: Rng
  readonly #validate: Validate<D>
  readonly #neighbours = new Set<PeerId>()
  readonly #peers = new Map<PeerId, PeerState>()
  readonly #topics = new Map<TopicId, TopicState>()
  readonly #cache = new Map<MessageId, CacheEntry<D>>()
  readonly #seen = new Map<MessageId, number>()
  readonly #missing = new Map<string, Missing>()
  /** IHAVE entries waiting for the flush timer, per peer and topic. */
  readonly #lazyQueue = new Map<PeerId, Map<TopicId, IHaveEntry[]>>()
  #flushArmed = false
  #started = false
  #out: Array<PubSubCommand<D>> = []
  #now = 0

  constructor(me: PeerId, config: Partial<PlumtreeConfig>, rng: Rng, validate: Validate<D>) {
    this.me = me
    this.config = { ...DEFAULT_PLUMTREE_CONFIG, ...config }
    this.scores = new PeerScores(this.config.score)
    this.#rng = rng
    this.#validate = validate
  }

  /** Current neighbours (from membership). */
  neighbours(): PeerId[] {
    return [...this.#neighbours]
  }

  /** Tree links and lazy links of `topic` (empty when the topic has no state). */
  links(topic: TopicId): { eager: PeerId[]; lazy: PeerId[] } {
    const t = this.#topics.get(topic)
    return { eager: t === undefined ? [] : [...t.eager], lazy: t === undefined ? [] : [...t.lazy] }
  }

  /** Topics with state. */
  topics(): TopicId[] {
    return [...this.#topics.keys()]
  }

  /** Whether the id has been seen (delivered or published here), i.e. a copy now would be a duplicate. */
  hasSeen(id: MessageId): boolean {
    return this.#seen.has(id)
  }

  /** Number of cached messages. */
  cacheSize(): number {
    return this.#cache.size
  }

  handle(input: PubSubInput<D>, now: number): Array<PubSubCommand<D>> {
    this.#now = now
    this.#out = []
    switch (input.type) {
      case 'start':
        if (!this.#started) {
          this.#started = true
          // A random first offset spreads the anti-entropy rounds of different nodes.
          this.#schedule(Math.floor(this.#rng.next() * this.config.antiEntropyIntervalMs), { type: 'anti-entropy' })
        }
        break
      case 'neighbor-up':
        this.#neighbourUp(input.peer)
        break
      case 'neighbor-down':
        this.#neighbourDown(input.peer)
        break
      case 'publish':
        this.#publish(input.topic, input.id, input.data)
        break
      case 'invalid':
        this.#penalize(input.from, 'invalid', input.reason)
        break
      case 'message':
        this.#message(input.from, input.msg, input.bytes ?? 0)
        break
      case 'timer':
        this.#timer(input.timer)
        break
    }
    const out = this.#out
    this.#out = []
    return out
  }

  // ---- neighbours and topics -------------------------------------------------------------------

  #neighbourUp(peer: PeerId): void {
    if (peer === this.me || this.#neighbours.has(peer)) return
    this.#neighbours.add(peer)
    if (this.scores.isGraylisted(peer, this.#now)) return
    // A new neighbour starts eager everywhere; duplicates prune it back to where the tree needs it.
    for (const t of this.#topics.values()) t.eager.add(peer)
  }

  #neighbourDown(peer: PeerId): void {
    if (!this.#neighbours.delete(peer)) return
    for (const t of this.#topics.values()) {
      t.eager.delete(peer)
      t.lazy.delete(peer)
      t.links.delete(peer)
    }
    this.#lazyQueue.delete(peer)
  }

  #topic(topic: TopicId): TopicState {
    let t = this.#topics.get(topic)
    if (t === undefined) {
      if (this.#topics.size >= this.config.maxTopics) this.#evictTopic()
      t = { eager: new Set(), lazy: new Set(), links: new Map(), changedAt: -Infinity, touched: this.#now }
      for (const p of this.#neighbours) if (!this.scores.isGraylisted(p, this.#now)) t.eager.add(p)
      this.#topics.set(topic, t)
    }
    t.touched = this.#now
    return t
  }

  #evictTopic(): void {
    let victim: TopicId | undefined
    let oldest = Infinity
    for (const [id, t] of this.#topics) {
      if (t.touched < oldest) {
        oldest = t.touched
        victim = id
      }
    }
    if (victim !== undefined) this.#topics.delete(victim)
  }

  #peer(peer: PeerId): PeerState {
    let p = this.#peers.get(peer)
    if (p === undefined) {
      // Peers are tracked across neighbour churn (so leaving and rejoining does not refill a budget),
      // and peers outside our neighbours too, but boundedly: the oldest non-neighbour goes first. Its
      // score (PeerScores, bounded separately) is kept.
      if (this.#peers.size >= MAX_PEER_STATES) {
        for (const id of this.#peers.keys()) {
          if (!this.#neighbours.has(id)) {
            for (const key of this.#peers.get(id)?.announced ?? []) this.#unannounce(key, id)
            this.#peers.delete(id)
            break
          }
        }
      }
      const { newPeerRateLimit: r, newPeerByteLimit: b, requestLimit: q } = this.config
      p = {
        inbound: new TokenBucket(r.perSecond, r.burst, this.#now),
        inboundBytes: new TokenBucket(b.perSecond, b.burst, this.#now),
        goodSince: this.#now,
        requested: new Set(),
        syncAllowance: 0,
        syncAllowanceUntil: 0,
        requests: new TokenBucket(q.perSecond, q.burst, this.#now),
        announced: new Set()
      }
      this.#peers.set(peer, p)
    }
    return p
  }

  // ---- publishing and receiving ----------------------------------------------------------------

  #publish(topic: TopicId, id: MessageId, data: D): void {
    if (this.#seen.has(id)) return
    this.#remember(id)
    this.#store(id, { topic, data, hops: 0, from: undefined, at: this.#now, senders: [], holders: [] })
    this.#forward(this.#topic(topic), topic, id, 0, data, undefined)
  }

  /** Sets `peer`'s inbound budgets for its standing: new-peer budgets, growing to the full ones over trustRampMs without a penalty. */
  #grow(peer: PeerState): void {
    const c = this.config
    const f = Math.min(1, Math.max(0, (this.#now - peer.goodSince) / c.trustRampMs))
    const mix = (lo: number, hi: number): number => lo + (hi - lo) * f
    peer.inbound.setLimits(mix(c.newPeerRateLimit.perSecond, c.rateLimit.perSecond), mix(c.newPeerRateLimit.burst, c.rateLimit.burst))
    peer.inboundBytes.setLimits(mix(c.newPeerByteLimit.perSecond, c.byteLimit.perSecond), mix(c.newPeerByteLimit.burst, c.byteLimit.burst))
  }

  /** Whether a `graft` / `sync` copy of `id` answers a request of ours to `peer`; spends it if so. */
  #solicited(peer: PeerState, id: MessageId, mode: 'graft' | 'sync'): boolean {
    if (peer.requested.delete(id)) return true
    // A SYNC's answer carries ids we could not name in advance: at most its cells' worth, for a while.
    if (mode === 'sync' && peer.syncAllowance > 0 && peer.syncAllowanceUntil > this.#now) {
      peer.syncAllowance--
      return true
    }
    return false
  }

  /**
   * A message over `from`'s budget is dropped. A neighbour relays everything the overlay carries —
   * a flood it received included — so it is neither blamed nor set back (setting its budget back
   * would drop the honest traffic it relays next, measured: honest P50 691 ms under a flood); what is
   * dropped comes back through IHAVE / anti-entropy. Anyone else pushing over budget is blamed: −40
   * on its starting budget (a fresh identity), −10 past it.
   */
  #overBudget(from: PeerId, peer: PeerState, reason: 'rate-limit' | 'byte-limit'): void {
    if (this.#neighbours.has(from)) {
      this.#emit({ type: 'rejected', peer: from, reason })
      return
    }
    this.#penalize(from, this.#trusted(peer) ? 'rate' : 'newcomer-rate', reason)
  }

  /** Whether `peer` has earned its full budget (trustRampMs without a penalty). */
  #trusted(peer: PeerState): boolean {
    return this.#now - peer.goodSince >= this.config.trustRampMs
  }

  #message(from: PeerId, msg: PubSubMessage<D>, bytes: number): void {
    if (from === this.me) return
    if (this.scores.isGraylisted(from, this.#now)) {
      this.#emit({ type: 'rejected', peer: from, reason: 'graylisted' })
      return
    }
    const peer = this.#peer(from)
    if (peer.inbound.burst < this.config.rateLimit.burst || peer.inboundBytes.burst < this.config.byteLimit.burst) this.#grow(peer)
    if (msg.type === 'gossip' && (msg.mode === 'sync' || msg.mode === 'graft') && this.#solicited(peer, msg.id, msg.mode)) {
      // An answer to our own IWANT or GRAFT (an id we asked this peer for) or to our SYNC (within
      // what its cells can carry): it spends that request, not the peer's budget (a catch-up can be
      // thousands of messages). Bytes still count; over them it is dropped without blame
      // (anti-entropy fetches it again).
      if (bytes > 0 && !peer.inboundBytes.take(bytes, this.#now)) {
        this.#emit({ type: 'rejected', peer: from, reason: 'byte-limit' })
        return
      }
    } else {
      const over = !peer.inbound.take(1, this.#now) ? 'rate-limit' : bytes > 0 && !peer.inboundBytes.take(bytes, this.#now) ? 'byte-limit' : undefined
      if (over !== undefined) {
        this.#overBudget(from, peer, over)
        return
      }
    }
    switch (msg.type) {
      case 'gossip':
        this.#gossip(from, msg.topic, msg.id, msg.hops, msg.mode, msg.data)
        break
      case 'ihave':
        this.#ihave(from, msg.topic, msg.entries)
        break
      case 'iwant':
        if (this.#neighbours.has(from)) this.#serve(from, msg.topic, msg.ids, 'sync')
        break
      case 'graft':
        let pushed = new Set<MessageId>()
        // A GRAFT on a topic we hold no state for changes nothing (it must not create state: a
        // neighbour could otherwise evict every real topic); a first message creates it, all eager.
        const gt = this.#topics.get(msg.topic)
        if (gt !== undefined && this.#neighbours.has(from)) {
          if (!gt.eager.has(from)) gt.changedAt = this.#now
          pushed = this.#makeEager(gt, msg.topic, from)
        }
        this.#serve(from, msg.topic, msg.ids.filter((id) => !pushed.has(id)), 'graft')
        break
      case 'prune': {
        const t = this.#topics.get(msg.topic)
        if (t !== undefined && t.eager.delete(from)) {
          t.lazy.add(from)
          t.changedAt = this.#now
          // Left without any tree link (two neighbours cut their links to us at once, each seeing
          // a different broadcast come round a cycle): we would only get IHAVEs now. Rejoin the tree
          // through a random lazy link at once.
          if (t.eager.size === 0 && t.lazy.size > 1) {
            const lazy = [...t.lazy].filter((p) => p !== from && !this.scores.isGraylisted(p, this.#now))
            const peer = lazy[this.#rng.int(lazy.length)]
            if (peer !== undefined) {
              this.#sendGraft(peer, msg.topic, [])
              this.#makeEager(t, msg.topic, peer)
            }
          }
        }
        break
      }
      case 'sync':
        this.#syncRequest(from, msg.topic, msg.cells, msg.seed, msg.sketch)
        break
      case 'sync-retry':
        this.#syncRetry(from, msg.topic, msg.cells)
        break
    }
  }

  #gossip(from: PeerId, topic: TopicId, id: MessageId, hops: number, mode: GossipMode, data: D): void {
    if (hops < 1 || hops > this.config.maxHops) {
      this.#penalize(from, 'invalid', 'hops')
      return
    }
    const cached = this.#cache.get(id)
    if (this.#seen.has(id)) {
      // A duplicate. The same peer sending the same id twice is a flood; another copy along a cycle
      // of the tree is normal and turns that link lazy.
      // Only unsolicited copies count: an answer to our own GRAFT or IWANT may cross a push.
      if (cached !== undefined) {
        if (cached.senders.includes(from)) {
          if (mode === 'eager' || mode === 'relay') this.#penalize(from, 'duplicate', 'duplicate')
        } else if (cached.senders.length < 8) cached.senders.push(from)
        this.#holds(cached, from)
      }
      // Spared: a link that gave us a first copy, or turned eager, within pruneGuardMs — while several
      // broadcasts are in flight each one's duplicates fall on different links, and pruning them all
      // splits the tree. (Sparing only the link of our latest first copy measured better at 10
      // broadcasts/s but 6x worse while a tree forms under 5 broadcasts/s.)
      if (mode === 'eager' && this.#neighbours.has(from)) {
        const t = this.#topic(topic)
        const l = this.#link(t, from)
        const guard = this.config.pruneGuardMs
        if (!this.#within(l.lastFirst, guard) && !this.#within(l.eagerSince, guard)) {
          if (t.eager.has(from) || (t.lazy.has(from) && !this.#within(l.prunedAt))) this.#prune(t, topic, from)
        }
      }
      return
    }
    const verdict = this.#validate({ topic, id, data }, this.#now)
    if (verdict !== undefined) {
      // Not remembered as seen: a forged copy must not block the genuine one.
      // A stale copy we asked for may have been fresh when the peer cached it: blamed only when pushed.
      if (verdict === 'stale' && (mode === 'graft' || mode === 'sync')) this.#emit({ type: 'rejected', peer: from, reason: verdict })
      else if (verdict === 'stale') this.#penalize(from, 'stale', verdict)
      else if (typeof verdict === 'string') this.#penalize(from, 'invalid', verdict)
      else this.#emit({ type: 'rejected', peer: from, reason: verdict.ignore })
      return
    }
    this.#remember(id)
    this.#dropMissing(topic + id)
    // Credit only for a peer past its trust ramp: a fresh identity must not bank a cushion of
    // first deliveries against the penalties of the flood that follows.
    const fromState = this.#peers.get(from)
    if (fromState === undefined || this.#trusted(fromState)) this.scores.record(from, 'first-delivery', this.#now)
    this.#store(id, { topic, data, hops, from, at: this.#now, senders: [from], holders: [from] })
    this.#emit({ type: 'deliver', topic, id, from, hops, via: mode, data })
    const t = this.#topic(topic)
    if (this.#neighbours.has(from)) this.#link(t, from).lastFirst = this.#now
    // The sender pushed to us, so it holds the link eager: so do we (the paper's rule) — unless we
    // pruned it a moment ago and this push was already under way when our PRUNE left. Re-making the
    // link eager then would undo every prune of a busy topic and keep cycles (duplicates) alive.
    if (mode === 'eager' && t.lazy.has(from) && !this.#within(this.#link(t, from).prunedAt)) this.#makeEager(t, topic, from)
    // A message repaired by anti-entropy, or handed to us by a peer outside our neighbours, enters the
    // tree at a second point: it spreads on in a mode whose duplicates prune nothing ('sync', or
    // 'relay'), so neither repairs nor a peer injecting copies in several places reshape the tree.
    const onward: GossipMode = mode === 'sync' ? 'sync' : mode === 'relay' || !this.#neighbours.has(from) ? 'relay' : 'eager'
    if (hops < this.config.maxHops) this.#forward(t, topic, id, hops, data, from, onward)
  }

  /** Pushes to the eager peers and announces to the lazy ones, except `except`. */
  #forward(t: TopicState, topic: TopicId, id: MessageId, hops: number, data: D, except: PeerId | undefined, mode: GossipMode = 'eager'): void {
    // A push still arriving over a link we just pruned comes from the side of the tree our newest
    // links also lead to: pushing it over them would only close a cycle that the nodes on it would
    // cut at random places. Those links get an IHAVE instead.
    const stale = except !== undefined && this.#within(t.links.get(except)?.prunedAt ?? -Infinity)
    for (const p of t.eager) {
      if (p === except) continue
      if (stale && this.#within(this.#link(t, p).graftedAt)) this.#announce(p, topic, { id, hops })
      else this.#send(p, { type: 'gossip', topic, id, hops: hops + 1, mode, data })
    }
    for (const p of t.lazy) if (p !== except) this.#announce(p, topic, { id, hops })
  }

  #announce(peer: PeerId, topic: TopicId, entry: IHaveEntry): void {
    let byTopic = this.#lazyQueue.get(peer)
    if (byTopic === undefined) {
      byTopic = new Map()
      this.#lazyQueue.set(peer, byTopic)
    }
    let entries = byTopic.get(topic)
    if (entries === undefined) {
      entries = []
      byTopic.set(topic, entries)
    }
    entries.push(entry)
    if (entries.length >= this.config.maxIdsPerMessage) {
      this.#send(peer, { type: 'ihave', topic, entries })
      byTopic.delete(topic)
    } else if (!this.#flushArmed) {
      this.#flushArmed = true
      this.#schedule(this.config.ihaveFlushMs, { type: 'flush' })
    }
  }

  #flush(): void {
    this.#flushArmed = false
    for (const [peer, byTopic] of this.#lazyQueue) {
      for (const [topic, entries] of byTopic) if (entries.length > 0) this.#send(peer, { type: 'ihave', topic, entries })
    }
    this.#lazyQueue.clear()
  }

  #ihave(from: PeerId, topic: TopicId, entries: readonly IHaveEntry[]): void {
    const peer = this.#peer(from)
    const t = this.#topics.get(topic)
    // An IHAVE over a link we hold eager, shortly after we grafted it, was sent before our GRAFT
    // reached the peer: nothing else will bring those messages along the tree, so ask at once.
    const askNow = t !== undefined && t.eager.has(from) && this.#within(t.links.get(from)?.graftedAt ?? -Infinity)
    const fresh: MessageId[] = []
    const known: Array<[number, CacheEntry<D>]> = []
    for (const { id, hops } of entries) {
      const cached = this.#cache.get(id)
      if (cached !== undefined) {
        this.#holds(cached, from)
        if (cached.topic === topic) known.push([hops, cached])
        continue
      }
      if (this.#seen.has(id)) continue
      const key = topic + id
      let m = this.#missing.get(key)
      if (m === undefined) {
        if (this.#missing.size >= this.config.maxMissing || peer.announced.size >= this.config.maxMissingPerPeer) continue
        m = { topic, id, announcers: [], asked: [], armed: false }
        this.#missing.set(key, m)
      }
      if (m.asked.includes(from) || m.announcers.some((a) => a.peer === from)) continue
      if (m.announcers.length >= this.config.maxAnnouncers || peer.announced.size >= this.config.maxMissingPerPeer) continue
      m.announcers.push({ peer: from, hops })
      peer.announced.add(key)
      fresh.push(id)
      if (!m.armed) {
        m.armed = true
        this.#schedule(this.config.graftTimeoutMs, { type: 'graft', topic, id })
      }
    }
    // Shortcuts are judged after the unknown ids are recorded, so a GRAFT they cause asks for those too.
    let grafted = false
    for (const [hops, cached] of known) grafted = this.#considerShortcut(from, topic, hops, cached) || grafted
    if (askNow && !grafted && fresh.length > 0) this.#sendGraft(from, topic, fresh)
  }

  /** The tree-optimisation rule of the paper (§3.8), made to wait for a consistent shortcut. */
  #considerShortcut(from: PeerId, topic: TopicId, lazyHops: number, cached: CacheEntry<D>): boolean {
    const parent = cached.from
    const t = this.#topics.get(topic)
    if (parent === undefined || t === undefined || !t.lazy.has(from) || !t.eager.has(parent)) return false
    if (this.#now - t.changedAt < this.config.optimizationCooldownMs) return false
    const l = this.#link(t, from)
    // Hops are not authenticated: a claim of 0 hops (only the origin may make it) counts for nothing.
    if (lazyHops > 0 && lazyHops + this.config.optimizationHops < cached.hops) {
      l.shortcut++
      if (l.shortcut < this.config.optimizationCount) return false
      l.shortcut = 0
      t.changedAt = this.#now
      this.#sendGraft(from, topic, [])
      this.#makeEager(t, topic, from)
      this.#prune(t, topic, parent)
      return true
    }
    l.shortcut = 0
    return false
  }

  #graftTimer(topic: TopicId, id: MessageId): void {
    const key = topic + id
    const m = this.#missing.get(key)
    if (m === undefined) return
    if (this.#seen.has(id)) {
      this.#dropMissing(key)
      return
    }
    // The next announcer not asked yet that is still a neighbour and in good standing.
    let next: { peer: PeerId; hops: number } | undefined
    while ((next = m.announcers.shift()) !== undefined) {
      this.#peers.get(next.peer)?.announced.delete(key)
      if (this.#neighbours.has(next.peer) && !this.scores.isGraylisted(next.peer, this.#now)) break
    }
    if (next === undefined) {
      this.#dropMissing(key)
      return
    }
    // GRAFT first: the peer must hold the link eager before any push we flush to it arrives.
    this.#sendGraft(next.peer, topic, [id])
    this.#makeEager(this.#topic(topic), topic, next.peer)
    this.#schedule(this.config.graftRetryMs, { type: 'graft', topic, id })
  }

  /** Forgets a missing entry and its place in its announcers' bookkeeping. */
  #dropMissing(key: string): void {
    const m = this.#missing.get(key)
    if (m === undefined) return
    this.#missing.delete(key)
    for (const a of m.announcers) this.#peers.get(a.peer)?.announced.delete(key)
  }

  /** `peer` is forgotten: it no longer announces the missing entry `key`. */
  #unannounce(key: string, peer: PeerId): void {
    const m = this.#missing.get(key)
    if (m !== undefined) m.announcers = m.announcers.filter((a) => a.peer !== peer)
  }

  /**
   * Turns the link to `peer` eager on `topic`. The link is spared from duplicate-pruning for
   * `pruneGuardMs` (the first pushes over a fresh tree link often overlap copies already under way),
   * and IHAVE entries still queued for it go out as pushes instead, so no message falls between the
   * lazy and the eager state of the link.
   */
  #makeEager(t: TopicState, topic: TopicId, peer: PeerId): Set<MessageId> {
    t.lazy.delete(peer)
    t.eager.add(peer)
    this.#link(t, peer).eagerSince = this.#now
    const pushed = new Set<MessageId>()
    const queued = this.#lazyQueue.get(peer)?.get(topic)
    if (queued === undefined) return pushed
    this.#lazyQueue.get(peer)?.delete(topic)
    for (const { id } of queued) {
      const e = this.#cache.get(id)
      if (e === undefined || e.holders.includes(peer)) continue
      this.#send(peer, { type: 'gossip', topic, id, hops: this.#nextHops(e.hops), mode: 'eager', data: e.data })
      this.#holds(e, peer)
      pushed.add(id)
    }
    return pushed
  }

  #holds(e: CacheEntry<D>, peer: PeerId): void {
    if (e.holders.length < 8 && !e.holders.includes(peer)) e.holders.push(peer)
  }

  /** Answers GRAFT / IWANT with the cached messages asked for (the original signed bodies). */
  #serve(from: PeerId, topic: TopicId, ids: readonly MessageId[], mode: GossipMode): void {
    if (ids.length === 0) return
    if (!this.#peer(from).requests.take(ids.length, this.#now)) {
      this.#penalize(from, 'iwant-abuse', 'request-limit')
      return
    }
    for (const id of ids) {
      const e = this.#cache.get(id)
      if (e === undefined || e.topic !== topic) continue
      this.#send(from, { type: 'gossip', topic, id, hops: this.#nextHops(e.hops), mode, data: e.data })
    }
  }

  // ---- anti-entropy ------------------------------------------------------------------------------

  #antiEntropy(): void {
    this.#schedule(this.config.antiEntropyIntervalMs, { type: 'anti-entropy' })
    this.#expire()
    this.scores.prune(this.#now)
    for (const [topic, t] of this.#topics) {
      const candidates = [...t.eager, ...t.lazy]
      if (candidates.length === 0) continue
      const peer = candidates[this.#rng.int(candidates.length)] as PeerId
      this.#sendSketch(peer, topic, IBLT_SIZES[0] as number)
    }
  }

  #sketch(topic: TopicId, cells: number, seed: number): Iblt {
    const sketch = new Iblt(cells, seed)
    const since = this.#now - this.config.syncWindowMs
    const until = this.#now - this.config.syncSettleMs
    for (const [id, e] of this.#cache) {
      if (e.at > until) break
      if (e.topic === topic && e.at >= since) sketch.add(fromHex(id))
    }
    return sketch
  }

  #sendSketch(peer: PeerId, topic: TopicId, cells: number): void {
    const t = this.#topics.get(topic)
    if (t !== undefined) {
      const l = this.#link(t, peer)
      l.syncAt = this.#now
      l.syncCells = cells
    }
    const seed = this.#rng.int(0x1_0000_0000) >>> 0
    this.#send(peer, { type: 'sync', topic, cells, seed, sketch: this.#sketch(topic, cells, seed).encode() })
  }

  /** A neighbour's sketch: push what it lacks, ask for what we lack, or ask for a bigger sketch. */
  #syncRequest(from: PeerId, topic: TopicId, cells: number, seed: number, bytes: Uint8Array): void {
    // Anti-entropy is between neighbours only (a stranger could otherwise make us hash and send).
    if (!this.#neighbours.has(from)) return
    if (!this.#peer(from).requests.take(Math.max(1, cells / 60), this.#now)) {
      this.#penalize(from, 'iwant-abuse', 'sync-limit')
      return
    }
    let theirs: Iblt
    try {
      theirs = Iblt.decode(bytes, cells, seed)
    } catch {
      this.#penalize(from, 'invalid', 'sketch')
      return
    }
    const diff = theirs.subtract(this.#sketch(topic, cells, seed)).decode()
    const bigger = IBLT_SIZES.find((s) => s > cells)
    if (!diff.complete && bigger !== undefined) {
      this.#send(from, { type: 'sync-retry', topic, cells: bigger })
      return
    }
    // `ours` (net +1) = in the sender's set only; `theirs` = in ours only.
    const want: MessageId[] = []
    for (const raw of diff.ours) {
      const id = toHex(raw) as MessageId
      if (!this.#seen.has(id)) want.push(id)
    }
    for (let i = 0; i < want.length; i += this.config.maxIdsPerMessage) {
      this.#send(from, { type: 'iwant', topic, ids: want.slice(i, i + this.config.maxIdsPerMessage) })
    }
    for (const raw of diff.theirs) {
      const id = toHex(raw) as MessageId
      const e = this.#cache.get(id)
      if (e !== undefined && e.topic === topic) this.#send(from, { type: 'gossip', topic, id, hops: this.#nextHops(e.hops), mode: 'sync', data: e.data })
    }
  }

  #syncRetry(from: PeerId, topic: TopicId, cells: number): void {
    // Only as the answer to a smaller sketch we sent that peer moments ago: an unsolicited retry would
    // make a 40-byte message cost us a 150 KiB sketch.
    const l = this.#topics.get(topic)?.links.get(from)
    if (!IBLT_SIZES.includes(cells) || l === undefined || !this.#within(l.syncAt) || cells <= l.syncCells) return
    if (!this.#peer(from).requests.take(Math.max(1, cells / 60), this.#now)) {
      this.#penalize(from, 'iwant-abuse', 'sync-limit')
      return
    }
    this.#sendSketch(from, topic, cells)
  }

  // ---- bookkeeping --------------------------------------------------------------------------------

  #remember(id: MessageId): void {
    this.#seen.set(id, this.#now + this.config.seenTtlMs)
    while (this.#seen.size > this.config.seenMaxIds) {
      const oldest = this.#seen.keys().next().value as MessageId
      this.#seen.delete(oldest)
    }
  }

  #store(id: MessageId, e: CacheEntry<D>): void {
    this.#cache.set(id, e)
    while (this.#cache.size > this.config.cacheMaxMessages) {
      const oldest = this.#cache.keys().next().value as MessageId
      this.#cache.delete(oldest)
    }
  }

  /** Drops expired cache entries and seen ids (both maps are in insertion = time order). */
  #expire(): void {
    for (const [id, e] of this.#cache) {
      if (e.at >= this.#now - this.config.cacheMaxAgeMs) break
      this.#cache.delete(id)
    }
    for (const [id, until] of this.#seen) {
      if (until > this.#now) break
      this.#seen.delete(id)
    }
  }

  #penalize(peer: PeerId, event: ScoreEvent, reason: string): void {
    this.#emit({ type: 'rejected', peer, reason })
    // Misbehaviour (not merely going over budget, which a busy honest link can) sends the peer's
    // budgets back to a newcomer's: they grow again only with good behaviour.
    const state = this.#peers.get(peer)
    if (state !== undefined && event !== 'rate' && event !== 'newcomer-rate') {
      state.goodSince = this.#now
      this.#grow(state)
    }
    if (!this.scores.record(peer, event, this.#now)) return
    // Below the threshold: out of every tree, disconnected, ignored until the score recovers.
    for (const t of this.#topics.values()) {
      t.eager.delete(peer)
      t.lazy.delete(peer)
    }
    this.#lazyQueue.delete(peer)
    this.#emit({ type: 'graylisted', peer, score: this.scores.get(peer, this.#now) })
    this.#out.push({ type: 'disconnect', peer })
  }

  #timer(timer: PubSubTimer): void {
    switch (timer.type) {
      case 'flush':
        this.#flush()
        break
      case 'graft':
        this.#graftTimer(timer.topic, timer.id)
        break
      case 'anti-entropy':
        this.#antiEntropy()
        this.#restoreRecovered()
        break
    }
  }

  /** Neighbours whose score recovered above the threshold rejoin the trees as lazy links. */
  #restoreRecovered(): void {
    for (const p of this.#neighbours) {
      if (this.scores.isGraylisted(p, this.#now)) continue
      for (const t of this.#topics.values()) if (!t.eager.has(p) && !t.lazy.has(p)) t.lazy.add(p)
    }
  }

  /** Makes the link to `peer` lazy on `topic` and tells it. */
  #prune(t: TopicState, topic: TopicId, peer: PeerId): void {
    t.eager.delete(peer)
    t.lazy.add(peer)
    this.#sendPrune(peer, topic)
  }

  #sendPrune(peer: PeerId, topic: TopicId): void {
    const t = this.#topics.get(topic)
    if (t !== undefined) this.#link(t, peer).prunedAt = this.#now
    this.#send(peer, { type: 'prune', topic })
  }

  /**
   * Sends GRAFT. It also asks for every message `peer` announced on `topic` that we still miss and
   * have not asked it for: once the link is eager the peer will not announce them again, and the
   * link we may have pruned for this one will not push them either. No id is asked of a peer twice.
   */
  #sendGraft(peer: PeerId, topic: TopicId, ids: MessageId[]): void {
    const t = this.#topics.get(topic)
    if (t !== undefined) this.#link(t, peer).graftedAt = this.#now
    const want = new Set(ids)
    const ask = (key: string): void => {
      const m = this.#missing.get(key)
      if (m === undefined || m.asked.includes(peer)) return
      m.asked.push(peer)
      m.announcers = m.announcers.filter((a) => a.peer !== peer)
      this.#peers.get(peer)?.announced.delete(key)
      want.add(m.id)
    }
    for (const id of ids) ask(topic + id)
    for (const key of [...(this.#peers.get(peer)?.announced ?? [])]) {
      if (want.size >= this.config.maxIdsPerMessage) break
      if (this.#missing.get(key)?.topic === topic) ask(key)
    }
    this.#send(peer, { type: 'graft', topic, ids: [...want] })
  }

  /** The link state of neighbour `peer` on topic `t` (created on first use). */
  #link(t: TopicState, peer: PeerId): LinkState {
    let l = t.links.get(peer)
    if (l === undefined) {
      l = { lastFirst: -Infinity, eagerSince: -Infinity, prunedAt: -Infinity, graftedAt: -Infinity, shortcut: 0, syncAt: -Infinity, syncCells: 0 }
      // Only neighbours get a stored link state; anyone else gets a throwaway one.
      if (this.#neighbours.has(peer)) t.links.set(peer, l)
    }
    return l
  }

  /** Whether time `at` lies within the last `within` ms (default `inFlightMs`). */
  #within(at: number, within = this.config.inFlightMs): boolean {
    return this.#now - at < within
  }

  /** Hop count of a copy we send of a message we received after `hops` hops (never beyond maxHops). */
  #nextHops(hops: number): number {
    return Math.min(hops + 1, this.config.maxHops)
  }

  #send(to: PeerId, msg: PubSubMessage<D>): void {
    if (msg.type === 'iwant' || msg.type === 'graft') {
      // What we ask for, we let in: the copies of these ids spend the request, not the peer's budget.
      const p = this.#peer(to)
      for (const id of msg.ids) {
        p.requested.delete(id)
        p.requested.add(id)
        if (p.requested.size > SOLICITED_MAX) p.requested.delete(p.requested.values().next().value as MessageId)
      }
    } else if (msg.type === 'sync') {
      const p = this.#peer(to)
      p.syncAllowance = Math.min(SOLICITED_MAX, msg.cells)
      p.syncAllowanceUntil = this.#now + SOLICITED_WINDOW_MS
    }
    this.#out.push({ type: 'send', to, msg })
  }

  #schedule(after: number, timer: PubSubTimer): void {
    this.#out.push({ type: 'schedule', after, timer })
  }

  #emit(event: PubSubEvent<D>): void {
    this.#out.push({ type: 'emit', event })
  }
}
