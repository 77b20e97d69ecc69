import { describe, expect, it } from 'vitest'
import { decodeCbor, encodeCbor, expectBytes, expectUint, InvalidMessageError } from '../src/index.js'

const hex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'))

describe('strict CBOR', () => {
  it('writes integers minimally and never as floats', () => {
    expect(Buffer.from(encodeCbor(5)).toString('hex')).toBe('05')
    expect(Buffer.from(encodeCbor(2 ** 32)).toString('hex')).toBe('1b0000000100000000')
    expect(Buffer.from(encodeCbor(1_732_612_345_678)).toString('hex')).toBe('1b0000019367be4f4e')
    expect(decodeCbor(encodeCbor(1_732_612_345_678))).toBe(1_732_612_345_678n)
  })
  it('refuses floats and unsafe integers on encode', () => {
    expect(() => encodeCbor(1.5)).toThrow(RangeError)
    expect(() => encodeCbor(2 ** 60)).toThrow(RangeError)
  })
  it.each([
    ['non-minimal uint', '1b0000000000000005'],
    ['non-minimal uint32', '1a00000005'],
    ['indefinite array', '9f01ff'],
    ['trailing byte', '820102ff'],
    ['self-describe tag', 'd9d9f78101'],
    ['bignum tag', 'c249010000000000000000'],
    ['float64', 'fb3ff8000000000000'],
    ['half float NaN', 'f97e00'],
    ['duplicate map key', 'a201020103'],
    ['indefinite byte string', '5f42010243030405ff'],
    ['typed array tag', 'd84042010203'],
    ['truncated', '8201'],
    ['empty', '']
  ])('rejects %s with InvalidMessageError', (_name, h) => {
    expect(() => decodeCbor(hex(h))).toThrow(InvalidMessageError)
  })
  it('returns fresh plain byte arrays that do not alias the input', () => {
    const input = encodeCbor([new Uint8Array([1, 2, 3])])
    const out = decodeCbor(input) as Uint8Array[]
    expect(out[0]?.constructor).toBe(Uint8Array)
    input[2] = 99
    expect(Array.from(out[0]!)).toEqual([1, 2, 3])
  })
  it('field validators name the field', () => {
    expect(() => expectUint(-1, 'seq')).toThrow(/seq/)
    expect(() => expectUint(1.5, 'seq')).toThrow(InvalidMessageError)
    expect(expectUint(2n ** 40n, 'seq')).toBe(2 ** 40)
    expect(() => expectUint(2n ** 60n, 'seq')).toThrow(InvalidMessageError)
    expect(() => expectBytes(new Uint8Array(3), 'topic', 32)).toThrow(/topic must be 32 bytes/)
  })
})
