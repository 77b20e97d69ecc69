// Input generation for the fuzz harness: random bytes, random (often ill-formed) CBOR, byte-level
// mutations of valid encodings and structure-aware mutations (decode the valid CBOR, change one node
// of the tree — including inside byte strings that are CBOR themselves, like an envelope header —
// and re-encode). All driven by one seeded Rng, so a run is reproducible from its seed.
import { decodeCbor, encodeCbor } from '@saorsa-gossip/types'
import type { CborValue, Rng } from '@saorsa-gossip/types'
import { cat, head, hostileFamily, sharingBomb } from './hostile.js'

/** Byte values that sit on CBOR head boundaries or mean something special. */
const INTERESTING_BYTES = [0x00, 0x01, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1f, 0x20, 0x38, 0x40, 0x5f, 0x60, 0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xd8, 0xd9, 0xf4, 0xf5, 0xf6, 0xf7, 0xf9, 0xfa, 0xfb, 0xff]
/** Integers on the boundaries of CBOR argument sizes and of common field ranges. */
const INTERESTING_INTS = [0, 1, 23, 24, 255, 256, 65_535, 65_536, 0xffff_ffff, 2 ** 32, 2 ** 53 - 1, -1, -24, -25, -(2 ** 32), -(2 ** 53 - 1)]
/** Short CBOR fragments worth splicing in: tags, indefinite starts, breaks, floats, huge lengths. */
const FRAGMENTS: Uint8Array[] = [
  Uint8Array.of(0xd8, 28),
  Uint8Array.of(0xd8, 29, 0x00),
  Uint8Array.of(0x9f),
  Uint8Array.of(0xff),
  Uint8Array.of(0x5f),
  Uint8Array.of(0xfb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0),
  Uint8Array.of(0xf9, 0x7e, 0x00),
  Uint8Array.of(0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
  Uint8Array.of(0x5a, 0xff, 0xff, 0xff, 0xff),
  Uint8Array.of(0x1b, 0, 0, 0, 0, 0, 0, 0, 5),
  Uint8Array.of(0xf7),
  Uint8Array.of(0xc2, 0x41, 0x01),
  sharingBomb(12)
]

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(xs.length)] as T

/** Random bytes, 0..maxLen long (lengths skewed short). */
export function randomBytes(rng: Rng, maxLen: number): Uint8Array {
  const len = rng.int(2) === 0 ? rng.int(Math.min(64, maxLen) + 1) : rng.int(maxLen + 1)
  return rng.bytes(len)
}

/** A random CBOR item, mostly well-formed, sometimes with forbidden forms (tags, floats, indefinite, non-minimal heads). */
export function randomCbor(rng: Rng, depth = 0): Uint8Array {
  const r = rng.int(depth > 4 ? 9 : 12)
  switch (r) {
    case 0:
      return head(0, pick(rng, INTERESTING_INTS.filter((n) => n >= 0 && n <= Number.MAX_SAFE_INTEGER)))
    case 1:
      return head(1, rng.int(1000))
    case 2:
      return cat(head(2, rng.int(40)), rng.bytes(rng.int(40)))
    case 3: {
      const s = new TextEncoder().encode('x'.repeat(rng.int(30)))
      return cat(head(3, s.length), s)
    }
    case 4:
      return Uint8Array.of(pick(rng, [0xf4, 0xf5, 0xf6, 0xf7, 0xf0]))
    case 5: {
      // Non-minimal head: a small value written with a longer argument.
      const ai = 24 + rng.int(4)
      const widths = [1, 2, 4, 8]
      return cat(Uint8Array.of((rng.int(4) << 5) | ai), new Uint8Array(widths[ai - 24] as number))
    }
    case 6:
      return pick(rng, FRAGMENTS)
    case 7:
      return Uint8Array.of(pick(rng, INTERESTING_BYTES))
    case 8:
      return rng.bytes(1 + rng.int(8))
    case 9: {
      const n = rng.int(6)
      return cat(head(4, n), ...Array.from({ length: n }, () => randomCbor(rng, depth + 1)))
    }
    case 10: {
      const n = rng.int(3)
      return cat(head(5, n), ...Array.from({ length: 2 * n }, () => randomCbor(rng, depth + 1)))
    }
    default:
      return cat(Uint8Array.of(0xc0 | rng.int(24)), randomCbor(rng, depth + 1))
  }
}

/** One byte-level mutation of `input` (bit flips, interesting bytes, cuts, inserts, splices). */
export function mutateBytes(rng: Rng, input: Uint8Array, corpus: readonly Uint8Array[]): Uint8Array {
  const b = input.slice()
  const at = (n = b.length): number => (n === 0 ? 0 : rng.int(n))
  switch (rng.int(9)) {
    case 0: {
      const flips = 1 + rng.int(4)
      for (let i = 0; i < flips && b.length > 0; i++) {
        const p = at()
        b[p] = b[p]! ^ (1 << rng.int(8))
      }
      return b
    }
    case 1: {
      // Favour the first bytes: that is where the heads and the message types are.
      if (b.length > 0) b[rng.int(2) === 0 ? at(Math.min(16, b.length)) : at()] = pick(rng, INTERESTING_BYTES)
      return b
    }
    case 2:
      return b.subarray(0, at(b.length + 1)).slice()
    case 3: {
      const p = at()
      const n = 1 + rng.int(Math.max(1, Math.min(64, b.length - p)))
      return cat(b.subarray(0, p), b.subarray(p + n))
    }
    case 4: {
      const p = at(b.length + 1)
      return cat(b.subarray(0, p), rng.int(2) === 0 ? pick(rng, FRAGMENTS) : rng.bytes(1 + rng.int(16)), b.subarray(p))
    }
    case 5: {
      const p = at()
      const n = 1 + rng.int(Math.max(1, Math.min(256, b.length - p)))
      const q = at(b.length + 1)
      return cat(b.subarray(0, q), b.subarray(p, p + n), b.subarray(q))
    }
    case 6: {
      const other = pick(rng, corpus)
      return cat(b.subarray(0, at(b.length + 1)), other.subarray(at(other.length + 1)))
    }
    case 7:
      return cat(b, pick(rng, FRAGMENTS))
    default: {
      const p = at(Math.min(16, b.length) + 1)
      return cat(b.subarray(0, p), randomCbor(rng), b.subarray(p))
    }
  }
}

/** A random plain value of the kinds the protocol carries, with boundary values favoured. */
function randomValue(rng: Rng, like: unknown): CborValue {
  switch (rng.int(8)) {
    case 0:
      return pick(rng, INTERESTING_INTS)
    case 1:
      return rng.int(300)
    case 2: {
      const n = like instanceof Uint8Array && rng.int(2) === 0 ? Math.max(0, like.length + rng.int(5) - 2) : rng.int(70)
      return rng.bytes(n)
    }
    case 3:
      return 'x'.repeat(rng.int(300))
    case 4:
      return pick(rng, [null, true, false])
    case 5:
      return []
    case 6:
      return Array.from({ length: 1 + rng.int(4) }, () => rng.int(10))
    default:
      return like instanceof Uint8Array ? rng.bytes(like.length) : rng.int(2 ** 20)
  }
}

/** Paths to every node of a decoded tree (array indices), including the root (the empty path). */
function nodes(v: unknown, path: number[] = [], out: number[][] = [], depth = 0): number[][] {
  out.push(path)
  if (Array.isArray(v) && depth < 8) v.forEach((x, i) => nodes(x, [...path, i], out, depth + 1))
  return out
}

function getAt(v: unknown, path: readonly number[]): unknown {
  let cur = v
  for (const i of path) cur = (cur as unknown[])[i]
  return cur
}

/**
 * One structure-aware mutation: decode `input` as strict CBOR, change one node (replace, delete,
 * duplicate, wrap, or — for a byte string that is CBOR itself — mutate inside it), re-encode.
 * Falls back to a byte-level mutation when `input` is not strict CBOR.
 */
export function mutateStructure(rng: Rng, input: Uint8Array, corpus: readonly Uint8Array[], depth = 0): Uint8Array {
  let tree: unknown
  try {
    tree = decodeCbor(input)
  } catch {
    return mutateBytes(rng, input, corpus)
  }
  const paths = nodes(tree)
  const path = pick(rng, paths)
  const node = getAt(tree, path)
  let replacement: unknown
  const op = rng.int(6)
  if (node instanceof Uint8Array && depth < 2 && op < 2) {
    // A byte string that is itself strict CBOR (an envelope header, an advert body, a nested envelope).
    let inner = false
    try {
      decodeCbor(node)
      inner = true
    } catch {
      inner = false
    }
    replacement = inner ? mutateStructure(rng, node, corpus, depth + 1) : mutateBytes(rng, node, corpus)
  } else if (op === 0 && Array.isArray(node) && node.length > 0) {
    replacement = node.filter((_, i) => i !== rng.int(node.length))
  } else if (op === 1 && Array.isArray(node) && node.length > 0) {
    const i = rng.int(node.length)
    replacement = [...node.slice(0, i + 1), node[i], ...node.slice(i + 1)]
  } else if (op === 2) {
    replacement = [node]
  } else {
    replacement = randomValue(rng, node)
  }
  const out = path.length === 0 ? replacement : structuredCloneTree(tree, path, replacement)
  try {
    return encodeCbor(out as CborValue)
  } catch {
    return mutateBytes(rng, input, corpus)
  }
}

function structuredCloneTree(tree: unknown, path: readonly number[], replacement: unknown): unknown {
  if (path.length === 0) return replacement
  const arr = (tree as unknown[]).slice()
  const [i, ...rest] = path as [number, ...number[]]
  arr[i] = structuredCloneTree(arr[i], rest, replacement)
  return arr
}

const families = new Map<number, ReturnType<typeof hostileFamily>>()
function familyOf(maxBytes: number): ReturnType<typeof hostileFamily> {
  let f = families.get(maxBytes)
  if (f === undefined) families.set(maxBytes, (f = hostileFamily(maxBytes)))
  return f
}

/** The strategies, named for the report. */
export type InputKind = 'random' | 'random-cbor' | 'bytes' | 'structure' | 'hostile'

/**
 * The next input for a target with valid `corpus` entries: a mix of every strategy (structure-aware
 * mutations weigh most, since they reach the deepest checks), occasionally stacked.
 */
export function nextInput(rng: Rng, corpus: readonly Uint8Array[], maxLen: number): { kind: InputKind; input: Uint8Array } {
  const r = rng.int(100)
  if (r < 4) return { kind: 'random', input: randomBytes(rng, Math.min(maxLen, 4096)) }
  if (r < 12) return { kind: 'random-cbor', input: randomCbor(rng) }
  if (r < 13) return { kind: 'hostile', input: pick(rng, familyOf(Math.min(maxLen, 64 * 1024))).bytes }
  const seed = pick(rng, corpus)
  let input = r < 50 ? mutateBytes(rng, seed, corpus) : mutateStructure(rng, seed, corpus)
  // Sometimes stack a second mutation.
  if (rng.int(4) === 0) input = rng.int(2) === 0 ? mutateBytes(rng, input, corpus) : mutateStructure(rng, input, corpus)
  return { kind: r < 50 ? 'bytes' : 'structure', input: input.length > maxLen ? input.subarray(0, maxLen) : input }
}
