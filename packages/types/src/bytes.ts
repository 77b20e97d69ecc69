// Small byte helpers shared by every package (hex, equality, concatenation, big-endian integers).


const HEX = '0123456789abcdef'

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number
    s += HEX[b >> 4]! + HEX[b & 15]!
  }
  return s
}

/** Parses lower- or upper-case hex; throws `RangeError` on odd length or a non-hex character. */
export function fromHex(hex: string): Uint8Array {
  if (typeof hex !== 'string') throw new TypeError('hex must be a string')
  if (hex.length % 2 !== 0) throw new RangeError(`hex string has odd length ${hex.length}`)
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) {
    const hi = hexVal(hex.charCodeAt(2 * i))
    const lo = hexVal(hex.charCodeAt(2 * i + 1))
    if (hi < 0 || lo < 0) throw new RangeError(`invalid hex character near offset ${2 * i}`)
    out[i] = (hi << 4) | lo
  }
  return out
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 97 && c <= 102) return c - 87
  if (c >= 65 && c <= 70) return c - 55
  return -1
}

/** Constant-time equality for equal-length arrays (length itself is not secret). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number)
  return diff === 0
}

/** Concatenates byte arrays into one new array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/** UTF-8 encoding of `s`. */
export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s)
}

/** 8-byte big-endian encoding of a safe non-negative integer. */
export function u64be(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a safe unsigned integer: ${n}`)
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(n))
  return out
}

/** Overwrites `bytes` with zeros (best effort: JavaScript may hold other copies). */
export function wipe(bytes: Uint8Array): void {
  bytes.fill(0)
}

/** Throws `TypeError` unless `v` is a Uint8Array, `RangeError` unless its length is `len` (when given). */
export function assertBytes(v: unknown, name: string, len?: number): asserts v is Uint8Array {
  if (!(v instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`)
  if (len !== undefined && v.length !== len) {
    throw new RangeError(`${name} must be ${len} bytes, got ${v.length}`)
  }
}
