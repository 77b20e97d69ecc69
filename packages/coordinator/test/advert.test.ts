// Coordinator adverts: sign → verify round trip; any tampered byte, a foreign key, an expired or
// oversized advert is rejected with a stable reason; the cache keeps the newest advert per peer,
// expires and bounds them; address helpers.
import { createVerifier, Identity } from '@saorsa-gossip/identity'
import { decodeCbor, encodeCbor, InvalidMessageError } from '@saorsa-gossip/types'
import { describe, expect, it } from 'vitest'
import { AdvertCache, baseScore, createAdvert, decodeAdvert, hostPort, toMultiaddrs, withoutPeerSuffix } from '../src/index.js'
import type { Role } from '../src/index.js'

const verifier = createVerifier()
const coord = Identity.fromSeed(new Uint8Array(32).fill(7))
const other = Identity.fromSeed(new Uint8Array(32).fill(8))
const T0 = 1_800_000_000_000
const ADDRS = ['/ip4/127.0.0.1/udp/7000/quic-v1/p2p/12D3KooWExample', '/ip4/127.0.0.1/tcp/7000']

function reason(f: () => unknown): string {
  try {
    f()
  } catch (e) {
    if (e instanceof InvalidMessageError) return e.reason
    throw e
  }
  return 'accepted'
}

describe('coordinator adverts', () => {
  it('round-trips and binds the PeerId to the carried public key', () => {
    const s = createAdvert({ roles: ['coordinator', 'reflector', 'relay'], addrs: ADDRS, natClass: 'eim', now: T0 }, coord)
    const d = decodeAdvert(s.bytes, verifier, { now: T0 + 1000 })
    expect(d.advert.peer).toBe(coord.peerId)
    expect(d.advert.roles).toEqual(['coordinator', 'reflector', 'relay'])
    expect(d.advert.addrs).toEqual(ADDRS)
    expect(d.advert.natClass).toBe('eim')
    expect(d.advert.notAfter - d.advert.notBefore).toBe(3_600_000)
    // ML-DSA-65 key 1952 + signature 3309 + fields: about 5.4 KB.
    expect(s.bytes.length).toBeGreaterThan(5261)
    expect(s.bytes.length).toBeLessThan(5600)
  })

  it('rejects a flip of any byte of the body or the signature', () => {
    const s = createAdvert({ roles: ['coordinator'], addrs: ADDRS, now: T0 }, coord)
    const reasons = new Set<string>()
    // Every 37th byte of the whole encoding, and every byte of the fields after the public key.
    for (let i = 0; i < s.bytes.length; i += i > 1960 && i < 2100 ? 1 : 37) {
      const t = Uint8Array.from(s.bytes)
      t[i] = (t[i] as number) ^ 0x01
      reasons.add(reason(() => decodeAdvert(t, verifier, { now: T0 })))
    }
    expect(reasons.has('accepted')).toBe(false)
    expect(reasons.has('signature')).toBe(true)
  })

  it('rejects a signature by another key, expired and future adverts, and over-long windows', () => {
    const s = createAdvert({ roles: ['coordinator'], addrs: ADDRS, now: T0 }, coord)
    const [body] = decodeCbor(s.bytes) as [Uint8Array, Uint8Array]
    const forged = encodeCbor([body, other.sign(body)])
    expect(reason(() => decodeAdvert(forged, verifier, { now: T0 }))).toBe('signature')
    expect(reason(() => decodeAdvert(s.bytes, verifier, { now: T0 + 3_600_000 }))).toBe('expired')
    expect(reason(() => decodeAdvert(s.bytes, verifier, { now: T0 - 6 * 60_000 }))).toBe('not-yet-valid')
    expect(reason(() => decodeAdvert(s.bytes, verifier, { now: T0 - 4 * 60_000 }))).toBe('accepted')
    expect(() => createAdvert({ roles: ['coordinator'], addrs: ADDRS, now: T0, validityMs: 25 * 3_600_000 }, coord)).toThrow(RangeError)
    expect(() => createAdvert({ roles: ['boss' as Role], addrs: ADDRS, now: T0 }, coord)).toThrow(/unknown role/)
    expect(reason(() => decodeAdvert(new Uint8Array(20_000), verifier, { now: T0 }))).toBe('size')
    expect(reason(() => decodeAdvert(encodeCbor([1, 2, 3]), verifier, { now: T0 }))).toMatch(/^field:/)
  })
})

describe('AdvertCache', () => {
  it('keeps the newest advert per peer, ranks by local score, expires, and bounds its size', () => {
    const cache = new AdvertCache({ capacity: 2, maxUnknown: 2 })
    const a1 = createAdvert({ roles: ['coordinator'], addrs: [], now: T0 }, coord)
    const a2 = createAdvert({ roles: ['coordinator', 'relay'], addrs: [], natClass: 'eim', now: T0 + 10 }, coord)
    expect(cache.put(a1, T0)).toBe('added')
    expect(cache.put(a2, T0)).toBe('updated')
    expect(cache.put(a1, T0)).toBe('older')
    expect(cache.get(coord.peerId, T0)?.advert.roles).toEqual(['coordinator', 'relay'])
    const b = createAdvert({ roles: ['coordinator'], addrs: [], now: T0, validityMs: 1000 }, other)
    expect(cache.put(b, T0)).toBe('added')
    expect(cache.list(T0).map((c) => c.advert.peer)).toEqual([coord.peerId, other.peerId])
    expect(baseScore(a2.advert)).toBe(50)
    cache.recordDial(coord.peerId, false)
    cache.recordDial(coord.peerId, false)
    expect(cache.list(T0)[0]?.advert.peer).toBe(other.peerId)
    cache.recordDial(coord.peerId, true)
    expect(cache.list(T0)[0]?.advert.peer).toBe(coord.peerId)
    // A third peer we have not been in contact with displaces nothing; one we have evicts the
    // unknown advert that expires first (b).
    const third = Identity.fromSeed(new Uint8Array(32).fill(9))
    expect(cache.put(createAdvert({ roles: ['reflector'], addrs: [], now: T0 }, third), T0)).toBe('full')
    expect(cache.put(createAdvert({ roles: ['reflector'], addrs: [], now: T0 }, third), T0, { known: true })).toBe('evicted-other')
    expect(cache.get(other.peerId, T0)).toBeUndefined()
    expect(cache.list(T0, 'reflector').map((c) => c.advert.peer)).toEqual([third.peerId])
    expect(cache.list(T0 + 3_600_010)).toEqual([])
    expect(cache.size).toBe(0)
  })
})

describe('addresses', () => {
  it('maps host:port to QUIC then TCP multiaddrs and rejects junk', () => {
    expect(toMultiaddrs('127.0.0.1:7000')).toEqual(['/ip4/127.0.0.1/udp/7000/quic-v1', '/ip4/127.0.0.1/tcp/7000'])
    expect(toMultiaddrs('[::1]:7001')).toEqual(['/ip6/::1/udp/7001/quic-v1', '/ip6/::1/tcp/7001'])
    expect(toMultiaddrs('example.org:7')).toEqual(['/dns/example.org/udp/7/quic-v1', '/dns/example.org/tcp/7'])
    expect(toMultiaddrs('/ip4/1.2.3.4/tcp/5')).toEqual(['/ip4/1.2.3.4/tcp/5'])
    for (const bad of ['127.0.0.1', '127.0.0.1:99999', '300.1.1.1:5', 'a b:5', ':5']) expect(() => toMultiaddrs(bad)).toThrow(RangeError)
    expect(withoutPeerSuffix('/ip4/1.2.3.4/tcp/5/p2p/12D3Koo')).toBe('/ip4/1.2.3.4/tcp/5')
    expect(withoutPeerSuffix('/ip4/1.2.3.4/tcp/5/p2p/R/p2p-circuit/p2p/X')).toBe('/ip4/1.2.3.4/tcp/5/p2p/R/p2p-circuit/p2p/X')
    expect(hostPort('/ip4/1.2.3.4/udp/9/quic-v1/p2p/x')).toBe('1.2.3.4:9')
  })
})
