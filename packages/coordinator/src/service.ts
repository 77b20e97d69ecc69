// CoordinatorService: the coordinator layer of a node (SPEC.md §8). Every node runs it; what it does
// depends on the roles it is given.
// - All nodes: verify adverts received on the coordinator topic or in FIND_COORDINATOR replies and
//   cache them; keep the peer cache (on disk) of peers they were connected to; bootstrap through
//   given coordinator addresses, then cached coordinators, then cached peers; ask friends of friends
//   (FIND_COORDINATOR) when they know no coordinator; answer and relay such queries. When no contact
//   answers (a network that is all down, a peer cache of departed nodes) start alone and keep
//   retrying in the background with exponential backoff (1 s doubling to 60 s, ±20 % jitter) until a
//   contact answers or someone joins us; the same retry loop runs when the active view has stayed
//   empty (SPEC.md §8.2).
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
import type { Clock, Logger, Metrics, PeerId, Rng, Signer, Verifier } from '@saorsa-gossip/types'
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
  /**
   * When contacts were given explicitly (`bootstrap(given)`) and none of them, nor any cached
   * contact, answers: `'fail'` rejects with BootstrapError (the caller asked for those contacts);
   * `'start-alone'` starts alone and retries in the background. Default `'start-alone'` when we
   * have the `coordinator` role, else `'fail'`. Cached contacts alone never fail a start.
   */
  whenUnreachable?: 'start-alone' | 'fail'
  /**
   * At start, how long cached contacts may be tried before we start alone and leave the rest to the
   * background retries, ms (default 20 s; given contacts are always all tried). A peer cache full of
   * departed nodes (up to 512, 4 s per address) must not hold a start for minutes.
   */
  startBudgetMs?: number
  /** Background retries after a start alone: first delay, ms (default 1 s; doubles each attempt). */
  retryInitialMs?: number
  /** Background retries: the longest delay between attempts, ms (default 60 s). */
  retryMaxMs?: number
  seed?: number
}

/** Defaults of the background bootstrap retries (SPEC.md §8.2). */
export const BOOTSTRAP_RETRY = { initialMs: 1_000, maxMs: 60_000, factor: 2, jitter: 0.2 } as const

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
  /** No contact answered; the next background attempt (1-based) runs in `inMs`. */
  'bootstrap:retry': { attempt: number; inMs: number; contacts: number }
  /** A background attempt reached a contact: we joined the overlay. */
  'bootstrap:joined': BootstrapResult & { attempt: number }
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
  #observed: string | undefined
  /** Contacts given to the last bootstrap, retried in the background with the cached ones. */
  #given: string[] = []
  /** Contacts that failed at start, kept for the retries even if the peer cache forgets them. */
  #remembered: Contact[] = []
  /** Background retry state while it runs. */
  #retry: { attempt: number } | undefined
  #stopCtl = new AbortController()
  /** Jitter of the retry delays (its own stream, so FIND_COORDINATOR's draws do not depend on it). */
  #jitter: Rng | undefined
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
    this.#stopCtl = new AbortController()
    const loaded = await this.peerCache.load(clock.now())
    if (loaded > 0) this.#log.info({ peers: loaded, path: this.peerCache.path }, 'peer cache loaded')
    const seed = this.#init.seed ?? globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!
    this.#jitter = createSeededRng((seed ^ 0x5bd1e995) >>> 0)
    this.#find = new FindCoordinator(this.#init.find ?? {}, createSeededRng(seed))
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
        // (A neighbour is not thereby a known coordinator: a stranger's JOIN makes it one. Known
        // means we dialled it and joined through it: recordDial, advert-cache.ts.)
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
    this.#stopCtl.abort()
    this.#retry = undefined
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
    this.adverts.put(signed, now, { known: true })
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

  /** While background retries run: the attempt due next (1-based). */
  get retrying(): { attempt: number } | undefined {
    return this.#retry === undefined ? undefined : { ...this.#retry }
  }

  /**
   * Joins the overlay: through the `given` coordinator addresses (`host:port` or multiaddrs) in order,
   * then cached coordinator adverts, then the peer cache. Resolves to the contact reached, or
   * undefined when we start alone: there was nobody to contact (a first node), or no contact answered
   * and we retry them in the background (see `whenUnreachable`; events `bootstrap:retry` and
   * `bootstrap:joined`). Rejects with a one-line BootstrapError when contacts were given, none
   * answered and `whenUnreachable` is `'fail'`, or when `signal` aborted the attempt.
   */
  async bootstrap(given: readonly string[] = [], options: { signal?: AbortSignal } = {}): Promise<BootstrapResult | undefined> {
    this.#given = [...given]
    const contacts = this.#contacts(given)
    if (contacts.length === 0) return undefined
    const r = await this.#tryAll(contacts, options.signal, true, { budgetMs: this.#init.startBudgetMs ?? 20_000, always: given.length })
    if (!Array.isArray(r)) {
      if (r.source !== 'given' && given.length > 0) this.#log.warn({ via: r.via, source: r.source }, 'given coordinators unreachable; joined through a cached contact')
      return r
    }
    const failures = r
    const what = given.length > 0 ? `coordinator ${given.join(', ')}` : 'any cached peer'
    const detail = `${failures.slice(0, 3).join('; ')}${failures.length > 3 ? `; ${failures.length - 3} more` : ''}`
    const mode = this.#init.whenUnreachable ?? (this.roles.includes('coordinator') ? 'start-alone' : 'fail')
    if (options.signal?.aborted === true || (given.length > 0 && mode === 'fail')) throw new BootstrapError(`could not reach ${what} (${detail})`)
    this.#remembered = contacts
    this.#log.warn(
      { contacts: contacts.length, retryInitialMs: this.#init.retryInitialMs ?? BOOTSTRAP_RETRY.initialMs, retryMaxMs: this.#init.retryMaxMs ?? BOOTSTRAP_RETRY.maxMs },
      `could not reach ${what} (${detail}); started alone, retrying in the background`
    )
    this.#startRetries()
    return undefined
  }

  /** Contacts in the order tried: `given`, then cached coordinator adverts, then the peer cache. */
  #contacts(given: readonly string[]): Contact[] {
    const contacts: Contact[] = given.map((g) => ({ label: g, addrs: toMultiaddrs(g), source: 'given' as const }))
    const now = this.#c.clock.now()
    const seen = new Set<PeerId>([this.#c.transport.peerId])
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
    return contacts
  }

  /**
   * Tries `contacts` in order: the first that answers, or the reasons each failed. With `limit`, the
   * first `always` contacts are all tried, the others only until `budgetMs` has passed.
   */
  async #tryAll(contacts: Contact[], signal: AbortSignal | undefined, recordFailures: boolean, limit?: { budgetMs: number; always: number }): Promise<BootstrapResult | string[]> {
    const failures: string[] = []
    const t0 = this.#c.clock.now()
    for (const [i, c] of contacts.entries()) {
      const r = await this.#tryContact(c, signal, recordFailures)
      if (typeof r !== 'string') {
        void this.#afterJoin(r.peer)
        return r
      }
      failures.push(`${c.label}: ${r}`)
      if (signal?.aborted === true) break
      const left = contacts.length - i - 1
      if (limit !== undefined && left > 0 && i + 1 >= limit.always && this.#c.clock.now() - t0 >= limit.budgetMs) {
        failures.push(`${left} not tried yet`)
        break
      }
    }
    return failures
  }

  /** Starts the background retries unless they run already (or we are stopped). */
  #startRetries(immediately = false): void {
    if (!this.#running || this.#retry !== undefined || this.#retryContacts().length === 0) return
    this.#retry = { attempt: 1 }
    this.#scheduleRetry(immediately ? 0 : undefined)
  }

  /** Delay before retry `attempt`: initial · 2^(attempt-1), at most max, ±20 % jitter. */
  #retryDelay(attempt: number): number {
    const initial = this.#init.retryInitialMs ?? BOOTSTRAP_RETRY.initialMs
    const max = this.#init.retryMaxMs ?? BOOTSTRAP_RETRY.maxMs
    const base = Math.min(max, initial * BOOTSTRAP_RETRY.factor ** Math.min(attempt - 1, 30))
    const j = BOOTSTRAP_RETRY.jitter * (2 * (this.#jitter?.next() ?? 0.5) - 1)
    return Math.max(0, Math.round(base * (1 + j)))
  }

  #scheduleRetry(delay?: number): void {
    const retry = this.#retry
    if (retry === undefined) return
    const inMs = delay ?? this.#retryDelay(retry.attempt)
    this.emit('bootstrap:retry', { attempt: retry.attempt, inMs, contacts: this.#retryContacts().length })
    this.#timers.schedule(inMs, () => void this.#retryOnce(retry))
  }

  /** What a retry tries: the contacts of now (given, adverts, cache), then those that failed at start. */
  #retryContacts(): Contact[] {
    const contacts = this.#contacts(this.#given)
    const known = new Set(contacts.map((c) => c.peer ?? c.label))
    for (const c of this.#remembered) if (!known.has(c.peer ?? c.label)) contacts.push(c)
    return contacts
  }

  async #retryOnce(retry: { attempt: number }): Promise<void> {
    if (!this.#running || this.#retry !== retry) return
    if (this.#c.membership.activeView().length > 0) {
      // Someone joined us meanwhile (a node restarted after us): we are in an overlay again.
      this.#log.info({ attempt: retry.attempt }, 'a peer joined us; background bootstrap retries stop')
      this.#retry = undefined
      this.#remembered = []
      return
    }
    const contacts = this.#retryContacts()
    if (contacts.length === 0) {
      this.#retry = undefined
      return
    }
    this.#c.metrics.increment('saorsa_coordinator_bootstrap_retries_total')
    // Failures of background attempts are not counted against cached peers: a network that is down
    // for a while must not make us forget it.
    const r = await this.#tryAll(contacts, this.#stopCtl.signal, false)
    if (!this.#running || this.#retry !== retry) return
    if (!Array.isArray(r)) {
      this.#retry = undefined
      this.#remembered = []
      this.#log.info({ via: r.via, source: r.source, attempt: retry.attempt }, `joined the overlay through ${r.via} (background attempt ${retry.attempt})`)
      this.emit('bootstrap:joined', { ...r, attempt: retry.attempt })
      return
    }
    this.#log.debug({ attempt: retry.attempt, failures: r.slice(0, 3).join('; ') }, 'background bootstrap attempt failed')
    retry.attempt++
    this.#scheduleRetry()
  }

  async #tryContact(c: Contact, signal: AbortSignal | undefined, recordFailures: boolean): Promise<BootstrapResult | string> {
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
    if (c.peer !== undefined && recordFailures) {
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
    this.#c.metrics.increment('saorsa_coordinator_adverts_received_total', 1, { via, result })
    const a = signed.advert
    // Only coordinators we have been in contact with go to the peer cache, which the next start
    // tries first: made-up coordinators must not fill it with dead addresses (SPEC.md §8.4).
    if (a.peer !== this.#c.transport.peerId && this.adverts.get(a.peer, now)?.known === true) {
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
      else if (now - this.#emptySince >= (this.#init.rejoinAfterMs ?? 10_000) && this.#retry === undefined) {
        // Alone for a while: the background retries (with backoff) take over until we are joined.
        this.#emptySince = undefined
        this.#startRetries(true)
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
