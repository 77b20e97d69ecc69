// Identifiers: PeerId, TopicId, MessageId. Each is 32 bytes on the wire and a branded lower-case hex
// string (64 characters) in memory, so it can key a Map and print as is. SPEC.md §1–§2.
import { blake3 } from './hash.js'
import { sha256 } from './hash.js'
import { concatBytes, fromHex, toHex, u64be, utf8 } from './bytes.js'

declare const brand: unique symbol
type Brand<T, B extends string> = T & { readonly [brand]: B }

/** A peer's identifier: 32 bytes derived from its public signing key, in lower-case hex. */
export type PeerId = Brand<string, 'PeerId'>
/** A topic's identifier: 32 bytes (BLAKE3 of its name), in lower-case hex. */
export type TopicId = Brand<string, 'TopicId'>
/** A message's identifier: 32 bytes (BLAKE3 over its header inputs), in lower-case hex. */
export type MessageId = Brand<string, 'MessageId'>

/** Length in bytes of every id. */
export const ID_BYTES = 32

/** Signature algorithms an identity may use, by their wire number (SPEC.md §1.1). */
export const SignatureAlgorithms = {
  /** ML-DSA-65 (FIPS 204), the default: public key 1952 B, signature 3309 B. */
  'ML-DSA-65': 1,
  /** SLH-DSA-SHA2-128s (FIPS 205), for long-term keys: public key 32 B, signature 7856 B. */
  'SLH-DSA-SHA2-128s': 2
} as const
/** Name of a signature algorithm. */
export type SignatureAlgorithm = keyof typeof SignatureAlgorithms

/** Key and signature sizes per algorithm (bytes). */
export const SIGNATURE_SIZES: Readonly<Record<SignatureAlgorithm, { publicKey: number; signature: number }>> = {
  'ML-DSA-65': { publicKey: 1952, signature: 3309 },
  'SLH-DSA-SHA2-128s': { publicKey: 32, signature: 7856 }
}

/** The algorithm with wire number `n`, or undefined. */
export function signatureAlgorithmFromWire(n: number): SignatureAlgorithm | undefined {
  for (const [name, v] of Object.entries(SignatureAlgorithms)) if (v === n) return name as SignatureAlgorithm
  return undefined
}

/**
 * Domain prefixes of the PeerId hash. ML-DSA-65 uses the prefix of the Rust original and ant-quic, so
 * one key has one PeerId in both; SLH-DSA keys get their own prefix so no two key types can collide.
 */
export const PEER_ID_DOMAIN: Readonly<Record<SignatureAlgorithm, string>> = {
  'ML-DSA-65': 'AUTONOMI_PEER_ID_V2:',
  'SLH-DSA-SHA2-128s': 'SAORSA_PEER_ID_SLH_DSA_SHA2_128S_V1:'
}

const HEX64 = /^[0-9a-f]{64}$/

/** PeerId = SHA-256(domain ‖ publicKey) (SPEC.md §1.2). Checks the key length for the algorithm. */
export function peerIdFromPublicKey(publicKey: Uint8Array, algorithm: SignatureAlgorithm = 'ML-DSA-65'): PeerId {
  if (!(publicKey instanceof Uint8Array)) throw new TypeError('publicKey must be a Uint8Array')
  const size = SIGNATURE_SIZES[algorithm]
  if (size === undefined) throw new RangeError(`unknown signature algorithm ${String(algorithm)}`)
  if (publicKey.length !== size.publicKey) {
    throw new RangeError(`${algorithm} public key must be ${size.publicKey} bytes, got ${publicKey.length}`)
  }
  return toHex(sha256(concatBytes(utf8(PEER_ID_DOMAIN[algorithm]), publicKey))) as PeerId
}

function parseId<T>(kind: string, s: unknown): T {
  if (typeof s !== 'string') throw new TypeError(`${kind} must be a string`)
  const lower = s.toLowerCase()
  if (!HEX64.test(lower)) throw new RangeError(`${kind} must be 64 hex characters, got ${JSON.stringify(s.slice(0, 80))}`)
  return lower as T
}

/** Validates and normalises (lower-cases) a PeerId string. */
export const parsePeerId = (s: unknown): PeerId => parseId<PeerId>('PeerId', s)
/** Validates and normalises a TopicId string. */
export const parseTopicId = (s: unknown): TopicId => parseId<TopicId>('TopicId', s)
/** Validates and normalises a MessageId string. */
export const parseMessageId = (s: unknown): MessageId => parseId<MessageId>('MessageId', s)

function idFromBytes<T>(kind: string, b: Uint8Array): T {
  if (!(b instanceof Uint8Array)) throw new TypeError(`${kind} bytes must be a Uint8Array`)
  if (b.length !== ID_BYTES) throw new RangeError(`${kind} must be ${ID_BYTES} bytes, got ${b.length}`)
  return toHex(b) as T
}
/** PeerId from its 32 raw bytes. */
export const peerIdFromBytes = (b: Uint8Array): PeerId => idFromBytes<PeerId>('PeerId', b)
/** TopicId from its 32 raw bytes. */
export const topicIdFromBytes = (b: Uint8Array): TopicId => idFromBytes<TopicId>('TopicId', b)
/** MessageId from its 32 raw bytes. */
export const messageIdFromBytes = (b: Uint8Array): MessageId => idFromBytes<MessageId>('MessageId', b)

/** The 32 raw bytes of any id. */
export function idToBytes(id: PeerId | TopicId | MessageId): Uint8Array {
  return fromHex(id)
}

/** TopicId of a topic name: BLAKE3(UTF-8 name), the derivation of the Rust original (SPEC.md §1.3). */
export function topicIdFromName(name: string): TopicId {
  if (typeof name !== 'string') throw new TypeError('topic name must be a string')
  if (name.length === 0) throw new RangeError('topic name must not be empty')
  return toHex(blake3(utf8(name))) as TopicId
}

/** Domain tag of the message-id hash (SPEC.md §2.4). */
export const MESSAGE_ID_DOMAIN = 'saorsa-gossip/msg-id/v1'

/** Inputs of a message id, every one carried in the envelope header. */
export interface MessageIdInputs {
  topic: TopicId
  origin: PeerId
  seq: number
  timestampMs: number
  payloadHash: Uint8Array
}

/**
 * MessageId = BLAKE3(domain ‖ topic ‖ origin ‖ u64be(seq) ‖ u64be(timestampMs) ‖ BLAKE3(payload)).
 * Every input is on the wire, so each receiver recomputes it (SPEC.md §2.4).
 */
export function computeMessageId(i: MessageIdInputs): MessageId {
  if (!(i.payloadHash instanceof Uint8Array) || i.payloadHash.length !== 32) {
    throw new RangeError('payloadHash must be 32 bytes')
  }
  return toHex(
    blake3(concatBytes(utf8(MESSAGE_ID_DOMAIN), fromHex(i.topic), fromHex(i.origin), u64be(i.seq), u64be(i.timestampMs), i.payloadHash))
  ) as MessageId
}

/** BLAKE3-256 of `bytes` (the payload hash of the envelope). */
export function hashPayload(bytes: Uint8Array): Uint8Array {
  return blake3(bytes)
}
