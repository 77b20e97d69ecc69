import { describe, expect, it } from 'vitest'
import {
  createEnvelope,
  decodeEnvelope,
  encodeCbor,
  encodeEnvelope,
  idToBytes,
  InvalidMessageError,
  InvalidSignatureError,
  MAX_ENVELOPE_BYTES,
  MAX_PAYLOAD_BYTES,
  openEnvelope,
  topicIdFromName,
  UnknownSignerError,
  verifyEnvelope
} from '../src/index.js'
import { testSigner, testVerifier } from './helpers.js'

const signer = testSigner(7)
const other = testSigner(8)
const topic = topicIdFromName('news')
const now = 1_732_612_345_678

function make(payload = new Uint8Array([1, 2, 3]), includeSignerKey = true) {
  return createEnvelope({ topic, payload, seq: 42, timestampMs: now, includeSignerKey }, signer)
}

describe('envelope', () => {
  it('round-trips and verifies', () => {
    const { envelope, bytes } = make()
    const d = openEnvelope(bytes, testVerifier, { now })
    expect(d).toEqual(envelope)
    expect(d.header.origin).toBe(signer.peerId)
    expect(d.header.seq).toBe(42)
    expect(d.header.timestampMs).toBe(now)
    expect(encodeEnvelope(d)).toEqual(bytes)
  })

  it('carries a 3309-byte ML-DSA-65 signature and the 1952-byte key unless asked not to', () => {
    const withKey = make()
    const withoutKey = make(new Uint8Array([1, 2, 3]), false)
    expect(withKey.envelope.signature.length).toBe(3309)
    expect(withKey.bytes.length - withoutKey.bytes.length).toBe(1952 + 3 - 1) // bstr(1952) head is 3 bytes, null is 1
  })

  it('needs a known key when the envelope carries none', () => {
    const { bytes } = make(new Uint8Array([9]), false)
    expect(() => openEnvelope(bytes, testVerifier)).toThrow(UnknownSignerError)
    const d = openEnvelope(bytes, testVerifier, { keyLookup: (p) => (p === signer.peerId ? signer.publicKey : undefined) })
    expect(d.header.origin).toBe(signer.peerId)
  })

  it('rejects a swapped payload (the signature covers the payload hash)', () => {
    const a = make(new Uint8Array([1]))
    const b = make(new Uint8Array([2]))
    const forged = encodeCbor([1, a.envelope.headerBytes, b.envelope.payload, a.envelope.signature, signer.publicKey])
    expect(() => decodeEnvelope(forged)).toThrow(InvalidMessageError)
  })

  it('rejects a tampered header, signature or key', () => {
    const { envelope } = make()
    const sig = envelope.signature.slice()
    sig[100] = (sig[100]! ^ 0x80) & 0xff
    const tamperedSig = encodeEnvelope({ ...envelope, signature: sig })
    expect(() => openEnvelope(tamperedSig, testVerifier)).toThrow(InvalidSignatureError)
    // Another peer's key does not hash to the origin.
    const wrongKey = encodeEnvelope({ ...envelope, signerKey: other.publicKey })
    expect(() => openEnvelope(wrongKey, testVerifier)).toThrow(InvalidSignatureError)
    // Re-signing the same header by another key is still bound to the origin PeerId.
    const resigned = encodeEnvelope({ ...envelope, signature: other.sign(new Uint8Array(1)), signerKey: other.publicKey })
    expect(() => openEnvelope(resigned, testVerifier)).toThrow(InvalidSignatureError)
  })

  it('rejects a header whose seq was changed after signing', () => {
    const { envelope } = make()
    const forgedHeader = encodeCbor([0, idToBytes(topic), idToBytes(signer.peerId), 43, now, envelope.header.payloadHash, 1])
    const forged = encodeCbor([1, forgedHeader, envelope.payload, envelope.signature, signer.publicKey])
    const d = decodeEnvelope(forged)
    expect(d.header.seq).toBe(43)
    expect(d.id).not.toBe(envelope.id)
    expect(() => verifyEnvelope(d, testVerifier)).toThrow(InvalidSignatureError)
  })

  it('checks freshness when given the time', () => {
    const { bytes } = make()
    expect(() => openEnvelope(bytes, testVerifier, { now: now + 11 * 60_000 })).toThrow(/old/)
    expect(() => openEnvelope(bytes, testVerifier, { now: now - 6 * 60_000 })).toThrow(/future/)
  })

  it('enforces the size limits', () => {
    expect(() => make(new Uint8Array(MAX_PAYLOAD_BYTES + 1))).toThrow(RangeError)
    const big = make(new Uint8Array(MAX_PAYLOAD_BYTES))
    expect(decodeEnvelope(big.bytes).payload.length).toBe(MAX_PAYLOAD_BYTES)
    expect(() => decodeEnvelope(new Uint8Array(MAX_ENVELOPE_BYTES + 1))).toThrow(/limit/)
  })

  it('rejects unknown versions and wrong shapes with a reason', () => {
    const { envelope } = make()
    const v2 = encodeCbor([2, envelope.headerBytes, envelope.payload, envelope.signature, null])
    expect(() => decodeEnvelope(v2)).toThrow(expect.objectContaining({ reason: 'version' }))
    const short = encodeCbor([1, envelope.headerBytes, envelope.payload, envelope.signature])
    expect(() => decodeEnvelope(short)).toThrow(expect.objectContaining({ reason: 'field:envelope' }))
    const badSig = encodeCbor([1, envelope.headerBytes, envelope.payload, envelope.signature.subarray(1), null])
    expect(() => decodeEnvelope(badSig)).toThrow(expect.objectContaining({ reason: 'field:signature' }))
  })

  it('has a header of 107 to 124 bytes, as SPEC §3.3 says', () => {
    const small = createEnvelope({ kind: 0, topic, payload: new Uint8Array(0), seq: 0, timestampMs: 0 }, signer)
    const large = createEnvelope({ kind: 255, topic, payload: new Uint8Array(0), seq: Number.MAX_SAFE_INTEGER, timestampMs: Number.MAX_SAFE_INTEGER }, signer)
    expect(small.envelope.headerBytes.length).toBe(107)
    expect(large.envelope.headerBytes.length).toBe(124)
    expect(decodeEnvelope(large.bytes).header.seq).toBe(Number.MAX_SAFE_INTEGER)
  })
})
