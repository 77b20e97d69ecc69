// Libp2pTransport: the default Transport. js-libp2p carries the bytes (QUIC first, TCP + Noise + yamux
// as fallback, circuit-relay-v2 for peers behind NAT, identify for address reflection); the
// post-quantum channel of pq-links.ts authenticates ML-DSA identities and seals every frame on top.
import type { Connection, Ed25519PrivateKey, Stream } from '@libp2p/interface'
import { createVerifier } from '@saorsa-gossip/identity'
import { TypedEventEmitter } from '@saorsa-gossip/types'
import type { PeerId, Signer } from '@saorsa-gossip/types'
import { admissionSource, createLibp2pNode } from './libp2p-node.js'
import type { Libp2pHandle, Libp2pNodeOptions } from './libp2p-node.js'
import { abortStream, closeStream, readFrames, writeFrame } from './libp2p-streams.js'
import { PROTOCOLS } from './outer.js'
import type { FrameStream, OuterConnection, ProtocolId } from './outer.js'
import { sharedDial } from './dial.js'
import { PqLinks } from './pq-links.js'
import type { PqLinksInit } from './pq-links.js'
import type { Channel, DialOptions, SendOptions, Transport, TransportEvents, TransportStats } from './transport.js'

/** Settings of a Libp2pTransport: the PQ channel's and the libp2p node's (all optional). */
export interface Libp2pTransportInit extends PqLinksInit {
  /** Multiaddrs to listen on (default: 127.0.0.1, QUIC and TCP, random ports). `/p2p-circuit` asks
   *  for a reservation on any connected relay (the `relay` role) and listens through it. */
  listen?: string[]
  /** Addresses to announce instead of the listen addresses. */
  announce?: string[]
  /** QUIC transport (default true). */
  quic?: boolean
  /** TCP + Noise + yamux (default true). */
  tcp?: boolean
  /** Serve as a circuit-relay-v2 relay for other peers (the `relay` role; default false). */
  relayServer?: boolean
  /** The libp2p (Ed25519) transport key; a fresh one per start when absent. It is bound to the ML-DSA
   *  identity inside every handshake, so it need not be persistent. */
  transportKey?: Ed25519PrivateKey
  /** Dial timeout in ms (default 10 s). */
  dialTimeoutMs?: number
}

/** Wraps a libp2p stream as a FrameStream (u32 length-prefixed frames, SPEC.md §5.1). */
function frameStream(stream: Stream): FrameStream {
  return {
    write: (frame, options = {}) =>
      writeFrame(stream, frame, options.signal === undefined ? { maxFrameBytes: frame.length } : { maxFrameBytes: frame.length, signal: options.signal }),
    frames: (limits) => readFrames(stream, typeof limits === 'number' ? { maxFrameBytes: limits } : { limits }),
    close: async () => {
      await closeStream(stream)
    },
    abort: (reason) => abortStream(stream, reason)
  }
}

/** The PQ channel's view of one libp2p connection. */
class Libp2pOuter implements OuterConnection {
  readonly id: string
  readonly localTransportId: Uint8Array
  readonly remoteTransportId: Uint8Array
  readonly remoteAddr: string
  readonly outbound: boolean
  readonly source: string
  constructor(
    private readonly handle: Libp2pHandle,
    readonly connection: Connection
  ) {
    this.id = connection.id
    this.localTransportId = handle.peerId.toMultihash().bytes
    this.remoteTransportId = connection.remotePeer.toMultihash().bytes
    this.remoteAddr = connection.remoteAddr.toString()
    this.outbound = connection.direction === 'outbound'
    this.source = admissionSource(connection)
  }
  async openStream(protocol: ProtocolId, options: { signal?: AbortSignal } = {}): Promise<FrameStream> {
    // Our first write follows at once on every stream (M1, or the session id), so the protocol name
    // travels with it instead of costing a round trip of its own (no gain on loopback; one RTT per
    // stream on a real network).
    const opts = { negotiateFully: false, ...(options.signal === undefined ? {} : { signal: options.signal }) }
    const s = await this.handle.newStream(this.connection, protocol, opts)
    return frameStream(s)
  }
  async close(): Promise<void> {
    await this.connection.close().catch(() => this.connection.abort(new Error('close failed')))
  }
  abort(reason: Error): void {
    this.connection.abort(reason)
  }
}

export class Libp2pTransport extends TypedEventEmitter<TransportEvents> implements Transport {
  readonly peerId: PeerId
  readonly #init: Libp2pTransportInit
  readonly #links: PqLinks
  readonly #outers = new Map<string, Libp2pOuter>()
  #handle: Libp2pHandle | undefined
  #offs: Array<() => void> = []

  constructor(components: { identity: Signer }, init: Libp2pTransportInit = {}) {
    super()
    this.peerId = components.identity.peerId
    this.#init = init
    this.#links = new PqLinks({ identity: components.identity, verifier: createVerifier(init.backend), events: this }, init)
  }

  /** The libp2p node (after start), for diagnostics and tests. */
  get libp2p(): Libp2pHandle | undefined {
    return this.#handle
  }

  #outer(conn: Connection): Libp2pOuter {
    let o = this.#outers.get(conn.id)
    if (o === undefined) {
      o = new Libp2pOuter(this.#handle as Libp2pHandle, conn)
      this.#outers.set(conn.id, o)
    }
    return o
  }

  async start(): Promise<void> {
    if (this.#handle !== undefined) return
    const i = this.#init
    const opts: Libp2pNodeOptions = {}
    if (i.listen !== undefined) opts.listen = i.listen
    if (i.announce !== undefined) opts.announce = i.announce
    if (i.quic !== undefined) opts.quic = i.quic
    if (i.tcp !== undefined) opts.tcp = i.tcp
    if (i.relayServer !== undefined) opts.relayServer = i.relayServer
    if (i.transportKey !== undefined) opts.privateKey = i.transportKey
    if (i.dialTimeoutMs !== undefined) opts.dialTimeout = i.dialTimeoutMs
    const handle = await createLibp2pNode(opts)
    this.#handle = handle
    this.#links.start()
    for (const protocol of Object.values(PROTOCOLS)) {
      await handle.handle(
        protocol,
        (stream: Stream, connection: Connection) => {
          // A connection that closed before its first stream was handled never gets a map entry.
          if (connection.status !== 'open') {
            abortStream(stream, new Error('connection closing'))
            return
          }
          this.#links.onInboundStream(this.#outer(connection), protocol, frameStream(stream))
        },
        { runOnLimitedConnection: true, maxInboundStreams: protocol === PROTOCOLS.handshake ? 4 : 2 }
      )
    }
    this.#offs.push(
      handle.on('self:addresses', () => this.emit('addresses', { addrs: this.listenAddrs() })),
      handle.on('connection:close', (conn) => {
        const o = this.#outers.get(conn.id)
        if (o === undefined) return
        this.#outers.delete(conn.id)
        this.#links.onConnectionClosed(o)
      })
    )
  }

  async stop(): Promise<void> {
    const h = this.#handle
    if (h === undefined) return
    this.#handle = undefined
    for (const off of this.#offs) off()
    this.#offs = []
    this.#links.stop()
    this.#outers.clear()
    await h.stop()
  }

  listenAddrs(): string[] {
    return this.#handle?.multiaddrs().map(String) ?? []
  }

  observedAddrs(): string[] {
    return this.#handle?.observedAddrs().map((o) => o.addr.toString()) ?? []
  }

  /** Concurrent dials to one address share one handshake. */
  readonly #dialing = new Map<string, Promise<PeerId>>()

  dial(addr: string, options: DialOptions = {}): Promise<PeerId> {
    return sharedDial(this.#dialing, addr, options, () => this.#dial(addr, options))
  }

  async #dial(addr: string, options: DialOptions): Promise<PeerId> {
    const h = this.#handle
    if (h === undefined) throw new Error('transport not started')
    const conn = await h.dial(addr, options.signal === undefined ? {} : { signal: options.signal })
    const outer = this.#outer(conn)
    const existing = this.#links.peerOn(outer.remoteTransportId)
    if (existing !== undefined) return existing // sharedDial checks expectedPeer
    return this.#links.connect(outer, options)
  }

  send(peer: PeerId, channel: Channel, bytes: Uint8Array, options?: SendOptions): Promise<void> {
    return this.#links.send(peer, channel, bytes, options)
  }

  peers(): PeerId[] {
    return this.#links.peers()
  }

  disconnect(peer: PeerId): Promise<void> {
    return this.#links.disconnect(peer)
  }

  stats(): TransportStats {
    return this.#links.stats()
  }
}

/** Raw outer connection of a libp2p node to `addr`, for tests that drive the PQ channel by hand. */
export async function rawLibp2pConnection(handle: Libp2pHandle, addr: string): Promise<OuterConnection> {
  return new Libp2pOuter(handle, await handle.dial(addr))
}

