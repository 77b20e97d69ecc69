// @saorsa-gossip/types — the only barrel of the package.
export { toHex, fromHex, bytesEqual, concatBytes, utf8, u64be, wipe, assertBytes } from './bytes.js'
export {
  SaorsaError,
  InvalidMessageError,
  InvalidSignatureError,
  UnknownSignerError,
  LimitExceededError,
  KeystoreError,
  CryptoBackendError,
  AbortError
} from './errors.js'
export type { KeystoreErrorCode } from './errors.js'
export {
  ID_BYTES,
  SignatureAlgorithms,
  SIGNATURE_SIZES,
  PEER_ID_DOMAIN,
  MESSAGE_ID_DOMAIN,
  signatureAlgorithmFromWire,
  peerIdFromPublicKey,
  parsePeerId,
  parseTopicId,
  parseMessageId,
  peerIdFromBytes,
  topicIdFromBytes,
  messageIdFromBytes,
  idToBytes,
  topicIdFromName,
  computeMessageId,
  hashPayload
} from './ids.js'
export type { PeerId, TopicId, MessageId, SignatureAlgorithm, MessageIdInputs } from './ids.js'
export { blake3, blake3Ready, blake3Implementation, sha256, hkdfSha256 } from './hash.js'
export { TypedEventEmitter } from './events.js'
export { TimerSet } from './timers.js'
export type { EventDetailMap } from './events.js'
export { systemClock, silentLogger } from './interfaces.js'
export type { Signer, Verifier, Clock, Rng, Logger, Metrics, MetricLabels } from './interfaces.js'
export { createSeededRng } from './rng.js'
export { MemoryMetrics, noopMetrics } from './metrics.js'
export type { MetricsSnapshot, ObservationSummary } from './metrics.js'
export {
  MAX_PAYLOAD_BYTES,
  MAX_HEADER_BYTES,
  MAX_ENVELOPE_BYTES,
  MAX_FRAME_BYTES,
  MAX_SAFE_UINT,
  DEFAULT_MAX_CLOCK_SKEW_MS,
  DEFAULT_MAX_MESSAGE_AGE_MS
} from './limits.js'
export { encodeCbor, decodeCbor, expectArray, expectList, expectBytes, expectUint, expectText, MAX_CBOR_DEPTH, MAX_CBOR_ITEMS } from './cbor.js'
export type { CborValue, DecodeCborOptions } from './cbor.js'
export {
  ENVELOPE_VERSION,
  ENVELOPE_SIGNING_DOMAIN,
  EnvelopeKinds,
  createEnvelope,
  encodeEnvelope,
  decodeEnvelope,
  verifyEnvelope,
  openEnvelope,
  envelopeSigningBytes
} from './envelope.js'
export type { Envelope, EnvelopeHeader, EnvelopeInput, VerifyEnvelopeOptions } from './envelope.js'
