import { describe, expect, it } from 'vitest'
import { createSeededRng, MemoryMetrics } from '../src/index.js'

describe('seeded rng', () => {
  it('is reproducible from its seed and differs across seeds', () => {
    const a = createSeededRng(42)
    const b = createSeededRng(42)
    const c = createSeededRng(43)
    const sa = Array.from({ length: 20 }, () => a.nextU32())
    expect(Array.from({ length: 20 }, () => b.nextU32())).toEqual(sa)
    expect(Array.from({ length: 20 }, () => c.nextU32())).not.toEqual(sa)
  })
  it('int(n) stays in range and is roughly uniform', () => {
    const r = createSeededRng(1)
    const counts = new Array<number>(10).fill(0)
    for (let i = 0; i < 100_000; i++) {
      const x = r.int(10)
      expect(x >= 0 && x < 10).toBe(true)
      counts[x]!++
    }
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(600)
    expect(() => r.int(0)).toThrow(RangeError)
  })
  it('next() is in [0, 1) and shuffle is a permutation', () => {
    const r = createSeededRng(9)
    for (let i = 0; i < 1000; i++) {
      const x = r.next()
      expect(x >= 0 && x < 1).toBe(true)
    }
    const items = Array.from({ length: 50 }, (_, i) => i)
    const s = r.shuffle(items)
    expect(s).not.toEqual(items)
    expect([...s].sort((x, y) => x - y)).toEqual(items)
    expect(r.bytes(7).length).toBe(7)
  })
})

describe('MemoryMetrics', () => {
  it('counts, sets gauges and summarises observations per label set', () => {
    const m = new MemoryMetrics()
    m.increment('saorsa_test_total')
    m.increment('saorsa_test_total', 2)
    m.increment('saorsa_test_total', 1, { peer: 'a' })
    m.gauge('saorsa_peers', 3)
    m.observe('saorsa_rtt_ms', 5)
    m.observe('saorsa_rtt_ms', 1)
    const s = m.snapshot()
    expect(s.counters).toEqual({ saorsa_test_total: 3, 'saorsa_test_total{peer="a"}': 1 })
    expect(s.gauges.saorsa_peers).toBe(3)
    expect(s.observations.saorsa_rtt_ms).toEqual({ count: 2, sum: 6, min: 1, max: 5 })
    expect(m.counter('saorsa_test_total', { peer: 'a' })).toBe(1)
  })
})

describe('TypedEventEmitter', () => {
  it('delivers typed details, supports once with a filter and abort, and contains listener errors', async () => {
    const { TypedEventEmitter } = await import('../src/index.js')
    const em = new TypedEventEmitter<{ 'peer:connect': { peer: string } }>()
    const seen: string[] = []
    const errors: unknown[] = []
    em.onListenerError = (e) => errors.push(e)
    const off = em.on('peer:connect', (d) => seen.push(d.peer))
    em.on('peer:connect', () => {
      throw new Error('boom')
    })
    const next = em.once('peer:connect', (d) => d.peer === 'b')
    em.emit('peer:connect', { peer: 'a' })
    em.emit('peer:connect', { peer: 'b' })
    expect(await next).toEqual({ peer: 'b' })
    off()
    em.emit('peer:connect', { peer: 'c' })
    expect(seen).toEqual(['a', 'b'])
    expect(errors).toHaveLength(3)
    const ac = new AbortController()
    const never = em.once('peer:connect', () => false, { signal: ac.signal })
    ac.abort(new Error('stop'))
    await expect(never).rejects.toThrow('stop')
  })
})
