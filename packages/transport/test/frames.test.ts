import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { FrameError, FrameOpener, FrameSealer, FRAME_OVERHEAD_BYTES } from '../src/index.js'

const key = new Uint8Array(32).fill(9)
const other = new Uint8Array(32).fill(8)

function reasonOf(f: () => unknown): string {
  try {
    f()
  } catch (e) {
    if (e instanceof FrameError) return e.reason
    throw e
  }
  return 'accepted'
}

describe('sealed frames', () => {
  it('round-trip in order with 24 bytes of overhead', () => {
    const s = new FrameSealer(key, 'pubsub')
    const o = new FrameOpener(key, 'pubsub', 1024)
    for (let n = 0; n < 5; n++) {
      const pt = new Uint8Array(n * 100).fill(n)
      const body = s.seal([pt])
      expect(body.length).toBe(pt.length + FRAME_OVERHEAD_BYTES + 4)
      expect(o.open(body)).toEqual([pt])
    }
  })

  it('reject a flipped bit, a replay, a dropped frame, another channel or key, and oversize', () => {
    const s = new FrameSealer(key, 'pubsub')
    const f0 = s.seal([new Uint8Array([1, 2, 3])])
    const f1 = s.seal([new Uint8Array([4, 5, 6])])
    const f2 = s.seal([new Uint8Array([7])])

    const flipped = f0.slice()
    flipped[10] = (flipped[10]! ^ 0x40) & 0xff
    expect(reasonOf(() => new FrameOpener(key, 'pubsub', 1024).open(flipped))).toBe('frame:auth')

    const o = new FrameOpener(key, 'pubsub', 1024)
    o.open(f0)
    expect(reasonOf(() => o.open(f0))).toBe('frame:replay')
    expect(reasonOf(() => o.open(f2))).toBe('frame:reorder')
    expect(o.open(f1)).toEqual([new Uint8Array([4, 5, 6])]) // state is unchanged by rejected frames

    expect(reasonOf(() => new FrameOpener(key, 'bulk', 1024).open(f0))).toBe('frame:auth')
    expect(reasonOf(() => new FrameOpener(other, 'pubsub', 1024).open(f0))).toBe('frame:auth')
    expect(reasonOf(() => new FrameOpener(key, 'pubsub', 2).open(f0))).toBe('frame:oversize') // message of 3 > 2
    expect(reasonOf(() => new FrameOpener(key, 'pubsub', 2).open(new Uint8Array(5)))).toBe('frame:short')
    expect(reasonOf(() => new FrameOpener(key, 'pubsub', 2).open(new Uint8Array(2 + 4 * 64 + 24 + 1)))).toBe('frame:oversize')
  })

  it('carry a burst of messages in one sealed frame, and refuse a malformed message list', () => {
    const s = new FrameSealer(key, 'membership')
    const msgs = Array.from({ length: 64 }, (_, i) => new Uint8Array(i).fill(i))
    const o = new FrameOpener(key, 'membership', 4096) // 2016 bytes of messages in all
    expect(o.open(s.seal(msgs))).toEqual(msgs)
    expect(() => s.seal([])).toThrow(RangeError)
    expect(() => s.seal([...msgs, new Uint8Array(1)])).toThrow(RangeError)
  })

  it('10,000 random frames are each rejected with a reason, never another exception', () => {
    const reasons = new Map<string, number>()
    const s = new FrameSealer(key, 'membership')
    const valid = s.seal([new Uint8Array(40).fill(1)])
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 2000 }),
          fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })).map(([at, bit]) => {
            const b = valid.slice()
            b[at % b.length] = (b[at % b.length]! ^ (1 << bit)) & 0xff
            return b
          })
        ),
        (body) => {
          const r = reasonOf(() => new FrameOpener(key, 'membership', 1024).open(body))
          reasons.set(r, (reasons.get(r) ?? 0) + 1)
        }
      ),
      { numRuns: 10_000, seed: 0xf7a }
    )
    expect(reasons.get('accepted') ?? 0).toBe(0)
    expect([...reasons.values()].reduce((a, b) => a + b, 0)).toBe(10_000)
    expect(reasons.get('frame:auth')).toBeGreaterThan(1000)
  })
})
