// MemoryTransport: the Transport interface inside one process, for tests of the layers above. It runs
// the very same post-quantum channel (handshake, sealed frames, queues) as Libp2pTransport, over
// in-memory connections whose streams apply backpressure (a bounded unread buffer per direction).
import { createVerifier } from '@saorsa-gossip/identity'
import { TypedEventEmitter } from '@saorsa-gossip/types'
import type { PeerId, Signer } from '@saorsa-gossip/types'
import { BufferLimitError, FrameTooLargeError, PROTOCOLS } from './outer.js'
import type { FrameReadLimits, FrameStream, OuterConnection, ProtocolId } from './outer.js'
import { sharedDial } from './dial.js'
import { PqLinks } from './pq-links.js'
import type { PqLinksInit } from './pq-links.js'
import type { Channel, DialOptions, SendOptions, Transport, TransportEvents, TransportStats } from './transport.js'

/** Unread bytes a memory stream buffers per direction before `write` waits (default 1 MiB). */
export const MEMORY_STREAM_HIGH_WATER_BYTES = 1024 * 1024

class Pipe {
  readonly frames: Uint8Array[] = []
  bytes = 0
  ended = false
  error: Error | undefined
  /** The reader's live limits (its `maxBufferedBytes` is checked after each writer's turn). */
  limits: FrameReadLimits | undefined
  /** The other direction of the same stream (failed together, like an aborted stream). */
  sibling: Pipe | undefined
  #overCheck = false
  readerWake: (() => void) | undefined
  writerWakes: Array<() => void> = []
  wakeReader(): void {
    const w = this.readerWake
    this.readerWake = undefined
    w?.()
  }
  wakeWriters(): void {
    const ws = this.writerWakes
    this.writerWakes = []
    for (const w of ws) w()
  }
  fail(reason: Error): void {
    this.error ??= reason
    this.wakeReader()
    this.wakeWriters()
  }
  /** After a write: more unread than the reader's `maxBufferedBytes` at the end of this turn fails the
   *  pipe (as readFrames does on libp2p streams, with the same grace for the authenticating turn). */
  checkBuffered(): void {
    const cap = this.limits?.maxBufferedBytes
    if (cap === undefined || this.#overCheck || this.held() <= cap) return
    this.#overCheck = true
    setImmediate(() => {
      this.#overCheck = false
      const max = this.limits?.maxBufferedBytes
      const held = this.held()
      if (max === undefined || held <= max || this.error !== undefined) return
      this.frames.length = 0
      this.bytes = 0
      const err = new BufferLimitError(held, max)
      this.fail(err)
      this.sibling?.fail(err)
    })
  }
  /** Unread bytes, frame headers included (as on the wire). */
  held(): number {
    return this.bytes + 4 * this.frames.length
  }
}

class MemoryFrameStream implements FrameStream {
  constructor(
    private readonly out: Pipe,
    private readonly inp: Pipe,
    private readonly highWater: number
  ) {}

  async write(frame: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<void> {
    while (this.out.bytes > 0 && this.out.bytes + frame.length > this.highWater) {
      if (this.out.error !== undefined) throw this.out.error
      if (options.signal?.aborted === true) throw new Error('write aborted')
      await new Promise<void>((resolve) => this.out.writerWakes.push(resolve))
    }
    if (this.out.error !== undefined) throw this.out.error
    if (this.out.ended) throw new Error('stream closed')
    this.out.frames.push(frame.slice())
    this.out.bytes += frame.length
    this.out.checkBuffered()
    this.out.wakeReader()
  }

  async *frames(limits: number | FrameReadLimits): AsyncIterable<Uint8Array> {
    const p = this.inp
    const live: FrameReadLimits = typeof limits === 'number' ? { maxFrameBytes: limits } : limits
    p.limits = live
    p.checkBuffered()
    while (true) {
      if (p.error !== undefined) throw p.error
      const f = p.frames.shift()
      if (f !== undefined) {
        p.bytes -= f.length
        p.wakeWriters()
        if (f.length > live.maxFrameBytes) throw new FrameTooLargeError(f.length, live.maxFrameBytes)
        yield f
        continue
      }
      if (p.ended) return
      await new Promise<void>((resolve) => {
        p.readerWake = resolve
      })
    }
  }

  async close(): Promise<void> {
    this.out.ended = true
    this.out.wakeReader()
  }

  abort(reason: Error): void {
    for (const p of [this.out, this.inp]) p.fail(reason)
  }
}

/** A connected pair of memory frame streams (also handy for tests that speak the wire by hand). */
export function memoryStreamPair(highWater = MEMORY_STREAM_HIGH_WATER_BYTES): [FrameStream, FrameStream] {
  const ab = new Pipe()
  const ba = new Pipe()
  ab.sibling = ba
  ba.sibling = ab
  return [new MemoryFrameStream(ab, ba, highWater), new MemoryFrameStream(ba, ab, highWater)]
}

type InboundHandler = (conn: OuterConnection, protocol: ProtocolId, stream: FrameStream) => void

class MemoryConnection implements OuterConnection {
  peer: MemoryConnection | undefined
  closed = false
  readonly streams = new Set<FrameStream>()
  constructor(
    readonly id: string,
    readonly localTransportId: Uint8Array,
    readonly remoteTransportId: Uint8Array,
    readonly remoteAddr: string,
    readonly outbound: boolean,
    readonly onInbound: InboundHandler,
    readonly onClosed: (c: MemoryConnection) => void
  ) {}

  async openStream(protocol: ProtocolId): Promise<FrameStream> {
    const remote = this.peer
    if (this.closed || remote === undefined || remote.closed) throw new Error('connection closed')
    const [mine, theirs] = memoryStreamPair()
    this.streams.add(mine)
    remote.streams.add(theirs)
    // Deliver asynchronously, as a network would.
    queueMicrotask(() => remote.onInbound(remote, protocol, theirs))
    return mine
  }

  abort(): void {
    void this.close()
  }

  async close(): Promise<void> {
    for (const c of [this, this.peer]) {
      if (c === undefined || c.closed) continue
      c.closed = true
      for (const s of c.streams) s.abort(new Error('connection closed'))
      c.onClosed(c)
    }
  }
}

/** A process-local network: transports created from it can dial each other by address. */
export class MemoryNetwork {
  readonly #nodes = new Map<string, MemoryTransport>()
  #next = 0
  #conn = 0

  /** Creates a transport attached to this network (start it before use). */
  createTransport(components: { identity: Signer }, init: PqLinksInit = {}): MemoryTransport {
    return new MemoryTransport(this, `memory://${++this.#next}`, components, init)
  }

  /** @internal */
  register(addr: string, t: MemoryTransport | undefined): void {
    if (t === undefined) this.#nodes.delete(addr)
    else this.#nodes.set(addr, t)
  }

  /**
   * Opens an outer connection from `from` (a transport, or raw test code with its own transport id and
   * inbound handler) to the node at `addr`.
   * @internal
   */
  connect(from: { addr: string; transportId: Uint8Array; onInbound: InboundHandler; onClosed: (c: OuterConnection) => void }, addr: string): OuterConnection {
    const to = this.#nodes.get(addr)
    if (to === undefined) throw new Error(`no memory transport listening at ${addr}`)
    const id = `mem-${++this.#conn}`
    const local = new MemoryConnection(id, from.transportId, to.transportId, addr, true, from.onInbound, from.onClosed)
    const remote = new MemoryConnection(id, to.transportId, from.transportId, from.addr, false, (c, p, s) => to.inbound(c, p, s), (c) => to.closed(c))
    local.peer = remote
    remote.peer = local
    return local
  }
}

/** The Transport interface over a MemoryNetwork, with the full post-quantum channel. */
export class MemoryTransport extends TypedEventEmitter<TransportEvents> implements Transport {
  readonly peerId: PeerId
  readonly transportId: Uint8Array
  readonly #net: MemoryNetwork
  readonly #addr: string
  readonly #links: PqLinks
  readonly #conns = new Set<OuterConnection>()
  #started = false

  constructor(net: MemoryNetwork, addr: string, components: { identity: Signer }, init: PqLinksInit = {}) {
    super()
    this.#net = net
    this.#addr = addr
    this.peerId = components.identity.peerId
    this.transportId = new TextEncoder().encode(addr)
    this.#links = new PqLinks({ identity: components.identity, verifier: createVerifier(init.backend), events: this }, init)
  }

  async start(): Promise<void> {
    if (this.#started) return
    this.#started = true
    this.#links.start()
    this.#net.register(this.#addr, this)
  }

  async stop(): Promise<void> {
    if (!this.#started) return
    this.#started = false
    this.#net.register(this.#addr, undefined)
    this.#links.stop()
    for (const c of [...this.#conns]) await c.close()
  }

  listenAddrs(): string[] {
    return this.#started ? [this.#addr] : []
  }

  observedAddrs(): string[] {
    return this.listenAddrs()
  }

  /** Concurrent dials to one address share one handshake. */
  readonly #dialing = new Map<string, Promise<PeerId>>()

  dial(addr: string, options: DialOptions = {}): Promise<PeerId> {
    return sharedDial(this.#dialing, addr, options, () => this.#dial(addr, options))
  }

  async #dial(addr: string, options: DialOptions): Promise<PeerId> {
    if (!this.#started) throw new Error('transport not started')
    const to = new TextEncoder().encode(addr)
    const existing = this.#links.peerOn(to)
    if (existing !== undefined) return existing // sharedDial checks expectedPeer
    const conn = this.#net.connect(
      { addr: this.#addr, transportId: this.transportId, onInbound: (c, p, s) => this.inbound(c, p, s), onClosed: (c) => this.closed(c) },
      addr
    )
    this.#conns.add(conn)
    return this.#links.connect(conn, options)
  }

  /** @internal inbound stream from the network */
  inbound(conn: OuterConnection, protocol: ProtocolId, stream: FrameStream): void {
    if (!this.#started || !Object.values(PROTOCOLS).includes(protocol)) {
      stream.abort(new Error('protocol not supported'))
      return
    }
    this.#conns.add(conn)
    this.#links.onInboundStream(conn, protocol, stream)
  }

  /** @internal a connection closed */
  closed(conn: OuterConnection): void {
    this.#conns.delete(conn)
    this.#links.onConnectionClosed(conn)
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
