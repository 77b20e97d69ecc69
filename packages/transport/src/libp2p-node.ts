// The js-libp2p node behind the default Transport. libp2p is an implementation detail of this package:
// nothing outside `packages/transport` should import libp2p types; the Transport implementation uses
// this handle and turns it into our own interface.
//
// Defaults (each overridable through Libp2pNodeOptions where an option exists):
//
// - Transports: QUIC v1 (@chainsafe/libp2p-quic, quinn via napi) and TCP + Noise XX + Yamux, both on,
//   because QUIC dials faster (measured on loopback: ~3x) and multiplexes without head-of-line
//   blocking, while TCP gets through networks that drop UDP. Circuit relay v2 client transport is
//   always on, so a peer behind NAT can listen on `/p2p/<relay>/p2p-circuit` and be dialled through a
//   relay. No WebSockets/WebRTC: Node-only for now.
// - Listen: ['/ip4/127.0.0.1/udp/0/quic-v1', '/ip4/127.0.0.1/tcp/0'] — loopback, OS-chosen ports: safe
//   for tests and local demos; a real deployment passes 0.0.0.0 / public addresses. Addresses of a
//   disabled transport are dropped from `listen` (libp2p would fail to listen on them).
// - QUIC transport keeps its defaults: handshake timeout 5 s, idle timeout 10 s with a 5 s QUIC
//   keep-alive (in native code, cheap and independent of the JS event loop).
// - Yamux keeps its defaults (256 KiB initial stream window growing to 16 MiB, keep-alive ping every
//   30 s so an idle TCP connection is not dropped by NATs or socket inactivity timeouts).
// - Services: identify + identify-push (address reflection: each peer reports the address it sees us
//   at, our `observedAddrs()`; push tells peers when our addresses change, e.g. a new relay
//   reservation), ping (answers libp2p pings, RTT probes), dcutr (hole punching: upgrades a relayed
//   connection to a direct one when both sides have public addresses; it then closes the relayed
//   one), autonat v1 (asks peers to dial back our observed public addresses so libp2p only advertises
//   reachable ones). Optional circuit relay v2 server (`relayServer`).
// - Address reflection (`observedAddrs()`): built from identify's `observedAddr` (the
//   `peer:identify` event), per reporting peer, direct connections only. libp2p's own
//   `addressManager.getObservedAddrs()` is not on the public Libp2p API (only a service's components
//   see it) and identify stores only public, non-TCP addresses there (js-libp2p#2620), so it is empty
//   on loopback/LAN and for TCP. Caveat: libp2p-quic 2.1 dials from separate client sockets
//   (ephemeral ports), so the port others observe for our outbound QUIC (and TCP) connections is
//   not our listening port: use the reported IP, and the port only for inbound-from-them links.
// - No DHT, no random walk, no pubsub, no peer discovery modules: membership (HyParView/SWIM) and the
//   coordinator adverts of this project find peers.
// - Connection manager: `allow` = loopback (127.0.0.0/8, ::1) plus `options.allow`. Allow-listed hosts
//   bypass libp2p's inbound limits (5 new connections per second per host, 10 pending upgrades,
//   maxConnections), which otherwise refuse bootstrap dials between many local processes. Everyone
//   else keeps those limits (a cheap flood guard). maxConnections stays at libp2p's 300.
// - Connection monitor: OFF by default (`connectionMonitor: false`). It pings every connection every
//   10 s and aborts a connection after a ping timeout; under CPU overload that tore down hundreds of
//   healthy links. Liveness is SWIM's job; QUIC and Yamux keep-alives keep idle links open.
// - Relayed ("limited") connections: `handle()` and `newStream()` pass `runOnLimitedConnection: true`
//   by default, because a peer reachable only through a relay must still carry membership and pubsub
//   traffic. Callers can pass `runOnLimitedConnection: false` for bulk protocols.
// - Relay server limits (when `relayServer` is on; libp2p's own defaults, 128 KiB and 2 minutes per
//   relayed connection, only suit hole-punch coordination; our relays also carry overlay control
//   traffic of NAT-restricted peers until DCUtR succeeds):
//     maxReservations 128 (each reservation is cheap: one entry and a KEEP_ALIVE tag on one link),
//     reservationTtl 1 h (clients refresh before expiry), durationLimit 10 min and dataLimit 16 MiB
//     per relayed connection (both directions together; the relay resets the relayed connection when
//     either is reached and the overlay redials), hopTimeout 30 s. Every field can be overridden with
//     `relayServer: { ... }`. The relay copies relayed bytes through its own JS event loop.

import { noise } from '@chainsafe/libp2p-noise'
import { quic } from '@chainsafe/libp2p-quic'
import { yamux } from '@chainsafe/libp2p-yamux'
import { autoNAT } from '@libp2p/autonat'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { dcutr } from '@libp2p/dcutr'
import { identify, identifyPush } from '@libp2p/identify'
import { isPeerId } from '@libp2p/interface'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { isMultiaddr, multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import type { Identify, IdentifyPush } from '@libp2p/identify'
import type {
  AbortOptions,
  Connection,
  Ed25519PrivateKey,
  IdentifyResult,
  Libp2p,
  PeerId,
  Stream,
  StreamHandler,
  StreamHandlerOptions
} from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Libp2pOptions, ServiceFactoryMap } from 'libp2p'

/** Default listen addresses: QUIC and TCP on loopback, ports chosen by the OS. */
export const DEFAULT_LISTEN = ['/ip4/127.0.0.1/udp/0/quic-v1', '/ip4/127.0.0.1/tcp/0'] as const
/** Hosts exempt from libp2p's inbound connection limits by default. */
export const DEFAULT_ALLOW = ['/ip4/127.0.0.0/ipcidr/8', '/ip6/::1/ipcidr/128'] as const

/** Limits of the circuit relay v2 server (see the defaults at the top of this file). */
export interface RelayServerOptions {
  /** Reservations held at once (default 128). */
  maxReservations?: number
  /** Lifetime of a reservation in ms (default 1 h). */
  reservationTtl?: number
  /** Longest a relayed connection may stay open, in ms (default 10 min). */
  durationLimit?: number
  /** Bytes a relayed connection may carry, both directions together (default 16 MiB). */
  dataLimit?: bigint
  /** Time allowed for a hop request, in ms (default 30 s). */
  hopTimeout?: number
}

export const DEFAULT_RELAY_SERVER: Required<RelayServerOptions> = {
  maxReservations: 128,
  reservationTtl: 60 * 60 * 1000,
  durationLimit: 10 * 60 * 1000,
  dataLimit: 16n * 1024n * 1024n,
  hopTimeout: 30_000
}

export interface Libp2pNodeOptions {
  /** The libp2p transport identity (Ed25519). A fresh one is generated when absent. */
  privateKey?: Ed25519PrivateKey
  /** Multiaddrs to listen on (default DEFAULT_LISTEN). May include `/p2p/<relay>/p2p-circuit`. */
  listen?: string[]
  /** Addresses to announce instead of the listen addresses (e.g. a public IP behind port forwarding). */
  announce?: string[]
  /** Enable the QUIC transport (default true). */
  quic?: boolean
  /** Enable TCP + Noise + Yamux (default true). */
  tcp?: boolean
  /** Act as a circuit relay v2 server (default false); an object overrides the limits. */
  relayServer?: boolean | RelayServerOptions
  /** Extra multiaddr ranges exempt from inbound connection limits (added to DEFAULT_ALLOW). */
  allow?: string[]
  /** Run libp2p's connection monitor (default false; liveness is SWIM's job). */
  connectionMonitor?: boolean
  /** Overall dial timeout in ms (default libp2p's 10 s). */
  dialTimeout?: number
}

/** The services our libp2p node runs. `relay` exists only with `relayServer`. */
export type Libp2pServices = {
  identify: Identify
  identifyPush: IdentifyPush
  ping: Ping
  dcutr: unknown
  autonat: unknown
  relay?: CircuitRelayService
}

export type Libp2pNode = Libp2p<Libp2pServices>

/** Options of `Libp2pHandle.newStream` (a subset of libp2p's NewStreamOptions / DialProtocolOptions). */
export interface OpenStreamOptions extends AbortOptions {
  /** Allow the stream on a relayed (data/time limited) connection. Default true. */
  runOnLimitedConnection?: boolean
  /** Outbound stream cap for a protocol without a local handler (libp2p default 64). */
  maxOutboundStreams?: number
  /** false: send the protocol name together with the first write (saves a round trip). Default true. */
  negotiateFully?: boolean
}

/** How a connection reaches the peer. */
export type ConnectionKind = 'quic' | 'tcp' | 'relay' | 'other'

/** One address a peer reported (through identify) that it sees us at. */
export interface ObservedAddr {
  /** The address as the remote saw it (no /p2p suffix), e.g. /ip4/203.0.113.7/udp/4001/quic-v1. */
  addr: Multiaddr
  /** Peers whose latest identify reported this address. */
  reportedBy: PeerId[]
  /** When it was last reported (ms since the epoch). */
  lastSeen: number
}

/** Events of a Libp2pHandle, name → detail. */
export interface Libp2pHandleEvents {
  /** A connection (direct or relayed) opened, in either direction. */
  'connection:open': Connection
  /** A connection closed. */
  'connection:close': Connection
  /** The first connection to a peer opened. */
  'peer:connect': PeerId
  /** The last connection to a peer closed. */
  'peer:disconnect': PeerId
  /** Identify completed with a peer. */
  'peer:identify': IdentifyResult
  /** A peer reported (a new or the same) address it sees us at over a direct connection. */
  'observed-addr': ObservedAddr
  /** Our own advertised addresses changed (new listener, relay reservation, confirmed address). */
  'self:addresses': Multiaddr[]
}

type HandleEventName = keyof Libp2pHandleEvents

export interface Libp2pHandle {
  /** The underlying node, typed with its services (escape hatch; prefer the methods below). */
  readonly node: Libp2pNode
  /** Our libp2p PeerId (Ed25519; unrelated to the ML-DSA PeerId of the overlay). */
  readonly peerId: PeerId
  /** Addresses we listen on / advertise, each ending in /p2p/<peerId>. */
  multiaddrs(): Multiaddr[]
  /** Dial a peer by multiaddr (string or parsed) or by PeerId (uses the peer store's addresses). */
  dial(target: Multiaddr | string | PeerId, options?: AbortOptions): Promise<Connection>
  /** Register a protocol handler. Defaults: runOnLimitedConnection true. */
  handle(protocol: string, handler: StreamHandler, options?: StreamHandlerOptions): Promise<void>
  /** Remove a protocol handler. */
  unhandle(protocol: string): Promise<void>
  /** Open a stream on an existing connection or to a peer/address (dialling if needed). Defaults:
   *  runOnLimitedConnection true. */
  newStream(
    target: Connection | PeerId | Multiaddr | string,
    protocol: string,
    options?: OpenStreamOptions
  ): Promise<Stream>
  /** Open connections, to one peer or to all. */
  connections(peer?: PeerId): Connection[]
  /** Close every connection to a peer. */
  hangUp(peer: PeerId | Multiaddr, options?: AbortOptions): Promise<void>
  /** Addresses other peers report seeing us at (identify `observedAddr`, direct connections only),
   *  most recently reported first. Loopback and private addresses are included. */
  observedAddrs(): ObservedAddr[]
  /** Listen to an event; returns a function that removes the listener. */
  on<K extends HandleEventName>(event: K, listener: (detail: Libp2pHandleEvents[K]) => void): () => void
  /** Resolve with the next event matching `filter`; rejects when `signal` aborts. */
  once<K extends HandleEventName>(
    event: K,
    filter?: (detail: Libp2pHandleEvents[K]) => boolean,
    options?: AbortOptions
  ): Promise<Libp2pHandleEvents[K]>
  /** Stop the node: close every connection and listener. Idempotent. */
  stop(): Promise<void>
}

/** Classify a connection by its remote address. */
export function connectionKind(connection: Connection): ConnectionKind {
  const addr = connection.remoteAddr.toString()
  if (addr.includes('/p2p-circuit')) return 'relay'
  if (addr.includes('/quic-v1')) return 'quic'
  if (addr.includes('/tcp/')) return 'tcp'
  return 'other'
}

/**
 * Who is behind a connection, for per-source admission limits (SPEC.md §5.5): the remote IPv4
 * address, or the /64 of an IPv6 one (one subscriber usually holds a whole /64); for a relayed
 * connection, the relay's PeerId (the relay is the choke point, and its peers' keys cost nothing).
 * On loopback, where every local process shares 127.0.0.1 (tests, `npm start`), the remote libp2p
 * PeerId is added: many honest nodes there are not one source.
 */
export function admissionSource(connection: Pick<Connection, 'remoteAddr' | 'remotePeer'>): string {
  const addr = connection.remoteAddr.toString()
  if (addr.includes('/p2p-circuit')) {
    const relay = /\/p2p\/([^/]+)\/p2p-circuit/.exec(addr)?.[1]
    return `relay/${relay ?? addr.slice(0, addr.indexOf('/p2p-circuit'))}`
  }
  const m = /^\/(ip4|ip6)\/([^/]+)/.exec(addr)
  if (m === null) return `peer/${connection.remotePeer.toString()}`
  let ip = m[2] as string
  let v6 = m[1] === 'ip6'
  if (v6 && ip.toLowerCase().startsWith('::ffff:') && ip.includes('.')) {
    ip = ip.slice(7)
    v6 = false
  }
  if ((!v6 && ip.startsWith('127.')) || (v6 && (ip === '::1' || ip === '0:0:0:0:0:0:0:1'))) return `${ip}/${connection.remotePeer.toString()}`
  return v6 ? ipv6Prefix64(ip) : ip
}

/** The /64 prefix of an IPv6 address, e.g. `2001:db8:0:1::/64`; the address itself if it does not parse. */
export function ipv6Prefix64(ip: string): string {
  const parts = ip.split('::')
  if (parts.length > 2) return ip
  const head = parts[0] === '' || parts[0] === undefined ? [] : parts[0].split(':')
  const tail = parts.length === 1 || parts[1] === '' || parts[1] === undefined ? [] : parts[1].split(':')
  const fill = parts.length === 2 ? 8 - head.length - tail.length : 0
  if (fill < 0) return ip
  const groups = [...head, ...Array<string>(fill).fill('0'), ...tail]
  const first = groups.slice(0, 4).map((g) => parseInt(g, 16))
  if (first.length < 4 || first.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) return ip
  return `${first.map((g) => g.toString(16)).join(':')}::/64`
}

/** True when a relay limits this connection (data or time) — libp2p's "limited" connection. */
export function isLimitedConnection(connection: Connection): boolean {
  return connection.limits != null
}

/** A fresh Ed25519 key for the libp2p transport identity. */
export function generateTransportKey(): Promise<Ed25519PrivateKey> {
  return generateKeyPair('Ed25519')
}

function isQuicAddr(addr: string): boolean {
  return addr.includes('/quic-v1') && !addr.includes('/p2p-circuit')
}
function isTcpAddr(addr: string): boolean {
  return addr.includes('/tcp/') && !addr.includes('/p2p-circuit') && !addr.includes('/ws')
}
function stripP2p(addr: Multiaddr): Multiaddr {
  const s = addr.toString()
  const i = s.indexOf('/p2p/')
  return i === -1 ? addr : multiaddr(s.slice(0, i))
}

/** Create and start a libp2p node with our defaults (see the top of this file). */
export async function createLibp2pNode(options: Libp2pNodeOptions = {}): Promise<Libp2pHandle> {
  const useQuic = options.quic ?? true
  const useTcp = options.tcp ?? true
  if (!useQuic && !useTcp) throw new RangeError('at least one of quic and tcp must be enabled')

  const listen = (options.listen ?? [...DEFAULT_LISTEN]).filter(
    (a) => (useQuic || !isQuicAddr(a)) && (useTcp || !isTcpAddr(a))
  )

  const transports: NonNullable<Libp2pOptions<Libp2pServices>['transports']> = []
  if (useQuic) transports.push(quic())
  if (useTcp) transports.push(tcp())
  transports.push(circuitRelayTransport())

  const services: ServiceFactoryMap<Libp2pServices> = {
    identify: identify(),
    identifyPush: identifyPush(),
    ping: ping(),
    dcutr: dcutr(),
    autonat: autoNAT()
  }
  if (options.relayServer !== undefined && options.relayServer !== false) {
    const limits = { ...DEFAULT_RELAY_SERVER, ...(options.relayServer === true ? {} : options.relayServer) }
    services.relay = circuitRelayServer({
      hopTimeout: limits.hopTimeout,
      reservations: {
        maxReservations: limits.maxReservations,
        reservationTtl: limits.reservationTtl,
        applyDefaultLimit: true,
        defaultDurationLimit: limits.durationLimit,
        defaultDataLimit: limits.dataLimit
      }
    })
  }

  const node: Libp2pNode = await createLibp2p<Libp2pServices>({
    ...(options.privateKey !== undefined ? { privateKey: options.privateKey } : {}),
    addresses: {
      listen,
      ...(options.announce !== undefined ? { announce: options.announce } : {})
    },
    transports,
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: {
      allow: [...DEFAULT_ALLOW, ...(options.allow ?? [])],
      ...(options.dialTimeout !== undefined ? { dialTimeout: options.dialTimeout } : {})
    },
    connectionMonitor: { enabled: options.connectionMonitor ?? false },
    services
  })

  const events = new HandleEmitter()
  const observed = new Map<string, { addr: Multiaddr; byPeer: Map<string, { peer: PeerId; at: number }> }>()
  // Latest observed address per reporting peer, so a peer's new report replaces its old one.
  const latestByPeer = new Map<string, string>()

  const forward = <K extends HandleEventName>(name: K) => (evt: CustomEvent<Libp2pHandleEvents[K]>) =>
    events.emit(name, evt.detail)
  node.addEventListener('connection:open', forward('connection:open'))
  node.addEventListener('connection:close', forward('connection:close'))
  node.addEventListener('peer:connect', forward('peer:connect'))
  node.addEventListener('peer:disconnect', forward('peer:disconnect'))
  node.addEventListener('self:peer:update', () => events.emit('self:addresses', node.getMultiaddrs()))
  node.addEventListener('peer:identify', (evt) => {
    const result = evt.detail
    events.emit('peer:identify', result)
    const seen = result.observedAddr
    // A relayed connection's remote sees the relay, not us: not a reflection of our address.
    if (seen == null || connectionKind(result.connection) === 'relay') return
    if (seen.toString().includes('/p2p-circuit')) return
    const addr = stripP2p(seen)
    const key = addr.toString()
    const reporter = result.peerId.toString()
    const previous = latestByPeer.get(reporter)
    if (previous !== undefined && previous !== key) {
      const entry = observed.get(previous)
      entry?.byPeer.delete(reporter)
      if (entry?.byPeer.size === 0) observed.delete(previous)
    }
    latestByPeer.set(reporter, key)
    const entry = observed.get(key) ?? { addr, byPeer: new Map() }
    entry.byPeer.set(reporter, { peer: result.peerId, at: Date.now() })
    observed.set(key, entry)
    events.emit('observed-addr', toObserved(entry))
  })
  node.addEventListener('peer:disconnect', (evt) => {
    // Forget reports from peers we no longer talk to.
    const reporter = evt.detail.toString()
    const key = latestByPeer.get(reporter)
    if (key === undefined) return
    latestByPeer.delete(reporter)
    const entry = observed.get(key)
    entry?.byPeer.delete(reporter)
    if (entry?.byPeer.size === 0) observed.delete(key)
  })

  let stopping: Promise<void> | undefined

  const handle: Libp2pHandle = {
    node,
    peerId: node.peerId,
    multiaddrs: () => node.getMultiaddrs(),
    dial: (target, opts) => node.dial(typeof target === 'string' ? multiaddr(target) : target, opts),
    handle: (protocol, handler, opts) => node.handle(protocol, handler, { runOnLimitedConnection: true, ...opts }),
    unhandle: (protocol) => node.unhandle(protocol),
    newStream: async (target, protocol, opts) => {
      const streamOptions: OpenStreamOptions = { runOnLimitedConnection: true, ...opts }
      if (typeof target === 'string') return node.dialProtocol(multiaddr(target), protocol, streamOptions)
      if (isMultiaddr(target) || isPeerId(target)) return node.dialProtocol(target, protocol, streamOptions)
      return target.newStream(protocol, streamOptions)
    },
    connections: (peer) => node.getConnections(peer),
    hangUp: (peer, opts) => node.hangUp(peer, opts),
    observedAddrs: () =>
      [...observed.values()].map(toObserved).sort((a, b) => b.lastSeen - a.lastSeen),
    on: (event, listener) => events.on(event, listener),
    once: (event, filter, opts) => events.once(event, filter, opts),
    stop: () => {
      stopping ??= Promise.resolve(node.stop())
      return stopping
    }
  }
  return handle
}

function toObserved(entry: { addr: Multiaddr; byPeer: Map<string, { peer: PeerId; at: number }> }): ObservedAddr {
  let lastSeen = 0
  const reportedBy: PeerId[] = []
  for (const { peer, at } of entry.byPeer.values()) {
    reportedBy.push(peer)
    if (at > lastSeen) lastSeen = at
  }
  return { addr: entry.addr, reportedBy, lastSeen }
}

/** A minimal typed emitter (listener errors are reported, never thrown into libp2p). */
class HandleEmitter {
  private readonly target = new EventTarget()

  on<K extends HandleEventName>(type: K, listener: (detail: Libp2pHandleEvents[K]) => void): () => void {
    const wrapped = (e: Event): void => {
      try {
        listener((e as CustomEvent<Libp2pHandleEvents[K]>).detail)
      } catch (err) {
        console.error(`libp2p handle: listener for ${type} threw`, err)
      }
    }
    this.target.addEventListener(type, wrapped)
    return () => this.target.removeEventListener(type, wrapped)
  }

  once<K extends HandleEventName>(
    type: K,
    filter: (detail: Libp2pHandleEvents[K]) => boolean = () => true,
    options: AbortOptions = {}
  ): Promise<Libp2pHandleEvents[K]> {
    const { signal } = options
    return new Promise((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(signal.reason)
        return
      }
      const onAbort = (): void => {
        off()
        reject(signal?.reason)
      }
      const off = this.on(type, (detail) => {
        if (!filter(detail)) return
        off()
        signal?.removeEventListener('abort', onAbort)
        resolve(detail)
      })
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  emit<K extends HandleEventName>(type: K, detail: Libp2pHandleEvents[K]): void {
    this.target.dispatchEvent(new CustomEvent(type, { detail }))
  }
}
