// Coordinator control messages (SPEC.md §8.3), carried on the transport's `membership` channel as
// proto 2 of its message layout (§6.1): [version 1, proto 2, type, fields…], strict CBOR.
import { decodeCbor, encodeCbor, expectBytes, expectList, expectText, expectUint, InvalidMessageError } from '@saorsa-gossip/types'
import { ADVERT_LIMITS } from './advert.js'

/** Proto number of the coordinator layer on the membership channel. */
export const COORDINATOR_PROTO = 2
/** Bytes of a FIND_COORDINATOR query id. */
export const QUERY_ID_BYTES = 16
/** Largest TTL a query may carry (3 hops: friends of friends of friends). */
export const MAX_FIND_TTL = 3
/** Most adverts in one reply. */
export const MAX_REPLY_ADVERTS = 8

export type CoordinatorMessage =
  | { type: 'find'; queryId: Uint8Array; ttl: number }
  | { type: 'found'; queryId: Uint8Array; adverts: Uint8Array[] }
  | { type: 'observe'; nonce: number }
  | { type: 'observed'; nonce: number; addr: string }

const TYPES = ['find', 'found', 'observe', 'observed'] as const

export function encodeCoordinatorMessage(m: CoordinatorMessage): Uint8Array {
  const head = [1, COORDINATOR_PROTO, TYPES.indexOf(m.type)]
  switch (m.type) {
    case 'find':
      return encodeCbor([...head, m.queryId, m.ttl])
    case 'found':
      return encodeCbor([...head, m.queryId, m.adverts])
    case 'observe':
      return encodeCbor([...head, m.nonce])
    case 'observed':
      return encodeCbor([...head, m.nonce, m.addr])
  }
}

/** True when `bytes` starts like a proto-2 frame (cheap check before a full decode). */
export function isCoordinatorFrame(bytes: Uint8Array): boolean {
  // CBOR array header (0x83..0x85), then uint 1, then uint 2.
  return bytes.length >= 3 && bytes[0] !== undefined && bytes[0] >= 0x83 && bytes[0] <= 0x85 && bytes[1] === 1 && bytes[2] === COORDINATOR_PROTO
}

/** Decodes and validates a coordinator message. Throws only InvalidMessageError. */
export function decodeCoordinatorMessage(bytes: Uint8Array): CoordinatorMessage {
  const v = decodeCbor(bytes, 'coordinator message')
  if (!Array.isArray(v) || v.length < 3) throw new InvalidMessageError('coordinator message must be an array', 'field:message')
  if (v[0] !== 1 || v[1] !== COORDINATOR_PROTO) throw new InvalidMessageError('not a coordinator message', 'version')
  const type = TYPES[expectUint(v[2], 'type', 255)]
  const f = v.slice(3)
  const want = (n: number): void => {
    if (f.length !== n) throw new InvalidMessageError(`${String(type)} needs ${n} fields, got ${f.length}`, 'field:fields')
  }
  switch (type) {
    case 'find':
      want(2)
      return { type, queryId: expectBytes(f[0], 'queryId', QUERY_ID_BYTES), ttl: expectUint(f[1], 'ttl', MAX_FIND_TTL) }
    case 'found':
      want(2)
      return {
        type,
        queryId: expectBytes(f[0], 'queryId', QUERY_ID_BYTES),
        adverts: expectList(f[1], MAX_REPLY_ADVERTS, 'adverts').map((a, i) => expectBytes(a, `adverts[${i}]`, { max: ADVERT_LIMITS.maxBytes }))
      }
    case 'observe':
      want(1)
      return { type, nonce: expectUint(f[0], 'nonce', 0xffff_ffff) }
    case 'observed':
      want(2)
      return { type, nonce: expectUint(f[0], 'nonce', 0xffff_ffff), addr: expectText(f[1], 'addr', ADVERT_LIMITS.addrBytes) }
    default:
      throw new InvalidMessageError('unknown coordinator message type', 'field:type')
  }
}
