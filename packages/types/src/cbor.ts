// Strict CBOR (RFC 8949) on top of cbor-x, for every Saorsa Gossip wire structure (SPEC.md §3).
//
// cbor-x is fast but not deterministic on its own: it writes integers ≥ 2^32 as float64 and accepts
// non-minimal, indefinite-length, tagged and trailing input. So:
//   - `encodeCbor` normalises integers first (≥ 2^32 as uint64, never as float) and refuses floats;
//   - `decodeCbor` decodes, then re-encodes the result and requires the exact input bytes back.
// The accepted encoding is therefore unique (RFC 8949 §4.2.1 preferred serialisation for the types we
// use: unsigned and negative integers, byte and text strings, arrays, maps in the order written, null,
// booleans). Any other input is an InvalidMessageError, never another exception.
import { Decoder, Encoder } from 'cbor-x'
import { InvalidMessageError } from './errors.js'

const encoder = new Encoder({
  useRecords: false,
  tagUint8Array: false,
  variableMapSize: true,
  mapsAsObjects: false,
  useTimestamp32: false
} as ConstructorParameters<typeof Encoder>[0])

const decoder = new Decoder({
  useRecords: false,
  mapsAsObjects: false
} as ConstructorParameters<typeof Decoder>[0])

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
  if (depth > 64) throw new RangeError('CBOR value nested deeper than 64 levels')
  switch (typeof v) {
    case 'number':
      if (!Number.isInteger(v)) throw new RangeError(`CBOR codec carries integers only, got ${v}`)
      if (!Number.isSafeInteger(v)) throw new RangeError(`integer ${v} is outside the safe range`)
      return v >= TWO32 || v < -TWO32 ? BigInt(v) : v
    case 'bigint':
      // Only what fits CBOR major types 0/1 (8-byte argument); no bignum tags (RFC 8949 §3.4.3).
      if (v > 0xffff_ffff_ffff_ffffn || v < -0x1_0000_0000_0000_0000n) throw new RangeError('integer outside 64-bit range')
      return v < TWO32 && v >= -TWO32 ? Number(v) : v
    case 'string':
    case 'boolean':
      return v
    case 'object':
      if (v === null) return null
      if (v instanceof Uint8Array) {
        // Plain Uint8Array so cbor-x writes a byte string with no typed-array tag.
        return v.constructor === Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
      }
      if (Array.isArray(v)) return v.map((x) => normalise(x, depth + 1))
      if (v instanceof Map) {
        const m = new Map<unknown, unknown>()
        for (const [k, x] of v) m.set(normalise(k, depth + 1), normalise(x, depth + 1))
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

function toPlain(v: unknown): unknown {
  if (v instanceof Uint8Array) return new Uint8Array(v) // copy; never alias the input buffer
  if (Array.isArray(v)) return v.map(toPlain)
  if (v instanceof Map) {
    const m = new Map<unknown, unknown>()
    for (const [k, x] of v) m.set(toPlain(k), toPlain(x))
    return m
  }
  return v
}

/**
 * Decodes one CBOR item that must fill `bytes` exactly and be in canonical form.
 * Byte strings come back as fresh plain Uint8Arrays, integers beyond 2^32 as bigint.
 * Throws InvalidMessageError (reason `cbor` or `canonical`) on anything else.
 */
export function decodeCbor(bytes: Uint8Array, what = 'message'): unknown {
  if (!(bytes instanceof Uint8Array)) throw new InvalidMessageError(`${what}: expected bytes`, 'cbor')
  if (bytes.length === 0) throw new InvalidMessageError(`${what}: empty input`, 'cbor')
  let value: unknown
  try {
    // cbor-x caches a `dataView` property on the array it decodes: hand it a throwaway view so the
    // caller's array is never modified.
    value = decoder.decode(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength))
  } catch (e) {
    throw new InvalidMessageError(`${what}: malformed CBOR (${e instanceof Error ? e.message : String(e)})`, 'cbor', { cause: e })
  }
  let again: Uint8Array
  try {
    again = encodeCbor(value as CborValue)
  } catch (e) {
    throw new InvalidMessageError(`${what}: CBOR uses a type or form outside the protocol`, 'canonical', { cause: e })
  }
  if (again.length !== bytes.length || !sameBytes(again, bytes)) {
    throw new InvalidMessageError(`${what}: CBOR is not in canonical form or has trailing bytes`, 'canonical')
  }
  return toPlain(value)
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
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
