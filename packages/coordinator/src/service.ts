// CoordinatorService: the coordinator layer of a node (SPEC.md §8). Every node runs it; what it does
// depends on the roles it is given.
// - All nodes: verify adverts received on the coordinator topic or in FIND_COORDINATOR replies and
//   cache them; keep the peer cache (on disk) of peers they were connected to; bootstrap through
//   given coordinator addresses, then cached coordinators, then cached peers; ask friends of friends
//   (FIND_COORDINATOR) when they know no coordinator; answer and relay such queries; rejoin when the
//   active view has stayed empty.
// - Role holders (coordinator, reflector, relay, rendezvous): publish a signed advert at start and
//   every `publishIntervalMs`. Reflectors answer OBSERVE with the address they see the asker at.
import {
  createSeededRng,
  EnvelopeKinds,
  InvalidMessageError,
  MemoryMetrics,
  silentLogger,
  systemClock,
  TimerSet,
  topicIdFromName,
  TypedEventEmitter
} from '@saorsa-gossip/types'
import type { Clock, Logger, Metrics, PeerId, Signer, Verifier } from '@saorsa-gossip/types'
import type { Transport } from '@saorsa-gossip/transport'
import type { Membership } from '@saorsa-gossip/membership'
import type { PubSub, PubSubDelivery } from '@saorsa-gossip/pubsub'
import { withoutPeerSuffix, toMultiaddrs, hostPort } from './addr.js'
import { COORDINATOR_TOPIC, createAdvert, decodeAdvert, DEFAULT_ADVERT_VALIDITY_MS } from './advert.js'
import type { CoordinatorAdvert, NatClass, Role, SignedAdvert } from './advert.js'
import { AdvertCache } from './advert-cache.js'
import type { CachedAdvert } from './advert-cache.js'
import { decodeCoordinatorMessage, encodeCoordinatorMessage, isCoordinatorFrame } from './codec.js'
import { PeerCache } from './peer-cache.js'
import { FindCoordinator } from './proto/find.js'
import type { FindCommand, FindConfig } from './proto/find.js'

export interface CoordinatorServiceComponents {
  transport: Transport
  membership: Membership
  pubsub: PubSub
  /** Signs our adverts; must be the transport's identity. */
  signer: Signer
  verifier: Verifier
  clock?: Clock
  logger?: Logger
  metrics?: Metrics
}

export interface CoordinatorServiceInit {
  /** Roles we serve (default none: a plain node that only uses coordinators). */
  roles?: Role[]
  /** Advert re-publication interval, ms (default 300 s). */
  publishIntervalMs?: number
  /** Validity of our adverts, ms (default 1 h; must exceed the interval). */
  advertValidityMs?: number
  /** NAT class stated in our adverts (default `unknown`). */
  natClass?: NatClass
  /** Addresses for our adverts (default: the transport's listen addresses). */
  announce?: () => string[]
  /** Peer cache file (default: memory only). */
  peerCachePath?: string
  /** Most adverts cached (default 256). */
  advertCacheCapacity?: number
  /** FIND_COORDINATOR settings. */
  find?: Partial<FindConfig>
  /**
   * We listen through a relay (`/p2p-circuit`): after reaching a contact, wait (at most 3 s) for the
   * relay reservation, so the JOIN already carries the circuit address others must dial.
   */
  awaitRelayReservation?: boolean
  /** Time allowed to reach one contact while bootstrapping, ms (default 4 s per address). */
  dialTimeoutMs?: number
  /** How often the peer cache is written, ms (default 30 s). */
  saveIntervalMs?: number
  /** How long the active view may stay empty before we rejoin, ms (default 10 s). */
  rejoinAfterMs?: number
  seed?: number
}

/** Events of the service. */
export interface CoordinatorServiceEvents {
  /** A verified advert was cached (or refreshed); `via` says how it came. */
  advert: { advert: CoordinatorAdvert; via: 'topic' | 'find' | 'self'; result: string }
  /** An advert failed verification and was dropped. */
  'advert:rejected': { from: PeerId; reason: string }
  /** We published our advert (size of its encoding). */
  'advert:published': { bytes: number }
  /** A reflector told us the address it sees us at. */
  observed: { addr: string; by: PeerId }
}

/** Thrown by `bootstrap` when no contact could be reached; the message is one line. */
export class BootstrapError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'BootstrapError'
  }
}

/** Result of a bootstrap. */
export interface BootstrapResult {
  peer: PeerId
  /** The contact we joined through, as given (`127.0.0.1:7000`) or a multiaddr. */
  via: string
  source: 'given' | 'advert' | 'cache'
}

interface Contact {
  label: string
  addrs: string[]
  source: 'given' | 'advert' | 'cache'
  peer?: PeerId
}

export class CoordinatorService extends TypedEventEmitter<CoordinatorServiceEvents> {
  readonly adverts: AdvertCache
  readonly peerCache: PeerCache
  readonly roles: readonly Role[]
  readonly #c: Required<Omit<CoordinatorServiceComponents, 'logger' | 'metrics'>> & { metrics: Metrics }
  readonly #log: Logger
  readonly #init: CoordinatorServiceInit
  readonly #topic = topicIdFromName(COORDINATOR_TOPIC)
  readonly #timers = new TimerSet()
  readonly #linkAddrs = new Map<PeerId, string>()
  readonly #observeWaiters = new Map<number, (addr: string | undefined) => void>()
  readonly #findWaiters = new Set<() => void>()
  #find: FindCoordinator | undefined
  #offs: Array<() => void> = []
  #running = false
  #nonce = 1
  #emptySince: number | undefined
  #rejoining = false
  #observed: string | undefined
  #lastPublished: SignedAdvert | undefined

  constructor(components: CoordinatorServiceComponents, init: CoordinatorServiceInit = {}) {
    super()
    if (components.signer.peerId !== components.transport.peerId) throw new Error('the signer identity must be the transport identity')
    this.#c = { ...components, clock: components.clock ?? systemClock, metrics: components.metrics ?? new MemoryMetrics() }
    this.#log = (components.logger ?? silentLogger).child({ component: 'saorsa:coordinator' })
    this.#init = init
    this.roles = [...new Set(init.roles ?? [])]
    const interval = init.publishIntervalMs ?? 300_000
    const validity = init.advertValidityMs ?? Math.max(DEFAULT_ADVERT_VALIDITY_MS, 2 * interval)
    if (this.roles.length > 0 && validity <= interval) throw new RangeError('advertValidityMs must exceed publishIntervalMs')
    this.adverts = new AdvertCache(init.advertCacheCapacity === undefined ? {} : { capacity: init.advertCacheCapacity })
    this.peerCache = new PeerCache({ ...(init.peerCachePath === undefined ? {} : { path: init.peerCachePath }), logger: this.#log })
  }

  /** The address a reflector last told us it sees us at. */
  get observedAddr(): string | undefined {
    return this.#observed
  }

  /** Our latest advert (role holders only). */
  get advert(): SignedAdvert | undefined {
    return this.#lastPublished
  }

  /** Loads the peer cache and starts listening (transport, membership and pubsub must be started). */
  async start(): Promise<void> {
    if (this.#running) return
    this.#running = true
    const { transport: t, membership: m, pubsub: ps, clock } = this.#c
    const loaded = await this.peerCache.load(clock.now())
    if (loaded > 0) this.#log.info({ peers: loaded, path: this.peerCache.path }, 'peer cache loaded')
    this.#find = new FindCoordinator(this.#init.find ?? {}, createSeededRng(this.#init.seed ?? globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!))
    this.#offs.push(
      t.on('message', ({ peer, channel, bytes }) => {
        if (channel === 'membership' && isCoordinatorFrame(bytes)) this.#onFrame(peer, bytes)
      }),
      t.on('peer:connect', ({ peer, addr }) => {
        if (addr !== undefined) this.#linkAddrs.set(peer, addr)
      }),
      t.on('peer:disconnect', ({ peer }) => {
        this.#linkAddrs.delete(peer)
      }),
      m.on('neighbor:up', ({ peer }) => {
        const addrs = peer.addrs.map(withoutPeerSuffix).filter((a) => a.length > 0 && a.length <= 256)
        if (addrs.length > 0) this.peerCache.upsert(peer.id, addrs, clock.now(), this.adverts.get(peer.id, clock.now())?.advert.roles)
      }),
      ps.on('message', (d) => {
        if (d.kind === EnvelopeKinds.coordinatorAdvert) this.#onTopicAdvert(d)
      })
    )
    if (this.roles.length > 0) {
      this.#log.info(`Coordinator advert publisher started (interval: ${(this.#init.publishIntervalMs ?? 300_000) / 1000}s)`)
      await this.publishAdvert()
      this.#schedulePublish()
    }
    this.#scheduleHousekeeping()
  }

  /** Saves the peer cache and stops. Idempotent. */
  async stop(): Promise<void> {
    if (!this.#running) return
    this.#running = false
    for (const off of this.#offs) off()
    this.#offs = []
    this.#timers.clear()
    for (const w of this.#findWaiters) w()
    this.#findWaiters.clear()
    for (const w of [...this.#observeWaiters.values()]) w(undefined)
    this.#observeWaiters.clear()
    await this.peerCache.save().catch((e: unknown) => this.#log.warn({ err: (e as Error).message, path: this.peerCache.path }, 'could not save the peer cache'))
  }

  /** Signs and publishes a fresh advert now (role holders); also caches it locally. */
  async publishAdvert(): Promise<SignedAdvert | undefined> {
    if (this.roles.length === 0 || !this.#running) return undefined
    const now = this.#c.clock.now()
    const addrs = (this.#init.announce?.() ?? this.#c.transport.listenAddrs()).slice(0, 8)
    const signed = createAdvert(
      {
        roles: this.roles,
        addrs,
        natClass: this.#init.natClass ?? 'unknown',
        now,
        validityMs: this.#init.advertValidityMs ?? Math.max(DEFAULT_ADVERT_VALIDITY_MS, 2 * (this.#init.publishIntervalMs ?? 300_000))
      },
      this.#c.signer
    )
    this.#lastPublished = signed
    this.adverts.put(signed, now)
    await this.#c.pubsub.publish(COORDINATOR_TOPIC, signed.bytes, { kind: EnvelopeKinds.coordinatorAdvert })
    this.#c.metrics.increment('saorsa_coordinator_adverts_published_total')
    this.#log.debug({ bytes: signed.bytes.length }, `Published coordinator advert (${signed.bytes.length} bytes)`)
    this.emit('advert:published', { bytes: signed.bytes.length })
    return signed
  }

  /** Valid cached coordinator adverts, best first (optionally only those with `role`). */
  coordinators(role?: Role): CachedAdvert[] {
    return this.adverts.list(this.#c.clock.now(), role)
  }

  /**
   * Joins the overlay: through the `given` coordinator addresses (`host:port` or multiaddrs) in order,
   * then cached coordinator adverts, then the peer cache. Resolves to the contact reached, or
   * undefined when there was nobody to contact (a first node). Rejects with a one-line
   * BootstrapError when contacts existed and none answered.
   */
  async bootstrap(given: readonly string[] = [], options: { signal?: AbortSignal } = {}): Promise<BootstrapResult | undefined> {
    const contacts: Contact[] = given.map((g) => ({ label: g, addrs: toMultiaddrs(g), source: 'given' as const }))
    const now = this.#c.clock.now()
    const me = this.#c.transport.peerId
    const seen = new Set<PeerId>([me])
    for (const c of this.adverts.list(now, 'coordinator')) {
      if (seen.has(c.advert.peer)) continue
      seen.add(c.advert.peer)
      contacts.push({ label: c.advert.addrs[0] ?? c.advert.peer, addrs: c.advert.addrs.map(withoutPeerSuffix), source: 'advert', peer: c.advert.peer })
    }
    for (const e of this.peerCache.entries(now)) {
      if (seen.has(e.peer)) continue
      seen.add(e.peer)
      contacts.push({ label: hostPort(e.addrs[0] ?? e.peer), addrs: e.addrs, source: 'cache', peer: e.peer })
    }
    if (contacts.length === 0) return undefined
    const failures: string[] = []
    for (const c of contacts) {
      const r = await this.#tryContact(c, options.signal)
      if (typeof r !== 'string') {
        if (c.source !== 'given' && given.length > 0) this.#log.warn({ via: c.label, source: c.source }, 'given coordinators unreachable; joined through a cached contact')
        void this.#afterJoin(r.peer)
        return r
      }
      failures.push(`${c.label}: ${r}`)
      if (options.signal?.aborted === true) break
    }
    const what = given.length > 0 ? `coordinator ${given.join(', ')}` : 'any cached peer'
    throw new BootstrapError(`could not reach ${what} (${failures.slice(0, 3).join('; ')}${failures.length > 3 ? `; ${failures.length - 3} more` : ''})`)
  }

  async #tryContact(c: Contact, signal: AbortSignal | undefined): Promise<BootstrapResult | string> {
    const reasons: string[] = []
    for (const addr of c.addrs) {
      const timeout = AbortSignal.timeout(this.#init.dialTimeoutMs ?? 4_000)
      const s = signal === undefined ? timeout : AbortSignal.any([signal, timeout])
      try {
        const peer = await this.#c.transport.dial(addr, c.peer === undefined ? { signal: s } : { signal: s, expectedPeer: c.peer })
        // Joined = a first neighbour is up (the contact's NEIGHBOR answer to our JOIN), so what the
        // caller publishes next has somewhere to go.
        if (this.#init.awaitRelayReservation === true) await this.#relayReservation(AbortSignal.any([s, AbortSignal.timeout(3_000)]))
        const up = this.#firstNeighbour(s)
        up.catch(() => undefined) // awaited below; never an unhandled rejection if join throws first
        await this.#c.membership.join([addr], { signal: s })
        await up
        this.adverts.recordDial(peer, true)
        return { peer, via: c.label, source: c.source }
      } catch (e) {
        const transportName = addr.includes('/quic') ? 'QUIC' : addr.includes('/tcp/') ? 'TCP' : addr
        reasons.push(`${transportName} ${timeout.aborted ? `no answer in ${(this.#init.dialTimeoutMs ?? 4_000) / 1000} s` : briefError(e)}`)
        if (signal?.aborted === true) break
      }
    }
    if (c.peer !== undefined) {
      this.adverts.recordDial(c.peer, false)
      this.peerCache.recordFailure(c.peer)
    }
    return reasons.join(', ') || 'no address'
  }

  /** Resolves once we listen on a relay circuit, or when `signal` aborts (then without one). */
  #relayReservation(signal: AbortSignal): Promise<void> {
    const t = this.#c.transport
    const has = (addrs: string[]): boolean => addrs.some((a) => a.includes('/p2p-circuit'))
    if (has(t.listenAddrs())) return Promise.resolve()
    return new Promise<void>((resolve) => {
      const done = (): void => {
        off()
        signal.removeEventListener('abort', done)
        if (!has(t.listenAddrs())) this.#log.warn('no relay reservation yet; joining with the addresses we have')
        resolve()
      }
      const off = t.on('addresses', ({ addrs }) => {
        if (has(addrs)) done()
      })
      if (signal.aborted) done()
      else signal.addEventListener('abort', done, { once: true })
    })
  }

  /** Resolves when the active view is not empty; rejects when `signal` aborts first. */
  #firstNeighbour(signal: AbortSignal): Promise<void> {
    const m = this.#c.membership
    if (m.activeView().length > 0) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      const off = m.on('neighbor:up', () => {
        signal.removeEventListener('abort', onAbort)
        off()
        resolve()
      })
      const onAbort = (): void => {
        off()
        reject(new Error('no neighbour after JOIN'))
      }
      if (signal.aborted) onAbort()
      else signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** After joining: learn coordinators if we know none, and our address from a reflector. */
  async #afterJoin(contact: PeerId): Promise<void> {
    if (this.coordinators('coordinator').filter((c) => c.advert.peer !== this.#c.transport.peerId).length === 0) await this.findCoordinators({ ask: [contact] })
    const reflector = this.coordinators('reflector').find((c) => this.#c.transport.peers().includes(c.advert.peer))
    if (reflector !== undefined) await this.observe(reflector.advert.peer).catch(() => undefined)
  }

  /**
   * Asks friends of friends for coordinator adverts (FIND_COORDINATOR): `fanout` of our neighbours
   * (and of `ask`). Resolves, with the cache's coordinators, once a reply brought a new advert or
   * after `timeoutMs` (default 3 s).
   */
  async findCoordinators(options: { timeoutMs?: number; ask?: PeerId[] } = {}): Promise<CachedAdvert[]> {
    const find = this.#find
    if (find === undefined) return []
    // Our neighbours, plus the contact we just joined through (the JOIN may still be in flight).
    const ask = [...new Set([...(options.ask ?? []), ...this.#c.membership.activeView().map((p) => p.id)])]
    const cmds = find.query(this.#c.clock.now(), ask)
    if (cmds !== undefined) {
      this.#c.metrics.increment('saorsa_coordinator_find_queries_total')
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer)
          this.#findWaiters.delete(done)
          resolve()
        }
        const timer = setTimeout(done, options.timeoutMs ?? 3_000)
        timer.unref()
        this.#findWaiters.add(done)
        this.#run(cmds)
      })
    }
    return this.coordinators('coordinator')
  }

  /** Asks reflector `peer` which address it sees us at (times out after 3 s). */
  observe(peer: PeerId, options: { timeoutMs?: number } = {}): Promise<string> {
    const nonce = this.#nonce++ >>> 0
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#observeWaiters.delete(nonce)
        reject(new Error('no OBSERVED answer'))
      }, options.timeoutMs ?? 3_000)
      timer.unref()
      this.#observeWaiters.set(nonce, (addr) => {
        clearTimeout(timer)
        if (addr === undefined) reject(new Error('coordinator service stopped'))
        else resolve(addr)
      })
      this.#send(peer, encodeCoordinatorMessage({ type: 'observe', nonce }))
    })
  }

  #onTopicAdvert(d: PubSubDelivery): void {
    if (d.topic !== this.#topic) {
      this.#reject(d.receivedFrom, 'wrong-topic')
      return
    }
    const signed = this.#verify(d.receivedFrom, d.payload)
    if (signed === undefined) return
    // On the topic only a coordinator speaks for itself: the envelope's signer must be the advertised peer.
    if (signed.advert.peer !== d.from) {
      this.#reject(d.receivedFrom, 'not-own-advert')
      return
    }
    this.#accept(signed, 'topic')
  }

  #verify(from: PeerId, bytes: Uint8Array): SignedAdvert | undefined {
    try {
      return decodeAdvert(bytes, this.#c.verifier, { now: this.#c.clock.now() })
    } catch (e) {
      if (!(e instanceof InvalidMessageError)) throw e
      this.#reject(from, e.reason)
      return undefined
    }
  }

  #reject(from: PeerId, reason: string): void {
    this.#c.metrics.increment('saorsa_coordinator_adverts_rejected_total', 1, { reason })
    this.#log.debug({ from, reason }, 'advert rejected')
    this.emit('advert:rejected', { from, reason })
  }

  #accept(signed: SignedAdvert, via: 'topic' | 'find'): void {
    const now = this.#c.clock.now()
    const result = this.adverts.put(signed, now)
    this.#c.metrics.increment('saorsa_coordinator_adverts_received_total', 1, { via })
    const a = signed.advert
    if (a.peer !== this.#c.transport.peerId) {
      const addrs = a.addrs.map(withoutPeerSuffix).filter((x) => x.length > 0 && x.length <= 256)
      if (addrs.length > 0) this.peerCache.upsert(a.peer, addrs, now, a.roles)
    }
    if (result === 'added' || result === 'updated' || result === 'evicted-other') {
      this.#log.debug({ peer: a.peer, roles: a.roles.join(','), via }, 'coordinator advert verified and cached')
    }
    this.emit('advert', { advert: a, via, result })
  }

  #onFrame(from: PeerId, bytes: Uint8Array): void {
    let msg
    try {
      msg = decodeCoordinatorMessage(bytes)
    } catch (e) {
      if (!(e instanceof InvalidMessageError)) throw e
      this.#c.metrics.increment('saorsa_coordinator_invalid_total', 1, { reason: e.reason })
      return
    }
    const find = this.#find
    if (find === undefined) return
    const now = this.#c.clock.now()
    switch (msg.type) {
      case 'find': {
        const local = this.adverts.list(now, 'coordinator').map((c) => c.bytes)
        this.#run(find.onFind(from, msg.queryId, msg.ttl, now, this.#c.membership.activeView().map((p) => p.id), local))
        break
      }
      case 'found':
        this.#run(find.onFound(from, msg.queryId, msg.adverts, now))
        break
      case 'observe': {
        const addr = this.#linkAddrs.get(from)
        if (!this.roles.includes('reflector') || addr === undefined) {
          this.#c.metrics.increment('saorsa_coordinator_observe_ignored_total')
          return
        }
        this.#send(from, encodeCoordinatorMessage({ type: 'observed', nonce: msg.nonce, addr: withoutPeerSuffix(addr) }))
        break
      }
      case 'observed': {
        const w = this.#observeWaiters.get(msg.nonce)
        if (w === undefined) return
        this.#observeWaiters.delete(msg.nonce)
        this.#observed = msg.addr
        this.emit('observed', { addr: msg.addr, by: from })
        w(msg.addr)
        break
      }
    }
  }

  #run(cmds: FindCommand[]): void {
    for (const c of cmds) {
      if (c.type === 'send') this.#send(c.to, encodeCoordinatorMessage(c.msg))
      else if (c.type === 'dropped') this.#c.metrics.increment('saorsa_coordinator_find_dropped_total', 1, { reason: c.reason })
      else {
        let fresh = false
        for (const bytes of c.adverts) {
          const signed = this.#verify(c.from, bytes)
          if (signed === undefined) continue
          const before = this.adverts.get(signed.advert.peer, this.#c.clock.now())
          this.#accept(signed, 'find')
          if (before === undefined) fresh = true
        }
        if (fresh) for (const w of [...this.#findWaiters]) w()
      }
    }
  }

  #send(peer: PeerId, bytes: Uint8Array): void {
    this.#c.transport.send(peer, 'membership', bytes).catch((e: unknown) => {
      this.#log.debug({ peer, err: briefError(e) }, 'coordinator message not sent')
    })
  }

  #schedulePublish(): void {
    this.#timers.schedule(this.#init.publishIntervalMs ?? 300_000, () => {
      if (!this.#running) return
      this.publishAdvert().catch((e: unknown) => this.#log.warn({ err: briefError(e) }, 'advert publication failed'))
      this.#schedulePublish()
    })
  }

  /** Saves the peer cache now and then; rejoins when the active view stayed empty. */
  #scheduleHousekeeping(): void {
    const every = Math.min(this.#init.saveIntervalMs ?? 30_000, 5_000)
    let sinceSave = 0
    const tick = (): void => {
      if (!this.#running) return
      const now = this.#c.clock.now()
      sinceSave += every
      if (sinceSave >= (this.#init.saveIntervalMs ?? 30_000)) {
        sinceSave = 0
        this.peerCache.save().catch((e: unknown) => this.#log.warn({ err: briefError(e), path: this.peerCache.path }, 'could not save the peer cache'))
      }
      this.#c.metrics.gauge('saorsa_coordinator_adverts_cached', this.adverts.size)
      this.#c.metrics.gauge('saorsa_coordinator_peer_cache_size', this.peerCache.size)
      if (this.#c.membership.activeView().length > 0) this.#emptySince = undefined
      else if (this.#emptySince === undefined) this.#emptySince = now
      else if (now - this.#emptySince >= (this.#init.rejoinAfterMs ?? 10_000) && !this.#rejoining) {
        this.#rejoining = true
        this.bootstrap()
          .then((r) => {
            if (r !== undefined) this.#log.info({ via: r.via }, 'rejoined the overlay')
          })
          .catch((e: unknown) => this.#log.debug({ err: briefError(e) }, 'rejoin failed'))
          .finally(() => {
            this.#rejoining = false
            this.#emptySince = undefined
          })
      }
      this.#timers.schedule(every, tick)
    }
    this.#timers.schedule(every, tick)
  }
}

function briefError(e: unknown): string {
  if (!(e instanceof Error)) return String(e)
  const code = (e as NodeJS.ErrnoException).code
  const msg = e.message.split('\n')[0] ?? ''
  if (code === 'ECONNREFUSED' || /ECONNREFUSED/.test(msg)) return 'connection refused'
  return msg.length > 120 ? `${msg.slice(0, 117)}...` : msg
}
