// Vocabulary of the pub/sub core (sans-IO, HouseStyle §1): input events plus the current time in,
// commands out. `D` is the opaque message body the core carries, caches and forwards without looking
// inside: a decoded, signed envelope in the driver, a small record in the simulator. The core learns
// what is valid only through the `validate` function its owner passes in.
import type { MessageId, PeerId, TopicId } from '@saorsa-gossip/types'

/**
 * Why a copy was sent: pushed along the tree (`eager`), answered to a GRAFT (`graft`), moved by
 * anti-entropy (`sync`), or pushed along the tree after it entered from a peer outside the sender's
 * neighbours (`relay`). Only `eager` copies change links (a duplicate prunes, a first copy grafts).
 */
export type GossipMode = 'eager' | 'graft' | 'sync' | 'relay'

/** One `(id, hops)` entry of an IHAVE: the announcer received `id` after `hops` hops. */
export interface IHaveEntry {
  readonly id: MessageId
  readonly hops: number
}

/** A pub/sub protocol message (SPEC.md §7). */
export type PubSubMessage<D> =
  /** The message itself. `hops` = hops travelled including this one (the origin sends 1). */
  | { readonly type: 'gossip'; readonly topic: TopicId; readonly id: MessageId; readonly hops: number; readonly mode: GossipMode; readonly data: D }
  /** Lazy push: "I have these" (≤ 1,024 entries). */
  | { readonly type: 'ihave'; readonly topic: TopicId; readonly entries: readonly IHaveEntry[] }
  /** Pull without changing the tree (anti-entropy): "send me these" (≤ 1,024 ids). */
  | { readonly type: 'iwant'; readonly topic: TopicId; readonly ids: readonly MessageId[] }
  /** "Make our link eager on this topic, and send me these" (ids may be empty, ≤ 1,024). */
  | { readonly type: 'graft'; readonly topic: TopicId; readonly ids: readonly MessageId[] }
  /** "Make our link lazy on this topic." */
  | { readonly type: 'prune'; readonly topic: TopicId }
  /** Anti-entropy: an IBLT of the sender's recent message ids for `topic`. */
  | { readonly type: 'sync'; readonly topic: TopicId; readonly cells: number; readonly seed: number; readonly sketch: Uint8Array }
  /** Anti-entropy: "your sketch did not decode; send one with `cells` cells". */
  | { readonly type: 'sync-retry'; readonly topic: TopicId; readonly cells: number }

/** Timers of the core. Timers cannot be cancelled; the core ignores stale ones. */
export type PubSubTimer =
  | { readonly type: 'flush' }
  | { readonly type: 'graft'; readonly topic: TopicId; readonly id: MessageId }
  | { readonly type: 'anti-entropy' }

/** What the core reports upward. */
export type PubSubEvent<D> =
  /** A valid message seen for the first time (the core delivers each id at most once). */
  | {
      readonly type: 'deliver'
      readonly topic: TopicId
      readonly id: MessageId
      /** The neighbour that handed it to us. */
      readonly from: PeerId
      readonly hops: number
      readonly via: GossipMode
      readonly data: D
    }
  /** A message from `peer` was rejected; `reason` is a short stable code. */
  | { readonly type: 'rejected'; readonly peer: PeerId; readonly reason: string }
  /** `peer`'s score fell below the graylist threshold: pruned, disconnected, ignored until it recovers. */
  | { readonly type: 'graylisted'; readonly peer: PeerId; readonly score: number }

export type PubSubCommand<D> =
  | { readonly type: 'send'; readonly to: PeerId; readonly msg: PubSubMessage<D> }
  | { readonly type: 'schedule'; readonly after: number; readonly timer: PubSubTimer }
  | { readonly type: 'disconnect'; readonly peer: PeerId }
  | { readonly type: 'emit'; readonly event: PubSubEvent<D> }

export type PubSubInput<D> =
  /** Start the periodic timers. */
  | { readonly type: 'start' }
  /** Membership: `peer` entered our active view. */
  | { readonly type: 'neighbor-up'; readonly peer: PeerId }
  /** Membership: `peer` left our active view. */
  | { readonly type: 'neighbor-down'; readonly peer: PeerId }
  /** A protocol message from `from` (authenticated by the transport); `bytes` = its encoded size (default 0: counted as messages only). */
  | { readonly type: 'message'; readonly from: PeerId; readonly msg: PubSubMessage<D>; readonly bytes?: number }
  /** The driver could not decode a frame from `from`: it costs score like an invalid message. */
  | { readonly type: 'invalid'; readonly from: PeerId; readonly reason: string }
  /** Publish our own message (already signed, id computed). */
  | { readonly type: 'publish'; readonly topic: TopicId; readonly id: MessageId; readonly data: D }
  | { readonly type: 'timer'; readonly timer: PubSubTimer }

/**
 * Checks a message body the first time its id is seen: signature, origin key, id, freshness.
 * Returns undefined when valid; a reason code when invalid (the sender is blamed: it costs score);
 * `{ ignore: reason }` to drop it without blame (e.g. a signer whose key we do not have). Called at
 * most once per id per node for valid messages; an invalid one is not remembered.
 */
export type Validate<D> = (msg: { readonly topic: TopicId; readonly id: MessageId; readonly data: D }, now: number) => string | { readonly ignore: string } | undefined
