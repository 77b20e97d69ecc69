// The post-quantum channel over any outer transport (SPEC.md §5): runs the handshake on new
// connections, opens/accepts one sealed stream per channel, keeps bounded per-peer send queues, and
// turns every protocol violation into a counted reason and a closed link — never an exception out of
// the event loop. Libp2pTransport and MemoryTransport are thin shells around this class.
import type { CryptoBackend } from '@saorsa-gossip/identity'
import { AbortError, MemoryMetrics, silentLogger, toHex } from '@saorsa-gossip/types'
import type { Logger, Metrics, PeerId, Signer, TypedEventEmitter, Verifier } from '@saorsa-gossip/types'
import { FrameError, FrameOpener, FrameSealer, MAX_MESSAGES_PER_FRAME, maxFrameBodyBytes, MESSAGE_OVERHEAD_BYTES } from './frames.js'
import { HandshakeError, HandshakeInitiator, HandshakeResponder } from './handshake.js'
import type { Session } from './handshake.js'
import { HANDSHAKE_STALL_MS, HandshakeSlots, PREAMBLE_TIMEOUT_MS, PreambleWaiters, SESSION_ID_BYTES } from './admission.js'
import type { Slot } from './admission.js'
import { NotConnectedError } from './dial.js'
import { isBufferLimitError, PROTOCOLS } from './outer.js'
import type { FrameStream, OuterConnection, ProtocolId } from './outer.js'
import { asHandshakeError, handshakeLimits, isFrameTooLarge, nextFrame, preambleFailure, preambleLimits, readPreamble, withTimeout } from './preauth.js'
import { QueueClosedError, SendQueue } from './send-queue.js'
import { CHANNELS, DEFAULT_MAX_FRAME_BYTES } from './transport.js'
import type { Channel, SendOptions, TransportEvents, TransportStats } from './transport.js'

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
  /** Inbound handshakes at once (default 64, `MAX_PENDING_HANDSHAKES`). Each costs an X-Wing
   *  encapsulation and an ML-DSA signature, so this bounds the CPU a flood can take. When all are
   *  held, the oldest one waiting on its peer (from the source holding most) is dropped for a
   *  newcomer; only when none waits is the newcomer refused (`handshake:busy`). SPEC.md §5.5. */
  maxPendingHandshakes?: number
  /** Slots in use from which the per-source limit and the short stall budget apply (default half of
   *  `maxPendingHandshakes`: 32). */
  handshakePressureSlots?: number
  /** Slots one source (IP, IPv6 /64, relay; IP + PeerId on loopback) may hold under pressure
   *  (default 8, `MAX_HANDSHAKES_PER_SOURCE`). */
  maxHandshakesPerSource?: number
  /** Time an inbound handshake stream may stay silent before M1 (default 2 s). */
  firstMessageTimeoutMs?: number
  /** Time we wait for M3 after sending M2 (default 2 s, `HANDSHAKE_STALL_MS`). */
  stallTimeoutMs?: number
  /** Both waits under pressure (default 500 ms, `HANDSHAKE_STALL_UNDER_PRESSURE_MS`). */
  pressureStallTimeoutMs?: number
  /** Time an inbound channel stream may take to deliver its session id (default 2 s, `PREAMBLE_TIMEOUT_MS`). */
  preambleTimeoutMs?: number
  /** Inbound channel streams waiting for their session id at once; a newcomer beyond drops the
   *  oldest (`channel:evicted`; default 128, `MAX_PENDING_CHANNEL_STREAMS`). */
  maxPendingChannelStreams?: number
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
  /** Inbound handshake slots (SPEC.md §5.5), their streams' abort handles, and their connections
   *  (one inbound handshake per connection at a time). */
  readonly #slots: HandshakeSlots
  readonly #slotHolders = new Map<number, { conn: OuterConnection; evict: AbortController }>()
  readonly #handshakingConns = new Set<string>()
  /** Inbound channel streams still waiting for their session id (bounded, oldest dropped first). */
  readonly #preambles: PreambleWaiters<{ conn: OuterConnection; evict: AbortController }>
  readonly #preambleTimeoutMs: number
  /** Sessions recently dropped (bounded), so their late channel streams are closed without blame. */
  readonly #retired = new Set<string>()
  #stopped = false

  constructor(components: PqLinksComponents, init: PqLinksInit = {}) {
    this.#c = components
    this.#maxFrame = { ...DEFAULT_MAX_FRAME_BYTES, ...init.maxFrameBytes }
    this.#queueFrames = init.queueFrames ?? 1024
    this.#queueBytes = init.queueBytes ?? 16 * 1024 * 1024
    this.#timeoutMs = init.handshakeTimeoutMs ?? 10_000
    const slotInit: ConstructorParameters<typeof HandshakeSlots>[0] = {
      m1StallMs: Math.min(this.#timeoutMs, init.firstMessageTimeoutMs ?? HANDSHAKE_STALL_MS),
      m3StallMs: Math.min(this.#timeoutMs, init.stallTimeoutMs ?? HANDSHAKE_STALL_MS)
    }
    if (init.maxPendingHandshakes !== undefined) slotInit.max = init.maxPendingHandshakes
    if (init.handshakePressureSlots !== undefined) slotInit.pressure = init.handshakePressureSlots
    if (init.maxHandshakesPerSource !== undefined) slotInit.perSource = init.maxHandshakesPerSource
    if (init.pressureStallTimeoutMs !== undefined) slotInit.pressureStallMs = init.pressureStallTimeoutMs
    this.#slots = new HandshakeSlots(slotInit)
    this.#preambles = new PreambleWaiters(init.maxPendingChannelStreams)
    this.#preambleTimeoutMs = Math.min(this.#timeoutMs, init.preambleTimeoutMs ?? PREAMBLE_TIMEOUT_MS)
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
          const it = hs.frames(handshakeLimits())[Symbol.asyncIterator]()
          await hs.write(init.start())
          await hs.write(init.onM2(await nextFrame(it, 'handshake M2')))
          return init.onM4(await nextFrame(it, 'handshake M4'))
        })(),
        this.#timeoutMs,
        'handshake',
        options.signal
      )
    } catch (caught) {
      const e = asHandshakeError(caught, 'handshake')
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

  /** Drops `conn` unless a live session uses it (libp2p shares one connection between links). Not a
   *  graceful close: a failed or hostile peer gets no time to push more bytes at us. */
  #closeIfUnused(conn: OuterConnection, reason = 'handshake failed'): void {
    for (const l of this.#bySession.values()) if (l.conn.id === conn.id) return
    conn.abort(new Error(reason))
  }

  /** Entry point for every inbound stream on one of our protocols. Never throws. */
  onInboundStream(conn: OuterConnection, protocol: ProtocolId, stream: FrameStream): void {
    const run = protocol === PROTOCOLS.handshake ? this.#respond(conn, stream) : this.#acceptChannel(conn, protocol, stream)
    run.catch((caught: unknown) => {
      const e = protocol === PROTOCOLS.handshake ? asHandshakeError(caught, 'handshake') : caught
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
    // Admission (SPEC.md §5.5): one inbound handshake at a time per connection; slots bounded in total
    // and per source; a holder that makes us wait past its budget, or is the oldest waiter when a
    // newcomer finds every slot held, is dropped.
    const adm = this.#handshakingConns.has(conn.id) ? undefined : this.#slots.admit(conn.source ?? conn.remoteAddr, Date.now())
    for (const { slot, reason } of adm?.evict ?? []) {
      this.#slotHolders.get(slot.id)?.evict.abort(new HandshakeError(`handshake dropped (${reason}) to admit another`, reason))
    }
    if (adm?.type !== 'admit') {
      this.reject('handshake:busy', undefined, `${this.#slots.size} inbound handshakes in progress`)
      hs.abort(new Error('handshake refused: busy'))
      return
    }
    const slot = adm.slot
    const evict = new AbortController()
    this.#slotHolders.set(slot.id, { conn, evict })
    this.#handshakingConns.add(conn.id)
    this.#gauges()
    try {
      await this.#respondInner(conn, hs, slot, evict.signal)
    } finally {
      this.#slots.release(slot)
      this.#slotHolders.delete(slot.id)
      this.#handshakingConns.delete(conn.id)
      this.#gauges()
    }
  }

  async #respondInner(conn: OuterConnection, hs: FrameStream, slot: Slot, evicted: AbortSignal): Promise<void> {
    const resp = new HandshakeResponder(this.#params(conn))
    const it = hs.frames(handshakeLimits())[Symbol.asyncIterator]()
    // Each wait on the peer has its own budget (shorter under pressure) and ends early on eviction.
    const peerSends = async (stage: 'm1' | 'm3', what: string): Promise<Uint8Array> => {
      const m = await withTimeout(nextFrame(it, what), this.#slots.wait(slot, stage, Date.now()), what, evicted)
      this.#slots.work(slot)
      return m
    }
    const m1 = await peerSends('m1', 'handshake M1')
    const { m4, session } = await withTimeout(
      (async () => {
        await hs.write(resp.onM1(m1))
        return resp.onM3(await peerSends('m3', 'handshake M3'))
      })(),
      this.#timeoutMs,
      'handshake',
      evicted
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
    // One reader per stream for its whole life: the session id, then the sealed frames. Until the id
    // names a session of this connection the stream is unauthenticated, and the reader holds one
    // 32-byte frame at most (SPEC.md §5.5); the limits are raised once it is attached.
    const limits = preambleLimits()
    const frames = stream.frames(limits)[Symbol.asyncIterator]()
    const pending = this.#awaitPreamble(conn)
    let id: Uint8Array
    try {
      id = await withTimeout(readPreamble(frames), this.#preambleTimeoutMs, 'channel stream', pending.signal)
    } catch (e) {
      // More than the preamble before authentication loses the connection too (unless a live session
      // uses it); anything else costs the offender this stream only.
      stream.abort(e instanceof Error ? e : new Error(String(e)))
      const reason = preambleFailure(e)
      // Stopping, or the stream ended first (its peer shut down, or we dropped its connection): not
      // the peer's misbehaviour.
      if (reason === undefined) {
        this.#log.debug({ err: String(e), channel }, 'channel stream ended before its session id')
        return
      }
      this.reject(reason, undefined, String(e))
      if (isFrameTooLarge(e) || isBufferLimitError(e)) this.#closeIfUnused(conn, 'sent more than a session id before authentication')
      return
    } finally {
      pending.done()
    }
    if (id.length !== SESSION_ID_BYTES) {
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
    limits.maxFrameBytes = maxFrameBodyBytes(this.#maxFrame[channel])
    limits.maxBufferedBytes = undefined
    this.#attach(link, channel, stream, frames)
  }

  /** Counts an inbound channel stream as waiting for its session id; past the bound, the oldest
   *  waiting one is dropped (`channel:evicted`). `done()` when the id is in or the stream failed. */
  #awaitPreamble(conn: OuterConnection): { signal: AbortSignal; done: () => void } {
    const evict = new AbortController()
    const { id, dropped } = this.#preambles.add({ conn, evict })
    for (const d of dropped) d.evict.abort(new HandshakeError('channel stream dropped for a newer one', 'channel:evicted'))
    this.#gauges()
    return {
      signal: evict.signal,
      done: () => {
        if (this.#preambles.remove(id)) this.#gauges()
      }
    }
  }

  /** Unauthenticated work in progress, as gauges (SPEC.md §5.5). */
  #gauges(): void {
    this.#metrics.gauge('saorsa_transport_pending_handshakes', this.#slots.size)
    this.#metrics.gauge('saorsa_transport_preauth_streams', this.#slots.size + this.#preambles.size)
    this.#metrics.gauge('saorsa_transport_preauth_connections', this.#preauthConnections())
  }

  /** Connections holding an unauthenticated stream of ours and no live session. */
  #preauthConnections(): number {
    const ids = new Set<string>()
    for (const h of this.#slotHolders.values()) ids.add(h.conn.id)
    for (const p of this.#preambles.values()) ids.add(p.conn.id)
    if (ids.size > 0) for (const l of this.#bySession.values()) ids.delete(l.conn.id)
    return ids.size
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
    // Unauthenticated work ends now, not at its timers.
    for (const h of [...this.#slotHolders.values(), ...this.#preambles.values()]) h.evict.abort(new AbortError('transport stopped'))
    for (const l of [...this.#bySession.values(), ...this.#links.values()]) this.#drop(l, 'transport stopped')
  }

  stats(): TransportStats {
    return {
      peers: this.peers().length,
      pendingHandshakes: this.#slots.size,
      preauthStreams: this.#slots.size + this.#preambles.size,
      preauthConnections: this.#preauthConnections(),
      sessions: this.#bySession.size,
      ...this.#stats,
      rejected: Object.fromEntries(this.#rejected)
    }
  }
}
