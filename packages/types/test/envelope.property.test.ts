// Property tests of the envelope codec: ≥ 10,000 random and mutated inputs into the decoder must
// either decode or throw the codec's own InvalidMessageError — never any other exception — and
// decode(encode(x)) = x for every well-formed envelope x.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  computeMessageId,
  decodeEnvelope,
  encodeCbor,
  encodeEnvelope,
  hashPayload,
  idToBytes,
  InvalidMessageError,
  peerIdFromBytes,
  SIGNATURE_SIZES,
  SignatureAlgorithms,
  topicIdFromBytes
} from '../src/index.js'
import type { Envelope, EnvelopeHeader, SignatureAlgorithm } from '../src/index.js'

const uint = fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 2 ** 32 + 5 }), fc.maxSafeNat())

/** An arbitrary well-formed (not necessarily validly signed) envelope. */
const arbEnvelope: fc.Arbitrary<Envelope> = fc
  .record({
    kind: fc.integer({ min: 0, max: 255 }),
    topic: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    origin: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    seq: uint,
    timestampMs: uint,
    payload: fc.uint8Array({ maxLength: 300 }),
    algorithm: fc.constantFrom<SignatureAlgorithm>('ML-DSA-65', 'SLH-DSA-SHA2-128s'),
    withKey: fc.boolean(),
    fill: fc.integer({ min: 0, max: 255 })
  })
  .map((r) => {
    const header: EnvelopeHeader = {
      kind: r.kind,
      topic: topicIdFromBytes(r.topic),
      origin: peerIdFromBytes(r.origin),
      seq: r.seq,
      timestampMs: r.timestampMs,
      payloadHash: hashPayload(r.payload),
      algorithm: r.algorithm
    }
    const headerBytes = encodeCbor([
      header.kind,
      idToBytes(header.topic),
      idToBytes(header.origin),
      header.seq,
      header.timestampMs,
      header.payloadHash,
      SignatureAlgorithms[header.algorithm]
    ])
    const sizes = SIGNATURE_SIZES[r.algorithm]
    return {
      version: 1 as const,
      header,
      headerBytes,
      payload: r.payload,
      signature: new Uint8Array(sizes.signature).fill(r.fill),
      signerKey: r.withKey ? new Uint8Array(sizes.publicKey).fill(r.fill ^ 0x5a) : null,
      id: computeMessageId(header)
    }
  })

type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'truncate'; at: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; n: number }
  | { op: 'dup'; at: number; n: number }

const arbMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 9 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 9 }) }),
  fc.record({ op: fc.constant('dup' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 40 }) })
)

function mutate(input: Uint8Array, muts: Mutation[]): Uint8Array {
  let b = input
  for (const m of muts) {
    if (b.length === 0) break
    const at = m.at % b.length
    switch (m.op) {
      case 'flip':
        b = b.slice()
        b[at] = (b[at]! ^ (1 << m.bit)) & 0xff
        break
      case 'set':
        b = b.slice()
        b[at] = m.value
        break
      case 'truncate':
        b = b.slice(0, at)
        break
      case 'insert':
        b = Uint8Array.from([...b.subarray(0, at), ...m.bytes, ...b.subarray(at)])
        break
      case 'delete':
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + m.n)])
        break
      case 'dup':
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at, at + m.n), ...b.subarray(at)])
        break
    }
  }
  return b
}

/** Decoding must succeed or fail with InvalidMessageError; anything else fails the property. */
function decodesOrRejectsCleanly(bytes: Uint8Array): boolean {
  try {
    const e = decodeEnvelope(bytes)
    // Whatever decodes re-encodes to the same bytes (the accepted encoding is unique).
    expect(encodeEnvelope(e)).toEqual(bytes)
    return true
  } catch (err) {
    if (err instanceof InvalidMessageError) return true
    throw err
  }
}

describe('envelope codec properties', () => {
  it('decode(encode(x)) = x for 3,000 random envelopes', () => {
    fc.assert(
      fc.property(arbEnvelope, (e) => {
        const bytes = encodeEnvelope(e)
        expect(decodeEnvelope(bytes)).toEqual(e)
      }),
      { numRuns: 3000, seed: 0x5a05 }
    )
  })

  it('5,000 mutated envelopes decode or raise only InvalidMessageError', () => {
    let rejected = 0
    fc.assert(
      fc.property(arbEnvelope, fc.array(arbMutation, { minLength: 1, maxLength: 4 }), (e, muts) => {
        const bytes = mutate(encodeEnvelope(e), muts)
        try {
          decodeEnvelope(bytes)
        } catch (err) {
          if (!(err instanceof InvalidMessageError)) throw err
          rejected++
        }
        return decodesOrRejectsCleanly(bytes)
      }),
      { numRuns: 5000, seed: 0x5a06 }
    )
    // The mutations must actually exercise the error paths, not only benign payload bytes.
    expect(rejected).toBeGreaterThan(2500)
  })

  it('3,000 random byte strings and random CBOR values raise only InvalidMessageError', () => {
    const randomCbor = fc
      .anything({ maxDepth: 3, withMap: true, withBigInt: true, withTypedArray: true, withNullPrototype: false })
      .map((v) => {
        try {
          return encodeCbor(v as never)
        } catch {
          return new Uint8Array([0xff])
        }
      })
    const arbArrayish = fc
      .tuple(fc.integer({ min: 0, max: 3 }), fc.array(fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.nat(), fc.constant(null), fc.string()), { maxLength: 7 }))
      .map(([v, items]) => encodeCbor([v, ...items] as never))
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), randomCbor, arbArrayish), (bytes) => decodesOrRejectsCleanly(bytes)),
      { numRuns: 3000, seed: 0x5a07 }
    )
  })
})
