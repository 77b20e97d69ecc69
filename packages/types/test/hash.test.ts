import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { blake3, blake3Implementation, blake3Ready } from '../src/index.js'

describe('blake3', () => {
  it('uses WebAssembly once ready', async () => {
    expect(await blake3Ready).toBe(true)
    expect(blake3Implementation()).toBe('wasm')
  })
  it('matches the official vector for the empty input and "abc"', () => {
    expect(Buffer.from(blake3(new Uint8Array(0))).toString('hex')).toBe('af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262')
    expect(Buffer.from(blake3(new TextEncoder().encode('abc'))).toString('hex')).toBe('6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85')
  })
  it('WASM and JS paths agree on 300 random inputs around the crossover and across chunk boundaries', async () => {
    await blake3Ready
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 5000 }), (data) => {
        expect(blake3(data)).toEqual(nobleBlake3(data))
      }),
      { numRuns: 300, seed: 0xb1a3 }
    )
    const big = new Uint8Array(1 << 20).map((_, i) => (i * 7) & 255)
    expect(blake3(big)).toEqual(nobleBlake3(big))
  })
})

describe('sha256 and HKDF', () => {
  it('match RFC 5869 test case 1 and a FIPS 180 vector', async () => {
    const { hkdfSha256, sha256 } = await import('../src/index.js')
    const h = (x: string) => Uint8Array.from(Buffer.from(x, 'hex'))
    expect(Buffer.from(sha256(new TextEncoder().encode('abc'))).toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    const okm = hkdfSha256(h('0b'.repeat(22)), h('000102030405060708090a0b0c'), h('f0f1f2f3f4f5f6f7f8f9'), 42)
    expect(Buffer.from(okm).toString('hex')).toBe('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865')
  })
})
