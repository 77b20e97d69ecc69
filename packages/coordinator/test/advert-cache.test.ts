// The advert cache against a Sybil flood: identities are free, so hundreds of valid adverts with the
// longest validity must not displace the coordinators a node has been in contact with, nor hold
// places longer than the cache's own cap.
import { Identity } from '@saorsa-gossip/identity'
import { describe, expect, it } from 'vitest'
import { AdvertCache, createAdvert } from '../src/index.js'

const T0 = 1_765_000_000_000
const HOUR = 3_600_000
const id = (n: number): Identity => {
  const seed = new Uint8Array(32)
  new DataView(seed.buffer).setUint32(0, n)
  seed[31] = 0x5b
  return Identity.fromSeed(seed)
}
const real = Identity.fromSeed(new Uint8Array(32).fill(0xc0))
// 300 Sybil identities, made once (ML-DSA key generation).
const sybils = Array.from({ length: 300 }, (_, i) => id(i))
const sybilAdvert = (i: number, now: number) => createAdvert({ roles: ['coordinator', 'relay'], addrs: [`/ip4/10.9.${i >> 8}.${i & 255}/udp/7000/quic-v1`], natClass: 'eim', now, validityMs: 24 * HOUR }, sybils[i]!)

describe('AdvertCache under a Sybil flood', () => {
  it('300 long-lived adverts from unknown identities never displace a coordinator this node was in contact with', () => {
    const cache = new AdvertCache({ capacity: 256 })
    // We bootstrapped through the real coordinator before its advert arrived (the usual order).
    cache.markKnown(real.peerId)
    expect(cache.put(createAdvert({ roles: ['coordinator'], addrs: ['/ip4/127.0.0.1/udp/7000/quic-v1'], now: T0 }, real), T0)).toBe('added')
    const results = sybils.map((_, i) => cache.put(sybilAdvert(i, T0 + i), T0 + i))
    // Their addresses fall in two /24s: 16 unknown adverts each; the rest are refused, never displacing anyone.
    expect(results.filter((r) => r === 'added')).toHaveLength(32)
    expect(results.filter((r) => r === 'full')).toHaveLength(268)
    expect(results).not.toContain('evicted-other')
    expect(cache.get(real.peerId, T0 + 1000)?.known).toBe(true)
    // Listed first although the Sybils claim better roles and NAT class.
    expect(cache.list(T0 + 1000, 'coordinator')[0]?.advert.peer).toBe(real.peerId)
  })

  it('unknown adverts take at most half the places even from many ranges, and keep them 2 h from the first copy however often re-sent', () => {
    const cache = new AdvertCache({ capacity: 256 })
    const spread = (i: number, now: number) => createAdvert({ roles: ['coordinator'], addrs: [`/ip4/10.${i}.0.1/udp/7000/quic-v1`], now, validityMs: 24 * HOUR }, sybils[i]!)
    const results = sybils.map((_, i) => cache.put(spread(i, T0), T0))
    expect(results.filter((r) => r === 'added')).toHaveLength(128)
    // Re-sent every 10 minutes, they are still dropped 2 h after their first copy.
    for (let t = T0; t < T0 + 2 * HOUR; t += 10 * 60_000) for (let i = 0; i < 128; i++) cache.put(spread(i, t), t)
    expect(cache.list(T0 + 2 * HOUR)).toEqual([])
  })

  it('a claimed 24 h validity is kept at most 2 h after the last copy; the real coordinator, re-publishing, outlives the flood', () => {
    const cache = new AdvertCache({ capacity: 16, maxUnknownPerRange: 16 })
    for (let i = 0; i < 8; i++) cache.put(sybilAdvert(i, T0), T0)
    expect(cache.size).toBe(8)
    // The real coordinator, never contacted directly, is refused while unknown places are full…
    expect(cache.put(createAdvert({ roles: ['coordinator'], addrs: [], now: T0 }, real), T0)).toBe('full')
    // …and enters as soon as this node is in contact with it, displacing an unknown advert only if it must.
    cache.markKnown(real.peerId)
    expect(cache.put(createAdvert({ roles: ['coordinator'], addrs: [], now: T0 + 1 }, real), T0 + 1)).toBe('added')
    // Two hours on, the Sybil adverts (24 h claimed, not re-sent) are gone; the real one, re-published hourly, stays.
    for (let h = 1; h <= 2; h++) cache.put(createAdvert({ roles: ['coordinator'], addrs: [], now: T0 + h * HOUR }, real), T0 + h * HOUR)
    expect(cache.list(T0 + 2 * HOUR + 1).map((c) => c.advert.peer)).toEqual([real.peerId])
  })

  it('a known coordinator displaces the unknown advert that expires first when the cache is full', () => {
    const cache = new AdvertCache({ capacity: 4, maxUnknown: 4 })
    for (let i = 0; i < 4; i++) expect(cache.put(sybilAdvert(i, T0 + i * 1000), T0 + i * 1000)).toBe('added')
    expect(cache.put(sybilAdvert(9, T0 + 5000), T0 + 5000)).toBe('full')
    expect(cache.put(createAdvert({ roles: ['coordinator'], addrs: [], now: T0 + 5000 }, real), T0 + 5000, { known: true })).toBe('evicted-other')
    expect(cache.get(sybils[0]!.peerId, T0 + 5000)).toBeUndefined()
    expect(cache.knownCount).toBe(1)
  })
})
