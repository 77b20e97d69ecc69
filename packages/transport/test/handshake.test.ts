import { createVerifier, Identity } from '@saorsa-gossip/identity'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CHANNELS, HandshakeError, HandshakeInitiator, HandshakeResponder } from '../src/index.js'
import type { HandshakeParams } from '../src/index.js'

const alice = Identity.fromSeed(new Uint8Array(32).fill(1))
const bob = Identity.fromSeed(new Uint8Array(32).fill(2))
const mallory = Identity.fromSeed(new Uint8Array(32).fill(3))
const verifier = createVerifier()
const tidA = new TextEncoder().encode('transport-A')
const tidB = new TextEncoder().encode('transport-B')
const tidM = new TextEncoder().encode('transport-M')

const params = (identity: Identity, local: Uint8Array, remote: Uint8Array): HandshakeParams => ({ identity, verifier, localTransportId: local, remoteTransportId: remote })

function reasonOf(f: () => unknown): string {
  try {
    f()
  } catch (e) {
    if (e instanceof HandshakeError) return e.reason
    throw e
  }
  return 'accepted'
}

const flip = (b: Uint8Array, at: number): Uint8Array => {
  const c = b.slice()
  c[at] = (c[at]! ^ 1) & 0xff
  return c
}

describe('PQ handshake', () => {
  it('authenticates both identities and agrees mirrored per-channel keys', () => {
    const i = new HandshakeInitiator(params(alice, tidA, tidB), bob.peerId)
    const r = new HandshakeResponder(params(bob, tidB, tidA))
    const m1 = i.start()
    const m2 = r.onM1(m1)
    const m3 = i.onM2(m2)
    const { m4, session: rs } = r.onM3(m3)
    const is = i.onM4(m4)
    expect(is.remotePeer).toBe(bob.peerId)
    expect(rs.remotePeer).toBe(alice.peerId)
    expect(is.transcriptHash).toEqual(rs.transcriptHash)
    const seen = new Set<string>()
    for (const c of CHANNELS) {
      expect(is.keys[c].send).toEqual(rs.keys[c].recv)
      expect(is.keys[c].recv).toEqual(rs.keys[c].send)
      seen.add(Buffer.from(is.keys[c].send).toString('hex'))
      seen.add(Buffer.from(is.keys[c].recv).toString('hex'))
    }
    expect(seen.size).toBe(6) // six distinct keys
    // Message sizes as SPEC §5.2 states them (ML-DSA-65).
    expect([m1.length, m2.length, m3.length, m4.length]).toEqual([1256, 6428, 5271, 37])
  })

  it('fails the dial when the peer proves another identity than expected', () => {
    const i = new HandshakeInitiator(params(alice, tidA, tidB), mallory.peerId)
    const r = new HandshakeResponder(params(bob, tidB, tidA))
    expect(reasonOf(() => i.onM2(r.onM1(i.start())))).toBe('handshake:peer-mismatch')
  })

  it('rejects a forged responder signature, and a forged initiator signature', () => {
    const i = new HandshakeInitiator(params(alice, tidA, tidB))
    const r = new HandshakeResponder(params(bob, tidB, tidA))
    const m2 = r.onM1(i.start())
    expect(reasonOf(() => i.onM2(flip(m2, m2.length - 100)))).toBe('handshake:bad-signature')

    const i2 = new HandshakeInitiator(params(alice, tidA, tidB))
    const r2 = new HandshakeResponder(params(bob, tidB, tidA))
    const m3 = i2.onM2(r2.onM1(i2.start()))
    expect(reasonOf(() => r2.onM3(flip(m3, m3.length - 100)))).toBe('handshake:bad-signature')
  })

  it('detects a man in the middle that splices two outer sessions', () => {
    // Alice's outer link goes to M (transport id M); M relays the PQ messages to Bob over its own link.
    const i = new HandshakeInitiator(params(alice, tidA, tidM), bob.peerId)
    const r = new HandshakeResponder(params(bob, tidB, tidM))
    expect(reasonOf(() => i.onM2(r.onM1(i.start())))).toBe('handshake:bad-signature')
  })

  it('detects a substituted ephemeral key (M swaps in its own X-Wing key)', () => {
    const i = new HandshakeInitiator(params(alice, tidA, tidB), bob.peerId)
    const m = new HandshakeInitiator(params(mallory, tidA, tidB))
    const r = new HandshakeResponder(params(bob, tidB, tidA))
    i.start()
    const m2 = r.onM1(m.start()) // Bob answers Mallory's M1 …
    expect(reasonOf(() => i.onM2(m2))).toBe('handshake:bad-signature') // … which Alice's transcript exposes
  })

  it('rejects a wrong key confirmation and out-of-order messages', () => {
    const i = new HandshakeInitiator(params(alice, tidA, tidB))
    const r = new HandshakeResponder(params(bob, tidB, tidA))
    const { m4 } = r.onM3(i.onM2(r.onM1(i.start())))
    expect(reasonOf(() => i.onM4(flip(m4, m4.length - 1)))).toBe('handshake:confirm')
    const r2 = new HandshakeResponder(params(bob, tidB, tidA))
    expect(reasonOf(() => r2.onM3(new Uint8Array(10)))).toBe('handshake:unexpected')
  })

  it('10,000 random and mutated handshake messages give only HandshakeError', () => {
    const i = new HandshakeInitiator(params(alice, tidA, tidB))
    const r0 = new HandshakeResponder(params(bob, tidB, tidA))
    const goodM1 = i.start()
    const goodM2 = r0.onM1(goodM1)
    const reasons = new Map<string, number>()
    const count = (reason: string) => reasons.set(reason, (reasons.get(reason) ?? 0) + 1)
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })).map(([at, bit]) => flip(goodM1, at % goodM1.length).map((b, k) => (k === 0 ? b ^ (bit & 1) : b))),
          fc.nat().map((n) => goodM1.subarray(0, n % goodM1.length))
        ),
        (bytes) => {
          count(reasonOf(() => new HandshakeResponder(params(bob, tidB, tidA)).onM1(bytes)))
        }
      ),
      { numRuns: 5000, seed: 0x4a5 }
    )
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.nat().map((n) => goodM2.subarray(0, n % goodM2.length))), (bytes) => {
        const ii = new HandshakeInitiator(params(alice, tidA, tidB))
        ii.start()
        count(reasonOf(() => ii.onM2(bytes)))
      }),
      { numRuns: 5000, seed: 0x4a6 }
    )
    const total = [...reasons.values()].reduce((a, b) => a + b, 0)
    expect(total).toBe(10_000)
    expect(reasons.get('handshake:malformed')).toBeGreaterThan(5000)
  })
})
