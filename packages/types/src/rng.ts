// Seeded pseudo-random generator for protocol decisions and simulations: xoshiro128** seeded through
// splitmix32 (Blackman & Vigna, "Scrambled linear pseudorandom number generators", 2021).
// Not for keys or nonces: those come from the crypto backend.
import type { Rng } from './interfaces.js'

function splitmix32(state: number): () => number {
  let s = state >>> 0
  return () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
}

class Xoshiro128ss implements Rng {
  #a: number
  #b: number
  #c: number
  #d: number
  constructor(seed: number) {
    const sm = splitmix32(seed)
    this.#a = sm()
    this.#b = sm()
    this.#c = sm()
    this.#d = sm()
    if ((this.#a | this.#b | this.#c | this.#d) === 0) this.#a = 1
  }
  nextU32(): number {
    const r = Math.imul(rotl(Math.imul(this.#b, 5), 7), 9) >>> 0
    const t = this.#b << 9
    this.#c ^= this.#a
    this.#d ^= this.#b
    this.#b ^= this.#c
    this.#a ^= this.#d
    this.#c ^= t
    this.#d = rotl(this.#d, 11)
    return r
  }
  next(): number {
    // 53 random bits → [0, 1)
    const hi = this.nextU32() >>> 5
    const lo = this.nextU32() >>> 6
    return (hi * 67108864 + lo) / 9007199254740992
  }
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 0x1_0000_0000) throw new RangeError(`int(n) needs 1 ≤ n ≤ 2^32, got ${n}`)
    // Rejection sampling: no modulo bias.
    const limit = 0x1_0000_0000 - (0x1_0000_0000 % n)
    for (;;) {
      const x = this.nextU32()
      if (x < limit) return x % n
    }
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i += 4) {
      const x = this.nextU32()
      for (let j = 0; j < 4 && i + j < n; j++) out[i + j] = (x >>> (8 * j)) & 0xff
    }
    return out
  }
  shuffle<T>(items: readonly T[]): T[] {
    const a = items.slice()
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const t = a[i] as T
      a[i] = a[j] as T
      a[j] = t
    }
    return a
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0
}

/** A reproducible generator: the same 32-bit `seed` always gives the same sequence. */
export function createSeededRng(seed: number): Rng {
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`)
  return new Xoshiro128ss(seed)
}
