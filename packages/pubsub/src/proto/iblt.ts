// Invertible Bloom Lookup Table (IBLT) for set reconciliation of 32-byte message IDs.
//
// Each side inserts its IDs into a table of the same size and seed; one table is subtracted from the
// other cell-wise, and the difference is "peeled": a cell holding exactly one ID (count ±1 and a
// matching check value) yields that ID, which is then removed from its other cells, exposing more
// cells that hold a single ID.
//
// Layout: 3 hash functions, partitioned. Function j maps into its own third of the table, so every
// key hits 3 distinct cells. Index j and the check value are keyed hashes of the whole key (all 8
// words folded through fmix32), each from its own seed-derived salt. Message IDs are BLAKE3 outputs,
// but hashing every word keeps structured keys (tests, or IDs sharing a prefix) apart too, and the
// per-sketch seed stops an attacker from grinding IDs that land on the same cells in every sketch.
//
// Internally a key is 8 big-endian uint32 words. Sans-IO and pure: no Node APIs, no mutation of
// inputs, bounded work on any input.

import { InvalidMessageError } from '@saorsa-gossip/types'

/** Allowed cell counts, smallest first; each step is 4x the previous. A multiple of 3 (3 partitioned hash functions). */
export const IBLT_SIZES: readonly number[] = Object.freeze([60, 240, 960, 3840])

/** Bytes per cell on the wire: count int32 BE, key XOR 32 bytes, check XOR uint32 BE. */
export const IBLT_CELL_BYTES = 40

/** Length of a key (message ID) in bytes, and in 32-bit words. */
const KEY_BYTES = 32
const KEY_WORDS = 8
/** Number of hash functions (and of table partitions). */
const K = 3

/** murmur3 32-bit finalizer: a bijection on uint32 with full avalanche. */
function fmix32(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

function isAllowedCells(cells: unknown): cells is number {
  return typeof cells === 'number' && IBLT_SIZES.includes(cells)
}

function isUint32(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 0xffffffff
}

/** The 8 words at `w[off..off+8)` folded through fmix32, starting from `salt`. */
function fold(w: Uint32Array, off: number, salt: number): number {
  let h = salt
  for (let k = 0; k < KEY_WORDS; k++) h = fmix32((h ^ w[off + k]!) >>> 0)
  return h
}

/** A 32-byte ID as 8 big-endian words. */
function toWords(id: Uint8Array): Uint32Array {
  const w = new Uint32Array(KEY_WORDS)
  for (let k = 0; k < KEY_WORDS; k++) {
    w[k] = (id[4 * k]! << 24) | (id[4 * k + 1]! << 16) | (id[4 * k + 2]! << 8) | id[4 * k + 3]!
  }
  return w
}

/** 8 big-endian words back to a 32-byte ID. */
function toBytes(w: Uint32Array): Uint8Array {
  const id = new Uint8Array(KEY_BYTES)
  for (let k = 0; k < KEY_WORDS; k++) {
    const x = w[k]!
    id[4 * k] = x >>> 24
    id[4 * k + 1] = x >>> 16
    id[4 * k + 2] = x >>> 8
    id[4 * k + 3] = x
  }
  return id
}

/** Exact string form of 8 words (two UTF-16 units per word), used as a Set key. */
function wordsKey(w: Uint32Array): string {
  let s = ''
  for (let k = 0; k < KEY_WORDS; k++) s += String.fromCharCode(w[k]! >>> 16, w[k]! & 0xffff)
  return s
}

export class Iblt {
  readonly cells: number
  readonly seed: number
  /** Net insert count per cell (int32, wrapping). */
  private readonly counts: Int32Array
  /** XOR of the keys per cell: cell i is words [8i, 8i+8). */
  private readonly keys: Uint32Array
  /** XOR of the check values per cell. */
  private readonly checks: Uint32Array
  /** Seed-derived constants: one per hash function, and the check's starting state. */
  private readonly indexSalt: readonly [number, number, number]
  private readonly checkSalt: number

  constructor(cells: number, seed: number) {
    if (!isAllowedCells(cells)) throw new RangeError(`IBLT: cells must be one of ${IBLT_SIZES.join(', ')}`)
    if (!isUint32(seed)) throw new RangeError('IBLT: seed must be a uint32')
    this.cells = cells
    this.seed = seed
    this.counts = new Int32Array(cells)
    this.keys = new Uint32Array(cells * KEY_WORDS)
    this.checks = new Uint32Array(cells)
    // Distinct domain constants (multiples of the golden ratio) keep the four salts unrelated.
    const salt = (d: number): number => fmix32((seed ^ Math.imul(0x9e3779b9, d)) >>> 0)
    this.indexSalt = [salt(1), salt(2), salt(3)]
    this.checkSalt = salt(4)
  }

  /**
   * Cell hit by hash function j (0..2) for the key in words `w[off..off+8)`: inside partition j,
   * i.e. [j*cells/3, (j+1)*cells/3). Modulo bias is at most (cells/3) / 2^32 < 2^-21: negligible.
   */
  private index(w: Uint32Array, off: number, j: number): number {
    const part = this.cells / K
    return j * part + (fold(w, off, this.indexSalt[j]!) % part)
  }

  /** Check value of the key in `w[off..off+8)`: all 8 words folded through fmix32 from the check salt. */
  private check(w: Uint32Array, off: number): number {
    return fold(w, off, this.checkSalt)
  }

  /** Adds `sign` (+1 or −1) copies of the key (8 words) to its 3 cells. */
  private toggle(key: Uint32Array, sign: number): void {
    const chk = this.check(key, 0)
    for (let j = 0; j < K; j++) {
      const i = this.index(key, 0, j)
      this.counts[i] = (this.counts[i]! + sign) | 0
      for (let k = 0; k < KEY_WORDS; k++) this.keys[i * KEY_WORDS + k] = this.keys[i * KEY_WORDS + k]! ^ key[k]!
      this.checks[i] = (this.checks[i]! ^ chk) >>> 0
    }
  }

  /** Inserts a 32-byte ID. */
  add(id: Uint8Array): void {
    if (!(id instanceof Uint8Array) || id.length !== KEY_BYTES) throw new RangeError('IBLT: id must be 32 bytes')
    this.toggle(toWords(id), 1)
  }

  /** this − other, cell-wise; RangeError if cells or seed differ. Returns a new Iblt. */
  subtract(other: Iblt): Iblt {
    if (other.cells !== this.cells || other.seed !== this.seed) {
      throw new RangeError('IBLT: cannot subtract tables of different cells or seed')
    }
    const out = new Iblt(this.cells, this.seed)
    for (let i = 0; i < this.cells; i++) {
      out.counts[i] = (this.counts[i]! - other.counts[i]!) | 0
      out.checks[i] = (this.checks[i]! ^ other.checks[i]!) >>> 0
    }
    for (let k = 0; k < this.keys.length; k++) out.keys[k] = this.keys[k]! ^ other.keys[k]!
    return out
  }

  /**
   * True if cell i holds exactly one key: count is ±1, the check of the key XOR equals the check
   * XOR, and the key really hashes to cell i (this last test rejects most false positives for free).
   */
  private isPure(i: number): boolean {
    const count = this.counts[i]!
    if (count !== 1 && count !== -1) return false
    const off = i * KEY_WORDS
    if (this.check(this.keys, off) !== this.checks[i]) return false
    return this.index(this.keys, off, Math.floor(i / (this.cells / K))) === i
  }

  private isEmpty(): boolean {
    for (let i = 0; i < this.cells; i++) if (this.counts[i] !== 0 || this.checks[i] !== 0) return false
    for (let k = 0; k < this.keys.length; k++) if (this.keys[k] !== 0) return false
    return true
  }

  /**
   * Peels a difference table. `ours` = keys with net count +1 (in this/first set only), `theirs` =
   * net −1. complete = true iff every cell ended empty. Never throws; on a failed decode it returns
   * what it peeled (partial lists, complete = false).
   *
   * Bounded work: an honest peel takes each key from a different cell, so it recovers at most `cells`
   * keys; each recovery queues 3 cells, so the queue sees at most 4 * cells pops. A key recovered
   * twice, or more keys than cells, can only come from a forged table and ends the decode.
   */
  decode(): { ours: Uint8Array[]; theirs: Uint8Array[]; complete: boolean } {
    // Peel a copy, so this table is left as it was.
    const t = new Iblt(this.cells, this.seed)
    t.counts.set(this.counts)
    t.keys.set(this.keys)
    t.checks.set(this.checks)

    const ours: Uint8Array[] = []
    const theirs: Uint8Array[] = []
    const seen = new Set<string>()
    const queue: number[] = []
    for (let i = 0; i < t.cells; i++) queue.push(i)
    const maxPops = (1 + K) * t.cells
    for (let pops = 0; queue.length > 0; pops++) {
      if (pops >= maxPops) return { ours, theirs, complete: false }
      const i = queue.pop()!
      if (!t.isPure(i)) continue
      const sign = t.counts[i]!
      const key = t.keys.slice(i * KEY_WORDS, (i + 1) * KEY_WORDS)
      const name = wordsKey(key)
      if (seen.has(name) || seen.size >= t.cells) return { ours, theirs, complete: false }
      seen.add(name)
      ;(sign === 1 ? ours : theirs).push(toBytes(key))
      t.toggle(key, -sign)
      for (let j = 0; j < K; j++) queue.push(t.index(key, 0, j))
    }
    return { ours, theirs, complete: t.isEmpty() }
  }

  /** cells * IBLT_CELL_BYTES bytes. */
  encode(): Uint8Array {
    const out = new Uint8Array(this.cells * IBLT_CELL_BYTES)
    const view = new DataView(out.buffer)
    for (let i = 0; i < this.cells; i++) {
      const off = i * IBLT_CELL_BYTES
      view.setInt32(off, this.counts[i]!, false)
      for (let k = 0; k < KEY_WORDS; k++) view.setUint32(off + 4 + 4 * k, this.keys[i * KEY_WORDS + k]!, false)
      view.setUint32(off + 4 + KEY_BYTES, this.checks[i]!, false)
    }
    return out
  }

  /** Parses encode() output for a table of `cells` cells and `seed`; InvalidMessageError(…, 'iblt') on a wrong length or a cells/seed not allowed. */
  static decode(bytes: Uint8Array, cells: number, seed: number): Iblt {
    if (!isAllowedCells(cells)) throw new InvalidMessageError(`IBLT: ${String(cells)} cells not allowed`, 'iblt')
    if (!isUint32(seed)) throw new InvalidMessageError('IBLT: seed must be a uint32', 'iblt')
    if (!(bytes instanceof Uint8Array) || bytes.length !== cells * IBLT_CELL_BYTES) {
      throw new InvalidMessageError(`IBLT: expected ${cells * IBLT_CELL_BYTES} bytes`, 'iblt')
    }
    const t = new Iblt(cells, seed)
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    for (let i = 0; i < cells; i++) {
      const off = i * IBLT_CELL_BYTES
      t.counts[i] = view.getInt32(off, false)
      for (let k = 0; k < KEY_WORDS; k++) t.keys[i * KEY_WORDS + k] = view.getUint32(off + 4 + 4 * k, false)
      t.checks[i] = view.getUint32(off + 4 + KEY_BYTES, false)
    }
    return t
  }
}
