// ChaCha20-Poly1305 (RFC 8439) across backends and against the RFC's §2.8.2 vector.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { openChaCha20Poly1305, sealChaCha20Poly1305 } from '../src/index.js'
import { backends, flip, hasNative, hex, loadVector, native, noble, toHexStr } from './helpers.js'

interface AeadVector { key: string; nonce: string; aad: string; plaintext: string; ciphertext: string; tag: string }
const v = loadVector<AeadVector>('rfc8439-2.8.2-aead.json')

describe('ChaCha20-Poly1305 RFC 8439 §2.8.2', () => {
  it('seals to the published ciphertext and tag, and opens it, in every backend', () => {
    expect(new TextDecoder().decode(hex(v.plaintext))).toMatch(/^Ladies and Gentlemen/)
    for (const b of backends) {
      const sealed = b.aead.seal(hex(v.key), hex(v.nonce), hex(v.plaintext), hex(v.aad))
      expect(toHexStr(sealed), b.name).toBe(v.ciphertext + v.tag)
      const opened = b.aead.open(hex(v.key), hex(v.nonce), hex(v.ciphertext + v.tag), hex(v.aad))
      expect(opened && toHexStr(opened)).toBe(v.plaintext)
    }
  })
})

describe('ChaCha20-Poly1305', () => {
  const key = new Uint8Array(32).fill(7)
  const nonce = Uint8Array.from({ length: 12 }, (_, i) => i)
  const aad = new TextEncoder().encode('header')

  it.runIf(hasNative)('native and noble produce identical output and open each other (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.option(fc.uint8Array({ maxLength: 64 }), { nil: undefined }), (pt, ad) => {
        const sn = native.aead.seal(key, nonce, pt, ad)
        const sj = noble.aead.seal(key, nonce, pt, ad)
        expect(toHexStr(sn)).toBe(toHexStr(sj))
        expect(noble.aead.open(key, nonce, sn, ad)).toEqual(pt)
        expect(native.aead.open(key, nonce, sj, ad)).toEqual(pt)
      }),
      { numRuns: 50 }
    )
  })

  it('never uses a stale key when the caller rewrites its key array in place', () => {
    for (const b of backends) {
      const k = new Uint8Array(32).fill(1)
      const pt = Uint8Array.of(9, 9, 9)
      const s1 = b.aead.seal(k, nonce, pt)
      k.fill(2)
      const s2 = b.aead.seal(k, nonce, pt)
      expect(toHexStr(s2)).toBe(toHexStr(b.aead.seal(new Uint8Array(32).fill(2), nonce, pt)))
      expect(toHexStr(s2)).not.toBe(toHexStr(s1))
      expect(b.aead.open(k, nonce, s1)).toBeNull()
      expect(b.aead.open(k, nonce, s2)).toEqual(pt)
    }
  })

  it('handles empty and 64 KiB frames', () => {
    const big = Uint8Array.from({ length: 65536 }, (_, i) => i & 255)
    for (const b of backends) {
      const e = b.aead.seal(key, nonce, new Uint8Array(0))
      expect(e.length).toBe(16)
      expect(b.aead.open(key, nonce, e)).toEqual(new Uint8Array(0))
      const s = b.aead.seal(key, nonce, big, aad)
      expect(s.length).toBe(65536 + 16)
      expect(b.aead.open(key, nonce, s, aad)).toEqual(big)
    }
  })

  it('returns null for tampering, a wrong key, nonce or AAD, and short input', () => {
    const pt = new TextEncoder().encode('overlay frame')
    for (const b of backends) {
      const s = b.aead.seal(key, nonce, pt, aad)
      expect(b.aead.open(key, nonce, s, aad)).toEqual(pt)
      for (let i = 0; i < s.length; i += 5) expect(b.aead.open(key, nonce, flip(s, i), aad), `${b.name} byte ${i}`).toBeNull()
      expect(b.aead.open(flip(key, 0), nonce, s, aad)).toBeNull()
      expect(b.aead.open(key, flip(nonce, 11), s, aad)).toBeNull()
      expect(b.aead.open(key, nonce, s, flip(aad, 2))).toBeNull()
      expect(b.aead.open(key, nonce, s)).toBeNull()
      expect(b.aead.open(key, nonce, s.subarray(0, s.length - 1), aad)).toBeNull()
      expect(b.aead.open(key, nonce, new Uint8Array(15))).toBeNull()
    }
  })

  it('helpers check their inputs and use the chosen backend', () => {
    for (const b of backends) {
      const s = sealChaCha20Poly1305(key, nonce, Uint8Array.of(1, 2, 3), { aad, backend: b })
      expect(openChaCha20Poly1305(key, nonce, s, { aad, backend: b.name })).toEqual(Uint8Array.of(1, 2, 3))
      expect(openChaCha20Poly1305(key, nonce, s, { backend: b })).toBeNull()
    }
    expect(() => sealChaCha20Poly1305(key.subarray(1), nonce, new Uint8Array(1))).toThrow(RangeError)
    expect(() => sealChaCha20Poly1305(key, new Uint8Array(24), new Uint8Array(1))).toThrow(/nonce must be 12 bytes/)
    expect(() => sealChaCha20Poly1305(key, nonce, 'text' as never)).toThrow(TypeError)
    expect(() => openChaCha20Poly1305(key, nonce, new Uint8Array(20), { aad: 'x' as never })).toThrow(TypeError)
  })
})
