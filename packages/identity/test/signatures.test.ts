// ML-DSA-65 and SLH-DSA-SHA2-128s across the two backends, the Identity class and the Verifier.
import { peerIdFromPublicKey, SIGNATURE_SIZES } from '@saorsa-gossip/types'
import type { SignatureAlgorithm } from '@saorsa-gossip/types'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { createVerifier, Identity, verify } from '../src/index.js'
import type { KeyPair } from '../src/index.js'
import { backends, flip, hasNative, hex, loadVector, native, noble, toHexStr } from './helpers.js'

const msg = new TextEncoder().encode('saorsa gossip: a signed message')

describe.runIf(hasNative)('ML-DSA-65 across backends', () => {
  const seed = Uint8Array.from({ length: 32 }, (_, i) => i * 7)
  const n = native.mldsa65.keygen(seed)
  const j = noble.mldsa65.keygen(seed)

  it('gives the same keys and PeerId from the same seed (FIPS 204 KeyGen_internal)', () => {
    expect(n.publicKey.length).toBe(1952)
    expect(toHexStr(n.publicKey)).toBe(toHexStr(j.publicKey))
    expect(toHexStr(n.secretKey)).toBe(toHexStr(j.secretKey))
    const a = Identity.fromSeed(seed, { backend: 'native' })
    const b = Identity.fromSeed(seed, { backend: 'noble' })
    expect(a.peerId).toBe(b.peerId)
    expect(a.peerId).toBe(peerIdFromPublicKey(j.publicKey, 'ML-DSA-65'))
  })

  it('verifies native signatures with noble and the reverse', () => {
    const sn = native.mldsa65.sign(n.secretKey, msg)
    const sj = noble.mldsa65.sign(j.secretKey, msg)
    expect(sn.length).toBe(3309)
    expect(noble.mldsa65.verify(j.publicKey, msg, sn)).toBe(true)
    expect(native.mldsa65.verify(n.publicKey, msg, sj)).toBe(true)
    // Secret keys are interchangeable too (both are the FIPS 204 skEncode).
    expect(native.mldsa65.verify(n.publicKey, msg, native.mldsa65.sign(j.secretKey, msg))).toBe(true)
  })

  it('signs hedged: two signatures of one message differ, both valid', () => {
    for (const b of backends) {
      const s1 = b.mldsa65.sign(n.secretKey, msg)
      const s2 = b.mldsa65.sign(n.secretKey, msg)
      expect(toHexStr(s1)).not.toBe(toHexStr(s2))
      expect(b.mldsa65.verify(n.publicKey, msg, s2)).toBe(true)
    }
  })

  it('both reject a tampered message, signature or key', () => {
    const sig = native.mldsa65.sign(n.secretKey, msg)
    const other = native.mldsa65.keygen(new Uint8Array(32).fill(9)).publicKey
    for (const b of backends) {
      expect(b.mldsa65.verify(n.publicKey, msg, sig)).toBe(true)
      expect(b.mldsa65.verify(n.publicKey, flip(msg, 3), sig)).toBe(false)
      expect(b.mldsa65.verify(n.publicKey, msg, flip(sig, 100))).toBe(false)
      expect(b.mldsa65.verify(n.publicKey, msg, flip(sig, 3308, 0x80))).toBe(false)
      expect(b.mldsa65.verify(flip(n.publicKey, 40), msg, sig)).toBe(false)
      expect(b.mldsa65.verify(other, msg, sig)).toBe(false)
      expect(b.mldsa65.verify(n.publicKey, msg, sig.subarray(1))).toBe(false)
      expect(b.mldsa65.verify(n.publicKey.subarray(1), msg, sig)).toBe(false)
    }
  })

  it('never signs with a stale key when a secret-key array is rewritten in place', () => {
    const other = native.mldsa65.keygen(new Uint8Array(32).fill(200))
    for (const b of backends) {
      const sk = Uint8Array.from(n.secretKey)
      expect(b.mldsa65.verify(n.publicKey, msg, b.mldsa65.sign(sk, msg))).toBe(true)
      sk.set(other.secretKey)
      const sig = b.mldsa65.sign(sk, msg)
      expect(b.mldsa65.verify(other.publicKey, msg, sig)).toBe(true)
      expect(b.mldsa65.verify(n.publicKey, msg, sig)).toBe(false)
    }
  })

  it('rejects any single bit flip of the signature in both backends (property)', () => {
    const sig = native.mldsa65.sign(n.secretKey, msg)
    fc.assert(
      fc.property(fc.integer({ min: 0, max: sig.length * 8 - 1 }), (bit) => {
        const bad = flip(sig, bit >> 3, 1 << (bit & 7))
        return !native.mldsa65.verify(n.publicKey, msg, bad) && !noble.mldsa65.verify(n.publicKey, msg, bad)
      }),
      { numRuns: 40 }
    )
  })
})

describe('ML-DSA-65 known answers (Wycheproof)', () => {
  interface KeygenCase { privateSeed: string; publicKey: string; msg: string; sig: string; tcId: number }
  interface VerifyGroup { publicKey: string; tests: Array<{ tcId: number; msg: string; sig: string; result: 'valid' | 'invalid'; flags: string[] }> }
  const v = loadVector<{ keygen: KeygenCase[]; verify: VerifyGroup[] }>('wycheproof-mldsa65.json')

  it('seed -> public key matches in every backend, and the published signature verifies', () => {
    expect(v.keygen.length).toBeGreaterThan(0)
    for (const b of backends) {
      for (const k of v.keygen) {
        const kp = b.mldsa65.keygen(hex(k.privateSeed))
        expect(toHexStr(kp.publicKey), `${b.name} tc ${k.tcId}`).toBe(k.publicKey)
        expect(b.mldsa65.verify(kp.publicKey, hex(k.msg), hex(k.sig))).toBe(true)
      }
    }
  })

  it('verify gives the published result in every backend and never throws', () => {
    let invalid = 0
    for (const b of backends) {
      const verifier = createVerifier(b)
      for (const g of v.verify) {
        for (const t of g.tests) {
          const got = verifier.verify('ML-DSA-65', hex(g.publicKey), hex(t.msg), hex(t.sig))
          expect(got, `${b.name} tc ${t.tcId} ${t.flags.join(',')}`).toBe(t.result === 'valid')
          if (t.result === 'invalid') invalid++
        }
      }
    }
    expect(invalid).toBeGreaterThan(10)
  })
})

describe.runIf(hasNative)('SLH-DSA-SHA2-128s across backends', () => {
  // Signing is slow (noble ~3 s, native ~0.5 s): one signature per backend for the whole group.
  const seed = Uint8Array.from({ length: 48 }, (_, i) => 255 - i)
  let n: KeyPair, j: KeyPair, sn: Uint8Array, sj: Uint8Array
  beforeAll(() => {
    n = native.slhdsa.keygen(seed)
    j = noble.slhdsa.keygen(seed)
    sn = native.slhdsa.sign(n.secretKey, msg)
    sj = noble.slhdsa.sign(j.secretKey, msg)
  })

  it('gives the same keys and PeerId from the same 48-byte seed (FIPS 205 slh_keygen_internal)', () => {
    expect(n.publicKey.length).toBe(32)
    expect(toHexStr(n.publicKey)).toBe(toHexStr(j.publicKey))
    expect(toHexStr(n.secretKey)).toBe(toHexStr(j.secretKey))
    expect(peerIdFromPublicKey(n.publicKey, 'SLH-DSA-SHA2-128s')).toBe(peerIdFromPublicKey(j.publicKey, 'SLH-DSA-SHA2-128s'))
  })

  it('verifies native signatures with noble and the reverse', () => {
    expect(sn.length).toBe(7856)
    expect(noble.slhdsa.verify(j.publicKey, msg, sn)).toBe(true)
    expect(native.slhdsa.verify(n.publicKey, msg, sj)).toBe(true)
  })

  it('both reject a tampered message, signature or key', () => {
    for (const b of backends) {
      for (const sig of [sn, sj]) {
        expect(b.slhdsa.verify(n.publicKey, flip(msg, 0), sig)).toBe(false)
        expect(b.slhdsa.verify(n.publicKey, msg, flip(sig, 5000))).toBe(false)
        expect(b.slhdsa.verify(flip(n.publicKey, 31), msg, sig)).toBe(false)
        expect(b.slhdsa.verify(n.publicKey, msg, sig.subarray(0, 7855))).toBe(false)
      }
    }
  })
})

describe('Identity', () => {
  it('generates ML-DSA-65 identities whose PeerId is SHA-256(domain ‖ pk)', () => {
    const a = Identity.generate()
    const b = Identity.generate()
    expect(a.algorithm).toBe('ML-DSA-65')
    expect(a.publicKey.length).toBe(SIGNATURE_SIZES['ML-DSA-65'].publicKey)
    expect(a.peerId).toBe(peerIdFromPublicKey(a.publicKey, 'ML-DSA-65'))
    expect(a.peerId).not.toBe(b.peerId)
  })

  it('is determined by its seed, which only exportSeed() reveals', () => {
    const seed = new Uint8Array(32).fill(42)
    const a = Identity.fromSeed(seed)
    seed.fill(0) // the identity keeps its own copy
    const b = Identity.fromSeed(new Uint8Array(32).fill(42))
    expect(a.peerId).toBe(b.peerId)
    expect(toHexStr(a.exportSeed())).toBe('2a'.repeat(32))
    const json = JSON.stringify(a)
    expect(json).not.toContain('2a2a2a2a')
    expect(JSON.parse(json)).toEqual({ algorithm: 'ML-DSA-65', peerId: a.peerId })
    expect(Object.keys(a)).not.toContain('seed')
    expect((a as unknown as { seed?: unknown }).seed).toBeUndefined()
  })

  it('signs messages its own key and any Verifier accept', () => {
    for (const b of backends) {
      const id = Identity.generate({ backend: b })
      const sig = id.sign(msg)
      expect(sig.length).toBe(3309)
      expect(id.verify(msg, sig)).toBe(true)
      expect(verify('ML-DSA-65', id.publicKey, msg, sig)).toBe(true)
      for (const other of backends) expect(createVerifier(other).verify('ML-DSA-65', id.publicKey, msg, sig)).toBe(true)
      expect(id.verify(flip(msg, 1), sig)).toBe(false)
    }
  })

  it('hands out copies of its public key', () => {
    const id = Identity.fromSeed(new Uint8Array(32).fill(3))
    const pk = id.publicKey
    pk.fill(0)
    expect(id.publicKey.some((x) => x !== 0)).toBe(true)
    expect(id.peerId).toBe(peerIdFromPublicKey(id.publicKey, 'ML-DSA-65'))
  })

  it('refuses to sign or export after destroy()', () => {
    const id = Identity.generate()
    id.destroy()
    expect(id.destroyed).toBe(true)
    expect(() => id.sign(msg)).toThrow(/destroyed/)
    expect(() => id.exportSeed()).toThrow(/destroyed/)
    id.destroy() // idempotent
  })

  it('checks its inputs', () => {
    expect(() => Identity.fromSeed(new Uint8Array(31))).toThrow(RangeError)
    expect(() => Identity.fromSeed(new Uint8Array(32), { algorithm: 'SLH-DSA-SHA2-128s' })).toThrow(/48 bytes/)
    expect(() => Identity.fromSeed('x' as never)).toThrow(TypeError)
    expect(() => Identity.generate({ algorithm: 'Ed25519' as never })).toThrow(RangeError)
    expect(() => Identity.fromSeed(new Uint8Array(32)).sign('text' as never)).toThrow(TypeError)
  })

  it('supports SLH-DSA-SHA2-128s identities (native signing)', () => {
    const id = Identity.fromSeed(new Uint8Array(48).fill(5), { algorithm: 'SLH-DSA-SHA2-128s', backend: native })
    expect(id.publicKey.length).toBe(32)
    expect(id.peerId).toBe(peerIdFromPublicKey(id.publicKey, 'SLH-DSA-SHA2-128s'))
    const sig = id.sign(msg)
    expect(sig.length).toBe(7856)
    expect(verify('SLH-DSA-SHA2-128s', id.publicKey, msg, sig)).toBe(true)
    expect(verify('ML-DSA-65', id.publicKey, msg, sig)).toBe(false)
  })
})

describe('Verifier on malformed input', () => {
  const id = Identity.fromSeed(new Uint8Array(32).fill(8))
  const sig = id.sign(msg)
  const pk = id.publicKey
  it('answers false and never throws', () => {
    for (const b of backends) {
      const v = createVerifier(b)
      const cases: Array<[unknown, unknown, unknown, unknown]> = [
        ['ML-DSA-44', pk, msg, sig],
        ['toString', pk, msg, sig],
        ['__proto__', pk, msg, sig],
        [undefined, pk, msg, sig],
        ['ML-DSA-65', pk.subarray(1), msg, sig],
        ['ML-DSA-65', new Uint8Array(1952), msg, sig],
        ['ML-DSA-65', pk, msg, new Uint8Array(3309)],
        ['ML-DSA-65', pk, msg, new Uint8Array(3309).fill(255)],
        ['ML-DSA-65', pk, msg, sig.subarray(0, 100)],
        ['ML-DSA-65', Array.from(pk), msg, sig],
        ['ML-DSA-65', pk, 'message', sig],
        ['ML-DSA-65', pk, msg, null],
        ['ML-DSA-65', null, null, null],
        ['SLH-DSA-SHA2-128s', pk, msg, sig]
      ]
      for (const [alg, k, m, s] of cases) {
        expect(v.verify(alg as SignatureAlgorithm, k as Uint8Array, m as Uint8Array, s as Uint8Array)).toBe(false)
      }
      expect(v.verify('ML-DSA-65', pk, msg, sig)).toBe(true)
    }
  })

  it('rejects random signatures of the right length (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 3309, maxLength: 3309 }), (s) => backends.every((b) => !createVerifier(b).verify('ML-DSA-65', pk, msg, s))),
      { numRuns: 25 }
    )
  })
})
