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

function ipv6Scope(host: string): AddressScope {
  const h = host.toLowerCase()
  if (!/^[0-9a-f:.]+$/.test(h) || !h.includes(':')) return 'invalid'
  if (h === '::1') return 'loopback'
  if (h === '::' || h.startsWith('ff')) return 'invalid'
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h)
  if (mapped !== null) return ipv4Scope(mapped[1]!)
  if (/^fe[89ab]/.test(h)) return 'link-local'
  if (/^f[cd]/.test(h)) return 'private'
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
      if (host.length === 0 || host.length > 253 || !/^[a-z0-9.-]+$/i.test(host)) return 'invalid'
      return host.toLowerCase() === 'localhost' || host.toLowerCase().endsWith('.localhost') ? 'loopback' : 'public'
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

  /** Why a dial to `peer` may not start now, or undefined (then it is counted as started: call `done`). */
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

  /** The dial to `peer` ended. */
  done(peer: string): void {
    this.#inFlight.delete(peer)
  }

  /** Whether `addr` failed within the cooldown. */
  coolingDown(addr: string, now: number): boolean {
    const at = this.#failed.get(addr)
    if (at === undefined) return false
    if (now - at >= this.#cfg.failedAddressCooldownMs) {
      this.#failed.delete(addr)
      return false
    }
    return true
  }

  /** Records that dialling `addr` failed (or succeeded: forgotten). */
  result(addr: string, ok: boolean, now: number): void {
    this.#failed.delete(addr)
    if (ok) return
    this.#failed.set(addr, now)
    if (this.#failed.size > this.#cfg.maxFailedAddresses) this.#failed.delete(this.#failed.keys().next().value as string)
  }
}
