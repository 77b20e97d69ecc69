// The PubSub interface: topic-based publish/subscribe over the gossip overlay.
import type { MessageId, PeerId, TopicId, TypedEventEmitter } from '@saorsa-gossip/types'

/** One message as a subscriber receives it. The signature was checked before it got here. */
export interface PubSubDelivery {
  /** The origin: the peer that signed the message (its key hashes to this id). */
  readonly from: PeerId
  readonly topic: TopicId
  /** Envelope kind (SPEC.md §2.2): 0 = application data. Subscribers only ever see kind 0. */
  readonly kind: number
  /** Recomputed from the signed header; never taken from the wire. */
  readonly id: MessageId
  readonly payload: Uint8Array
  /** Origin's per-node sequence number. */
  readonly seq: number
  /** Origin's clock when it signed, ms since the Unix epoch. */
  readonly timestampMs: number
  /** The neighbour that handed it to us. */
  readonly receivedFrom: PeerId
  /** Overlay hops it travelled (1 = straight from the origin). */
  readonly hops: number
}

/** An open subscription: iterate it; it ends on `unsubscribe()`, on its signal, or when pub/sub stops. */
export interface Subscription extends AsyncIterable<PubSubDelivery> {
  readonly topic: TopicId
  /** Messages dropped because this subscriber fell more than `bufferSize` messages behind. */
  readonly dropped: number
  unsubscribe(): void
}

export interface SubscribeOptions {
  signal?: AbortSignal
  /** Messages buffered for a slow reader before the oldest are dropped (default 4,096). */
  bufferSize?: number
}

export interface PubSubEvents {
  /** Every valid message seen for the first time, on any topic (subscribed or only relayed) and of any kind. */
  message: PubSubDelivery
  /** A message from `peer` was rejected (`reason`: `bad-signature`, `id-mismatch`, `stale`, `duplicate`, …). */
  'message:rejected': { peer: PeerId; reason: string }
  /** `peer`'s score fell below the graylist threshold: it was pruned and disconnected. */
  'peer:graylisted': { peer: PeerId; score: number }
}

/** Options of `publish`. */
export interface PublishOptions {
  /** Envelope kind, 0..255 (default 0 = application data). */
  kind?: number
}

export interface PubSub extends TypedEventEmitter<PubSubEvents> {
  /** Starts the protocol (transport and membership must be started). Idempotent. */
  start(): Promise<void>
  /** Stops; every subscription ends. Idempotent. */
  stop(): Promise<void>
  /** Subscribes to the topic named `topic` (TopicId = BLAKE3 of the name). */
  subscribe(topic: string, options?: SubscribeOptions): Subscription
  /**
   * Signs and broadcasts `payload` on `topic`; resolves to the message id. `kind` (default 0, data)
   * is the envelope kind of SPEC.md §2.2: other layers publish their own kinds, which reach the
   * `message` event but never subscriptions.
   */
  publish(topic: string, payload: Uint8Array, options?: PublishOptions): Promise<MessageId>
  /** Names of the topics with at least one open subscription. */
  topics(): string[]
  /** Score of every peer we have scored (0 = neutral; below the graylist threshold = graylisted). */
  peerScores(): Map<PeerId, number>
}
