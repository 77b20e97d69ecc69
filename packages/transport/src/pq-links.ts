// The post-quantum channel over any outer transport (SPEC.md §5): runs the handshake on new
// connections, opens/accepts one sealed stream per channel, keeps bounded per-peer send queues, and
// turns every protocol violation into a counted reason and a closed link — never an exception out of
// the event loop. Libp2pTransport and MemoryTransport are thin shells around this class.
import type { CryptoBackend } from '@saorsa-gossip/identity'
import { AbortError, MemoryMetrics, silentLogger, toHex } from '@saorsa-gossip/types'
import type { Logger, Metrics, PeerId, Signer, TypedEventEmitter, Verifier } from '@saorsa-gossip/types'
import { FrameError, FrameOpener, FrameSealer, MAX_MESSAGES_PER_FRAME, maxFrameBodyBytes, MESSAGE_OVERHEAD_BYTES } from './frames.js'
import { HandshakeError, HandshakeInitiator, HandshakeResponder, MAX_HANDSHAKE_MESSAGE_BYTES } from './handshake.js'
import type { Session } from './handshake.js'
import { FrameTooLargeError, PROTOCOLS } from './outer.js'
import type { FrameStream, OuterConnection, ProtocolId } from './outer.js'
import { QueueClosedError, SendQueue } from './send-queue.js'
import { CHANNELS, DEFAULT_MAX_FRAME_BYTES } from './transport.js'
import type { Channel, DialOptions, SendOptions, TransportEvents, TransportStats } from './transport.js'

/** Settings of the PQ channel; every field optional. */
export interface PqLinksInit {
  /** Largest plaintext frame per channel (default `DEFAULT_MAX_FRAME_BYTES`). */
  maxFrameBytes?: Partial<Record<Channel, number>>
  /** Frames queued per peer and channel before `send` waits (default 1024). */
  queueFrames?: number
  /** Bytes queued per peer and channel before `send` waits (default 16 MiB). */
  queueBytes?: number
  /** Time allowed for the whole handshake, and for channel streams to arrive after it (default 10 s). */
  handshakeTimeoutMs?: number
  /** Inbound handshakes allowed at once; more are refused as `handshake:busy` (default 64). Each costs
   *  an X-Wing encapsulation and an ML-DSA signature, so this bounds the CPU a flood can take. */
  maxPendingHandshakes?: number
  /** Time an inbound handshake stream may stay silent before M1 (default 2 s). */
  firstMessageTimeoutMs?: number
  backend?: CryptoBackend
  metrics?: Metrics
  logger?: Logger
}

/** What PqLinks needs from its owner. */
export interface PqLinksComponents {
  identity: Signer
  verifier: Verifier
  events: TypedEventEmitter<TransportEvents>
}

interface Link {
  readonly peer: PeerId
  readonly conn: OuterConnection
  readonly session: Session
  readonly sessionKey: string
  /** Who initiated this link's handshake (for the duplicate tie-break). */
  readonly initiator: PeerId
  readonly streams: Map<Channel, FrameStream>
  readonly streamWaiters: Map<Channel, Array<(s: FrameStream) => void>>
  readonly queues: Map<Channel, SendQueue>
  announced: boolean
  closed: boolean
}

const CHANNEL_OF: Record<string, Channel> = {
  [PROTOCOLS.membership]: 'membership',
  [PROTOCOLS.pubsub]: 'pubsub',
  [PROTOCOLS.bulk]: 'bulk'
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new HandshakeError(`${what} timed out after ${ms} ms`, 'handshake:timeout')), ms)
    const onAbort = (): void => reject(new AbortError(`${what} aborted`, { cause: signal?.reason }))
    signal?.addEventListener('abort', onAbort, { once: true })
    p.then(resolve, reject).finally(() => {
      clearTimeout(t)
      signal?.removeEventListener('abort', onAbort)
    })
  })
}

/** True for a length prefix above the stream's limit. */
function isFrameTooLarge(e: unknown): e is FrameTooLargeError {
  return e instanceof FrameTooLargeError
}

/** Reads exactly the next frame of `it`, or fails when the stream ends first. */
async function nextFrame(it: AsyncIterator<Uint8Array>, what: string): Promise<Uint8Array> {
  let r: IteratorResult<Uint8Array>
  try {
    r = await it.next()
  } catch (e) {
    if (isFrameTooLarge(e)) throw new HandshakeError(`${what}: ${e.message}`, 'handshake:oversize', { cause: e })
    throw e
  }
  if (r.done === true) throw new HandshakeError(`stream closed before ${what}`, 'handshake:closed')
  return r.value
}

export class PqLinks {
  readonly #c: PqLinksComponents
  readonly #maxFrame: Record<Channel, number>
  readonly #queueFrames: number
  readonly #queueBytes: number
  readonly #timeoutMs: number
  readonly #backend: CryptoBackend | undefined
  readonly #metrics: Metrics
  readonly #log: Logger
  readonly #stats = { framesSent: 0, framesReceived: 0, bytesSent: 0, bytesReceived: 0 }
  readonly #rejected = new Map<string, number>()
  /** The live link of each peer. */
  readonly #links = new Map<PeerId, Link>()
  /** Links by session (transcript hash), for attaching inbound channel streams. */
  readonly #bySession = new Map<string, Link>()
  /** Inbound handshakes in progress (bounded by `maxPendingHandshakes`), and their connections. */
  #handshaking = 0
  readonly #handshakingConns = new Set<string>()
  readonly #maxHandshakes: number
  readonly #m1TimeoutMs: number
  /** Sessions recently dropped (bounded), so their late channel streams are closed without blame. */
  readonly #retired = new Set<string>()
  #stopped = false

  constructor(components: PqLinksComponents, init: PqLinksInit = {}) {
    this.#c = components
    this.#maxFrame = { ...DEFAULT_MAX_FRAME_BYTES, ...init.maxFrameBytes }
    this.#queueFrames = init.queueFrames ?? 1024
    this.#queueBytes = init.queueBytes ?? 16 * 1024 * 1024
    this.#timeoutMs = init.handshakeTimeoutMs ?? 10_000
    this.#maxHandshakes = init.maxPendingHandshakes ?? 64
    this.#m1TimeoutMs = Math.min(this.#timeoutMs, init.firstMessageTimeoutMs ?? 2_000)
    this.#backend = init.backend
    this.#metrics = init.metrics ?? new MemoryMetrics()
    this.#log = (init.logger ?? silentLogger).child({ component: 'saorsa:transport' })
  }

  get maxFrameBytes(): Readonly<Record<Channel, number>> {
    return this.#maxFrame
  }

  /** Counts a rejection and tells listeners. */
  reject(reason: string, peer: PeerId | undefined, detail?: string): void {
    this.#rejected.set(reason, (this.#rejected.get(reason) ?? 0) + 1)
    this.#metrics.increment('saorsa_transport_rejected_total', 1, { reason })
    this.#log.debug({ reason, peer, detail }, 'rejected')
    this.#c.events.emit('peer:misbehaved', { peer, reason })
  }

  #params(conn: OuterConnection) {
    const p = {
      identity: this.#c.identity,
      verifier: this.#c.verifier,
      localTransportId: conn.localTransportId,
      remoteTransportId: conn.remoteTransportId
    }
    return this.#backend === undefined ? p : { ...p, backend: this.#backend }
  }

  /**
   * Outbound handshakes in progress, by remote transport id. While one runs, the loss of the peer's
   * other link is not announced yet: in a simultaneous dial the remote side may close the losing
   * link's connection before our winning handshake completes (the responder registers first).
   */
  readonly #outPending = new Map<string, number>()
  /** Disconnects held back until the outbound handshake to the same transport id ends. */
  readonly #heldDown = new Map<string, { peer: PeerId; reason: string }>()

  /** Runs the initiator side on a fresh outer connection; resolves to the authenticated peer. */
  async connect(conn: OuterConnection, options: { expectedPeer?: PeerId; signal?: AbortSignal } = {}): Promise<PeerId> {
    const tid = toHex(conn.remoteTransportId)
    this.#outPending.set(tid, (this.#outPending.get(tid) ?? 0) + 1)
    try {
      return await this.#connect(conn, options)
    } catch (e) {
      // In a simultaneous dial the other side may close this connection because it kept the link we
      // are not making: the peer is connected all the same.
      const other = this.peerOn(conn.remoteTransportId)
      if (other !== undefined && (options.expectedPeer === undefined || options.expectedPeer === other) && !this.#stopped) return other
      throw e
    } finally {
      const n = (this.#outPending.get(tid) ?? 1) - 1
      if (n > 0) this.#outPending.set(tid, n)
      else {
        this.#outPending.delete(tid)
        const held = this.#heldDown.get(tid)
        this.#heldDown.delete(tid)
        const live = held === undefined ? undefined : this.#links.get(held.peer)
        if (held !== undefined && (live === undefined || live.closed)) this.#c.events.emit('peer:disconnect', held)
      }
    }
  }

  async #connect(conn: OuterConnection, options: { expectedPeer?: PeerId; signal?: AbortSignal }): Promise<PeerId> {
    if (this.#stopped) throw new AbortError('transport stopped')
    const init = new HandshakeInitiator(this.#params(conn), options.expectedPeer)
    let hs: FrameStream | undefined
    let session: Session
    try {
      session = await withTimeout(
        (async () => {
          hs = await conn.openStream(PROTOCOLS.handshake, options.signal === undefined ? {} : { signal: options.signal })
          const it = hs.frames(MAX_HANDSHAKE_MESSAGE_BYTES)[Symbol.asyncIterator]()
          await hs.write(init.start())
          await hs.write(init.onM2(await nextFrame(it, 'handshake M2')))
          return init.onM4(await nextFrame(it, 'handshake M4'))
        })(),
        this.#timeoutMs,
        'handshake',
        options.signal
      )
    } catch (e) {
      hs?.abort(e instanceof Error ? e : new Error(String(e)))
      if (e instanceof HandshakeError) this.reject(e.reason, undefined, e.message)
      // The connection was dialed for this handshake: close it unless a live link shares it.
      this.#closeIfUnused(conn)
      throw e
    }
    await hs?.close().catch(() => undefined)
    const link = this.#register(conn, session, this.#c.identity.peerId)
    if (link.closed) return session.remotePeer // lost the duplicate tie-break: the peer is reached by the other link
    try {
      // The initiator opens the channel streams; the first frame of each names the session.
      await withTimeout(
        Promise.all(
          CHANNELS.map(async (c) => {
            const s = await conn.openStream(PROTOCOLS[c])
            await s.write(session.transcriptHash)
            this.#attach(link, c, s)
          })
        ),
        this.#timeoutMs,
        'channel streams',
        options.signal
      )
    } catch (e) {
      this.#drop(link, `channel streams failed: ${e instanceof Error ? e.message : String(e)}`)
      throw e
    }
    return session.remotePeer
  }

  /** Closes `conn` unless a live session uses it (libp2p shares one connection between links). */
  #closeIfUnused(conn: OuterConnection): void {
    for (const l of this.#bySession.values()) if (l.conn.id === conn.id) return
    void conn.close().catch(() => undefined)
  }

  /** Entry point for every inbound stream on one of our protocols. Never throws. */
  onInboundStream(conn: OuterConnection, protocol: ProtocolId, stream: FrameStream): void {
    const run = protocol === PROTOCOLS.handshake ? this.#respond(conn, stream) : this.#acceptChannel(conn, protocol, stream)
    run.catch((e: unknown) => {
      stream.abort(e instanceof Error ? e : new Error(String(e)))
      if (e instanceof HandshakeError) {
        this.reject(e.reason, undefined, e.message)
        // Other links on this connection are unaffected (SPEC §5.5).
        this.#closeIfUnused(conn)
      } else {
        this.#log.debug({ err: String(e), protocol }, 'inbound stream failed')
      }
    })
  }

  async #respond(conn: OuterConnection, hs: FrameStream): Promise<void> {
    if (this.#stopped) {
      hs.abort(new Error('transport stopped'))
      return
    }
    // Admission: one inbound handshake at a time per connection, and a global cap. A slot is held
    // only while the handshake is live, and M1 must come within `m1TimeoutMs`, so idle streams cannot
    // camp on the slots.
    if (this.#handshaking >= this.#maxHandshakes || this.#handshakingConns.has(conn.id)) {
      this.reject('handshake:busy', undefined, `${this.#handshaking} inbound handshakes in progress`)
      hs.abort(new Error('handshake refused: busy'))
      return
    }
    this.#handshaking++
    this.#handshakingConns.add(conn.id)
    try {
      await this.#respondInner(conn, hs)
    } finally {
      this.#handshaking--
      this.#handshakingConns.delete(conn.id)
    }
  }

  async #respondInner(conn: OuterConnection, hs: FrameStream): Promise<void> {
    const resp = new HandshakeResponder(this.#params(conn))
    const it = hs.frames(MAX_HANDSHAKE_MESSAGE_BYTES)[Symbol.asyncIterator]()
    const m1 = await withTimeout(nextFrame(it, 'handshake M1'), this.#m1TimeoutMs, 'handshake M1')
    const { m4, session } = await withTimeout(
      (async () => {
        await hs.write(resp.onM1(m1))
        return resp.onM3(await nextFrame(it, 'handshake M3'))
      })(),
      this.#timeoutMs,
      'handshake'
    )
    // One outer connection speaks for one identity: a second PQ identity on the same connection is a
    // Sybil attempt (each costs the attacker nothing but a fresh key), not a second peer.
    for (const l of this.#bySession.values()) {
      if (l.conn.id === conn.id && l.peer !== session.remotePeer) {
        throw new HandshakeError(`connection already carries ${l.peer}; refusing ${session.remotePeer}`, 'handshake:identity-switch')
      }
    }
    if (this.#stopped) throw new AbortError('transport stopped')
    this.#register(conn, session, session.remotePeer)
    await hs.write(m4)
    await hs.close().catch(() => undefined)
  }

  async #acceptChannel(conn: OuterConnection, protocol: ProtocolId, stream: FrameStream): Promise<void> {
    const channel = CHANNEL_OF[protocol]
    if (channel === undefined) throw new HandshakeError(`unknown protocol ${protocol}`, 'handshake:unexpected')
    // One reader per stream for its whole life: the session id, then the sealed frames.
    const frames = stream.frames(maxFrameBodyBytes(this.#maxFrame[channel]))[Symbol.asyncIterator]()
    let id: Uint8Array
    try {
      id = await withTimeout(nextFrame(frames, 'session id'), this.#timeoutMs, 'channel stream')
    } catch (e) {
      // A bad preamble costs the offender this stream only; other sessions on the connection live on.
      this.reject(e instanceof HandshakeError && e.reason === 'handshake:timeout' ? 'channel:timeout' : 'channel:bad-preamble', undefined, String(e))
      stream.abort(e instanceof Error ? e : new Error(String(e)))
      return
    }
    if (id.length !== 32) {
      this.reject('channel:bad-preamble', undefined, `session id of ${id.length} bytes`)
      stream.abort(new Error('bad session id'))
      return
    }
    const key = toHex(id)
    if (this.#retired.has(key)) {
      stream.abort(new Error('session closed'))
      return
    }
    // The responder registers a session before it sends M4, and the initiator opens channel streams
    // only after M4: a stream naming an unknown session is never a race, always a protocol error.
    const link = this.#bySession.get(key)
    if (link === undefined || link.conn.id !== conn.id) {
      this.reject('channel:unknown-session', undefined, `${channel} stream names no session of this connection`)
      stream.abort(new Error('unknown session'))
      return
    }
    this.#attach(link, channel, stream, frames)
  }

  #register(conn: OuterConnection, session: Session, initiator: PeerId): Link {
    if (this.#stopped) throw new AbortError('transport stopped')
    const link: Link = {
      peer: session.remotePeer,
      conn,
      session,
      sessionKey: toHex(session.transcriptHash),
      initiator,
      streams: new Map(),
      streamWaiters: new Map(),
      queues: new Map(CHANNELS.map((c) => [c, new SendQueue(this.#queueFrames, this.#queueBytes)])),
      announced: false,
      closed: false
    }
    const old = this.#links.get(link.peer)
    let replaced = false
    if (old !== undefined && !old.closed) {
      // Two links to one peer (simultaneous dials): both sides keep the same one — the newer when the
      // same side initiated both, else the one initiated by the lower PeerId.
      const keepNew = old.initiator === link.initiator || link.initiator < old.initiator
      if (!keepNew) {
        this.#drop(link, 'duplicate link')
        return link
      }
      // Register the new link first, so dropping the old one keeps a connection they share. The
      // peer stays connected throughout: no peer:disconnect / peer:connect for the swap.
      this.#links.set(link.peer, link)
      this.#bySession.set(link.sessionKey, link)
      replaced = old.announced
      this.#drop(old, 'replaced by a newer link', true, false)
    }
    this.#links.set(link.peer, link)
    this.#bySession.set(link.sessionKey, link)
    for (const c of CHANNELS) void this.#writeLoop(link, c)
    if (initiator !== this.#c.identity.peerId) {
      // The initiator must open all channel streams promptly after the handshake.
      const t = setTimeout(() => {
        if (!link.closed && link.streams.size < CHANNELS.length) {
          this.reject('handshake:timeout', link.peer, 'channel streams did not arrive')
          this.#drop(link, 'channel streams did not arrive')
        }
      }, this.#timeoutMs)
      ;(t as { unref?: () => void }).unref?.()
    }
    link.announced = true
    // A link lost while this one was being made was never announced as a disconnect: the peer stays up.
    if (this.#heldDown.get(toHex(conn.remoteTransportId))?.peer === link.peer) {
      this.#heldDown.delete(toHex(conn.remoteTransportId))
      replaced = true
    }
    if (!replaced) this.#c.events.emit('peer:connect', { peer: link.peer, addr: conn.remoteAddr, outbound: conn.outbound })
    return link
  }

  #attach(link: Link, channel: Channel, stream: FrameStream, frames?: AsyncIterator<Uint8Array>): void {
    if (link.closed || link.streams.has(channel)) {
      stream.abort(new Error(link.closed ? 'link closed' : 'duplicate channel stream'))
      return
    }
    link.streams.set(channel, stream)
    for (const w of link.streamWaiters.get(channel) ?? []) w(stream)
    link.streamWaiters.delete(channel)
    void this.#readLoop(link, channel, frames ?? stream.frames(maxFrameBodyBytes(this.#maxFrame[channel]))[Symbol.asyncIterator]())
  }

  #stream(link: Link, channel: Channel): Promise<FrameStream> {
    const s = link.streams.get(channel)
    if (s !== undefined) return Promise.resolve(s)
    return new Promise((resolve) => {
      const ws = link.streamWaiters.get(channel) ?? []
      ws.push(resolve)
      link.streamWaiters.set(channel, ws)
    })
  }

  async #readLoop(link: Link, channel: Channel, frames: AsyncIterator<Uint8Array>): Promise<void> {
    const opener = new FrameOpener(link.session.keys[channel].recv, channel, this.#maxFrame[channel], this.#backend)
    try {
      for (;;) {
        const r = await frames.next()
        if (link.closed) return
        if (r.done === true) break
        for (const bytes of opener.open(r.value)) {
          this.#stats.framesReceived++
          this.#stats.bytesReceived += bytes.length
          this.#c.events.emit('message', { peer: link.peer, channel, bytes })
          if (link.closed) return
        }
      }
      this.#drop(link, `${channel} stream closed by peer`)
    } catch (e) {
      if (link.closed) return
      if (e instanceof FrameError) this.reject(e.reason, link.peer, e.message)
      else if (isFrameTooLarge(e)) this.reject('frame:oversize', link.peer, e.message)
      this.#drop(link, e instanceof Error ? e.message : String(e))
    }
  }

  async #writeLoop(link: Link, channel: Channel): Promise<void> {
    const queue = link.queues.get(channel) as SendQueue
    const sealer = new FrameSealer(link.session.keys[channel].send, channel, this.#backend)
    try {
      const stream = await this.#stream(link, channel)
      while (!link.closed) {
        const first = await queue.take()
        // Let senders running in this same tick add to the burst (a few microtasks, no timer, so an
        // idle link adds no latency), then seal what is queued as one frame within the channel's
        // limit: one AEAD operation and one write for up to 64 messages (measured: 1 KiB messages
        // over TCP went from 0.75x to ~1x of raw libp2p, over QUIC to ~2.5x; `npm run bench -- transport`).
        for (let i = 0; i < 8 && queue.length < MAX_MESSAGES_PER_FRAME; i++) await undefined
        const budget = this.#maxFrame[channel] - first.length - MESSAGE_OVERHEAD_BYTES * MAX_MESSAGES_PER_FRAME
        const rest = budget > 0 ? queue.takeAvailable(MAX_MESSAGES_PER_FRAME - 1, budget) : []
        const batch = rest.length === 0 ? [first] : [first, ...rest]
        await stream.write(sealer.seal(batch))
        this.#stats.framesSent += batch.length
        for (const b of batch) this.#stats.bytesSent += b.length
      }
    } catch (e) {
      if (!(e instanceof QueueClosedError)) this.#drop(link, `write failed: ${e instanceof Error ? e.message : String(e)}`)
    }
  }

  /** Queues `bytes` for `peer` on `channel` (see Transport.send). */
  async send(peer: PeerId, channel: Channel, bytes: Uint8Array, options: SendOptions = {}): Promise<void> {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array')
    const max = this.#maxFrame[channel]
    if (max === undefined) throw new RangeError(`unknown channel ${String(channel)}`)
    if (bytes.length > max) throw new RangeError(`frame of ${bytes.length} bytes exceeds the ${channel} limit of ${max}`)
    const link = this.#links.get(peer)
    if (link === undefined || link.closed) throw new NotConnectedError(peer)
    await (link.queues.get(channel) as SendQueue).put(bytes, options.signal)
  }

  /** The live link's peer for an outer connection's remote, if any (dial reuse). */
  peerOn(remoteTransportId: Uint8Array): PeerId | undefined {
    const id = toHex(remoteTransportId)
    for (const l of this.#links.values()) if (!l.closed && toHex(l.conn.remoteTransportId) === id) return l.peer
    return undefined
  }

  peers(): PeerId[] {
    return [...this.#links.values()].filter((l) => !l.closed).map((l) => l.peer)
  }

  /** Called by the outer transport when a connection closes. */
  onConnectionClosed(conn: OuterConnection): void {
    for (const l of [...this.#bySession.values()]) if (l.conn.id === conn.id) this.#drop(l, 'connection closed', false)
  }

  async disconnect(peer: PeerId): Promise<void> {
    const l = this.#links.get(peer)
    // Resolves once the outer connection is closed, so a dial right after never reuses it.
    if (l !== undefined) await this.#drop(l, 'disconnected locally')
  }

  #drop(link: Link, reason: string, closeConn = true, announce = true): Promise<void> {
    if (link.closed) return Promise.resolve()
    link.closed = true
    this.#bySession.delete(link.sessionKey)
    this.#retired.add(link.sessionKey)
    if (this.#retired.size > 1024) this.#retired.delete(this.#retired.values().next().value as string)
    for (const q of link.queues.values()) q.close(reason)
    for (const s of link.streams.values()) s.abort(new Error(reason))
    if (this.#links.get(link.peer) === link) this.#links.delete(link.peer)
    // Another live link may share this outer connection (libp2p reuses connections): keep it then.
    const shared = [...this.#bySession.values()].some((l) => l.conn.id === link.conn.id)
    const closing = closeConn && !shared ? link.conn.close().catch(() => undefined) : Promise.resolve()
    this.#log.debug({ peer: link.peer, reason }, 'link down')
    // Only when the peer has no live link left (a duplicate may have taken over meanwhile).
    const live = this.#links.get(link.peer)
    if (link.announced && announce && (live === undefined || live.closed)) {
      const tid = toHex(link.conn.remoteTransportId)
      if (this.#outPending.has(tid) && !this.#stopped) this.#heldDown.set(tid, { peer: link.peer, reason })
      else this.#c.events.emit('peer:disconnect', { peer: link.peer, reason })
    }
    return closing
  }

  /** Accepts links again after `stop()`. */
  start(): void {
    this.#stopped = false
  }

  stop(): void {
    this.#stopped = true
    for (const l of [...this.#bySession.values(), ...this.#links.values()]) this.#drop(l, 'transport stopped')
  }

  stats(): TransportStats {
    return {
      peers: this.peers().length,
      pendingHandshakes: this.#handshaking,
      sessions: this.#bySession.size,
      ...this.#stats,
      rejected: Object.fromEntries(this.#rejected)
    }
  }
}

/**
 * Runs `dial` for `addr` unless a dial to it is already in flight, in which case the caller shares
 * it; then checks the peer against `options.expectedPeer`. Used by both transports.
 */
export async function sharedDial(
  pending: Map<string, Promise<PeerId>>,
  addr: string,
  options: DialOptions,
  dial: () => Promise<PeerId>
): Promise<PeerId> {
  let p = pending.get(addr)
  if (p === undefined) {
    p = dial()
    pending.set(addr, p)
    void p.catch(() => undefined).finally(() => pending.delete(addr))
  }
  const peer = await p
  if (options.expectedPeer !== undefined && peer !== options.expectedPeer) {
    throw new Error(`peer at ${addr} is ${peer}, expected ${options.expectedPeer}`)
  }
  return peer
}

/** `send` to a peer with no live link. */
export class NotConnectedError extends Error {
  readonly peer: PeerId
  constructor(peer: PeerId) {
    super(`not connected to ${peer}`)
    this.name = 'NotConnectedError'
    this.peer = peer
  }
}
