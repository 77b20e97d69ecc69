import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  computeMessageId,
  fromHex,
  hashPayload,
  idToBytes,
  parsePeerId,
  peerIdFromBytes,
  peerIdFromPublicKey,
  toHex,
  topicIdFromName
} from '../src/index.js'
import type { PeerId, TopicId } from '../src/index.js'

describe('PeerId', () => {
  it('is SHA-256("AUTONOMI_PEER_ID_V2:" ‖ ML-DSA-65 public key), computed independently', () => {
    const pk = new Uint8Array(1952).map((_, i) => (i * 31) & 0xff)
    const expected = createHash('sha256').update('AUTONOMI_PEER_ID_V2:').update(pk).digest('hex')
    expect(peerIdFromPublicKey(pk)).toBe(expected)
  })
  it('uses a different domain for SLH-DSA keys', () => {
    const pk = new Uint8Array(32).fill(1)
    const expected = createHash('sha256').update('SAORSA_PEER_ID_SLH_DSA_SHA2_128S_V1:').update(pk).digest('hex')
    expect(peerIdFromPublicKey(pk, 'SLH-DSA-SHA2-128s')).toBe(expected)
  })
  it('rejects keys of the wrong length', () => {
    expect(() => peerIdFromPublicKey(new Uint8Array(1951))).toThrow(RangeError)
    expect(() => peerIdFromPublicKey('x' as unknown as Uint8Array)).toThrow(TypeError)
  })
  it('parses and normalises hex, rejecting anything else', () => {
    const id = 'AB'.repeat(32)
    expect(parsePeerId(id)).toBe('ab'.repeat(32))
    expect(() => parsePeerId('ab'.repeat(31))).toThrow(RangeError)
    expect(() => parsePeerId('zz'.repeat(32))).toThrow(RangeError)
    expect(() => parsePeerId(42)).toThrow(TypeError)
    const bytes = fromHex('0f'.repeat(32))
    expect(toHex(idToBytes(peerIdFromBytes(bytes)))).toBe('0f'.repeat(32))
    expect(() => peerIdFromBytes(new Uint8Array(31))).toThrow(RangeError)
  })
})

describe('TopicId', () => {
  it('is BLAKE3 of the UTF-8 name (official BLAKE3 test value for "abc")', () => {
    expect(topicIdFromName('abc')).toBe('6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85')
  })
  it('rejects an empty name', () => {
    expect(() => topicIdFromName('')).toThrow(RangeError)
  })
})

describe('MessageId', () => {
  const base = {
    topic: topicIdFromName('t') as TopicId,
    origin: ('11'.repeat(32)) as PeerId,
    seq: 1,
    timestampMs: 1_732_612_345_678,
    payloadHash: hashPayload(new Uint8Array([1, 2, 3]))
  }
  it('changes when any input changes', () => {
    const id = computeMessageId(base)
    const variants = [
      { ...base, topic: topicIdFromName('u') },
      { ...base, origin: ('12'.repeat(32)) as PeerId },
      { ...base, seq: 2 },
      { ...base, timestampMs: base.timestampMs + 1 },
      { ...base, payloadHash: hashPayload(new Uint8Array([1, 2, 4])) }
    ]
    for (const v of variants) expect(computeMessageId(v)).not.toBe(id)
    expect(computeMessageId({ ...base })).toBe(id)
  })
})
