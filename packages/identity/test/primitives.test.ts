// X25519 (RFC 7748) and scrypt (RFC 7914) known answers in every backend.
import { describe, expect, it } from 'vitest'
import { backends, hex, loadVector, toHexStr } from './helpers.js'

describe('X25519 RFC 7748 §6.1', () => {
  const v = loadVector<Record<'alicePrivate' | 'alicePublic' | 'bobPrivate' | 'bobPublic' | 'shared', string>>('rfc7748-x25519.json')
  it('derives the published public keys and shared secret in every backend', () => {
    for (const b of backends) {
      const alice = b.x25519.keygen(hex(v.alicePrivate))
      const bob = b.x25519.keygen(hex(v.bobPrivate))
      expect(toHexStr(alice.publicKey), b.name).toBe(v.alicePublic)
      expect(toHexStr(bob.publicKey), b.name).toBe(v.bobPublic)
      expect(toHexStr(b.x25519.sharedSecret(alice.secretKey, bob.publicKey))).toBe(v.shared)
      expect(toHexStr(b.x25519.sharedSecret(bob.secretKey, alice.publicKey))).toBe(v.shared)
      expect(() => b.x25519.sharedSecret(alice.secretKey, new Uint8Array(32))).toThrow(RangeError)
    }
  })
})

describe('scrypt RFC 7914 §12', () => {
  interface V { password: string; salt: string; N: number; r: number; p: number; dkLen: number; dk: string }
  const { vectors } = loadVector<{ vectors: V[] }>('rfc7914-scrypt.json')
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
  it('gives the published keys, sync and async, in every backend', async () => {
    for (const b of backends) {
      for (const v of vectors) {
        const params = { N: v.N, r: v.r, p: v.p }
        expect(toHexStr(b.scrypt(enc(v.password), enc(v.salt), params, v.dkLen)), b.name).toBe(v.dk)
        expect(toHexStr(await b.scryptAsync(enc(v.password), enc(v.salt), params, v.dkLen)), b.name).toBe(v.dk)
      }
    }
  })
})
