// X-Wing (ML-KEM-768 + X25519) across backends and against noble's published vectors.
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js'
import { describe, expect, it } from 'vitest'
import { XWING_SIZES, xwingDecapsulate, xwingEncapsulate, xwingKeygen } from '../src/index.js'
import { backends, flip, hasNative, hex, loadVector, native, noble, toHexStr } from './helpers.js'

interface XWingVector { seed: string; randomness: string; pk: string; sk: string; ct: string; ss: string }
const { vectors } = loadVector<{ vectors: XWingVector[] }>('xwing-ml-kem768-x25519.json')

describe('X-Wing known answers', () => {
  it('keygen and decapsulation give the published values in every backend', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(3)
    for (const b of backends) {
      for (const v of vectors) {
        const kp = b.xwing.keygen(hex(v.seed))
        expect(toHexStr(kp.publicKey), b.name).toBe(v.pk)
        expect(toHexStr(kp.secretKey)).toBe(v.sk)
        expect(toHexStr(b.xwing.decapsulate(hex(v.ct), hex(v.sk))), b.name).toBe(v.ss)
      }
    }
  })

  it('noble with the published randomness encapsulates to the published ciphertext', () => {
    for (const v of vectors) {
      const e = ml_kem768_x25519.encapsulate(hex(v.pk), hex(v.randomness))
      expect(toHexStr(e.cipherText)).toBe(v.ct)
      expect(toHexStr(e.sharedSecret)).toBe(v.ss)
    }
  })
})

describe.runIf(hasNative)('X-Wing across backends', () => {
  const seed = Uint8Array.from({ length: 32 }, (_, i) => i + 100)
  const kn = native.xwing.keygen(seed)
  const kj = noble.xwing.keygen(seed)

  it('gives the same public key from the same seed', () => {
    expect(kn.publicKey.length).toBe(1216)
    expect(toHexStr(kn.publicKey)).toBe(toHexStr(kj.publicKey))
  })

  it('decapsulates noble ciphertexts natively and the reverse', () => {
    for (let i = 0; i < 3; i++) {
      const ej = noble.xwing.encapsulate(kj.publicKey)
      expect(ej.cipherText.length).toBe(1120)
      expect(toHexStr(native.xwing.decapsulate(ej.cipherText, kn.secretKey))).toBe(toHexStr(ej.sharedSecret))
      const en = native.xwing.encapsulate(kn.publicKey)
      expect(en.cipherText.length).toBe(1120)
      expect(en.sharedSecret.length).toBe(32)
      expect(toHexStr(noble.xwing.decapsulate(en.cipherText, kj.secretKey))).toBe(toHexStr(en.sharedSecret))
      expect(toHexStr(en.sharedSecret)).not.toBe(toHexStr(ej.sharedSecret))
    }
  })

  it('a tampered ciphertext gives another secret, the same in both backends (implicit rejection)', () => {
    const e = native.xwing.encapsulate(kn.publicKey)
    for (const at of [0, 500, 1087, 1100]) {
      const bad = flip(e.cipherText, at)
      const sn = native.xwing.decapsulate(bad, kn.secretKey)
      const sj = noble.xwing.decapsulate(bad, kj.secretKey)
      expect(toHexStr(sn)).toBe(toHexStr(sj))
      expect(toHexStr(sn)).not.toBe(toHexStr(e.sharedSecret))
    }
  })

  it('another key pair cannot recover the secret', () => {
    const other = native.xwing.keygen(new Uint8Array(32).fill(1))
    const e = native.xwing.encapsulate(kn.publicKey)
    expect(toHexStr(native.xwing.decapsulate(e.cipherText, other.secretKey))).not.toBe(toHexStr(e.sharedSecret))
  })
})

describe('X-Wing helpers', () => {
  it('round-trip in every backend, random keys by default', () => {
    for (const b of backends) {
      const kp = xwingKeygen(undefined, b)
      expect(kp.publicKey.length).toBe(XWING_SIZES.publicKey)
      expect(kp.secretKey.length).toBe(XWING_SIZES.secretKey)
      const e = xwingEncapsulate(kp.publicKey, b)
      expect(xwingDecapsulate(e.cipherText, kp.secretKey, b)).toEqual(e.sharedSecret)
    }
    expect(toHexStr(xwingKeygen().publicKey)).not.toBe(toHexStr(xwingKeygen().publicKey))
  })

  it('check their inputs', () => {
    const kp = xwingKeygen(new Uint8Array(32))
    const e = xwingEncapsulate(kp.publicKey)
    expect(() => xwingKeygen(new Uint8Array(31))).toThrow(RangeError)
    expect(() => xwingEncapsulate(kp.publicKey.subarray(1))).toThrow(RangeError)
    expect(() => xwingEncapsulate([1, 2] as never)).toThrow(TypeError)
    expect(() => xwingDecapsulate(e.cipherText.subarray(1), kp.secretKey)).toThrow(RangeError)
    expect(() => xwingDecapsulate(e.cipherText, new Uint8Array(64))).toThrow(RangeError)
  })

  it('reject an X25519 low-order point with RangeError in every backend', () => {
    for (const b of backends) {
      const kp = b.xwing.keygen(new Uint8Array(32).fill(2))
      const e = b.xwing.encapsulate(kp.publicKey)
      const ct = Uint8Array.from(e.cipherText).fill(0, 1088)
      expect(() => b.xwing.decapsulate(ct, kp.secretKey), b.name).toThrow(RangeError)
      const pk = Uint8Array.from(kp.publicKey).fill(0, 1184)
      expect(() => b.xwing.encapsulate(pk), b.name).toThrow(RangeError)
    }
  })
})
