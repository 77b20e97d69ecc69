// Hand-built hostile CBOR: the value-sharing bomb that killed nodes before the strict decoder
// (issue "Hostile bytes and faults"), and a family of nested, shared, tagged and oversized items up
// to a frame's size. Used by the regression tests at every entry point and mixed into fuzzing.
import { concatBytes } from '@saorsa-gossip/types'

/** A CBOR item head (major type `major`, argument `n`) in its shortest form. */
export function head(major: number, n: number): Uint8Array {
  const m = major << 5
  if (n < 24) return Uint8Array.of(m | n)
  if (n < 0x100) return Uint8Array.of(m | 24, n)
  if (n < 0x1_0000) return Uint8Array.of(m | 25, n >> 8, n & 0xff)
  if (n < 0x1_0000_0000) return Uint8Array.of(m | 26, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff)
  const hi = Math.floor(n / 0x1_0000_0000)
  return Uint8Array.of(m | 27, hi >>> 24, (hi >>> 16) & 0xff, (hi >>> 8) & 0xff, hi & 0xff, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff)
}

/** Concatenation of byte arrays. */
export const cat = (...parts: Uint8Array[]): Uint8Array => concatBytes(...parts)

/**
 * The value-sharing bomb (tags 28 "shareable" and 29 "sharedref", RFC 8949 registry / cbor-x): each
 * level is `28([inner, 29(ref to inner)])`, so a decoder that resolves references returns a DAG with
 * 2^depth paths, and anything that walks it (a canonical re-encode, a deep copy) does 2^depth work.
 * At depth 26 it is about 230 bytes.
 */
export function sharingBomb(depth = 26): Uint8Array {
  // Shareables are numbered in the order their tag is read: the outer wrapper is 0, level `depth` is
  // 1, …, level 1 is `depth`, the base `28(1)` is `depth + 1`. Level L refers to level L − 1.
  let item: Uint8Array = Uint8Array.of(0xd8, 28, 0x01)
  for (let level = 1; level <= depth; level++) {
    item = cat(Uint8Array.of(0xd8, 28, 0x82), item, Uint8Array.of(0xd8, 29), head(0, depth - level + 2))
  }
  return cat(Uint8Array.of(0xd8, 28, 0x81), item)
}

/** A named hostile item. */
export interface HostileItem {
  name: string
  bytes: Uint8Array
}

/**
 * The bomb and its family, each at most `maxBytes` long: deep nesting, wide arrays, huge declared
 * lengths, many empty strings, self-describe / bignum / typed-array tags, indefinite items, floats.
 */
export function hostileFamily(maxBytes: number): HostileItem[] {
  const fill = (n: number, b: number): Uint8Array => new Uint8Array(n).fill(b)
  const body = Math.max(16, maxBytes - 16)
  return [
    { name: 'sharing bomb, depth 26', bytes: sharingBomb(26) },
    { name: 'sharing bomb, depth 40', bytes: sharingBomb(40) },
    { name: 'nested arrays to the size limit', bytes: fill(body, 0x81) },
    { name: 'nested maps to the size limit', bytes: cat(fill(Math.floor(body / 2), 0xa1).map((x, i) => (i % 2 === 0 ? x : 0x00)), Uint8Array.of(0)) },
    { name: 'wide array of zeros', bytes: cat(head(4, body - 9), fill(body - 9, 0x00)) },
    { name: 'wide array of empty arrays', bytes: cat(head(4, body - 9), fill(body - 9, 0x80)) },
    { name: 'wide array of empty byte strings', bytes: cat(head(4, body - 9), fill(body - 9, 0x40)) },
    { name: 'wide map of zeros', bytes: cat(head(5, Math.floor((body - 9) / 2)), fill(Math.floor((body - 9) / 2) * 2, 0x00)) },
    { name: 'array declaring 2^32-1 items', bytes: cat(head(4, 0xffff_ffff), fill(8, 0)) },
    { name: 'array declaring 2^64-1 items', bytes: Uint8Array.of(0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0) },
    { name: 'byte string declaring 2^64-1 bytes', bytes: Uint8Array.of(0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0) },
    { name: 'byte string filling the limit', bytes: cat(head(2, body - 9), fill(body - 9, 0xab)) },
    { name: 'text string filling the limit', bytes: cat(head(3, body - 9), fill(body - 9, 0x61)) },
    { name: 'nested tags', bytes: fill(body, 0xc6) },
    { name: 'shared refs without shareables', bytes: cat(head(4, 64), ...Array.from({ length: 64 }, () => Uint8Array.of(0xd8, 29, 0x00))) },
    { name: 'self-describe tag', bytes: Uint8Array.of(0xd9, 0xd9, 0xf7, 0x80) },
    { name: 'bignum tag', bytes: Uint8Array.of(0xc2, 0x49, 1, 0, 0, 0, 0, 0, 0, 0, 0) },
    { name: 'typed array tag', bytes: Uint8Array.of(0xd8, 0x40, 0x43, 1, 2, 3) },
    { name: 'indefinite arrays nested', bytes: cat(fill(Math.floor(body / 2), 0x9f), fill(Math.floor(body / 2), 0xff)) },
    { name: 'indefinite byte string chunks', bytes: cat(Uint8Array.of(0x5f), fill(body - 2, 0x40), Uint8Array.of(0xff)) },
    { name: 'float64 NaN', bytes: Uint8Array.of(0xfb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0) },
    // Maps nested as keys of maps (each level's key holds all the deeper ones), and one huge key.
    { name: 'maps nested as map keys', bytes: cat(fill(Math.floor((body - 2) / 2), 0xa1), Uint8Array.of(0x00, 0x00), fill(Math.floor((body - 2) / 2), 0x00)) },
    { name: 'a map whose key fills the limit', bytes: cat(Uint8Array.of(0xa1), head(2, body - 12), fill(body - 12, 0x01), Uint8Array.of(0x00)) },
    { name: 'a map with a text key filling the limit', bytes: cat(Uint8Array.of(0xa1), head(3, body - 12), fill(body - 12, 0x61), Uint8Array.of(0x00)) }
  ].filter((h) => h.bytes.length <= maxBytes)
}
