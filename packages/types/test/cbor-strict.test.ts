// The strict single-pass decoder against the definition it replaced: "decode with cbor-x, re-encode,
// require the exact input bytes back". On small inputs (where the old way cannot blow up) both must
// accept exactly the same inputs and return the same values; the new decoder additionally refuses
// maps with duplicate byte-string keys (cbor-x kept both keys, so the old check let them through).
import { Decoder } from 'cbor-x'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeCbor, encodeCbor, InvalidMessageError, MAX_CBOR_DEPTH, MAX_CBOR_ITEMS } from '../src/index.js'
import type { CborValue } from '../src/index.js'

const reference = new Decoder({ useRecords: false, mapsAsObjects: false } as ConstructorParameters<typeof Decoder>[0])

function oldDecode(bytes: Uint8Array): { ok: true; value: unknown } | { ok: false } {
  if (bytes.length === 0) return { ok: false }
  // Tags 28/29 are where the old way explodes; the new decoder rejects every tag, and the old one
  // rejected every tag it could finish on (a tag never survives the re-encode), so skip inputs with
  // shared references rather than run the bomb here.
  for (let i = 0; i + 1 < bytes.length; i++) if (bytes[i] === 0xd8 && (bytes[i + 1] === 28 || bytes[i + 1] === 29)) return { ok: false }
  let value: unknown
  try {
    value = reference.decode(new Uint8Array(bytes))
  } catch {
    return { ok: false }
  }
  let again: Uint8Array
  try {
    again = encodeCbor(value as CborValue)
  } catch {
    return { ok: false }
  }
  if (again.length !== bytes.length || again.some((b, i) => b !== bytes[i])) return { ok: false }
  return { ok: true, value }
}

function newDecode(bytes: Uint8Array): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: decodeCbor(bytes) }
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidMessageError)
    return { ok: false, reason: (e as InvalidMessageError).reason }
  }
}

const hasMap = (v: unknown): boolean => v instanceof Map || (Array.isArray(v) && v.some(hasMap))

const arbValue: fc.Arbitrary<CborValue> = fc.letrec<{ v: CborValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.integer({ min: -(2 ** 33), max: 2 ** 33 }),
    fc.constantFrom(0, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER, -24, -25, -(2 ** 32), -(2 ** 32) - 1),
    fc.bigInt({ min: 2n ** 32n, max: 2n ** 64n - 1n }),
    fc.string({ maxLength: 30, unit: 'binary' }),
    fc.uint8Array({ maxLength: 40 }),
    fc.constantFrom(null, true, false),
    fc.array(tie('v'), { maxLength: 5 }),
    fc.uniqueArray(fc.tuple(fc.oneof(fc.integer({ min: 0, max: 50 }), fc.string({ maxLength: 5 })), tie('v')), { maxLength: 3, selector: (t) => t[0] }).map((es) => new Map(es))
  )
})).v

describe('strict CBOR decoder', () => {
  it('round-trips 5,000 random values exactly as before', () => {
    fc.assert(
      fc.property(arbValue, (v) => {
        const bytes = encodeCbor(v)
        const a = newDecode(bytes)
        const b = oldDecode(bytes)
        expect(a.ok).toBe(true)
        expect(b.ok).toBe(true)
        if (a.ok && b.ok) expect(a.value).toEqual(b.value)
      }),
      { numRuns: 5000, seed: 0xc0b0 }
    )
  })

  it('accepts exactly what the re-encode check accepted on 30,000 mutated and random inputs', () => {
    let accepted = 0
    fc.assert(
      fc.property(arbValue, fc.nat(), fc.integer({ min: 0, max: 7 }), fc.uint8Array({ maxLength: 24 }), fc.nat(255), (v, at, bit, junk, byte) => {
        const b = encodeCbor(v)
        const inputs = [
          b.map((x, i) => (i === at % b.length ? x ^ (1 << bit) : x)),
          b.map((x, i) => (i === at % b.length ? byte : x)),
          b.subarray(0, at % (b.length + 1)),
          Uint8Array.from([...b.subarray(0, at % (b.length + 1)), ...junk, ...b.subarray(at % (b.length + 1))]),
          junk
        ]
        for (const input of inputs) {
          const n = newDecode(input)
          const o = oldDecode(input)
          if (n.ok) accepted++
          if (o.ok && !n.ok) {
            // The one intended difference: duplicate map keys that cbor-x did not see as equal.
            expect(n.reason).toBe('canonical')
            expect(hasMap(o.value)).toBe(true)
            continue
          }
          expect(n.ok, `input ${Buffer.from(input).toString('hex')}`).toBe(o.ok)
          if (n.ok && o.ok) expect(n.value).toEqual(o.value)
        }
      }),
      { numRuns: 6000, seed: 0xc0b1 }
    )
    expect(accepted).toBeGreaterThan(6000)
  })

  it.each([
    ['tag 28 (shareable)', 'd81c01', 'cbor-tag'],
    ['tag 29 (sharedref)', '82d81c01d81d00', 'cbor-tag'],
    ['byte-string map keys', 'a2410101410102', 'canonical'],
    ['duplicate integer keys', 'a201020103', 'canonical'],
    ['duplicate text keys', 'a2616101616102', 'canonical'],
    ['undefined', 'f7', 'canonical'],
    ['simple value 16', 'f0', 'canonical'],
    ['reserved additional info 28', '1c', 'cbor'],
    ['array longer than the input', '9a000f424000', 'cbor'],
    ['invalid UTF-8', '62c328', 'cbor'],
    ['non-minimal negative', '3817', 'canonical'],
    ['non-minimal 8-byte head', '1b00000000ffffffff', 'canonical']
  ])('rejects %s', (_n, h, reason) => {
    const r = newDecode(Uint8Array.from(Buffer.from(h, 'hex')))
    expect(r).toEqual({ ok: false, reason })
  })

  it('the encoder refuses what the decoder would refuse: lone surrogates, −2^64, nesting beyond 64, non-scalar map keys', () => {
    expect(() => encodeCbor('a\uD800b')).toThrow(RangeError)
    expect(() => encodeCbor(-(2n ** 64n))).toThrow(RangeError)
    expect(decodeCbor(encodeCbor(-(2n ** 64n) + 1n))).toBe(-(2n ** 64n) + 1n)
    let deep: CborValue = 0
    for (let i = 0; i < MAX_CBOR_DEPTH; i++) deep = [deep]
    expect(() => decodeCbor(encodeCbor(deep))).not.toThrow()
    expect(() => encodeCbor([deep])).toThrow(RangeError)
    expect(() => encodeCbor(new Map([[new Uint8Array(1), 1]]))).toThrow(TypeError)
  })

  it('returns byte strings that never alias the input, even from a Buffer', () => {
    const input = Buffer.from(encodeCbor([new Uint8Array([7, 8, 9])]))
    const [out] = decodeCbor(input) as [Uint8Array]
    expect(Buffer.isBuffer(out)).toBe(false)
    expect(out.buffer).not.toBe(input.buffer)
  })

  it('keeps a leading byte-order mark in text (it is part of the string)', () => {
    const s = '\uFEFFhello'
    expect(decodeCbor(encodeCbor(s))).toBe(s)
  })

  it(`limits nesting to ${MAX_CBOR_DEPTH} and items to ${MAX_CBOR_ITEMS} (or the caller's maxItems)`, () => {
    const deep = (n: number): Uint8Array => Uint8Array.from([...new Array<number>(n).fill(0x81), 0x00])
    expect(() => decodeCbor(deep(MAX_CBOR_DEPTH))).not.toThrow()
    expect(newDecode(deep(MAX_CBOR_DEPTH + 1))).toEqual({ ok: false, reason: 'cbor-depth' })
    const wide = (n: number): Uint8Array => encodeCbor(new Array<number>(n).fill(0))
    expect(() => decodeCbor(wide(MAX_CBOR_ITEMS - 1))).not.toThrow()
    expect(newDecode(wide(MAX_CBOR_ITEMS))).toEqual({ ok: false, reason: 'cbor-items' })
    expect(() => decodeCbor(wide(99), 'x', { maxItems: 100 })).not.toThrow()
    expect(() => decodeCbor(wide(100), 'x', { maxItems: 100 })).toThrow(/more than 100 data items/)
  })
})
