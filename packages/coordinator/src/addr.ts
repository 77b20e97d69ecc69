// Addresses as users type them (`127.0.0.1:7000`, `[::1]:7000`, `example.org:7000`) and as the
// transport dials them (multiaddrs). A host:port stands for both of our transports on that port:
// QUIC first, TCP as fallback, the way a coordinator listens.

/**
 * Multiaddrs (QUIC, then TCP) for `host:port`. A string starting with `/` is taken as a multiaddr,
 * one with `://` as a transport's own address form (e.g. `memory://3`), both as they are.
 */
export function toMultiaddrs(addr: string): string[] {
  const s = addr.trim()
  if (s.startsWith('/') || s.includes('://')) return [s]
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s/]+)):(\d{1,5})$/.exec(s)
  if (m === null) throw new RangeError(`invalid address ${JSON.stringify(addr)}: expected HOST:PORT (e.g. 127.0.0.1:7000) or a multiaddr`)
  const port = Number(m[3])
  if (port > 65_535) throw new RangeError(`invalid port ${port} in ${JSON.stringify(addr)}`)
  let proto: string
  let host: string
  if (m[1] !== undefined) {
    proto = 'ip6'
    host = m[1]
  } else {
    host = m[2] as string
    if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) {
      if (host.split('.').some((o) => Number(o) > 255)) throw new RangeError(`invalid IPv4 address ${host}`)
      proto = 'ip4'
    } else if (/^[A-Za-z0-9.-]+$/.test(host)) proto = 'dns'
    else throw new RangeError(`invalid host ${JSON.stringify(host)} in ${JSON.stringify(addr)}`)
  }
  return [`/${proto}/${host}/udp/${port}/quic-v1`, `/${proto}/${host}/tcp/${port}`]
}

/**
 * `addr` without its final `/p2p/<id>`: the libp2p transport key behind that id is not persistent,
 * while the ML-DSA identity is checked in the handshake anyway. Relay circuit addresses keep theirs.
 */
export function withoutPeerSuffix(addr: string): string {
  if (addr.includes('/p2p-circuit')) return addr
  return addr.replace(/\/p2p\/[^/]+$/, '')
}

/** `host:port` of a multiaddr's first ip/dns and udp/tcp parts, for display; the input when it has none. */
export function hostPort(addr: string): string {
  const m = /^\/(ip4|ip6|dns|dns4|dns6)\/([^/]+)\/(udp|tcp)\/(\d+)/.exec(addr)
  if (m === null) return addr
  return m[1] === 'ip6' ? `[${m[2]}]:${m[4]}` : `${m[2]}:${m[4]}`
}
