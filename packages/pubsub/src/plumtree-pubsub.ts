// PlumtreePubSub: drives the Plumtree core over a Transport (channel `pubsub`), learning neighbours
// from a Membership. It signs what we publish, decodes what arrives, checks each new message once
// (signature, origin key, id, freshness) through the core's validator, and hands deliveries to the
// subscribers of the topic.
import {
  createEnvelope,
  EnvelopeKinds,
  InvalidMessageError,
  InvalidSignatureError,
  MemoryMetrics,
  silentLogger,
  systemClock,
  TimerSet,
  topicIdFromName,
  TypedEventEmitter,
  UnknownSignerError,
  createSeededRng,
  verifyEnvelope
} from '@saorsa-gossip/types'
import type { Clock, Logger, MessageId, Metrics, PeerId, Signer, TopicId, Verifier } from '@saorsa-gossip/types'
import type { Transport } from '@saorsa-gossip/transport'
import type { Membership } from '@saorsa-gossip/membership'
import { decodePubSubMessage, encodePubSubMessage } from './codec.js'
import type { SignedMessage } from './codec.js'
import { Plumtree } from './proto/plumtree.js'
import type { PlumtreeConfig } from './proto/plumtree.js'
import type { PubSubCommand, PubSubInput } from './proto/types.js'
import type { PublishOptions, PubSub, PubSubDelivery, PubSubEvents, SubscribeOptions, Subscription } from './pubsub.js'

export interface PlumtreePubSubComponents {
  transport: Transport
  membership: Membership
  /** Signs what we publish (an Identity). Its PeerId must be the transport's. */
  signer: Signer
  /** Checks signatures of what we receive. */
  verifier: Verifier
  clock?: Clock
  logger?: Logger
  metrics?: Metrics
}

export interface PlumtreePubSubInit {
  /** Protocol settings (see DEFAULT_PLUMTREE_CONFIG). */
  config?: Partial<PlumtreeConfig>
  /** Reject messages older than this (ms, default 10 minutes) … */
  maxMessageAgeMs?: number
  /** … or further in the future than this (ms, default 5 minutes). */
  maxClockSkewMs?: number
  /** Carry our public key in every message (default true; receivers that lack it cannot verify otherwise). */
  includeSignerKey?: boolean
  /** Deliver our own messages to our own subscribers (default false). */
  emitSelf?: boolean
  /** Frames queued to one peer before further repairable frames to it are dropped (default 1,024; the tree repairs). */
  maxPendingSendsPerPeer?: number
  /** Bytes queued to one peer before further repairable frames to it are dropped (default 16 MiB). */
  maxPendingBytesPerPeer?: number
  /** Seed of the protocol RNG (default random). */
  seed?: number
}

const KEY_CACHE_MAX = 4096

class Sub implements Subscription {
  readonly topic: TopicId
  dropped = 0
  readonly #buffer: PubSubDelivery[] = []
  readonly #size: number
  #wake: (() => void) | undefined
  #done = false
  readonly #onEnd: () => void

  constructor(topic: TopicId, size: number, onEnd: () => void) {
    this.topic = topic
    this.#size = size
    this.#onEnd = onEnd
  }

  push(m: PubSubDelivery): void {
    if (this.#done) return
    if (this.#buffer.length >= this.#size) {
      this.#buffer.shift()
      this.dropped++
    }
    this.#buffer.push(m)
    this.#wake?.()
  }

  unsubscribe(): void {
    if (this.#done) return
    this.#done = true
    this.#onEnd()
    for (const f of this.#ends.splice(0)) f()
    this.#wake?.()
  }

  /** Runs `f` when the subscription ends. */
  onEnd(f: () => void): void {
    this.#ends.push(f)
  }

  readonly #ends: Array<() => void> = []

  #iterated = false

  async *[Symbol.asyncIterator](): AsyncIterator<PubSubDelivery> {
    if (this.#iterated) throw new Error('a subscription can be iterated once; subscribe again for another reader')
    this.#iterated = true
    try {
      for (;;) {
        const next = this.#buffer.shift()
        if (next !== undefined) {
          yield next
          continue
        }
        if (this.#done) return
        await new Promise<void>((resolve) => {
          this.#wake = resolve
        })
        this.#wake = undefined
      }
    } finally {
      this.unsubscribe()
    }
  }
}

export class PlumtreePubSub extends TypedEventEmitter<PubSubEvents> implements PubSub {
  readonly #c: Required<Pick<PlumtreePubSubComponents, 'transport' | 'membership' | 'signer' | 'verifier' | 'clock'>>
  readonly #log: Logger
  readonly #metrics: Metrics
  readonly #init: PlumtreePubSubInit
  #core: Plumtree<SignedMessage> | undefined
  readonly #timers = new TimerSet()
  #offs: Array<() => void> = []
  readonly #subs = new Map<TopicId, { name: string; subs: Set<Sub> }>()
  readonly #keys = new Map<PeerId, Uint8Array>()
  readonly #pending = new Map<PeerId, { frames: number; bytes: number }>()
  /** Per-origin sequence numbers keep increasing across restarts: they start at the clock in µs. */
  #seq = -1

  constructor(components: PlumtreePubSubComponents, init: PlumtreePubSubInit = {}) {
    super()
    if (components.signer.peerId !== components.transport.peerId) {
      throw new Error('the signer identity must be the transport identity')
    }
    this.#c = { ...components, clock: components.clock ?? systemClock }
    this.#log = (components.logger ?? silentLogger).child({ component: 'saorsa:pubsub' })
    this.#metrics = components.metrics ?? new MemoryMetrics()
    this.#init = init
  }

  /** The protocol core (read-only inspection: links, cache size, scores). */
  get core(): Plumtree<SignedMessage> | undefined {
    return this.#core
  }

  async start(): Promise<void> {
    if (this.#core !== undefined) return
    const { transport: t, membership: m } = this.#c
    const seed = this.#init.seed ?? globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!
    this.#core = new Plumtree<SignedMessage>(t.peerId, this.#init.config ?? {}, createSeededRng(seed), (msg, now) => this.#validate(msg.data, now))
    this.#offs.push(
      t.on('message', ({ peer, channel, bytes }) => {
        if (channel !== 'pubsub') return
        let msg
        try {
          msg = decodePubSubMessage(bytes)
        } catch (e) {
          if (!(e instanceof InvalidMessageError)) throw e
          this.#input({ type: 'invalid', from: peer, reason: e.reason })
          return
        }
        this.#input({ type: 'message', from: peer, msg, bytes: bytes.length })
      }),
      m.on('neighbor:up', ({ peer }) => this.#input({ type: 'neighbor-up', peer: peer.id })),
      m.on('neighbor:down', ({ peer }) => this.#input({ type: 'neighbor-down', peer }))
    )
    this.#input({ type: 'start' })
    for (const p of m.activeView()) this.#input({ type: 'neighbor-up', peer: p.id })
  }

  async stop(): Promise<void> {
    if (this.#core === undefined) return
    this.#core = undefined
    for (const off of this.#offs) off()
    this.#offs = []
    this.#timers.clear()
    for (const { subs } of [...this.#subs.values()]) for (const s of [...subs]) s.unsubscribe()
  }

  subscribe(topic: string, options: SubscribeOptions = {}): Subscription {
    const id = topicIdFromName(topic)
    const size = options.bufferSize ?? 4096
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`bufferSize must be a positive integer, got ${size}`)
    let entry = this.#subs.get(id)
    if (entry === undefined) {
      entry = { name: topic, subs: new Set() }
      this.#subs.set(id, entry)
    }
    const subs = entry.subs
    const sub: Sub = new Sub(id, size, () => {
      subs.delete(sub)
      if (subs.size === 0 && this.#subs.get(id)?.subs === subs) this.#subs.delete(id)
    })
    subs.add(sub)
    const signal = options.signal
    if (signal !== undefined) {
      if (signal.aborted) sub.unsubscribe()
      else {
        const onAbort = (): void => sub.unsubscribe()
        signal.addEventListener('abort', onAbort, { once: true })
        sub.onEnd(() => signal.removeEventListener('abort', onAbort))
      }
    }
    return sub
  }

  async publish(topic: string, payload: Uint8Array, options: PublishOptions = {}): Promise<MessageId> {
    if (this.#core === undefined) throw new Error('pubsub not started')
    const topicId = topicIdFromName(topic)
    const { envelope, bytes } = createEnvelope(
      { topic: topicId, payload, kind: options.kind ?? EnvelopeKinds.data, seq: this.#nextSeq(), timestampMs: this.#c.clock.now(), includeSignerKey: this.#init.includeSignerKey !== false },
      this.#c.signer
    )
    this.#metrics.increment('saorsa_pubsub_published_total')
    this.#input({ type: 'publish', topic: topicId, id: envelope.id, data: { envelope, bytes } })
    if (this.#init.emitSelf === true) {
      this.#deliver({ from: envelope.header.origin, topic: topicId, kind: envelope.header.kind, id: envelope.id, payload, seq: envelope.header.seq, timestampMs: envelope.header.timestampMs, receivedFrom: envelope.header.origin, hops: 0 })
    }
    return envelope.id
  }

  #nextSeq(): number {
    this.#seq = Math.max(this.#seq + 1, this.#c.clock.now() * 1000)
    return this.#seq
  }

  topics(): string[] {
    return [...this.#subs.values()].map((e) => e.name)
  }

  peerScores(): Map<PeerId, number> {
    return this.#core?.scores.snapshot(this.#c.clock.now()) ?? new Map()
  }

  /** The core's validator: signature, origin key, freshness. Runs once per new message id. */
  #validate(data: SignedMessage, now: number): string | { ignore: string } | undefined {
    const e = data.envelope
    try {
      verifyEnvelope(e, this.#c.verifier, {
        now,
        keyLookup: (peer) => this.#keys.get(peer),
        ...(this.#init.maxMessageAgeMs === undefined ? {} : { maxAgeMs: this.#init.maxMessageAgeMs }),
        ...(this.#init.maxClockSkewMs === undefined ? {} : { maxSkewMs: this.#init.maxClockSkewMs })
      })
    } catch (err) {
      if (err instanceof InvalidSignatureError) return err.message.includes('does not hash') ? 'origin-key' : 'bad-signature'
      // The sender omitted the key and we have not learned it yet: not misbehaviour (SPEC.md §2.1).
      if (err instanceof UnknownSignerError) return { ignore: 'unknown-signer' }
      // Checked before the signature, so a replay costs no verification. Too old: no honest relay
      // forwards a message past the window (caches keep 5 minutes, the window is 10), so the relaying
      // neighbour is blamed lightly (`stale`, −10). Too far ahead: the origin's clock may be wrong, not
      // the neighbour's doing: dropped without blame.
      if (err instanceof InvalidMessageError) return err.reason === 'future' ? { ignore: err.reason } : err.reason
      throw err
    }
    if (e.signerKey !== null && !this.#keys.has(e.header.origin)) {
      if (this.#keys.size >= KEY_CACHE_MAX) this.#keys.delete(this.#keys.keys().next().value as PeerId)
      this.#keys.set(e.header.origin, e.signerKey)
    }
    return undefined
  }

  #input(event: PubSubInput<SignedMessage>): void {
    const core = this.#core
    if (core === undefined) return
    this.#apply(core.handle(event, this.#c.clock.now()))
  }

  #apply(cmds: Array<PubSubCommand<SignedMessage>>): void {
    for (const c of cmds) {
      switch (c.type) {
        case 'send':
          this.#send(c.to, encodePubSubMessage(c.msg), c.msg.type !== 'graft' && c.msg.type !== 'prune')
          break
        case 'schedule':
          this.#timers.schedule(c.after, () => this.#input({ type: 'timer', timer: c.timer }))
          break
        case 'disconnect':
          this.#log.warn({ peer: c.peer }, 'disconnecting a graylisted peer')
          void this.#c.transport.disconnect(c.peer).catch(() => undefined)
          break
        case 'emit': {
          const e = c.event
          if (e.type === 'deliver') {
            const env = e.data.envelope
            this.#metrics.increment('saorsa_pubsub_delivered_total', 1, { via: e.via })
            this.#deliver({ from: env.header.origin, topic: e.topic, kind: env.header.kind, id: e.id, payload: env.payload, seq: env.header.seq, timestampMs: env.header.timestampMs, receivedFrom: e.from, hops: e.hops })
          } else if (e.type === 'rejected') {
            this.#metrics.increment('saorsa_pubsub_rejected_total', 1, { reason: e.reason })
            this.#log.debug({ peer: e.peer, reason: e.reason }, 'message rejected')
            this.emit('message:rejected', { peer: e.peer, reason: e.reason })
          } else {
            this.#metrics.increment('saorsa_pubsub_graylisted_total')
            this.emit('peer:graylisted', { peer: e.peer, score: e.score })
          }
          break
        }
      }
    }
  }

  #deliver(d: PubSubDelivery): void {
    this.emit('message', d)
    // Other kinds belong to other layers (SPEC.md §2.2), which listen to the 'message' event.
    if (d.kind !== EnvelopeKinds.data) return
    const entry = this.#subs.get(d.topic)
    if (entry === undefined) return
    for (const s of entry.subs) s.push(d)
  }

  /**
   * Hands a frame to the transport without waiting. What is still queued to one peer is bounded by
   * frames and bytes: beyond either bound, repairable frames (pushes, IHAVE, IWANT, SYNC) are dropped
   * and counted — the tree or anti-entropy brings them later — while GRAFT and PRUNE always go.
   */
  #send(peer: PeerId, bytes: Uint8Array, droppable: boolean): void {
    const q = this.#pending.get(peer) ?? { frames: 0, bytes: 0 }
    const maxFrames = this.#init.maxPendingSendsPerPeer ?? 1024
    const maxBytes = this.#init.maxPendingBytesPerPeer ?? 16 * 1024 * 1024
    if (droppable && (q.frames >= maxFrames || q.bytes + bytes.length > maxBytes)) {
      this.#metrics.increment('saorsa_pubsub_send_dropped_total')
      return
    }
    q.frames++
    q.bytes += bytes.length
    this.#pending.set(peer, q)
    this.#c.transport
      .send(peer, 'pubsub', bytes)
      .catch((e: unknown) => {
        this.#metrics.increment('saorsa_pubsub_send_failed_total')
        this.#log.debug({ peer, err: e instanceof Error ? e.message : String(e) }, 'send failed')
      })
      .finally(() => {
        q.frames--
        q.bytes -= bytes.length
        if (q.frames <= 0 && this.#pending.get(peer) === q) this.#pending.delete(peer)
      })
  }

  /** Frames and bytes handed to the transport for `peer` and not yet accepted by it. */
  pendingTo(peer: PeerId): { frames: number; bytes: number } {
    const q = this.#pending.get(peer)
    return { frames: q?.frames ?? 0, bytes: q?.bytes ?? 0 }
  }
}
