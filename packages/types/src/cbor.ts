// Strict CBOR (RFC 8949), for every Saorsa Gossip wire structure (SPEC.md §3).
//
// Encoding uses cbor-x, which is fast but not deterministic on its own (it writes integers ≥ 2^32 as
// float64), so `encodeCbor` normalises integers first (≥ 2^32 as uint64, never as float) and refuses
// floats. Decoding is our own single-pass reader: input comes from strangers, and cbor-x decodes tags
// (value sharing, tags 28/29, expands a 233-byte item into gigabytes), floats, indefinite lengths and
// non-minimal heads. `decodeCbor` accepts only the unique form RFC 8949 §4.2.1 preferred serialisation
// gives for the types we use (unsigned and negative integers, byte and text strings, arrays, maps in
// the order written, null, booleans) and costs time and memory linear in the input. Any other input
// is an InvalidMessageError, never another exception.
import { Encoder } from 'cbor-x'
import { InvalidMessageError } from './errors.js'

const encoder = new Encoder({
  useRecords: false,
  tagUint8Array: false,
  variableMapSize: true,
  mapsAsObjects: false,
  useTimestamp32: false
} as ConstructorParameters<typeof Encoder>[0])

/** Deepest nesting of arrays and maps `decodeCbor` accepts (the encoder refuses deeper too). */
export const MAX_CBOR_DEPTH = 64
/**
 * Most data items one `decodeCbor` call accepts by default. The largest protocol message (a pub/sub
 * IHAVE of 1,024 entries) has about 3,100; this bound keeps the objects a hostile 4 MiB frame can make
 * (every item costs at least one input byte, but a JS object costs tens) to a few MB.
 */
export const MAX_CBOR_ITEMS = 16_384

/** A value that the strict codec can carry. */
export type CborValue =
  | number
  | bigint
  | string
  | boolean
  | null
  | Uint8Array
  | readonly CborValue[]
  | ReadonlyMap<CborValue, CborValue>

const TWO32 = 0x1_0000_0000

function normalise(v: unknown, depth: number): unknown {
  if (depth > MAX_CBOR_DEPTH) throw new RangeError(`CBOR value nested deeper than ${MAX_CBOR_DEPTH} levels`)
  switch (typeof v) {
    case 'number':
      if (!Number.isInteger(v)) throw new RangeError(`CBOR codec carries integers only, got ${v}`)
      if (!Number.isSafeInteger(v)) throw new RangeError(`integer ${v} is outside the safe range`)
      return v >= TWO32 || v < -TWO32 ? BigInt(v) : v
    case 'bigint':
      // Only what fits CBOR major types 0/1 (8-byte argument); no bignum tags (RFC 8949 §3.4.3).
      // (−2^64 is representable in CBOR, but cbor-x writes it as a bignum tag: refused here.)
      if (v > 0xffff_ffff_ffff_ffffn || v <= -0x1_0000_0000_0000_0000n) throw new RangeError('integer outside 64-bit range')
      return v < TWO32 && v >= -TWO32 ? Number(v) : v
    case 'string':
      // A lone surrogate has no UTF-8 form (the decoder would refuse what we wrote).
      if (!(v as string & { isWellFormed(): boolean }).isWellFormed()) throw new RangeError('text string has a lone surrogate (not valid UTF-8)')
      return v
    case 'boolean':
      return v
    case 'object':
      if (v === null) return null
      if (v instanceof Uint8Array) {
        // Plain Uint8Array so cbor-x writes a byte string with no typed-array tag.
        return v.constructor === Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
      }
      if (Array.isArray(v)) {
        if (depth >= MAX_CBOR_DEPTH) throw new RangeError(`CBOR value nested deeper than ${MAX_CBOR_DEPTH} levels`)
        return v.map((x) => normalise(x, depth + 1))
      }
      if (v instanceof Map) {
        if (depth >= MAX_CBOR_DEPTH) throw new RangeError(`CBOR value nested deeper than ${MAX_CBOR_DEPTH} levels`)
        const m = new Map<unknown, unknown>()
        for (const [k, x] of v) {
          if (typeof k !== 'number' && typeof k !== 'bigint' && typeof k !== 'string') throw new TypeError('map keys must be integers or text strings')
          m.set(normalise(k, depth + 1), normalise(x, depth + 1))
        }
        return m
      }
      break
  }
  throw new TypeError(`cannot encode ${Object.prototype.toString.call(v)} in strict CBOR`)
}

/** Encodes `value` in the unique form `decodeCbor` accepts. Throws TypeError/RangeError on unsupported values. */
export function encodeCbor(value: CborValue): Uint8Array {
  const out = encoder.encode(normalise(value, 0))
  // Copy out of cbor-x's shared buffer into a plain, exactly-sized Uint8Array.
  return new Uint8Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength))
}

/** Options of `decodeCbor`. */
export interface DecodeCborOptions {
  /** Most data items accepted (default `MAX_CBOR_ITEMS`); beyond it the input is rejected with reason `cbor-items`. */
  maxItems?: number
}

const utf8Fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

class StrictReader {
  pos = 0
  items = 0
  constructor(
    private readonly b: Uint8Array,
    private readonly what: string,
    private readonly maxItems: number
  ) {}

  fail(msg: string, reason = 'cbor'): never {
    throw new InvalidMessageError(`${this.what}: ${msg} at byte ${this.pos}`, reason)
  }

  /** Reads the argument of an item head with additional info `ai`; only the shortest form is accepted (RFC 8949 §4.2.1). */
  arg(ai: number): number | bigint {
    const b = this.b
    if (ai < 24) return ai
    let n: number
    switch (ai) {
      case 24:
        if (this.pos + 1 > b.length) this.fail('truncated')
        n = b[this.pos++]!
        if (n < 24) this.fail('integer not in its shortest form', 'canonical')
        return n
      case 25:
        if (this.pos + 2 > b.length) this.fail('truncated')
        n = (b[this.pos]! << 8) | b[this.pos + 1]!
        this.pos += 2
        if (n < 0x100) this.fail('integer not in its shortest form', 'canonical')
        return n
      case 26:
        if (this.pos + 4 > b.length) this.fail('truncated')
        n = b[this.pos]! * 0x100_0000 + ((b[this.pos + 1]! << 16) | (b[this.pos + 2]! << 8) | b[this.pos + 3]!)
        this.pos += 4
        if (n < 0x1_0000) this.fail('integer not in its shortest form', 'canonical')
        return n
      case 27: {
        if (this.pos + 8 > b.length) this.fail('truncated')
        const hi = b[this.pos]! * 0x100_0000 + ((b[this.pos + 1]! << 16) | (b[this.pos + 2]! << 8) | b[this.pos + 3]!)
        const lo = b[this.pos + 4]! * 0x100_0000 + ((b[this.pos + 5]! << 16) | (b[this.pos + 6]! << 8) | b[this.pos + 7]!)
        this.pos += 8
        if (hi === 0) this.fail('integer not in its shortest form', 'canonical')
        return (BigInt(hi) << 32n) | BigInt(lo)
      }
      case 31:
        this.fail('indefinite-length item', 'canonical')
      // falls through (fail never returns)
      default:
        this.fail(`reserved additional information ${ai}`)
    }
  }

  /** A length (of a string, array or map) that the remaining input could possibly hold, `minBytesEach` bytes per element. */
  length(ai: number, minBytesEach: number): number {
    const n = this.arg(ai)
    const left = this.b.length - this.pos
    if (typeof n === 'bigint' || n * minBytesEach > left) this.fail('declared length exceeds the input')
    return n
  }

  item(depth: number): unknown {
    const b = this.b
    if (this.pos >= b.length) this.fail('truncated')
    if (++this.items > this.maxItems) this.fail(`more than ${this.maxItems} data items`, 'cbor-items')
    const ib = b[this.pos++]!
    const major = ib >> 5
    const ai = ib & 0x1f
    switch (major) {
      case 0: {
        const n = this.arg(ai)
        return n
      }
      case 1: {
        const n = this.arg(ai)
        return typeof n === 'bigint' ? -1n - n : -1 - n
      }
      case 2: {
        const len = this.length(ai, 1)
        // A fresh plain copy that never aliases the input (a Buffer's slice would be a view).
        const out = new Uint8Array(len)
        out.set(b.subarray(this.pos, this.pos + len))
        this.pos += len
        return out
      }
      case 3: {
        const len = this.length(ai, 1)
        let s: string
        try {
          s = utf8Fatal.decode(b.subarray(this.pos, this.pos + len))
        } catch {
          this.fail('text string is not valid UTF-8')
        }
        this.pos += len
        return s
      }
      case 4: {
        if (depth >= MAX_CBOR_DEPTH) this.fail(`nested deeper than ${MAX_CBOR_DEPTH} levels`, 'cbor-depth')
        const len = this.length(ai, 1)
        // Each element is at least one more item: refuse before allocating for them.
        if (len > this.maxItems - this.items) this.fail(`more than ${this.maxItems} data items`, 'cbor-items')
        const out = new Array<unknown>(len)
        for (let i = 0; i < len; i++) out[i] = this.item(depth + 1)
        return out
      }
      case 5: {
        if (depth >= MAX_CBOR_DEPTH) this.fail(`nested deeper than ${MAX_CBOR_DEPTH} levels`, 'cbor-depth')
        const len = this.length(ai, 2)
        if (len * 2 > this.maxItems - this.items) this.fail(`more than ${this.maxItems} data items`, 'cbor-items')
        const out = new Map<unknown, unknown>()
        for (let i = 0; i < len; i++) {
          // Keys are integers or text strings (SPEC §3.1), so a Map compares them by value in
          // constant time per key: a duplicate (RFC 8949 §5.6: not valid) is found as it is read.
          const k = this.item(depth + 1)
          if (typeof k !== 'number' && typeof k !== 'bigint' && typeof k !== 'string') this.fail('map key is not an integer or a text string', 'canonical')
          if (out.has(k)) this.fail('duplicate map key', 'canonical')
          out.set(k, this.item(depth + 1))
        }
        return out
      }
      case 6:
        // No tag is part of the protocol (SPEC §3.1). Rejected here, before its content is read, so
        // value-sharing (tags 28/29), bignums and typed arrays never expand anything.
        this.fail('CBOR tags are not allowed', 'cbor-tag')
      // falls through (fail never returns)
      default:
        if (ai === 20) return false
        if (ai === 21) return true
        if (ai === 22) return null
        if (ai >= 25 && ai <= 27) this.fail('floating-point numbers are not allowed', 'canonical')
        this.fail(`simple value ${ai} is not allowed`, 'canonical')
    }
  }
}

/**
 * Decodes one CBOR item that must fill `bytes` exactly and be in canonical form, in one pass of time
 * and memory linear in `bytes.length` (every item consumes input; nothing is shared or expanded).
 * Accepted: unsigned and negative integers in their shortest form, definite-length byte and text
 * (valid UTF-8) strings, arrays, maps without duplicate keys, false, true, null; nesting ≤ 64 levels;
 * at most `opts.maxItems` (default 16,384) data items.
 * Rejected: tags, floats, other simple values, indefinite lengths, trailing bytes.
 * Byte strings come back as fresh plain Uint8Arrays, integers needing 8 bytes as bigint, maps as Map.
 * Throws InvalidMessageError on anything else, with reason `cbor` (not well-formed), `canonical`
 * (well-formed but not the unique form), `cbor-tag`, `cbor-depth` or `cbor-items`.
 */
export function decodeCbor(bytes: Uint8Array, what = 'message', opts: DecodeCborOptions = {}): unknown {
  if (!(bytes instanceof Uint8Array)) throw new InvalidMessageError(`${what}: expected bytes`, 'cbor')
  if (bytes.length === 0) throw new InvalidMessageError(`${what}: empty input`, 'cbor')
  const r = new StrictReader(bytes, what, opts.maxItems ?? MAX_CBOR_ITEMS)
  const value = r.item(0)
  if (r.pos !== bytes.length) r.fail('trailing bytes after the item', 'canonical')
  return value
}

// ---- field validators for decoders: each throws InvalidMessageError(reason `field:<name>`) ----

/** `v` must be an array of exactly `len` items. */
export function expectArray(v: unknown, len: number, field: string): unknown[] {
  if (!Array.isArray(v)) throw new InvalidMessageError(`${field} must be an array`, `field:${field}`)
  if (v.length !== len) throw new InvalidMessageError(`${field} must have ${len} items, got ${v.length}`, `field:${field}`)
  return v
}

/** `v` must be an array of at most `max` items. */
export function expectList(v: unknown, max: number, field: string): unknown[] {
  if (!Array.isArray(v)) throw new InvalidMessageError(`${field} must be an array`, `field:${field}`)
  if (v.length > max) throw new InvalidMessageError(`${field} has ${v.length} items, limit ${max}`, `field:${field}`)
  return v
}

/** `v` must be a byte string of exactly `len` bytes, or of `min`..`max` bytes. */
export function expectBytes(v: unknown, field: string, size: number | { min?: number; max: number }): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new InvalidMessageError(`${field} must be a byte string`, `field:${field}`)
  if (typeof size === 'number') {
    if (v.length !== size) throw new InvalidMessageError(`${field} must be ${size} bytes, got ${v.length}`, `field:${field}`)
  } else if (v.length > size.max || v.length < (size.min ?? 0)) {
    throw new InvalidMessageError(`${field} must be ${size.min ?? 0}..${size.max} bytes, got ${v.length}`, `field:${field}`)
  }
  return v
}

/** `v` must be an unsigned integer ≤ `max` (≤ 2^53 − 1); returned as a number. */
export function expectUint(v: unknown, field: string, max = Number.MAX_SAFE_INTEGER): number {
  let n: number
  if (typeof v === 'number' && Number.isInteger(v)) n = v
  else if (typeof v === 'bigint' && v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER)) n = Number(v)
  else throw new InvalidMessageError(`${field} must be an unsigned integer`, `field:${field}`)
  if (n < 0 || n > max) throw new InvalidMessageError(`${field} must be in 0..${max}, got ${n}`, `field:${field}`)
  return n
}

/** `v` must be a UTF-8 text string of at most `maxBytes` bytes. */
export function expectText(v: unknown, field: string, maxBytes: number): string {
  if (typeof v !== 'string') throw new InvalidMessageError(`${field} must be a text string`, `field:${field}`)
  if (v.length > maxBytes || new TextEncoder().encode(v).length > maxBytes) {
    throw new InvalidMessageError(`${field} is longer than ${maxBytes} bytes`, `field:${field}`)
  }
  return v
}
