// Wire codec of pub/sub messages (SPEC.md §7): strict CBOR arrays on the transport's `pubsub`
// channel. A GOSSIP carries the origin's signed envelope (SPEC.md §2) exactly as it was signed, plus
// the claimed message id; the decoder recomputes the id from the envelope header and rejects a
// mismatch. decodePubSubMessage validates every field's type, length and range and throws only
// InvalidMessageError; signatures are checked later, once per id, by the core's validator.
import {
  decodeCbor,
  decodeEnvelope,
  encodeCbor,
  expectArray,
  expectBytes,
  expectList,
  expectUint,
  idToBytes,
  InvalidMessageError,
  MAX_ENVELOPE_BYTES,
  messageIdFromBytes,
  topicIdFromBytes
} from '@saorsa-gossip/types'
import type { CborValue, Envelope, MessageId, TopicId } from '@saorsa-gossip/types'
import { IBLT_CELL_BYTES, IBLT_SIZES } from './proto/iblt.js'
import type { GossipMode, IHaveEntry, PubSubMessage } from './proto/types.js'

/** What the core carries for a message in the real driver: the decoded envelope and its exact bytes. */
export interface SignedMessage {
  readonly envelope: Envelope
  readonly bytes: Uint8Array
}

/** The core's message type as the driver uses it. */
export type WirePubSubMessage = PubSubMessage<SignedMessage>

/** Version of the pub/sub wire format. */
export const PUBSUB_WIRE_VERSION = 1
/** Limits of the wire format (SPEC.md §7.1). */
export const PUBSUB_LIMITS = {
  /** Most ids in one IHAVE, IWANT or GRAFT. */
  idsPerMessage: 1024,
  /** Largest hop count. */
  maxHops: 255
} as const

const TYPES = ['gossip', 'ihave', 'iwant', 'graft', 'prune', 'sync', 'sync-retry'] as const
const MODES: readonly GossipMode[] = ['eager', 'graft', 'sync', 'relay']

/** Wire bytes of a pub/sub message. */
export function encodePubSubMessage(msg: WirePubSubMessage): Uint8Array {
  const head = [PUBSUB_WIRE_VERSION, TYPES.indexOf(msg.type)]
  switch (msg.type) {
    case 'gossip':
      return encodeCbor([...head, idToBytes(msg.id), msg.hops, MODES.indexOf(msg.mode), msg.data.bytes])
    case 'ihave':
      return encodeCbor([...head, idToBytes(msg.topic), msg.entries.map((e): CborValue => [idToBytes(e.id), e.hops])])
    case 'iwant':
    case 'graft':
      return encodeCbor([...head, idToBytes(msg.topic), msg.ids.map((id) => idToBytes(id))])
    case 'prune':
      return encodeCbor([...head, idToBytes(msg.topic)])
    case 'sync':
      return encodeCbor([...head, idToBytes(msg.topic), msg.cells, msg.seed, msg.sketch])
    case 'sync-retry':
      return encodeCbor([...head, idToBytes(msg.topic), msg.cells])
  }
}

const topicOf = (v: unknown): TopicId => topicIdFromBytes(expectBytes(v, 'topic', 32))
const idOf = (v: unknown, field: string): MessageId => messageIdFromBytes(expectBytes(v, field, 32))
const ids = (v: unknown): MessageId[] => expectList(v, PUBSUB_LIMITS.idsPerMessage, 'ids').map((x) => idOf(x, 'id'))

function cellsOf(v: unknown): number {
  const cells = expectUint(v, 'cells', 0xffff_ffff)
  if (!IBLT_SIZES.includes(cells)) throw new InvalidMessageError(`sketch size ${cells} is not one of ${IBLT_SIZES.join(', ')}`, 'field:cells')
  return cells
}

/** Decodes and structurally validates a pub/sub message. Throws only InvalidMessageError. */
export function decodePubSubMessage(bytes: Uint8Array): WirePubSubMessage {
  const v = decodeCbor(bytes, 'pubsub message')
  if (!Array.isArray(v) || v.length < 2) throw new InvalidMessageError('pubsub message must be an array of at least 2', 'field:message')
  if (v[0] !== PUBSUB_WIRE_VERSION) throw new InvalidMessageError(`unsupported pubsub version ${String(v[0])}`, 'version')
  const type = TYPES[expectUint(v[1], 'type', 255)]
  const f = v.slice(2)
  const n = (len: number): unknown[] => expectArray(f, len, 'fields')
  switch (type) {
    case 'gossip': {
      const [idRaw, hopsRaw, modeRaw, envRaw] = n(4)
      const id = idOf(idRaw, 'id')
      const hops = expectUint(hopsRaw, 'hops', PUBSUB_LIMITS.maxHops)
      if (hops === 0) throw new InvalidMessageError('hops must be at least 1', 'field:hops')
      const mode = MODES[expectUint(modeRaw, 'mode', MODES.length - 1)] as GossipMode
      const envBytes = expectBytes(envRaw, 'envelope', { max: MAX_ENVELOPE_BYTES })
      const envelope = decodeEnvelope(envBytes)
      if (envelope.id !== id) throw new InvalidMessageError('message id does not match the envelope header', 'id-mismatch')
      return { type, topic: envelope.header.topic, id, hops, mode, data: { envelope, bytes: envBytes } }
    }
    case 'ihave': {
      const [t, list] = n(2)
      const entries = expectList(list, PUBSUB_LIMITS.idsPerMessage, 'entries').map((e): IHaveEntry => {
        const [id, hops] = expectArray(e, 2, 'entry')
        return { id: idOf(id, 'entry.id'), hops: expectUint(hops, 'entry.hops', PUBSUB_LIMITS.maxHops) }
      })
      return { type, topic: topicOf(t), entries }
    }
    case 'iwant':
    case 'graft': {
      const [t, list] = n(2)
      return { type, topic: topicOf(t), ids: ids(list) }
    }
    case 'prune':
      return { type, topic: topicOf(n(1)[0]) }
    case 'sync': {
      const [t, c, s, sk] = n(4)
      const cells = cellsOf(c)
      return { type, topic: topicOf(t), cells, seed: expectUint(s, 'seed', 0xffff_ffff), sketch: expectBytes(sk, 'sketch', cells * IBLT_CELL_BYTES) }
    }
    case 'sync-retry': {
      const [t, c] = n(2)
      return { type, topic: topicOf(t), cells: cellsOf(c) }
    }
  }
  throw new InvalidMessageError(`unknown pubsub message type ${String(v[1])}`, 'field:type')
}
