// What the PQ channel needs from an outer transport (libp2p QUIC/TCP, or memory): authenticated
// connections that carry independent, reliable, ordered, length-prefixed frame streams.
import type { FrameReadLimits } from './libp2p-streams.js'

/** Stream protocol names (libp2p protocol ids; the memory transport uses the same strings). */
export const PROTOCOLS = {
  handshake: '/saorsa-gossip/handshake/1.0.0',
  membership: '/saorsa-gossip/membership/1.0.0',
  pubsub: '/saorsa-gossip/pubsub/1.0.0',
  bulk: '/saorsa-gossip/bulk/1.0.0'
} as const

/** A protocol id of ours. */
export type ProtocolId = (typeof PROTOCOLS)[keyof typeof PROTOCOLS]

/** A bidirectional stream of length-prefixed frames (u32 big-endian length, SPEC.md §5.1). */
export interface FrameStream {
  /** Writes one frame; waits while the stream applies backpressure. Rejects on abort or close. */
  write(frame: Uint8Array, options?: { signal?: AbortSignal }): Promise<void>
  /**
   * Reads frames until the remote closes. A length prefix above the limit throws a
   * `FrameTooLargeError` before any allocation. Given a `FrameReadLimits` object, the limits are read
   * live (raise them once the stream is authenticated), and more than `maxBufferedBytes` unread fails
   * the reader with a `BufferLimitError` and aborts the stream (SPEC.md §5.5).
   */
  frames(limits: number | FrameReadLimits): AsyncIterable<Uint8Array>
  /** Closes our side gracefully. */
  close(): Promise<void>
  /** Tears the stream down at once. */
  abort(reason: Error): void
}

/** An authenticated outer connection to one remote. */
export interface OuterConnection {
  /** Stable id of this connection, unique within the local node. */
  readonly id: string
  /** Our transport-level identity bytes (libp2p: our PeerId multihash). */
  readonly localTransportId: Uint8Array
  /** The remote's transport-level identity bytes, as the outer layer authenticated it. */
  readonly remoteTransportId: Uint8Array
  /** Remote address in text form. */
  readonly remoteAddr: string
  /** True when we dialed. */
  readonly outbound: boolean
  /**
   * Who is behind this connection, for the per-source handshake limit (SPEC.md §5.5). libp2p: the
   * remote IP (IPv6: its /64), or IP and transport PeerId on loopback. Default: `remoteAddr`.
   */
  readonly source?: string
  openStream(protocol: ProtocolId, options?: { signal?: AbortSignal }): Promise<FrameStream>
  /** Closes gracefully (queued data is flushed first, within a bounded time). */
  close(): Promise<void>
  /** Tears the connection down at once (a hostile or failed peer: nothing of ours to flush). */
  abort(reason: Error): void
}

/** A length prefix larger than the stream's limit (thrown before the body is read or allocated), and
 *  an unauthenticated sender running ahead of the protocol. */
export { BufferLimitError, FrameTooLargeError, isBufferLimitError } from './libp2p-streams.js'
export type { FrameReadLimits } from './libp2p-streams.js'
