// @saorsa-gossip/transport — the only barrel of the package.
export { CHANNELS, channelNumber, DEFAULT_MAX_FRAME_BYTES } from './transport.js'
export type {
  Channel,
  DialOptions,
  MessageEvent,
  MisbehaviourEvent,
  PeerConnectEvent,
  PeerDisconnectEvent,
  SendOptions,
  Transport,
  TransportEvents,
  TransportStats
} from './transport.js'
export { HandshakeError, HandshakeInitiator, HandshakeResponder, HANDSHAKE_VERSION, MAX_HANDSHAKE_MESSAGE_BYTES, parseHandshakeM1, parseHandshakeM2, parseHandshakeM3 } from './handshake.js'
export type { DirectionKeys, HandshakeParams, Session } from './handshake.js'
export { FrameError, FrameOpener, FrameSealer, FRAME_OVERHEAD_BYTES, MESSAGE_OVERHEAD_BYTES, MAX_MESSAGES_PER_FRAME, maxFrameBodyBytes } from './frames.js'
export { BufferLimitError, FrameTooLargeError, PROTOCOLS } from './outer.js'
export type { FrameReadLimits, FrameStream, OuterConnection, ProtocolId } from './outer.js'
/** Admission of unauthenticated peers (SPEC.md §5.5): every bound and timeout, and the slot core. */
export {
  HANDSHAKE_BUFFER_BYTES,
  HANDSHAKE_PRESSURE_SLOTS,
  HANDSHAKE_STALL_MS,
  HANDSHAKE_STALL_UNDER_PRESSURE_MS,
  HandshakeSlots,
  MAX_HANDSHAKES_PER_SOURCE,
  PreambleWaiters,
  MAX_PENDING_CHANNEL_STREAMS,
  MAX_PENDING_HANDSHAKES,
  PREAMBLE_BUFFER_BYTES,
  PREAMBLE_TIMEOUT_MS,
  SESSION_ID_BYTES
} from './admission.js'
export type { Admission, EvictReason, HandshakeSlotsInit, Slot, SlotStage } from './admission.js'
export { NotConnectedError } from './dial.js'
export { PqLinks } from './pq-links.js'
export type { PqLinksComponents, PqLinksInit } from './pq-links.js'
export { QueueClosedError } from './send-queue.js'
export { MemoryNetwork, MemoryTransport, memoryStreamPair, MEMORY_STREAM_HIGH_WATER_BYTES } from './memory-transport.js'
export { Libp2pTransport, rawLibp2pConnection } from './libp2p-transport.js'
export type { Libp2pTransportInit } from './libp2p-transport.js'
export { createLibp2pNode, admissionSource, connectionKind, isLimitedConnection, generateTransportKey, DEFAULT_LISTEN, DEFAULT_ALLOW, DEFAULT_RELAY_SERVER } from './libp2p-node.js'
export type { Libp2pHandle, Libp2pHandleEvents, Libp2pNodeOptions, Libp2pServices, ObservedAddr, OpenStreamOptions, ConnectionKind, RelayServerOptions } from './libp2p-node.js'
export { readFrames, writeFrame, closeStream, abortStream, StreamClosedError, FRAME_HEADER_BYTES } from './libp2p-streams.js'
