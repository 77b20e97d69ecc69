// The signed envelope (SPEC.md §2): the immutable, origin-signed unit every layer gossips.
//
//   Envelope = [ version=1, header: bstr, payload: bstr, signature: bstr, signerKey: bstr / null ]
//   Header   = [ kind, topic(32), origin(32), seq, timestampMs, payloadHash(32), sigAlg ]
//   signed   = "saorsa-gossip/envelope/v1" ‖ 0x00 ‖ header bytes
//
// The header travels as a byte string, so the signature is always checked over the exact bytes
// received, never over a re-encoding. The header commits to BLAKE3(payload), so the signature covers
// the payload too (the Rust original signs the header only and lets forwarders swap payloads).
// Forwarding state (hops, TTL) lives outside the envelope, in the layer that forwards it.
import { bytesEqual, concatBytes, utf8 } from './bytes.js'
import { decodeCbor, encodeCbor, expectArray, expectBytes, expectUint } from './cbor.js'
import { InvalidMessageError, InvalidSignatureError, UnknownSignerError } from './errors.js'
import {
  computeMessageId,
  hashPayload,
  ID_BYTES,
  idToBytes,
  peerIdFromBytes,
  peerIdFromPublicKey,
  SIGNATURE_SIZES,
  signatureAlgorithmFromWire,
  SignatureAlgorithms,
  topicIdFromBytes
} from './ids.js'
import type { MessageId, PeerId, SignatureAlgorithm, TopicId } from './ids.js'
import type { Signer, Verifier } from './interfaces.js'
import { DEFAULT_MAX_CLOCK_SKEW_MS, DEFAULT_MAX_MESSAGE_AGE_MS, MAX_ENVELOPE_BYTES, MAX_HEADER_BYTES, MAX_PAYLOAD_BYTES } from './limits.js'

/** Envelope format version this code writes and the only one it reads. */
export const ENVELOPE_VERSION = 1
/** Domain-separation tag prefixed (with a 0x00 byte) to the header bytes before signing. */
export const ENVELOPE_SIGNING_DOMAIN = 'saorsa-gossip/envelope/v1'
const SIGNING_PREFIX = concatBytes(utf8(ENVELOPE_SIGNING_DOMAIN), new Uint8Array([0]))

/**
 * Envelope kinds (header field 0). Each layer that signs envelopes owns one number; SPEC.md §2.2 is
 * the registry. Receivers hand unknown kinds to no one but still validate them.
 */
export const EnvelopeKinds = {
  /** Application data published on a pub/sub topic. */
  data: 0,
  /** A signed coordinator advert (`@saorsa-gossip/coordinator`, SPEC.md §8). */
  coordinatorAdvert: 1
} as const

/** The signed header, decoded. */
export interface EnvelopeHeader {
  /** 0..255, see `EnvelopeKinds`. */
  readonly kind: number
  readonly topic: TopicId
  /** PeerId of the signer. */
  readonly origin: PeerId
  /** Per-origin sequence number, 0..2^53−1. */
  readonly seq: number
  /** Origin's clock when signing, ms since the Unix epoch, 0..2^53−1. */
  readonly timestampMs: number
  /** BLAKE3-256 of the payload. */
  readonly payloadHash: Uint8Array
  readonly algorithm: SignatureAlgorithm
}

/** A decoded envelope. `headerBytes` are the exact bytes the signature covers. */
export interface Envelope {
  readonly version: typeof ENVELOPE_VERSION
  readonly header: EnvelopeHeader
  readonly headerBytes: Uint8Array
  readonly payload: Uint8Array
  readonly signature: Uint8Array
  /** The signer's public key, or null when the sender expects us to know it already. */
  readonly signerKey: Uint8Array | null
  /** Recomputed from the header; never taken from the wire. */
  readonly id: MessageId
}

/** What a publisher supplies to `createEnvelope`. */
export interface EnvelopeInput {
  kind?: number
  topic: TopicId
  payload: Uint8Array
  seq: number
  timestampMs: number
  /** Carry the signer's public key in the envelope (default true). */
  includeSignerKey?: boolean
}

function encodeHeader(h: EnvelopeHeader): Uint8Array {
  return encodeCbor([
    h.kind,
    idToBytes(h.topic),
    idToBytes(h.origin),
    h.seq,
    h.timestampMs,
    h.payloadHash,
    SignatureAlgorithms[h.algorithm]
  ])
}

function checkRange(n: number, name: string, max: number): void {
  if (!Number.isSafeInteger(n) || n < 0 || n > max) throw new RangeError(`${name} must be an integer in 0..${max}, got ${n}`)
}

/** The bytes a signer signs for `headerBytes`. */
export function envelopeSigningBytes(headerBytes: Uint8Array): Uint8Array {
  return concatBytes(SIGNING_PREFIX, headerBytes)
}

/** Builds, signs and encodes an envelope. Throws RangeError/TypeError on invalid input. */
export function createEnvelope(input: EnvelopeInput, signer: Signer): { envelope: Envelope; bytes: Uint8Array } {
  const kind = input.kind ?? EnvelopeKinds.data
  checkRange(kind, 'kind', 255)
  checkRange(input.seq, 'seq', Number.MAX_SAFE_INTEGER)
  checkRange(input.timestampMs, 'timestampMs', Number.MAX_SAFE_INTEGER)
  if (!(input.payload instanceof Uint8Array)) throw new TypeError('payload must be a Uint8Array')
  if (input.payload.length > MAX_PAYLOAD_BYTES) {
    throw new RangeError(`payload is ${input.payload.length} bytes, limit ${MAX_PAYLOAD_BYTES}`)
  }
  const header: EnvelopeHeader = {
    kind,
    topic: input.topic,
    origin: signer.peerId,
    seq: input.seq,
    timestampMs: input.timestampMs,
    payloadHash: hashPayload(input.payload),
    algorithm: signer.algorithm
  }
  const headerBytes = encodeHeader(header)
  const signature = signer.sign(envelopeSigningBytes(headerBytes))
  const envelope: Envelope = {
    version: ENVELOPE_VERSION,
    header,
    headerBytes,
    payload: input.payload,
    signature,
    signerKey: input.includeSignerKey === false ? null : signer.publicKey,
    id: computeMessageId(header)
  }
  return { envelope, bytes: encodeEnvelope(envelope) }
}

/** Wire bytes of an envelope. decodeEnvelope(encodeEnvelope(e)) deep-equals e. */
export function encodeEnvelope(e: Envelope): Uint8Array {
  return encodeCbor([ENVELOPE_VERSION, e.headerBytes, e.payload, e.signature, e.signerKey])
}

/**
 * Decodes and validates the structure of an envelope: sizes, canonical CBOR, every field's type,
 * length and range, signature and key lengths for the algorithm. Does NOT check the signature
 * (see `verifyEnvelope` / `openEnvelope`). Throws only InvalidMessageError.
 */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  if (!(bytes instanceof Uint8Array)) throw new InvalidMessageError('envelope must be bytes', 'cbor')
  if (bytes.length > MAX_ENVELOPE_BYTES) {
    throw new InvalidMessageError(`envelope is ${bytes.length} bytes, limit ${MAX_ENVELOPE_BYTES}`, 'size')
  }
  const outer = decodeCbor(bytes, 'envelope')
  if (!Array.isArray(outer) || outer.length < 1) throw new InvalidMessageError('envelope must be a CBOR array', 'field:envelope')
  if (outer[0] !== ENVELOPE_VERSION) {
    throw new InvalidMessageError(`unsupported envelope version ${String(outer[0])}`, 'version')
  }
  const [, hb, pl, sg, key] = expectArray(outer, 5, 'envelope')
  const headerBytes = expectBytes(hb, 'header', { min: 1, max: MAX_HEADER_BYTES })
  const payload = expectBytes(pl, 'payload', { max: MAX_PAYLOAD_BYTES })
  const h = expectArray(decodeCbor(headerBytes, 'envelope header'), 7, 'header')
  const kind = expectUint(h[0], 'kind', 255)
  const topic = topicIdFromBytes(expectBytes(h[1], 'topic', ID_BYTES))
  const origin = peerIdFromBytes(expectBytes(h[2], 'origin', ID_BYTES))
  const seq = expectUint(h[3], 'seq')
  const timestampMs = expectUint(h[4], 'timestampMs')
  const payloadHash = expectBytes(h[5], 'payloadHash', 32)
  const algNum = expectUint(h[6], 'sigAlg', 255)
  const algorithm = signatureAlgorithmFromWire(algNum)
  if (algorithm === undefined) throw new InvalidMessageError(`unknown signature algorithm ${algNum}`, 'field:sigAlg')
  const sizes = SIGNATURE_SIZES[algorithm]
  const signature = expectBytes(sg, 'signature', sizes.signature)
  const signerKey = key === null ? null : expectBytes(key, 'signerKey', sizes.publicKey)
  if (!bytesEqual(hashPayload(payload), payloadHash)) {
    throw new InvalidMessageError('payload does not match the payload hash in the header', 'payloadHash')
  }
  const header: EnvelopeHeader = { kind, topic, origin, seq, timestampMs, payloadHash, algorithm }
  return { version: ENVELOPE_VERSION, header, headerBytes, payload, signature, signerKey, id: computeMessageId(header) }
}

/** Options of `verifyEnvelope` / `openEnvelope`. */
export interface VerifyEnvelopeOptions {
  /** Public key of a PeerId already known (used when the envelope carries none). */
  keyLookup?: (peer: PeerId) => Uint8Array | undefined
  /** When given, also reject envelopes older than `maxAgeMs` or further ahead than `maxSkewMs`. */
  now?: number
  /** Default 10 minutes. */
  maxAgeMs?: number
  /** Default 5 minutes. */
  maxSkewMs?: number
}

/**
 * Checks freshness (when `opts.now` is given; first, since it costs nothing), then that the signer key
 * hashes to `origin` and that the signature over the exact header bytes verifies. Throws
 * InvalidMessageError (`stale` / `future`), UnknownSignerError or InvalidSignatureError.
 */
export function verifyEnvelope(e: Envelope, verifier: Verifier, opts: VerifyEnvelopeOptions = {}): void {
  // Freshness first: it is free, and a replayed old message must not cost a signature verification.
  if (opts.now !== undefined) {
    const age = opts.now - e.header.timestampMs
    if (age > (opts.maxAgeMs ?? DEFAULT_MAX_MESSAGE_AGE_MS)) throw new InvalidMessageError(`message is ${age} ms old`, 'stale')
    if (-age > (opts.maxSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS)) throw new InvalidMessageError(`message is ${-age} ms in the future`, 'future')
  }
  const key = e.signerKey ?? opts.keyLookup?.(e.header.origin)
  if (key === undefined) throw new UnknownSignerError(`no public key known for signer ${e.header.origin}`)
  if (peerIdFromPublicKeySafe(key, e.header.algorithm) !== e.header.origin) {
    throw new InvalidSignatureError('signer key does not hash to the origin PeerId')
  }
  if (!verifier.verify(e.header.algorithm, key, envelopeSigningBytes(e.headerBytes), e.signature)) {
    throw new InvalidSignatureError(`signature of message ${e.id} does not verify`)
  }
}

function peerIdFromPublicKeySafe(key: Uint8Array, alg: SignatureAlgorithm): PeerId | undefined {
  try {
    return peerIdFromPublicKey(key, alg)
  } catch {
    return undefined
  }
}

/** decodeEnvelope + verifyEnvelope. */
export function openEnvelope(bytes: Uint8Array, verifier: Verifier, opts: VerifyEnvelopeOptions = {}): Envelope {
  const e = decodeEnvelope(bytes)
  verifyEnvelope(e, verifier, opts)
  return e
}
