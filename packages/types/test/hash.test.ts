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
