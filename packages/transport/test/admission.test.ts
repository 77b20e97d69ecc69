// The handshake slot core (src/admission.ts, SPEC.md §5.5): a sans-IO state machine, driven here with
// explicit times.
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import {
  admissionSource,
  HANDSHAKE_PRESSURE_SLOTS,
  HANDSHAKE_STALL_MS,
  HANDSHAKE_STALL_UNDER_PRESSURE_MS,
  HandshakeSlots,
  MAX_HANDSHAKES_PER_SOURCE,
  MAX_PENDING_HANDSHAKES,
  PreambleWaiters
} from '../src/index.js'
import type { Admission, Slot } from '../src/index.js'

function admitted(a: Admission): Slot {
  if (a.type !== 'admit') throw new Error(`refused: ${a.reason}`)
  return a.slot
}

describe('handshake slots', () => {
  it('defaults: 64 slots, pressure from 32, 8 per source under pressure, 2 s / 0.5 s budgets', () => {
    const slots = new HandshakeSlots()
    expect([slots.max, slots.pressure, slots.perSource]).toEqual([MAX_PENDING_HANDSHAKES, HANDSHAKE_PRESSURE_SLOTS, MAX_HANDSHAKES_PER_SOURCE])
    expect([MAX_PENDING_HANDSHAKES, HANDSHAKE_PRESSURE_SLOTS, MAX_HANDSHAKES_PER_SOURCE]).toEqual([64, 32, 8])
    expect(slots.budget('m1')).toBe(HANDSHAKE_STALL_MS)
    expect(slots.budget('m3')).toBe(HANDSHAKE_STALL_MS)
    // Sixty-four distinct sources: pressure from the 32nd on, short budget.
    for (let i = 0; i < 64; i++) admitted(slots.admit(`10.0.0.${i}`, i))
    expect(slots.underPressure).toBe(true)
    expect(slots.budget('m3')).toBe(HANDSHAKE_STALL_UNDER_PRESSURE_MS)
    expect(() => new HandshakeSlots({ max: 0 })).toThrow(RangeError)
  })

  it('below pressure one source may take many slots (many honest nodes on one host)', () => {
    const slots = new HandshakeSlots()
    for (let i = 0; i < 31; i++) admitted(slots.admit('127.0.0.1', i))
    expect(slots.size).toBe(31)
  })

  it('when full, a newcomer drops the oldest waiter of the largest source, never a handshake being computed', () => {
    const slots = new HandshakeSlots({ max: 4, pressure: 4, perSource: 4 })
    const a1 = admitted(slots.admit('A', 1))
    const a2 = admitted(slots.admit('A', 2))
    const b1 = admitted(slots.admit('B', 3))
    const c1 = admitted(slots.admit('C', 4))
    for (const s of [a1, a2, b1, c1]) slots.wait(s, 'm3', 5)
    // A holds the most: its oldest waiter goes, although B and C are not younger than a2.
    const n1 = slots.admit('D', 6)
    expect(n1.type).toBe('admit')
    expect(n1.evict).toEqual([{ slot: a1, reason: 'handshake:evicted' }])
    expect(slots.holds(a1)).toBe(false)
    // Now every source holds one: the oldest waiter goes (a2), then b1.
    admitted(slots.admit('E', 7)).waiting = undefined
    expect(slots.holds(a2)).toBe(false)
    // Nobody waits (all computing): refuse.
    for (const s of slots.slots()) slots.work(s)
    const r = slots.admit('F', 8)
    expect(r).toEqual({ type: 'refuse', reason: 'handshake:busy', evict: [] })
  })

  it('under pressure a source at its limit can only replace its own oldest waiter', () => {
    const slots = new HandshakeSlots({ max: 8, pressure: 4, perSource: 2 })
    const x1 = admitted(slots.admit('X', 1))
    const x2 = admitted(slots.admit('X', 2))
    const x3 = admitted(slots.admit('X', 3)) // below pressure: no per-source limit yet
    admitted(slots.admit('Y', 4)) // 4 in use: pressure
    for (const s of [x1, x2, x3]) slots.wait(s, 'm3', 4)
    const again = slots.admit('X', 5)
    expect(again.type).toBe('admit')
    expect(again.evict).toEqual([{ slot: x1, reason: 'handshake:evicted' }])
    // Others are unaffected by X's limit.
    expect(slots.admit('Z', 6).type).toBe('admit')
    // X's handshakes all computing: X is refused, not anyone else evicted.
    for (const s of slots.slots()) slots.work(s)
    expect(slots.admit('X', 7)).toMatchObject({ type: 'refuse', reason: 'handshake:busy' })
  })

  it('waiters past their budget are dropped at the next admission, with the shorter budget under pressure', () => {
    const slots = new HandshakeSlots({ max: 8, pressure: 3, perSource: 8, m1StallMs: 2000, m3StallMs: 2000, pressureStallMs: 500 })
    const a = admitted(slots.admit('A', 0))
    expect(slots.wait(a, 'm3', 0)).toBe(2000) // not under pressure: 2 s
    const b = admitted(slots.admit('B', 100))
    expect(slots.overdue(700)).toEqual([])
    // The third admission brings pressure: A (waiting 800 ms > 500 ms) is dropped as a timeout.
    const c = slots.admit('C', 800)
    expect(c.evict).toEqual([{ slot: a, reason: 'handshake:timeout' }])
    expect(slots.holds(b)).toBe(true)
    slots.release(b)
    slots.release(b) // idempotent
    expect(slots.size).toBe(1)
  })
})

describe('admission sources', () => {
  const src = (addr: string) => admissionSource({ remoteAddr: multiaddr(addr), remotePeer: { toString: () => 'PEER' } } as never)
  it('an IPv4 address, the /64 of an IPv6 one, the relay of a relayed connection, IP + PeerId on loopback', () => {
    expect(src('/ip4/203.0.113.7/udp/4001/quic-v1/p2p/12D3KooWGzXXqDnZcLbiBTGBhHvn3Ux5GyRjRu6oz8ZfnqFQd8kw')).toBe('203.0.113.7')
    expect(src('/ip4/203.0.113.7/tcp/5555')).toBe('203.0.113.7')
    expect(src('/ip6/2001:db8:0:1:aa:bb:cc:dd/tcp/1')).toBe('2001:db8:0:1::/64')
    expect(src('/ip6/2001:db8::1/tcp/1')).toBe('2001:db8:0:0::/64')
    expect(src('/ip4/127.0.0.1/tcp/1')).toBe('127.0.0.1/PEER')
    expect(src('/ip6/::1/tcp/1')).toBe('::1/PEER')
    expect(src('/ip4/198.51.100.1/tcp/1/p2p/12D3KooWGzXXqDnZcLbiBTGBhHvn3Ux5GyRjRu6oz8ZfnqFQd8kw/p2p-circuit')).toBe(
      'relay/12D3KooWGzXXqDnZcLbiBTGBhHvn3Ux5GyRjRu6oz8ZfnqFQd8kw'
    )
  })
})

describe('preamble waiters', () => {
  it('keep at most max entries, dropping the oldest for a newcomer', () => {
    const w = new PreambleWaiters<string>(2)
    const a = w.add('a')
    expect(w.add('b').dropped).toEqual([])
    expect(w.add('c').dropped).toEqual(['a'])
    expect(w.remove(a.id)).toBe(false)
    expect([...w.values()]).toEqual(['b', 'c'])
    expect(() => new PreambleWaiters(0)).toThrow(RangeError)
  })
})
