import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeMembershipMessage, encodeMembershipMessage, FOREIGN_PROTO, MEMBERSHIP_LIMITS } from '../src/index.js'
import type { MembershipMessage, PeerInfo } from '../src/index.js'
import { encodeCbor, InvalidMessageError } from '@saorsa-gossip/types'

const arbPeer: fc.Arbitrary<PeerInfo> = fc.record({
  id: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex') as PeerInfo['id']),
  addrs: fc.array(fc.string({ maxLength: 40 }), { maxLength: MEMBERSHIP_LIMITS.addrsPerPeer })
})
const addrs = fc.array(fc.string({ maxLength: 40 }), { maxLength: MEMBERSHIP_LIMITS.addrsPerPeer })
const u32 = fc.integer({ min: 0, max: 0xffff_ffff })
const arbUpdate = fc.record({ peer: arbPeer, state: fc.constantFrom('alive' as const, 'suspect' as const, 'failed' as const), incarnation: u32 })
const peers = fc.array(arbPeer, { maxLength: MEMBERSHIP_LIMITS.peersPerList })
const updates = fc.array(arbUpdate, { maxLength: 8 })
const ttl = fc.integer({ min: 0, max: 255 })

const arbMessage: fc.Arbitrary<MembershipMessage> = fc.oneof(
  addrs.map((a) => ({ p: 'hv' as const, m: { type: 'join' as const, addrs: a } })),
  fc.record({ node: arbPeer, ttl }).map((x) => ({ p: 'hv' as const, m: { type: 'forward-join' as const, ...x } })),
  fc.record({ priority: fc.constantFrom('high' as const, 'low' as const), addrs }).map((x) => ({ p: 'hv' as const, m: { type: 'neighbor' as const, ...x } })),
  fc.boolean().map((accepted) => ({ p: 'hv' as const, m: { type: 'neighbor-reply' as const, accepted } })),
  fc.boolean().map((alive) => ({ p: 'hv' as const, m: { type: 'disconnect' as const, alive } })),
  fc.record({ origin: arbPeer, nodes: peers, ttl }).map((x) => ({ p: 'hv' as const, m: { type: 'shuffle' as const, ...x } })),
  peers.map((nodes) => ({ p: 'hv' as const, m: { type: 'shuffle-reply' as const, nodes } })),
  fc.record({ seq: u32, updates, active: fc.boolean() }).map(({ active, ...x }) => ({ p: 'swim' as const, m: { type: 'ping' as const, ...x }, active })),
  fc.record({ seq: u32, updates }).map((x) => ({ p: 'swim' as const, m: { type: 'ack' as const, ...x } })),
  fc.record({ seq: u32, target: arbPeer, updates }).map((x) => ({ p: 'swim' as const, m: { type: 'ping-req' as const, ...x } })),
  u32.map((seq) => ({ p: 'swim' as const, m: { type: 'nack' as const, seq } }))
)

describe('membership wire codec', () => {
  it('decode(encode(x)) = x for 3,000 random messages', () => {
    fc.assert(
      fc.property(arbMessage, (m) => {
        expect(decodeMembershipMessage(encodeMembershipMessage(m))).toEqual(m)
      }),
      { numRuns: 3000, seed: 0x6e6 }
    )
  })

  it('5,000 mutated and random inputs raise only InvalidMessageError', () => {
    let rejected = 0
    fc.assert(
      fc.property(arbMessage, fc.nat(), fc.integer({ min: 0, max: 7 }), fc.uint8Array({ maxLength: 64 }), (m, at, bit, junk) => {
        const b = encodeMembershipMessage(m)
        const inputs = [b.map((x, i) => (i === at % b.length ? x ^ (1 << bit) : x)), b.subarray(0, at % b.length), junk]
        for (const input of inputs) {
          try {
            decodeMembershipMessage(input)
          } catch (e) {
            if (!(e instanceof InvalidMessageError)) throw e
            rejected++
          }
        }
      }),
      { numRuns: 1700, seed: 0x6e7 }
    )
    expect(rejected).toBeGreaterThan(3000)
  })

  it('enforces list limits', () => {
    const p: PeerInfo = { id: '11'.repeat(32) as PeerInfo['id'], addrs: [] }
    const tooMany = { p: 'hv' as const, m: { type: 'shuffle-reply' as const, nodes: Array.from({ length: MEMBERSHIP_LIMITS.peersPerList + 1 }, () => p) } }
    expect(() => decodeMembershipMessage(encodeMembershipMessage(tooMany))).toThrow(InvalidMessageError)
  })

  it('marks frames of another layer\'s proto as foreign, not as malformed membership frames', () => {
    const foreign = (): unknown => decodeMembershipMessage(encodeCbor([1, 2, 0, new Uint8Array(16), 3]))
    expect(foreign).toThrow(expect.objectContaining({ reason: FOREIGN_PROTO }))
    expect(() => decodeMembershipMessage(encodeCbor([1, 1, 99]))).toThrow(expect.objectContaining({ reason: 'field:type' }))
  })
})
