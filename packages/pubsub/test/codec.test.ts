// The pub/sub wire codec (SPEC.md §7): exact round trips of every message type, the checks the decoder
// makes on its own (recomputed message id, payload hash, version, type, list and range limits, sketch
// sizes), and that arbitrary or mutated input only ever raises InvalidMessageError.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Identity } from '@saorsa-gossip/identity'
import {
  createEnvelope,
  encodeCbor,
  encodeEnvelope,
  idToBytes,
  InvalidMessageError,
  messageIdFromBytes,
  topicIdFromBytes,
  topicIdFromName
} from '@saorsa-gossip/types'
import type { MessageId, TopicId } from '@saorsa-gossip/types'
import { decodePubSubMessage, encodePubSubMessage, PUBSUB_LIMITS, PUBSUB_WIRE_VERSION } from '../src/codec.js'
import type { SignedMessage, WirePubSubMessage } from '../src/codec.js'
import { IBLT_CELL_BYTES, IBLT_SIZES } from '../src/proto/iblt.js'
import type { GossipMode } from '../src/proto/types.js'

const alice = Identity.fromSeed(new Uint8Array(32).fill(1))
const topic = topicIdFromName('chat')

/** A genuinely signed envelope (the codec never verifies signatures, but the frames must be real). */
function signed(payload: Uint8Array, seq = 0, timestampMs = 1_700_000_000_000): SignedMessage {
  return createEnvelope({ topic, payload, seq, timestampMs }, alice)
}

const mid = (fill: number): MessageId => messageIdFromBytes(new Uint8Array(32).fill(fill))
const tid = (fill: number): TopicId => topicIdFromBytes(new Uint8Array(32).fill(fill))

/** Catches what `fn` throws and insists it is an InvalidMessageError. */
function invalid(fn: () => unknown): InvalidMessageError {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidMessageError)
    return e as InvalidMessageError
  }
  throw new Error('expected an InvalidMessageError, nothing was thrown')
}

const roundTrip = (m: WirePubSubMessage): WirePubSubMessage => decodePubSubMessage(encodePubSubMessage(m))

// A few signed envelopes made once (ML-DSA signing is not free); the property tests reuse them.
const envelopes: SignedMessage[] = [
  signed(new Uint8Array(0), 0),
  signed(new TextEncoder().encode('hello, world'), 1),
  signed(Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff), 2, 1),
  createEnvelope({ topic: tid(0xab), payload: new Uint8Array([9, 9, 9]), seq: Number.MAX_SAFE_INTEGER, timestampMs: 2 ** 40, includeSignerKey: false }, alice)
]

const arbId = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => messageIdFromBytes(b))
const arbTopic = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => topicIdFromBytes(b))
const arbHops = fc.integer({ min: 1, max: PUBSUB_LIMITS.maxHops })
const arbIds = fc.array(arbId, { maxLength: 20 })
const arbCells = fc.constantFrom(...IBLT_SIZES.slice(0, 2))
const arbMessage: fc.Arbitrary<WirePubSubMessage> = fc.oneof(
  fc
    .record({ e: fc.constantFrom(...envelopes), hops: arbHops, mode: fc.constantFrom<GossipMode>('eager', 'graft', 'sync', 'relay') })
    .map(({ e, hops, mode }): WirePubSubMessage => ({ type: 'gossip', topic: e.envelope.header.topic, id: e.envelope.id, hops, mode, data: e })),
  fc
    .record({ topic: arbTopic, entries: fc.array(fc.record({ id: arbId, hops: arbHops }), { maxLength: 20 }) })
    .map((x): WirePubSubMessage => ({ type: 'ihave', ...x })),
  fc.record({ topic: arbTopic, ids: arbIds }).map((x): WirePubSubMessage => ({ type: 'iwant', ...x })),
  fc.record({ topic: arbTopic, ids: arbIds }).map((x): WirePubSubMessage => ({ type: 'graft', ...x })),
  arbTopic.map((t): WirePubSubMessage => ({ type: 'prune', topic: t })),
  fc
    .record({ topic: arbTopic, cells: arbCells, seed: fc.integer({ min: 0, max: 0xffff_ffff }), fill: fc.nat(255) })
    .map(({ cells, fill, ...x }): WirePubSubMessage => ({ type: 'sync', ...x, cells, sketch: new Uint8Array(cells * IBLT_CELL_BYTES).fill(fill) })),
  fc.record({ topic: arbTopic, cells: fc.constantFrom(...IBLT_SIZES) }).map((x): WirePubSubMessage => ({ type: 'sync-retry', ...x }))
)

describe('pubsub wire codec: round trips', () => {
  it('gossip: a real signed envelope comes back field by field, with its exact bytes', () => {
    for (const mode of ['eager', 'graft', 'sync', 'relay'] as const) {
      const e = envelopes[1]!
      const m: WirePubSubMessage = { type: 'gossip', topic: e.envelope.header.topic, id: e.envelope.id, hops: 7, mode, data: e }
      const back = roundTrip(m)
      expect(back).toEqual(m)
      if (back.type !== 'gossip') throw new Error('wrong type')
      expect(back.type).toBe('gossip')
      expect(back.topic).toBe(topic)
      expect(back.id).toBe(e.envelope.id)
      expect(back.hops).toBe(7)
      expect(back.mode).toBe(mode)
      expect(back.data.bytes).toEqual(e.bytes)
      expect(back.data.envelope.id).toBe(e.envelope.id)
      expect(back.data.envelope.header).toEqual(e.envelope.header)
      expect(back.data.envelope.headerBytes).toEqual(e.envelope.headerBytes)
      expect(back.data.envelope.signature).toEqual(e.envelope.signature)
      expect(back.data.envelope.signerKey).toEqual(alice.publicKey)
      expect(new TextDecoder().decode(back.data.envelope.payload)).toBe('hello, world')
    }
    // Without a signer key, an empty payload, the largest seq: still exact.
    for (const e of [envelopes[0]!, envelopes[3]!]) {
      const m: WirePubSubMessage = { type: 'gossip', topic: e.envelope.header.topic, id: e.envelope.id, hops: PUBSUB_LIMITS.maxHops, mode: 'eager', data: e }
      expect(roundTrip(m)).toEqual(m)
    }
    expect(envelopes[3]!.envelope.signerKey).toBeNull()
  })

  it('ihave, iwant, graft, prune, sync and sync-retry come back field by field', () => {
    const ihave: WirePubSubMessage = { type: 'ihave', topic, entries: [{ id: mid(1), hops: 0 }, { id: mid(2), hops: 255 }] }
    const iwant: WirePubSubMessage = { type: 'iwant', topic: tid(3), ids: [mid(4), mid(5), mid(6)] }
    const graft: WirePubSubMessage = { type: 'graft', topic: tid(7), ids: [mid(8)] }
    const graftEmpty: WirePubSubMessage = { type: 'graft', topic: tid(7), ids: [] }
    const prune: WirePubSubMessage = { type: 'prune', topic: tid(9) }
    const sketch = Uint8Array.from({ length: 240 * IBLT_CELL_BYTES }, (_, i) => i & 0xff)
    const sync: WirePubSubMessage = { type: 'sync', topic: tid(10), cells: 240, seed: 0xdead_beef, sketch }
    const retry: WirePubSubMessage = { type: 'sync-retry', topic: tid(11), cells: 3840 }
    for (const m of [ihave, iwant, graft, graftEmpty, prune, sync, retry]) expect(roundTrip(m)).toEqual(m)

    const s = roundTrip(sync)
    if (s.type !== 'sync') throw new Error(`expected sync, got ${s.type}`)
    expect([s.topic, s.cells, s.seed, s.sketch.length, s.sketch[241]]).toEqual([tid(10), 240, 0xdead_beef, 9600, 241])
    const i = roundTrip(ihave)
    if (i.type !== 'ihave') throw new Error(`expected ihave, got ${i.type}`)
    expect(i.entries.map((e) => [e.id, e.hops])).toEqual([
      [mid(1), 0],
      [mid(2), 255]
    ])
    // Lists at the limit are accepted.
    const full: WirePubSubMessage = { type: 'iwant', topic, ids: Array.from({ length: PUBSUB_LIMITS.idsPerMessage }, (_, k) => mid(k & 0xff)) }
    expect(roundTrip(full)).toEqual(full)
  })

  it('decode(encode(x)) = x for 2,000 random messages of every type', () => {
    const seen = new Set<string>()
    fc.assert(
      fc.property(arbMessage, (m) => {
        seen.add(m.type)
        expect(roundTrip(m)).toEqual(m)
      }),
      { numRuns: 2000, seed: 0x9055 }
    )
    expect([...seen].sort()).toEqual(['gossip', 'graft', 'ihave', 'iwant', 'prune', 'sync', 'sync-retry'])
  })
})

describe('pubsub wire codec: rejections', () => {
  const e = envelopes[1]!
  const gossip = (over: Partial<{ id: MessageId; hops: number; data: SignedMessage }>): Uint8Array =>
    encodePubSubMessage({ type: 'gossip', topic, id: e.envelope.id, hops: 1, mode: 'eager', data: e, ...over } as WirePubSubMessage)

  it('a gossip whose claimed id differs from the envelope id is id-mismatch', () => {
    expect(decodePubSubMessage(gossip({})).type).toBe('gossip')
    const err = invalid(() => decodePubSubMessage(gossip({ id: envelopes[0]!.envelope.id })))
    expect(err.reason).toBe('id-mismatch')
    expect(invalid(() => decodePubSubMessage(gossip({ id: mid(0) }))).reason).toBe('id-mismatch')
  })

  it('a gossip with a tampered payload byte fails the payload hash', () => {
    const frame = gossip({})
    const payload = e.envelope.payload
    // Find the payload inside the frame and flip one of its bits.
    let at = -1
    for (let i = 0; i + payload.length <= frame.length && at < 0; i++) {
      if (payload.every((b, k) => frame[i + k] === b)) at = i
    }
    expect(at).toBeGreaterThan(0)
    const tampered = frame.slice()
    tampered[at + 3]! ^= 0x01
    expect(invalid(() => decodePubSubMessage(tampered)).reason).toBe('payloadHash')
    // Same through a re-encoded envelope carrying another payload under the old header.
    const swapped = encodeEnvelope({ ...e.envelope, payload: new TextEncoder().encode('hello, World') })
    expect(invalid(() => decodePubSubMessage(gossip({ data: { envelope: e.envelope, bytes: swapped } }))).reason).toBe('payloadHash')
  })

  it('rejects a wrong version and an unknown type', () => {
    const prune = encodePubSubMessage({ type: 'prune', topic })
    expect(prune[1]).toBe(PUBSUB_WIRE_VERSION) // [version, type, topic]: byte 0 is the array head
    for (const version of [0, 2, 255]) {
      expect(invalid(() => decodePubSubMessage(encodeCbor([version, 4, idToBytes(topic)]))).reason).toBe('version')
    }
    expect(invalid(() => decodePubSubMessage(encodeCbor(['1', 4, idToBytes(topic)]))).reason).toBe('version')
    for (const type of [7, 8, 200, 255]) {
      expect(invalid(() => decodePubSubMessage(encodeCbor([PUBSUB_WIRE_VERSION, type, idToBytes(topic)]))).reason).toBe('field:type')
    }
    expect(invalid(() => decodePubSubMessage(encodeCbor([PUBSUB_WIRE_VERSION, 256, idToBytes(topic)]))).reason).toBe('field:type')
    expect(invalid(() => decodePubSubMessage(encodeCbor([PUBSUB_WIRE_VERSION]))).reason).toBe('field:message')
    expect(invalid(() => decodePubSubMessage(encodeCbor(new Map([[0, 1]])))).reason).toBe('field:message')
  })

  it('rejects more than 1,024 ids or entries', () => {
    const many = Array.from({ length: PUBSUB_LIMITS.idsPerMessage + 1 }, (_, k) => mid(k & 0xff))
    for (const type of ['iwant', 'graft'] as const) {
      expect(invalid(() => decodePubSubMessage(encodePubSubMessage({ type, topic, ids: many }))).reason).toBe('field:ids')
    }
    const entries = many.map((id) => ({ id, hops: 1 }))
    expect(invalid(() => decodePubSubMessage(encodePubSubMessage({ type: 'ihave', topic, entries }))).reason).toBe('field:entries')
  })

  it('rejects hops above 255', () => {
    expect(invalid(() => decodePubSubMessage(gossip({ hops: 0 }))).reason).toBe('field:hops')
    expect(invalid(() => decodePubSubMessage(gossip({ hops: 256 }))).reason).toBe('field:hops')
    expect(invalid(() => decodePubSubMessage(gossip({ hops: 70_000 }))).reason).toBe('field:hops')
    const ihave = encodePubSubMessage({ type: 'ihave', topic, entries: [{ id: mid(1), hops: 256 }] })
    expect(invalid(() => decodePubSubMessage(ihave)).reason).toBe('field:entry.hops')
  })

  it('rejects a sync whose cells are not an IBLT size or whose sketch has the wrong length', () => {
    for (const cells of [0, 59, 61, 120, 480, 3841, 0xffff_ffff]) {
      const sync = encodePubSubMessage({ type: 'sync', topic, cells, seed: 1, sketch: new Uint8Array(Math.min(cells, 4000) * IBLT_CELL_BYTES) })
      expect(invalid(() => decodePubSubMessage(sync)).reason).toBe('field:cells')
      expect(invalid(() => decodePubSubMessage(encodePubSubMessage({ type: 'sync-retry', topic, cells }))).reason).toBe('field:cells')
    }
    for (const len of [0, 60 * IBLT_CELL_BYTES - 1, 60 * IBLT_CELL_BYTES + 1, 240 * IBLT_CELL_BYTES]) {
      const sync = encodePubSubMessage({ type: 'sync', topic, cells: 60, seed: 1, sketch: new Uint8Array(len) })
      expect(invalid(() => decodePubSubMessage(sync)).reason).toBe('field:sketch')
    }
    const seedTooBig = encodeCbor([PUBSUB_WIRE_VERSION, 5, idToBytes(topic), 60, 0x1_0000_0000, new Uint8Array(60 * IBLT_CELL_BYTES)])
    expect(invalid(() => decodePubSubMessage(seedTooBig)).reason).toBe('field:seed')
  })

  it('rejects wrong field counts, wrong id lengths and an unknown gossip mode', () => {
    const t = idToBytes(topic)
    expect(invalid(() => decodePubSubMessage(encodeCbor([1, 4, t, 0]))).reason).toBe('field:fields')
    expect(invalid(() => decodePubSubMessage(encodeCbor([1, 4, t.subarray(0, 31)]))).reason).toBe('field:topic')
    expect(invalid(() => decodePubSubMessage(encodeCbor([1, 2, t, [new Uint8Array(33)]]))).reason).toBe('field:id')
    const mode4 = encodeCbor([1, 0, idToBytes(e.envelope.id), 1, 4, e.bytes])
    expect(invalid(() => decodePubSubMessage(mode4)).reason).toBe('field:mode')
    expect(invalid(() => decodePubSubMessage(new Uint8Array(0))).reason).toBe('cbor')
  })

  it('2,400 random byte strings and mutated valid frames raise only InvalidMessageError', () => {
    const valid = fc.sample(arbMessage, { numRuns: 64, seed: 0x5eed }).map(encodePubSubMessage)
    let rejected = 0
    let accepted = 0
    const tryDecode = (bytes: Uint8Array): void => {
      try {
        decodePubSubMessage(bytes)
        accepted++
      } catch (err) {
        if (!(err instanceof InvalidMessageError)) throw err
        rejected++
      }
    }
    fc.assert(
      fc.property(
        fc.nat(valid.length - 1),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        fc.uint8Array({ maxLength: 96 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }),
        (which, at, bit, junk, edits) => {
          const b = valid[which]!
          const flipped = b.map((x, i) => (i === at % b.length ? x ^ (1 << bit) : x))
          const edited = b.slice()
          for (const [pos, val] of edits) edited[pos % b.length] = val
          const truncated = b.subarray(0, at % b.length)
          const extended = Uint8Array.from([...b, ...junk.subarray(0, 1 + (at % 4))])
          const prefixed = Uint8Array.from([...junk.subarray(0, 4), ...b.subarray(0, 64)])
          for (const input of [flipped, edited, truncated, extended, prefixed, junk]) tryDecode(input)
        }
      ),
      { numRuns: 2400, seed: 0x9056 }
    )
    expect(rejected + accepted).toBe(2400 * 6)
    // Most of them are garbage; a flipped bit inside a sketch or an id can still be well-formed.
    expect(rejected).toBeGreaterThan(2400 * 3)
  })
})
