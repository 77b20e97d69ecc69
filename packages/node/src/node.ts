// createGossipNode: the composition root. It is the one place that knows every default: it builds
// the transport (libp2p QUIC + TCP under the post-quantum channel), membership (HyParView + SWIM),
// pub/sub (Plumtree) and the coordinator layer, starts them in that order, joins the overlay, and
// stops them in reverse. Applications and both binaries start here.
import { createVerifier } from '@saorsa-gossip/identity'
import { MemoryMetrics, silentLogger, systemClock, TypedEventEmitter } from '@saorsa-gossip/types'
import type { Clock, Logger, MetricsSnapshot, PeerId, Signer } from '@saorsa-gossip/types'
import { DEFAULT_LISTEN, Libp2pTransport } from '@saorsa-gossip/transport'
import type { Libp2pTransportInit, Transport } from '@saorsa-gossip/transport'
import { DefaultMembership } from '@saorsa-gossip/membership'
import type { MembershipConfig, PeerInfo } from '@saorsa-gossip/membership'
import { PlumtreePubSub } from '@saorsa-gossip/pubsub'
import type { PlumtreePubSubInit, PubSubDelivery } from '@saorsa-gossip/pubsub'
import { CoordinatorService, toMultiaddrs } from '@saorsa-gossip/coordinator'
import type { BootstrapResult, CachedAdvert, CoordinatorAdvert, CoordinatorServiceInit, Role } from '@saorsa-gossip/coordinator'
import { toPrometheusText } from './prometheus.js'

/** Everything a node can be given; only `identity` is required. */
export interface GossipNodeInit {
  /** Our ML-DSA identity (from the keystore). It signs messages and adverts and authenticates links. */
  identity: Signer
  /**
   * Where to listen: `host:port` (QUIC and TCP on that port) or multiaddrs; `'none'` for no direct
   * listener (outbound only, or reachable only through a relay). Default 127.0.0.1, random ports.
   */
  bind?: string | string[]
  /**
   * Be reachable through a relay: reserve a slot on a connected peer with the `relay` role (a
   * circuit-relay-v2 server) and announce the circuit address. For nodes others cannot dial directly.
   */
  relayClient?: boolean
  /** Coordinators to join through, `host:port` or multiaddrs, tried in order. */
  coordinators?: string[]
  /** Roles we serve (default none). `relay` also turns on the circuit-relay server. */
  roles?: Role[]
  /** Advert publication interval for role holders, ms (default 300 s). */
  publishIntervalMs?: number
  /** Peer cache file (default: memory only). */
  peerCachePath?: string
  /** A transport to use instead of the default libp2p one (tests, custom stacks). */
  transport?: Transport
  /** Extra settings of the default transport. */
  transportInit?: Libp2pTransportInit
  membership?: MembershipConfig
  pubsub?: PlumtreePubSubInit
  /** Extra settings of the coordinator layer. */
  coordinator?: Omit<CoordinatorServiceInit, 'roles' | 'publishIntervalMs' | 'peerCachePath'>
  clock?: Clock
  logger?: Logger
  /** Metrics sink shared by every layer (default a MemoryMetrics, exposed by `metrics()`). */
  metrics?: MemoryMetrics
  /** Seed of the protocol RNGs (default random). Protocol decisions only, never keys. */
  seed?: number
}

/** A neighbour as `peers()` reports it. */
export interface PeerStatus {
  peer: PeerId
  /** `active` = a neighbour we gossip with; `passive` = a known backup. */
  view: 'active' | 'passive'
  /** SWIM's view of it. */
  state: 'alive' | 'suspect'
  addrs: string[]
  /** Roles from its verified advert, if it is a coordinator. */
  roles: Role[]
}

/** What `status()` reports. */
export interface NodeStatus {
  peerId: PeerId
  running: boolean
  startedAt: number | undefined
  listenAddrs: string[]
  /** How a reflector sees us, if one answered. */
  observedAddr: string | undefined
  activePeers: number
  passivePeers: number
  /** Valid coordinator adverts we hold. */
  coordinators: Array<{ peer: PeerId; roles: Role[]; addrs: string[]; score: number; notAfter: number }>
  topics: string[]
  roles: Role[]
  joinedVia: BootstrapResult | undefined
  transport: {
    sessions: number
    /** Peers with a live authenticated link. */
    peers: number
    /** Inbound handshakes in progress and connections with only unauthenticated streams (SPEC.md §5.5). */
    pendingHandshakes: number
    preauthConnections: number
    framesSent: number
    framesReceived: number
    bytesSent: number
    bytesReceived: number
  }
  /** This process's memory (bytes), as Node reports it: what an operator (or a test) watches under attack. */
  memory: { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number }
}

/** Events of a GossipNode. */
export interface GossipNodeEvents {
  'peer:up': { peer: PeerInfo }
  'peer:down': { peer: PeerId }
  'member:suspect': { peer: PeerId }
  'member:failed': { peer: PeerId }
  /** An application message (kind 0) on any topic, including topics we are not subscribed to. */
  message: PubSubDelivery
  /** A verified coordinator advert arrived that is new or newer than the one we held. */
  advert: { advert: CoordinatorAdvert; via: string }
}

export class GossipNode extends TypedEventEmitter<GossipNodeEvents> {
  readonly peerId: PeerId
  readonly transport: Transport
  readonly membership: DefaultMembership
  readonly pubsub: PlumtreePubSub
  readonly coordinator: CoordinatorService
  readonly #init: GossipNodeInit
  readonly #metrics: MemoryMetrics
  readonly #log: Logger
  readonly #clock: Clock
  readonly #suspects = new Set<PeerId>()
  #state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new'
  #startedAt: number | undefined
  #joined: BootstrapResult | undefined
  #offs: Array<() => void> = []
  #stopping: Promise<void> | undefined

  constructor(init: GossipNodeInit) {
    super()
    this.#init = init
    const identity = init.identity
    this.peerId = identity.peerId
    this.#metrics = init.metrics ?? new MemoryMetrics()
    this.#log = init.logger ?? silentLogger
    this.#clock = init.clock ?? systemClock
    const roles = [...new Set(init.roles ?? [])]
    const common = { clock: this.#clock, logger: this.#log, metrics: this.#metrics }
    this.transport =
      init.transport ??
      new Libp2pTransport({ identity }, { listen: [...listenAddrs(init.bind), ...(init.relayClient === true ? ['/p2p-circuit'] : [])], relayServer: roles.includes('relay'), logger: this.#log, metrics: this.#metrics, ...init.transportInit })
    if (this.transport.peerId !== identity.peerId) throw new Error('the transport identity must be the node identity')
    const verifier = createVerifier()
    const seed = init.seed
    this.membership = new DefaultMembership({ transport: this.transport, ...common }, { ...(init.membership === undefined ? {} : { config: init.membership }), ...(seed === undefined ? {} : { seed }) })
    this.pubsub = new PlumtreePubSub(
      { transport: this.transport, membership: this.membership, signer: identity, verifier, ...common },
      { ...(seed === undefined ? {} : { seed }), ...init.pubsub }
    )
    this.coordinator = new CoordinatorService(
      { transport: this.transport, membership: this.membership, pubsub: this.pubsub, signer: identity, verifier, ...common },
      {
        roles,
        ...(init.publishIntervalMs === undefined ? {} : { publishIntervalMs: init.publishIntervalMs }),
        ...(init.peerCachePath === undefined ? {} : { peerCachePath: init.peerCachePath }),
        ...(seed === undefined ? {} : { seed }),
        ...(init.relayClient === true ? { awaitRelayReservation: true } : {}),
        ...init.coordinator
      }
    )
  }

  /** True between a successful start() and stop(). */
  get running(): boolean {
    return this.#state === 'running'
  }

  /**
   * Starts every layer and joins the overlay through the given coordinators (else cached
   * coordinators and peers). A node with no contacts at all starts alone (the first coordinator).
   * On failure everything started is stopped again and the error (one line) is thrown.
   */
  async start(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#state !== 'new') throw new Error(`a node can be started once (it is ${this.#state})`)
    this.#state = 'starting'
    try {
      await this.transport.start()
      await this.membership.start()
      await this.pubsub.start()
      this.#wire()
      await this.coordinator.start()
      this.#joined = await this.coordinator.bootstrap(this.#init.coordinators ?? [], options)
    } catch (e) {
      await this.#teardown()
      this.#state = 'stopped'
      throw e
    }
    this.#startedAt = this.#clock.now()
    this.#state = 'running'
    this.#log.info({ peerId: this.peerId, listen: this.transport.listenAddrs(), joinedVia: this.#joined?.via }, 'node started')
  }

  /** Leaves the overlay and stops every layer in reverse order. Idempotent. */
  stop(): Promise<void> {
    if (this.#stopping !== undefined) return this.#stopping
    if (this.#state === 'new') {
      this.#state = 'stopped'
      return Promise.resolve()
    }
    this.#state = 'stopping'
    this.#stopping = this.#teardown().finally(() => {
      this.#state = 'stopped'
    })
    return this.#stopping
  }

  async #teardown(): Promise<void> {
    for (const off of this.#offs) off()
    this.#offs = []
    const steps: Array<[string, () => Promise<void>]> = [
      ['coordinator', () => this.coordinator.stop()],
      ['pubsub', () => this.pubsub.stop()],
      ['membership', () => this.membership.stop()],
      ['transport', () => this.transport.stop()]
    ]
    for (const [name, step] of steps) {
      try {
        await step()
      } catch (e) {
        this.#log.warn({ layer: name, err: e instanceof Error ? e.message : String(e) }, 'error while stopping')
      }
    }
  }

  #wire(): void {
    const m = this.membership
    this.#offs.push(
      m.on('neighbor:up', (e) => this.emit('peer:up', e)),
      m.on('neighbor:down', (e) => {
        this.#suspects.delete(e.peer)
        this.emit('peer:down', e)
      }),
      m.on('member:suspect', ({ peer }) => {
        this.#suspects.add(peer)
        this.emit('member:suspect', { peer })
      }),
      m.on('member:alive', ({ peer }) => {
        this.#suspects.delete(peer)
      }),
      m.on('member:failed', ({ peer }) => {
        this.#suspects.delete(peer)
        this.emit('member:failed', { peer })
      }),
      this.pubsub.on('message', (d) => {
        if (d.kind === 0) this.emit('message', d)
      }),
      this.coordinator.on('advert', ({ advert, via, result }) => {
        // Copies of adverts we already hold (or older ones) are not news.
        if (result !== 'unchanged' && result !== 'older') this.emit('advert', { advert, via })
      })
    )
  }

  /** Neighbours (active view) and backups (passive view) with their SWIM state. */
  peers(): PeerStatus[] {
    const now = this.#clock.now()
    const row = (p: PeerInfo, view: 'active' | 'passive'): PeerStatus => ({
      peer: p.id,
      view,
      state: this.#suspects.has(p.id) ? 'suspect' : 'alive',
      addrs: [...p.addrs],
      roles: this.coordinator.adverts.get(p.id, now)?.advert.roles ?? []
    })
    return [...this.membership.activeView().map((p) => row(p, 'active')), ...this.membership.passiveView().map((p) => row(p, 'passive'))]
  }

  /** Coordinator adverts we hold, best first. */
  coordinators(): CachedAdvert[] {
    return this.coordinator.coordinators()
  }

  status(): NodeStatus {
    const s = this.transport.stats()
    return {
      peerId: this.peerId,
      running: this.running,
      startedAt: this.#startedAt,
      listenAddrs: this.transport.listenAddrs(),
      observedAddr: this.coordinator.observedAddr,
      activePeers: this.membership.activeView().length,
      passivePeers: this.membership.passiveView().length,
      coordinators: this.coordinators().map((c) => ({ peer: c.advert.peer, roles: c.advert.roles, addrs: c.advert.addrs, score: c.score, notAfter: c.advert.notAfter })),
      topics: this.pubsub.topics(),
      roles: [...this.coordinator.roles],
      joinedVia: this.#joined,
      transport: {
        sessions: s.sessions,
        peers: s.peers,
        pendingHandshakes: s.pendingHandshakes,
        preauthConnections: s.preauthConnections,
        framesSent: s.framesSent,
        framesReceived: s.framesReceived,
        bytesSent: s.bytesSent,
        bytesReceived: s.bytesReceived
      },
      memory: (({ rss, heapUsed, heapTotal, external, arrayBuffers }) => ({ rss, heapUsed, heapTotal, external, arrayBuffers }))(process.memoryUsage())
    }
  }

  /** Every metric of every layer, plus gauges of the node's current state. */
  metrics(): MetricsSnapshot {
    const m = this.#metrics
    const s = this.transport.stats()
    m.gauge('saorsa_node_active_peers', this.membership.activeView().length)
    m.gauge('saorsa_node_passive_peers', this.membership.passiveView().length)
    m.gauge('saorsa_node_coordinators', this.coordinators().length)
    m.gauge('saorsa_transport_sessions', s.sessions)
    m.gauge('saorsa_transport_frames_sent', s.framesSent)
    m.gauge('saorsa_transport_frames_received', s.framesReceived)
    m.gauge('saorsa_transport_bytes_sent', s.bytesSent)
    m.gauge('saorsa_transport_bytes_received', s.bytesReceived)
    if (this.#startedAt !== undefined) m.gauge('saorsa_node_uptime_seconds', Math.round((this.#clock.now() - this.#startedAt) / 1000))
    return m.snapshot()
  }

  /** `metrics()` as Prometheus text exposition. */
  prometheus(): string {
    return toPrometheusText(this.metrics())
  }
}

/** `bind` as listen multiaddrs (default: loopback, random ports, QUIC and TCP; `'none'`: none). */
export function listenAddrs(bind: string | string[] | undefined): string[] {
  if (bind === undefined) return [...DEFAULT_LISTEN]
  if (bind === 'none') return []
  return (Array.isArray(bind) ? bind : [bind]).flatMap(toMultiaddrs)
}

/** Creates a node (not started). */
export function createGossipNode(init: GossipNodeInit): GossipNode {
  return new GossipNode(init)
}
