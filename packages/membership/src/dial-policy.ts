// What membership may dial. Peers tell us addresses of *other* peers (SHUFFLE, FORWARD_JOIN, SWIM
// updates), so an address is a claim by a stranger: dialled blindly, it lets any peer make the whole
// overlay connect to a host of its choosing (a loopback service, a private network, a victim). So:
//   - an address whose host is in a scope none of our own listen addresses is in (loopback, private,
//     link-local) is dropped on arrival: a node on public addresses never dials 127.0.0.1 or 10/8
//     because a peer said so, while a local test network on 127.0.0.1 still works;
//   - unspecified, multicast, broadcast and reserved hosts, port 0 and malformed multiaddrs are dropped;
//   - dials to peers we are not connected to are rate limited (a token bucket), at most one dial per
//     peer is in flight, and an address that failed is not tried again for a while.

/** Where an address points. `opaque`: not a multiaddr (e.g. `memory://3` of the in-process transport). */
export type AddressScope = 'loopback' | 'private' | 'link-local' | 'public' | 'opaque' | 'invalid'

/** Limits on dials to peers we are not connected to. */
export interface DialPolicyConfig {
  /** Dials per second to peers we are not connected to (sustained). */
  dialsPerSecond: number
  /** Dials that may be made at once after a quiet period. */
  dialBurst: number
  /** Dials in flight at once. */
  maxConcurrentDials: number
  /** An address that failed is not dialled again for this long (ms). */
  failedAddressCooldownMs: number
  /** Failed addresses remembered (the oldest are forgotten first). */
  maxFailedAddresses: number
}

/** Defaults of the dial limiter (SPEC.md §6.2). */
export const DIAL_POLICY_DEFAULTS: Readonly<DialPolicyConfig> = {
  /** Dials per second to peers we are not connected to (sustained). */
  dialsPerSecond: 10,
  /** Dials that may be made at once after a quiet period. */
  dialBurst: 30,
  /** Dials in flight at once. */
  maxConcurrentDials: 16,
  /** An address that failed is not dialled again for this long (ms). */
  failedAddressCooldownMs: 30_000,
  /** Failed addresses remembered (the oldest are forgotten first). */
  maxFailedAddresses: 4096
}

function ipv4Scope(host: string): AddressScope {
  const parts = host.split('.')
  if (parts.length !== 4) return 'invalid'
  const b = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : NaN))
  if (b.some((x) => !(x >= 0 && x <= 255))) return 'invalid'
  const [a, c] = [b[0]!, b[1]!]
  if (a === 127) return 'loopback'
  if (a === 0 || a >= 224) return 'invalid' // "this network", multicast, reserved, broadcast
  if (a === 10 || (a === 172 && c >= 16 && c <= 31) || (a === 192 && c === 168) || (a === 100 && c >= 64 && c <= 127)) return 'private'
  if (a === 169 && c === 254) return 'link-local'
  return 'public'
}

/** The 16 bytes of an IPv6 address in text form (RFC 4291 §2.2, with `::` and a dotted IPv4 tail), or undefined. */
function parseIpv6(text: string): Uint8Array | undefined {
  const h = text.toLowerCase()
  if (!/^[0-9a-f:.]+$/.test(h) || h.length > 45) return undefined
  let tail: number[] = []
  let body = h
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(h)
  if (dotted !== null) {
    const v4 = dotted[2]!.split('.').map((x) => (/^\d{1,3}$/.test(x) ? Number(x) : NaN))
    if (v4.some((x) => !(x >= 0 && x <= 255))) return undefined
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!]
    body = dotted[1]!.endsWith('::') ? dotted[1]! : dotted[1]!.slice(0, -1)
  }
  const halves = body.split('::')
  if (halves.length > 2) return undefined
  const groups = (part: string): number[] | undefined => {
    if (part === '') return []
    const out: number[] = []
    for (const g of part.split(':')) {
      if (!/^[0-9a-f]{1,4}$/.test(g)) return undefined
      out.push(parseInt(g, 16))
    }
    return out
  }
  const head = groups(halves[0]!)
  const rest = halves.length === 2 ? groups(halves[1]!) : []
  if (head === undefined || rest === undefined) return undefined
  const given = head.length + rest.length + tail.length
  if (halves.length === 1 ? given !== 8 : given > 7) return undefined
  const words = [...head, ...new Array<number>(8 - given).fill(0), ...rest, ...tail]
  const out = new Uint8Array(16)
  words.forEach((w, i) => {
    out[2 * i] = w >> 8
    out[2 * i + 1] = w & 0xff
  })
  return out
}

function ipv6Scope(host: string): AddressScope {
  const b = parseIpv6(host)
  if (b === undefined) return 'invalid'
  const zeros = (from: number, to: number): boolean => b.subarray(from, to).every((x) => x === 0)
  const v4 = (at: number): AddressScope => ipv4Scope(Array.from(b.subarray(at, at + 4)).join('.'))
  if (zeros(0, 15) && b[15] === 1) return 'loopback' // ::1
  if (zeros(0, 16)) return 'invalid' // ::
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return v4(12) // ::ffff:a.b.c.d (IPv4-mapped)
  if (zeros(0, 12)) return 'invalid' // ::a.b.c.d (IPv4-compatible, deprecated)
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12)) return v4(12) // 64:ff9b::/96 (NAT64)
  if (b[0] === 0x20 && b[1] === 0x02) return v4(2) // 2002::/16 (6to4)
  if (b[0] === 0xff) return 'invalid' // multicast
  if ((b[0]! & 0xfe) === 0xfc) return 'private' // fc00::/7 (unique local)
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return 'link-local' // fe80::/10
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0xc0) return 'private' // fec0::/10 (site-local, deprecated)
  return 'public'
}

/** The scope of a multiaddr string's first host (the relay's, for a circuit address); `invalid` when malformed. */
export function addressScope(addr: string): AddressScope {
  if (addr.length === 0 || addr.length > 1024) return 'invalid'
  if (!addr.startsWith('/')) return 'opaque'
  const p = addr.split('/')
  if (p[0] !== '' || p.length < 5) return 'invalid'
  const [, proto, host, transport, port] = p as [string, string, string, string, string]
  if (transport !== 'udp' && transport !== 'tcp') return 'invalid'
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65_535) return 'invalid'
  switch (proto) {
    case 'ip4':
      return ipv4Scope(host)
    case 'ip6':
      return ipv6Scope(host)
    case 'dns':
    case 'dns4':
    case 'dns6':
      // A name can resolve anywhere (`localtest.me` is 127.0.0.1), and what it resolves to is only
      // known once dialled: a peer's claim of a DNS address is not dialled.
      return 'invalid'
    default:
      return 'invalid'
  }
}

/**
 * The scopes this node's own listen addresses are in (always `public`): second-hand addresses outside
 * them are implausible. An `opaque` address is plausible only to a node that has one itself (the same
 * kind of transport).
 */
export function ownScopes(listenAddrs: readonly string[]): Set<AddressScope> {
  const s = new Set<AddressScope>(['public'])
  for (const a of listenAddrs) {
    const sc = addressScope(a)
    if (sc !== 'invalid') s.add(sc)
  }
  return s
}

/** Keeps the addresses worth dialling: well-formed and in a scope this node itself is in. */
export function plausibleAddrs(addrs: readonly string[], scopes: ReadonlySet<AddressScope>): string[] {
  return addrs.filter((a) => {
    const sc = addressScope(a)
    return sc !== 'invalid' && scopes.has(sc)
  })
}

/** Dial admission: a token bucket over time, at most one dial per peer and `maxConcurrentDials` at once, failed-address cooldowns. */
export class DialLimiter {
  readonly #cfg: DialPolicyConfig
  #tokens: number
  #at: number
  readonly #inFlight = new Set<string>()
  readonly #failed = new Map<string, number>()

  constructor(now: number, config: Partial<DialPolicyConfig> = {}) {
    this.#cfg = { ...DIAL_POLICY_DEFAULTS, ...config }
    this.#tokens = this.#cfg.dialBurst
    this.#at = now
  }

  /**
   * Why a dial to `peer` may not start now, or undefined (then it is counted as started: call `done`).
   * With `rate`, `retryInMs` tells when a token will be there.
   */
  admit(peer: string, now: number): 'in-flight' | 'concurrency' | 'rate' | undefined {
    if (this.#inFlight.has(peer)) return 'in-flight'
    if (this.#inFlight.size >= this.#cfg.maxConcurrentDials) return 'concurrency'
    if (now > this.#at) {
      this.#tokens = Math.min(this.#cfg.dialBurst, this.#tokens + ((now - this.#at) / 1000) * this.#cfg.dialsPerSecond)
      this.#at = now
    }
    if (this.#tokens < 1) return 'rate'
    this.#tokens -= 1
    this.#inFlight.add(peer)
    return undefined
  }

  /** Milliseconds until the next dial token (0 when one is there now). */
  retryInMs(now: number): number {
    const tokens = Math.min(this.#cfg.dialBurst, this.#tokens + (Math.max(0, now - this.#at) / 1000) * this.#cfg.dialsPerSecond)
    return tokens >= 1 ? 0 : Math.ceil(((1 - tokens) / this.#cfg.dialsPerSecond) * 1000)
  }

  /** The dial to `peer` ended. */
  done(peer: string): void {
    this.#inFlight.delete(peer)
  }

  /**
   * Whether dialling `peer` at `addr` failed within the cooldown. Keyed by both: a peer claiming a
   * made-up PeerId at an honest node's address must not cool that address down for the honest node.
   */
  coolingDown(peer: string, addr: string, now: number): boolean {
    const key = `${peer} ${addr}`
    const at = this.#failed.get(key)
    if (at === undefined) return false
    if (now - at >= this.#cfg.failedAddressCooldownMs) {
      this.#failed.delete(key)
      return false
    }
    return true
  }

  /** Records that dialling `peer` at `addr` failed (or succeeded: forgotten). */
  result(peer: string, addr: string, ok: boolean, now: number): void {
    const key = `${peer} ${addr}`
    this.#failed.delete(key)
    if (ok) return
    this.#failed.set(key, now)
    if (this.#failed.size > this.#cfg.maxFailedAddresses) this.#failed.delete(this.#failed.keys().next().value as string)
  }
}
