// Option and argument parsers of both binaries. Each runs while commander parses the command line,
// so a bad value is a usage error (exit 2, one line) before anything is written, bound or opened.
import { isIP } from 'node:net'
import { ROLES } from '@saorsa-gossip/coordinator'
import type { Role } from '@saorsa-gossip/coordinator'
import { ALIAS_PATTERN } from '@saorsa-gossip/identity'
import { InvalidArgumentError } from 'commander'

/** `HOST:PORT` split (IPv6 hosts in brackets), or undefined. The port is decimal digits only. */
function splitHostPort(v: string): { host: string; port: number; bracketed: boolean } | undefined {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/.exec(v)
  if (m === null) return undefined
  return { host: m[1] ?? (m[2] as string), port: Number(m[3]), bracketed: m[1] !== undefined }
}

/** An IP literal (IPv6 in brackets) or `localhost` (as 127.0.0.1); undefined for anything else. */
function localHost(host: string, bracketed: boolean): string | undefined {
  if (bracketed) return isIP(host) === 6 ? `[${host}]` : undefined
  if (host === 'localhost') return '127.0.0.1'
  return isIP(host) === 4 ? host : undefined
}

/** A DNS name (RFC 1123 labels) or an IP literal: what a contact address may name. */
function dialHost(host: string, bracketed: boolean): boolean {
  if (bracketed) return isIP(host) === 6
  if (isIP(host) === 4) return true
  if (/^\d+(\.\d+)*$/.test(host)) return false // looks like an IPv4 address but is not one
  return host.length <= 253 && host.split('.').every((l) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l))
}

/** `--roles`: a non-empty comma-separated list of known roles (duplicates dropped). */
export function parseRoles(v: string): Role[] {
  const parts = v.split(',').map((s) => s.trim())
  const expected = `expected a comma-separated list of ${ROLES.join(', ')}`
  if (parts.every((p) => p === '')) throw new InvalidArgumentError(`no role given; ${expected}`)
  for (const r of parts) {
    if (r === '') throw new InvalidArgumentError(`empty role in the list; ${expected}`)
    if (!ROLES.includes(r as Role)) throw new InvalidArgumentError(`unknown role "${r}"; ${expected}`)
  }
  return [...new Set(parts)] as Role[]
}

/**
 * A listen address: `HOST:PORT` with HOST an IP address (IPv6 in brackets) or `localhost`, PORT
 * 0-65535 (0: any free port); with `allowNone`, also `none`. Returns it normalised (`localhost` →
 * 127.0.0.1).
 */
export function bindParser(allowNone: boolean): (v: string) => string {
  return (v) => {
    if (allowNone && v === 'none') return v
    const hp = splitHostPort(v)
    const host = hp === undefined ? undefined : localHost(hp.host, hp.bracketed)
    if (hp === undefined || host === undefined || hp.port > 65_535) {
      throw new InvalidArgumentError(`expected HOST:PORT with HOST an IP address or localhost and PORT 0-65535${allowNone ? ', or "none"' : ''}`)
    }
    return `${host}:${hp.port}`
  }
}

/** `--metrics`: `HOST:PORT` with HOST an IP address or `localhost` and PORT 1-65535. */
export function parseMetricsAddr(v: string): { host: string; port: number; text: string } {
  const hp = splitHostPort(v)
  const host = hp === undefined ? undefined : localHost(hp.host, hp.bracketed)
  if (hp === undefined || host === undefined || hp.port < 1 || hp.port > 65_535) {
    throw new InvalidArgumentError('expected HOST:PORT with HOST an IP address or localhost and PORT 1-65535')
  }
  const bare = host.startsWith('[') ? host.slice(1, -1) : host
  return { host: bare, port: hp.port, text: `${host}:${hp.port}` }
}

const MULTIADDR = /^\/(ip4|ip6|dns|dns4|dns6)\/([^/\s]+)\/(tcp|udp)\/(\d{1,5})(\/[^\s]*)?$/

/**
 * A contact to join through: `HOST:PORT` (HOST an IP address, IPv6 in brackets, or a DNS name; PORT
 * 1-65535) or a multiaddr `/ip4|ip6|dns|dns4|dns6/<host>/tcp|udp/<port>[/…]`.
 */
export function parseContact(v: string): string {
  const s = v.trim()
  const bad = (): never => {
    throw new InvalidArgumentError('expected HOST:PORT (an IP address or DNS name, PORT 1-65535) or a multiaddr such as /ip4/127.0.0.1/udp/7000/quic-v1')
  }
  if (s.startsWith('/')) {
    const m = MULTIADDR.exec(s)
    if (m === null) return bad()
    const [, proto, host, , port] = m as unknown as [string, string, string, string, string]
    if (proto === 'ip4' && isIP(host) !== 4) bad()
    if (proto === 'ip6' && isIP(host) !== 6) bad()
    if (proto.startsWith('dns') && !dialHost(host, false)) bad()
    if (Number(port) < 1 || Number(port) > 65_535) bad()
    return s
  }
  const hp = splitHostPort(s)
  if (hp === undefined || !dialHost(hp.host, hp.bracketed) || hp.port < 1 || hp.port > 65_535) return bad()
  return s
}

/** An identity alias (ALIAS_PATTERN). */
export function parseAlias(v: string): string {
  if (!ALIAS_PATTERN.test(v)) throw new InvalidArgumentError('an alias is 1-64 characters A-Z a-z 0-9 . _ -, starting with a letter or digit')
  return v
}

/** A directory or file path: not empty, no NUL byte. */
export function parsePath(v: string): string {
  if (v.length === 0) throw new InvalidArgumentError('expected a path, got an empty string')
  if (v.includes('\0')) throw new InvalidArgumentError('a path cannot contain a NUL byte')
  return v
}

/** `--identity-path`: a file whose name without its last extension is a valid alias. */
export function parseIdentityPath(v: string): string {
  parsePath(v)
  if (v.endsWith('/')) throw new InvalidArgumentError('expected a file path, not a directory')
  const base = v.slice(v.lastIndexOf('/') + 1)
  const dot = base.lastIndexOf('.')
  const alias = dot > 0 ? base.slice(0, dot) : base
  if (!ALIAS_PATTERN.test(alias)) {
    throw new InvalidArgumentError(`the file name without its extension ("${alias}") must be 1-64 characters A-Z a-z 0-9 . _ -, starting with a letter or digit`)
  }
  return v
}

/** Collects a repeatable option through `parse`. */
export function repeatable<T>(parse: (v: string) => T): (v: string, prev?: T[]) => T[] {
  return (v, prev = []) => [...prev, parse(v)]
}
