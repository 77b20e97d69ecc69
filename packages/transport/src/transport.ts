// The Transport interface: bytes between authenticated peers, on three channels. Upper layers see
// only this file's types; libp2p stays inside `Libp2pTransport`. SPEC.md §5.
import type { PeerId, TypedEventEmitter } from '@saorsa-gossip/types'

/** Logical channels; each is its own stream per peer so bulk transfers never block control traffic. */
export type Channel = 'membership' | 'pubsub' | 'bulk'

/** All channels, in wire-number order (membership = 0, pubsub = 1, bulk = 2). */
export const CHANNELS: readonly Channel[] = ['membership', 'pubsub', 'bulk']

/** Wire number of a channel (used in frame AAD and key derivation labels). */
export function channelNumber(c: Channel): number {
  return CHANNELS.indexOf(c)
}

/** Largest plaintext frame accepted per channel, bytes (SPEC.md §5.4). */
export const DEFAULT_MAX_FRAME_BYTES: Readonly<Record<Channel, number>> = {
  membership: 64 * 1024,
  pubsub: 1_130_496, // MAX_FRAME_BYTES of @saorsa-gossip/types: one envelope + protocol wrapping
  bulk: 4 * 1024 * 1024
}

/** Detail of `peer:connect`. */
export interface PeerConnectEvent {
  peer: PeerId
  /** Transport address of the link, when known (multiaddr text for libp2p). */
  addr?: string
  /** True when we dialed, false when the peer did. */
  outbound: boolean
}

/** Detail of `peer:disconnect`. */
export interface PeerDisconnectEvent {
  peer: PeerId
  reason: string
}

/** Detail of `message`: one frame received from an authenticated peer. */
export interface MessageEvent {
  peer: PeerId
  channel: Channel
  bytes: Uint8Array
}

/** Detail of `peer:misbehaved`: a counted protocol violation (the link is closed for fatal ones). */
export interface MisbehaviourEvent {
  /** Our PeerId of the peer when the handshake got that far, else undefined. */
  peer: PeerId | undefined
  /** Stable reason, e.g. `handshake:peer-mismatch`, `frame:auth`, `frame:replay`, `frame:oversize`. */
  reason: string
}

/** Events of a Transport. */
export interface TransportEvents {
  'peer:connect': PeerConnectEvent
  'peer:disconnect': PeerDisconnectEvent
  message: MessageEvent
  'peer:misbehaved': MisbehaviourEvent
  /** Our own listen addresses changed (e.g. a relay reservation added a circuit address). */
  addresses: { addrs: string[] }
}

/** Options of `dial`. */
export interface DialOptions {
  signal?: AbortSignal
  /** Fail unless the peer proves this identity in the handshake. */
  expectedPeer?: PeerId
}

/** Options of `send`. */
export interface SendOptions {
  signal?: AbortSignal
}

/** Counters a transport keeps (also exported as metrics). */
export interface TransportStats {
  peers: number
  /** Inbound handshakes in progress (each holds a slot, SPEC.md §5.5). */
  pendingHandshakes: number
  /** Unauthenticated inbound streams: handshakes in progress and channel streams still waiting for
   *  their session id (gauge `saorsa_transport_preauth_streams`). */
  preauthStreams: number
  /** Connections holding such a stream and no live session (gauge `saorsa_transport_preauth_connections`). */
  preauthConnections: number
  /** Live sessions (one per link; at most one link per peer once duplicates settle). */
  sessions: number
  framesSent: number
  framesReceived: number
  bytesSent: number
  bytesReceived: number
  /** Rejections by reason (`handshake:*`, `frame:*`, `queue:*`). */
  rejected: Record<string, number>
}

/** Moves frames between authenticated peers. */
export interface Transport extends TypedEventEmitter<TransportEvents> {
  /** Our PeerId (ML-DSA-65 derived). */
  readonly peerId: PeerId
  start(): Promise<void>
  /** Closes every link; idempotent. */
  stop(): Promise<void>
  /** Addresses we listen on, dialable by others. */
  listenAddrs(): string[]
  /** How other peers see us (address reflection), most recent first. */
  observedAddrs(): string[]
  /** Connects and authenticates; resolves to the remote PeerId. Reuses an existing link to the same peer. */
  dial(addr: string, options?: DialOptions): Promise<PeerId>
  /**
   * Queues one frame to `peer` on `channel`; resolves once it is handed to the link. Waits (bounded by
   * `signal`) when that peer's queue is full; other peers are never delayed. Rejects when the peer is
   * not connected, the frame is too large, or the link fails.
   */
  send(peer: PeerId, channel: Channel, bytes: Uint8Array, options?: SendOptions): Promise<void>
  /** Connected, authenticated peers. */
  peers(): PeerId[]
  /** Closes the link to `peer` (no-op if none). */
  disconnect(peer: PeerId): Promise<void>
  stats(): TransportStats
}
