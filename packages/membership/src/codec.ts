// Wire codec of membership messages (SPEC.md §6): strict CBOR arrays on the transport's `membership`
// channel. decodeMembershipMessage validates every field's type, length and range and throws only
// InvalidMessageError; the cores then apply their own semantic checks.
import {
  decodeCbor,
  encodeCbor,
  expectArray,
  expectBytes,
  expectList,
  expectText,
  expectUint,
  idToBytes,
  InvalidMessageError,
  peerIdFromBytes
} from '@saorsa-gossip/types'
import type { CborValue } from '@saorsa-gossip/types'
import type { HyParViewMessage } from './proto/hyparview.js'
import type { MembershipMessage } from './proto/membership.js'
import type { SwimMessage, SwimState, SwimUpdate } from './proto/swim.js'
import type { PeerInfo } from './proto/types.js'

/** Version of the membership wire format. */
export const MEMBERSHIP_WIRE_VERSION = 1
/** Limits of the wire format (SPEC.md §6.1). */
export const MEMBERSHIP_LIMITS = {
  addrsPerPeer: 8,
  addrBytes: 256,
  peersPerList: 16,
  updatesPerMessage: 32
} as const

const HV = ['join', 'forward-join', 'neighbor', 'neighbor-reply', 'disconnect', 'shuffle', 'shuffle-reply'] as const
const SW = ['ping', 'ack', 'ping-req', 'nack'] as const
const STATES: readonly SwimState[] = ['alive', 'suspect', 'failed']

const peer = (p: PeerInfo): CborValue => [idToBytes(p.id), [...p.addrs]]
const update = (u: SwimUpdate): CborValue => [peer(u.peer), STATES.indexOf(u.state), u.incarnation]

function hvBody(m: HyParViewMessage): CborValue[] {
  switch (m.type) {
    case 'join':
      return [[...(m.addrs ?? [])]]
    case 'forward-join':
      return [peer(m.node), m.ttl]
    case 'neighbor':
      return [m.priority === 'high' ? 0 : 1, [...(m.addrs ?? [])]]
    case 'neighbor-reply':
      return [m.accepted]
    case 'disconnect':
      return [m.alive]
    case 'shuffle':
      return [peer(m.origin), m.nodes.map(peer), m.ttl]
    case 'shuffle-reply':
      return [m.nodes.map(peer)]
  }
}

function swimBody(m: SwimMessage, active: boolean): CborValue[] {
  switch (m.type) {
    case 'ping':
      return [m.seq, m.updates.map(update), active]
    case 'ack':
      return [m.seq, m.updates.map(update)]
    case 'ping-req':
      return [m.seq, peer(m.target), m.updates.map(update)]
    case 'nack':
      return [m.seq]
  }
}

/** Wire bytes of a membership message. */
export function encodeMembershipMessage(msg: MembershipMessage): Uint8Array {
  if (msg.p === 'hv') return encodeCbor([MEMBERSHIP_WIRE_VERSION, 0, HV.indexOf(msg.m.type), ...hvBody(msg.m)])
  return encodeCbor([MEMBERSHIP_WIRE_VERSION, 1, SW.indexOf(msg.m.type), ...swimBody(msg.m, msg.active === true)])
}

function readAddrs(v: unknown, field: string): string[] {
  return expectList(v, MEMBERSHIP_LIMITS.addrsPerPeer, field).map((a) => expectText(a, field, MEMBERSHIP_LIMITS.addrBytes))
}

function readPeer(v: unknown, field: string): PeerInfo {
  const [id, addrs] = expectArray(v, 2, field)
  return { id: peerIdFromBytes(expectBytes(id, `${field}.id`, 32)), addrs: readAddrs(addrs, `${field}.addrs`) }
}

function readPeers(v: unknown, field: string): PeerInfo[] {
  return expectList(v, MEMBERSHIP_LIMITS.peersPerList, field).map((p) => readPeer(p, field))
}

function readUpdates(v: unknown): SwimUpdate[] {
  return expectList(v, MEMBERSHIP_LIMITS.updatesPerMessage, 'updates').map((u) => {
    const [p, s, inc] = expectArray(u, 3, 'update')
    return { peer: readPeer(p, 'update.peer'), state: STATES[expectUint(s, 'update.state', 2)] as SwimState, incarnation: expectUint(inc, 'update.incarnation', 0xffff_ffff) }
  })
}

function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw new InvalidMessageError(`${field} must be a boolean`, `field:${field}`)
  return v
}

/** `InvalidMessageError.reason` of a well-formed frame of another layer's proto (2 = coordinator, …). */
export const FOREIGN_PROTO = 'foreign-proto'

/** Decodes and structurally validates a membership message. Throws only InvalidMessageError. */
export function decodeMembershipMessage(bytes: Uint8Array): MembershipMessage {
  const v = decodeCbor(bytes, 'membership message')
  if (!Array.isArray(v) || v.length < 3) throw new InvalidMessageError('membership message must be an array of at least 3', 'field:message')
  if (v[0] !== MEMBERSHIP_WIRE_VERSION) throw new InvalidMessageError(`unsupported membership version ${String(v[0])}`, 'version')
  const proto = expectUint(v[1], 'proto', 255)
  // Other layers share this channel with their own proto numbers (SPEC.md §6.1): not ours to judge.
  if (proto > 1) throw new InvalidMessageError(`membership proto ${proto} belongs to another layer`, FOREIGN_PROTO)
  const type = expectUint(v[2], 'type', 255)
  const f = v.slice(3)
  const n = (len: number): unknown[] => expectArray(f, len, 'fields')
  if (proto === 0) {
    switch (HV[type]) {
      case 'join': {
        const [addrs] = n(1)
        return { p: 'hv', m: { type: 'join', addrs: readAddrs(addrs, 'join.addrs') } }
      }
      case 'forward-join': {
        const [node, ttl] = n(2)
        return { p: 'hv', m: { type: 'forward-join', node: readPeer(node, 'node'), ttl: expectUint(ttl, 'ttl', 255) } }
      }
      case 'neighbor': {
        const [pr, addrs] = n(2)
        return { p: 'hv', m: { type: 'neighbor', priority: expectUint(pr, 'priority', 1) === 0 ? 'high' : 'low', addrs: readAddrs(addrs, 'neighbor.addrs') } }
      }
      case 'neighbor-reply':
        return { p: 'hv', m: { type: 'neighbor-reply', accepted: bool(n(1)[0], 'accepted') } }
      case 'disconnect':
        return { p: 'hv', m: { type: 'disconnect', alive: bool(n(1)[0], 'alive') } }
      case 'shuffle': {
        const [origin, nodes, ttl] = n(3)
        return { p: 'hv', m: { type: 'shuffle', origin: readPeer(origin, 'origin'), nodes: readPeers(nodes, 'nodes'), ttl: expectUint(ttl, 'ttl', 255) } }
      }
      case 'shuffle-reply':
        return { p: 'hv', m: { type: 'shuffle-reply', nodes: readPeers(n(1)[0], 'nodes') } }
    }
  } else {
    switch (SW[type]) {
      case 'ping': {
        const [seq, ups, active] = n(3)
        return { p: 'swim', m: { type: 'ping', seq: expectUint(seq, 'seq', 0xffff_ffff), updates: readUpdates(ups) }, active: bool(active, 'active') }
      }
      case 'ack': {
        const [seq, ups] = n(2)
        return { p: 'swim', m: { type: 'ack', seq: expectUint(seq, 'seq', 0xffff_ffff), updates: readUpdates(ups) } }
      }
      case 'ping-req': {
        const [seq, target, ups] = n(3)
        return { p: 'swim', m: { type: 'ping-req', seq: expectUint(seq, 'seq', 0xffff_ffff), target: readPeer(target, 'target'), updates: readUpdates(ups) } }
      }
      case 'nack':
        return { p: 'swim', m: { type: 'nack', seq: expectUint(n(1)[0], 'seq', 0xffff_ffff) } }
    }
  }
  throw new InvalidMessageError(`unknown membership message type ${proto}/${type}`, 'field:type')
}
