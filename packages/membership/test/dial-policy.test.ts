// What membership will dial: addresses claimed by peers for other peers are filtered by scope, and
// dials to unconnected peers are rate limited, coalesced per peer and cooled down after failures.
import { describe, expect, it } from 'vitest'
import { addressScope, DialLimiter, ownScopes, plausibleAddrs } from '../src/dial-policy.js'

describe('address scopes', () => {
  it.each([
    ['/ip4/127.0.0.1/udp/7000/quic-v1', 'loopback'],
    ['/ip4/10.1.2.3/tcp/7000', 'private'],
    ['/ip4/172.20.0.1/tcp/7000', 'private'],
    ['/ip4/192.168.1.1/udp/1/quic-v1', 'private'],
    ['/ip4/100.64.0.1/tcp/7000', 'private'],
    ['/ip4/169.254.1.1/tcp/7000', 'link-local'],
    ['/ip4/203.0.113.7/udp/7000/quic-v1/p2p/12D3KooW', 'public'],
    ['/ip4/203.0.113.7/tcp/7000/p2p/R/p2p-circuit/p2p/X', 'public'],
    ['/ip4/0.0.0.0/tcp/7000', 'invalid'],
    ['/ip4/224.0.0.1/udp/7000/quic-v1', 'invalid'],
    ['/ip4/255.255.255.255/tcp/1', 'invalid'],
    ['/ip4/1.2.3.4/tcp/0', 'invalid'],
    ['/ip4/1.2.3.4/tcp/70000', 'invalid'],
    ['/ip4/1.2.3/tcp/7000', 'invalid'],
    ['/ip4/1.2.3.4/sctp/7000', 'invalid'],
    ['/ip6/::1/udp/7000/quic-v1', 'loopback'],
    ['/ip6/::/tcp/1', 'invalid'],
    ['/ip6/fe80::1/tcp/1', 'link-local'],
    ['/ip6/fd00::1/tcp/1', 'private'],
    ['/ip6/ff02::1/tcp/1', 'invalid'],
    ['/ip6/::ffff:10.0.0.1/tcp/1', 'private'],
    ['/ip6/2001:db8::1/tcp/1', 'public'],
    ['/dns4/example.org/tcp/443', 'invalid'],
    ['/dns/localhost/tcp/443', 'invalid'],
    ['/dns4/localtest.me/tcp/443', 'invalid'],
    ['/ip6/0:0:0:0:0:0:0:1/tcp/1', 'loopback'],
    ['/ip6/0::/tcp/1', 'invalid'],
    ['/ip6/::ffff:7f00:1/tcp/1', 'loopback'],
    ['/ip6/::ffff:a00:1/tcp/1', 'private'],
    ['/ip6/::127.0.0.1/tcp/1', 'invalid'],
    ['/ip6/64:ff9b::a00:1/tcp/1', 'private'],
    ['/ip6/2002:7f00:1::1/tcp/1', 'loopback'],
    ['/ip6/fec0::1/tcp/1', 'private'],
    ['/ip6/1:2:3:4:5:6:7:8:9/tcp/1', 'invalid'],
    ['/ip6/1::2::3/tcp/1', 'invalid'],
    ['/ip6/12345::1/tcp/1', 'invalid'],
    ['/unix/tmp/x', 'invalid'],
    ['memory://3', 'opaque'],
    ['', 'invalid']
  ])('%s is %s', (addr, scope) => {
    expect(addressScope(addr)).toBe(scope)
  })

  it('a node on public addresses drops loopback and private claims; a local test network keeps loopback', () => {
    const claims = ['/ip4/127.0.0.1/tcp/22', '/ip4/10.0.0.5/tcp/7000', '/ip4/203.0.113.9/udp/7000/quic-v1', '/ip4/0.0.0.0/tcp/1', 'memory://1']
    expect(plausibleAddrs(claims, ownScopes(['/ip4/198.51.100.2/udp/7000/quic-v1']))).toEqual(['/ip4/203.0.113.9/udp/7000/quic-v1'])
    expect(plausibleAddrs(claims, ownScopes(['/ip4/127.0.0.1/udp/7000/quic-v1']))).toEqual(['/ip4/127.0.0.1/tcp/22', '/ip4/203.0.113.9/udp/7000/quic-v1'])
    expect(plausibleAddrs(claims, ownScopes(['/ip4/10.0.0.2/tcp/7000']))).toEqual(['/ip4/10.0.0.5/tcp/7000', '/ip4/203.0.113.9/udp/7000/quic-v1'])
    expect(plausibleAddrs(claims, ownScopes(['memory://2']))).toEqual(['/ip4/203.0.113.9/udp/7000/quic-v1', 'memory://1'])
  })
})

describe('DialLimiter', () => {
  it('admits a burst, then the sustained rate; one dial per peer; a bounded number at once', () => {
    const d = new DialLimiter(0, { dialBurst: 3, dialsPerSecond: 2, maxConcurrentDials: 10 })
    expect(['a', 'b', 'c', 'd'].map((p) => d.admit(p, 0))).toEqual([undefined, undefined, undefined, 'rate'])
    expect(d.admit('a', 0)).toBe('in-flight')
    d.done('a')
    expect(d.admit('e', 500)).toBe(undefined) // one token back after 0.5 s at 2/s
    expect(d.admit('f', 500)).toBe('rate')
    const c = new DialLimiter(0, { maxConcurrentDials: 2 })
    expect([c.admit('a', 0), c.admit('b', 0), c.admit('c', 0)]).toEqual([undefined, undefined, 'concurrency'])
  })

  it('cools a failed (peer, address) down, forgets it on success or after the cooldown, and bounds what it remembers', () => {
    const d = new DialLimiter(0, { failedAddressCooldownMs: 1000, maxFailedAddresses: 2 })
    d.result('P', 'x', false, 0)
    expect(d.coolingDown('P', 'x', 999)).toBe(true)
    // A made-up peer failing at an honest node's address does not cool it down for that node.
    expect(d.coolingDown('Q', 'x', 999)).toBe(false)
    expect(d.coolingDown('P', 'x', 1000)).toBe(false)
    d.result('P', 'y', false, 0)
    d.result('P', 'y', true, 1)
    expect(d.coolingDown('P', 'y', 2)).toBe(false)
    for (const a of ['p', 'q', 'r']) d.result('P', a, false, 10)
    expect(d.coolingDown('P', 'p', 11)).toBe(false) // the oldest forgotten beyond 2
    expect(d.coolingDown('P', 'r', 11)).toBe(true)
    expect(d.retryInMs(11)).toBe(0)
  })
})
