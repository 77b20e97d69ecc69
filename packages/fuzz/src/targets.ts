// Fuzz targets: every decoder that takes bytes from a peer, a socket or a file, driven exactly as the
// node drives it. Each target brings valid encodings (made with real keys) as its seed corpus and a
// `run` that returns `accepted` or the stable rejection reason; anything else it throws is a crash.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createConnection } from 'node:net'
import type { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createAdvert, decodeAdvert, decodeCoordinatorMessage, encodeCoordinatorMessage, PeerCache } from '@saorsa-gossip/coordinator'
import { createVerifier, encodeKeystoreFile, Identity, parseKeystoreFile, sealChaCha20Poly1305 } from '@saorsa-gossip/identity'
import { decodeMembershipMessage, encodeMembershipMessage } from '@saorsa-gossip/membership'
import type { MembershipMessage } from '@saorsa-gossip/membership'
import { decodePubSubMessage, encodePubSubMessage, IBLT_CELL_BYTES, IBLT_SIZES } from '@saorsa-gossip/pubsub'
import type { WirePubSubMessage } from '@saorsa-gossip/pubsub'
import { createGossipNode, startControlServer } from '@saorsa-gossip/node'
import type { ControlServer, GossipNode } from '@saorsa-gossip/node'
import { FrameError, FrameOpener, FrameSealer, HandshakeError, HandshakeInitiator, HandshakeResponder, MAX_HANDSHAKE_MESSAGE_BYTES, MemoryNetwork, parseHandshakeM2, parseHandshakeM3 } from '@saorsa-gossip/transport'
import type { HandshakeParams } from '@saorsa-gossip/transport'
import {
  bytesEqual,
  createEnvelope,
  decodeCbor,
  encodeCbor,
  InvalidMessageError,
  InvalidSignatureError,
  KeystoreError,
  MAX_ENVELOPE_BYTES,
  MAX_FRAME_BYTES,
  messageIdFromBytes,
  openEnvelope,
  topicIdFromName,
  UnknownSignerError,
  utf8
} from '@saorsa-gossip/types'
import type { MessageId, PeerId } from '@saorsa-gossip/types'

/** What one fuzz target provides. */
export interface FuzzTarget {
  readonly name: string
  readonly description: string
  /** Largest input worth generating (the entry point's own size limit, or a little beyond it). */
  readonly maxInputBytes: number
  /** Valid encodings to mutate. */
  seeds(): Uint8Array[]
  /** Feeds one input; returns `accepted` or the rejection reason. Throws only on a crash (a bug). */
  run(input: Uint8Array): string | Promise<string>
  /** Releases what the target holds (temp files). */
  close?(): void
}

/** A target found an input that breaks an invariant other than "no crash" (e.g. a forged signature). */
export class InvariantError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InvariantError'
  }
}

const alice = Identity.fromSeed(new Uint8Array(32).fill(0xa1))
const bob = Identity.fromSeed(new Uint8Array(32).fill(0xb0))
const verifier = createVerifier()
const topic = topicIdFromName('fuzz')
const NOW = 1_765_000_000_000

/** The reason of an expected rejection, or rethrows (a crash). */
function reasonOf(e: unknown): string {
  if (e instanceof InvalidMessageError) return e.reason
  if (e instanceof InvalidSignatureError) return 'bad-signature'
  if (e instanceof UnknownSignerError) return 'unknown-signer'
  if (e instanceof HandshakeError) return e.reason
  if (e instanceof FrameError) return e.reason
  if (e instanceof KeystoreError) return e.code
  throw e
}

function guarded(f: () => void): string {
  try {
    f()
    return 'accepted'
  } catch (e) {
    return reasonOf(e)
  }
}

const mid = (fill: number): MessageId => messageIdFromBytes(new Uint8Array(32).fill(fill))
const pid = (fill: number): PeerId => Buffer.from(new Uint8Array(32).fill(fill)).toString('hex') as PeerId
const peer = (fill: number) => ({ id: pid(fill), addrs: [`/ip4/10.0.0.${fill}/udp/7000/quic-v1`] })

function envelopes(): Array<ReturnType<typeof createEnvelope>> {
  return [
    createEnvelope({ topic, payload: new Uint8Array(0), seq: 0, timestampMs: NOW }, alice),
    createEnvelope({ topic, payload: utf8('hello, gossip'), seq: 1, timestampMs: NOW + 1 }, alice),
    createEnvelope({ topic, payload: Uint8Array.from({ length: 600 }, (_, i) => i & 0xff), seq: 2 ** 40, timestampMs: NOW + 2 }, bob),
    createEnvelope({ topic, payload: utf8('keyless'), seq: 3, timestampMs: NOW + 3, includeSignerKey: false }, alice),
    createEnvelope({ topic, payload: utf8('kind 1'), seq: 4, timestampMs: NOW + 4, kind: 1 }, bob)
  ]
}

const cborTarget: FuzzTarget = {
  name: 'cbor',
  description: 'strict CBOR decoder (decodeCbor) on arbitrary bytes',
  maxInputBytes: 64 * 1024,
  seeds: () => [
    encodeCbor([1, 2, [3, new Uint8Array(4)], 'text', null, true, false, -5, 2n ** 40n, -(2n ** 40n)]),
    encodeCbor(new Map<number | string, number | string>([[1, 'a'], ['b', 2]])),
    encodeCbor([[[[[]]]], new Uint8Array(300), 'é€😀'])
  ],
  run: (input) => guarded(() => decodeCbor(input, 'fuzz'))
}

function envelopeTarget(): FuzzTarget {
  const seeds = envelopes()
  const keys = new Map<PeerId, Uint8Array>([
    [alice.peerId, alice.publicKey],
    [bob.peerId, bob.publicKey]
  ])
  return {
    name: 'envelope',
    description: 'signed envelope: decode, key binding, ML-DSA-65 signature (openEnvelope); an accepted mutation must carry a seed’s exact signed content',
    maxInputBytes: 16 * 1024,
    seeds: () => seeds.map((s) => s.bytes),
    run: (input) =>
      guarded(() => {
        const e = openEnvelope(input, verifier, { keyLookup: (p) => keys.get(p) })
        const same = seeds.some((s) => bytesEqual(s.envelope.headerBytes, e.headerBytes) && bytesEqual(s.envelope.payload, e.payload))
        if (!same) throw new InvariantError(`a mutated envelope verified with changed content (${e.id})`)
      })
  }
}

const membershipSeeds = (): MembershipMessage[] => [
  { p: 'hv', m: { type: 'join', addrs: ['/ip4/127.0.0.1/udp/7000/quic-v1'] } },
  { p: 'hv', m: { type: 'forward-join', node: peer(1), ttl: 6 } },
  { p: 'hv', m: { type: 'neighbor', priority: 'high', addrs: ['/ip4/127.0.0.1/tcp/7001'] } },
  { p: 'hv', m: { type: 'neighbor-reply', accepted: true } },
  { p: 'hv', m: { type: 'disconnect', alive: false } },
  { p: 'hv', m: { type: 'shuffle', origin: peer(2), nodes: [peer(3), peer(4)], ttl: 3 } },
  { p: 'hv', m: { type: 'shuffle-reply', nodes: [peer(5)] } },
  { p: 'swim', m: { type: 'ping', seq: 7, updates: [{ peer: peer(6), state: 'suspect', incarnation: 2 }] }, active: true },
  { p: 'swim', m: { type: 'ack', seq: 7, updates: [] } },
  { p: 'swim', m: { type: 'ping-req', seq: 8, target: peer(7), updates: [{ peer: peer(8), state: 'failed', incarnation: 0xffff_ffff }] } },
  { p: 'swim', m: { type: 'nack', seq: 9 } }
]

const membershipTarget: FuzzTarget = {
  name: 'membership',
  description: 'HyParView + SWIM messages (decodeMembershipMessage)',
  maxInputBytes: 64 * 1024,
  seeds: () => membershipSeeds().map(encodeMembershipMessage),
  run: (input) => guarded(() => decodeMembershipMessage(input))
}

function pubsubTarget(): FuzzTarget {
  const env = envelopes()
  const msgs: WirePubSubMessage[] = [
    ...env.map((e, i): WirePubSubMessage => ({ type: 'gossip', topic, id: e.envelope.id, hops: 1 + i, mode: (['eager', 'graft', 'sync', 'relay'] as const)[i % 4]!, data: e })),
    { type: 'ihave', topic, entries: [{ id: mid(1), hops: 2 }, { id: mid(2), hops: 3 }] },
    { type: 'iwant', topic, ids: [mid(3)] },
    { type: 'graft', topic, ids: [mid(4), mid(5)] },
    { type: 'prune', topic },
    { type: 'sync', topic, cells: IBLT_SIZES[0]!, seed: 77, sketch: new Uint8Array(IBLT_SIZES[0]! * IBLT_CELL_BYTES) },
    { type: 'sync-retry', topic, cells: IBLT_SIZES[1]! }
  ]
  return {
    name: 'pubsub',
    description: 'Plumtree / anti-entropy frames (decodePubSubMessage, envelopes inside decoded too)',
    maxInputBytes: MAX_FRAME_BYTES,
    seeds: () => msgs.map(encodePubSubMessage),
    run: (input) => guarded(() => decodePubSubMessage(input))
  }
}

function coordinatorTarget(): FuzzTarget {
  const advert = createAdvert({ roles: ['coordinator', 'reflector'], addrs: ['/ip4/127.0.0.1/udp/7000/quic-v1'], now: NOW }, alice)
  return {
    name: 'coordinator',
    description: 'coordinator control messages: FIND, FOUND, OBSERVE, OBSERVED (decodeCoordinatorMessage)',
    maxInputBytes: 160 * 1024,
    seeds: () => [
      encodeCoordinatorMessage({ type: 'find', queryId: new Uint8Array(16).fill(1), ttl: 3 }),
      encodeCoordinatorMessage({ type: 'found', queryId: new Uint8Array(16).fill(2), adverts: [advert.bytes] }),
      encodeCoordinatorMessage({ type: 'observe', nonce: 12345 }),
      encodeCoordinatorMessage({ type: 'observed', nonce: 12345, addr: '/ip4/203.0.113.7/udp/7000/quic-v1' })
    ],
    run: (input) => guarded(() => decodeCoordinatorMessage(input))
  }
}

function advertTarget(): FuzzTarget {
  const adverts = [
    createAdvert({ roles: ['coordinator', 'reflector'], addrs: ['/ip4/127.0.0.1/udp/7000/quic-v1'], now: NOW }, alice),
    createAdvert({ roles: ['relay', 'rendezvous'], addrs: [], natClass: 'eim', now: NOW, validityMs: 24 * 3600_000 }, bob)
  ]
  return {
    name: 'advert',
    description: 'signed coordinator adverts: decode, fields, ML-DSA-65 signature, validity window (decodeAdvert); an accepted mutation must be a seed’s exact body',
    maxInputBytes: 16 * 1024,
    seeds: () => adverts.map((a) => a.bytes),
    run: (input) =>
      guarded(() => {
        const a = decodeAdvert(input, verifier, { now: NOW + 1000 })
        const body = (decodeCbor(a.bytes) as Uint8Array[])[0]!
        if (!adverts.some((s) => bytesEqual((decodeCbor(s.bytes) as Uint8Array[])[0]!, body))) throw new InvariantError('a mutated advert verified with a changed body')
      })
  }
}

function frameTarget(): FuzzTarget {
  const key = new Uint8Array(32).fill(7)
  const max = 64 * 1024
  const sealer = new FrameSealer(key, 'pubsub')
  const seeds = [sealer.seal([utf8('one')]), sealer.seal([new Uint8Array(100), new Uint8Array(0), utf8('three')])]
  return {
    name: 'frame',
    description: 'sealed channel frames (FrameOpener.open): the first input byte picks raw bodies (auth, counter, size checks) or plaintexts sealed with the right key (the message list parser)',
    maxInputBytes: max + 1024,
    // Mode byte 0: raw body (the first seed); 1: plaintext sealed as frame 0 (u32 length ‖ message)+.
    seeds: () => [Uint8Array.of(0, ...seeds[0]!), Uint8Array.of(1, 0, 0, 0, 3, 0x61, 0x62, 0x63, 0, 0, 0, 0)],
    run: (input) =>
      guarded(() => {
        const opener = new FrameOpener(key, 'pubsub', max)
        const rest = input.subarray(1)
        if ((input[0] ?? 0) % 2 === 0) {
          opener.open(rest)
          return
        }
        const nonce = new Uint8Array(12)
        const aad = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 1) // counter 0, channel pubsub (1)
        const sealed = sealChaCha20Poly1305(key, nonce, rest, { aad })
        const body = new Uint8Array(8 + sealed.length)
        body.set(sealed, 8)
        opener.open(body)
      })
  }
}

const tidI = utf8('fuzz-initiator')
const tidR = utf8('fuzz-responder')
const params = (identity: Identity, local: Uint8Array, remote: Uint8Array): HandshakeParams => ({ identity, verifier, localTransportId: local, remoteTransportId: remote })

function handshakeM1Target(): FuzzTarget {
  return {
    name: 'handshake-m1',
    description: 'handshake M1, the first message any unauthenticated peer may send (HandshakeResponder.onM1)',
    maxInputBytes: MAX_HANDSHAKE_MESSAGE_BYTES + 1024,
    seeds: () => [new HandshakeInitiator(params(alice, tidI, tidR)).start()],
    run: (input) => guarded(() => new HandshakeResponder(params(bob, tidR, tidI)).onM1(input))
  }
}

function handshakeM2Target(): FuzzTarget {
  const i = new HandshakeInitiator(params(alice, tidI, tidR))
  const m2 = new HandshakeResponder(params(bob, tidR, tidI)).onM1(i.start())
  return {
    name: 'handshake-m2',
    description: 'handshake M2 as the dialing side receives it (HandshakeInitiator.onM2)',
    maxInputBytes: MAX_HANDSHAKE_MESSAGE_BYTES + 1024,
    seeds: () => [m2],
    // onM2 runs parseHandshakeM2 first, before any state or cryptography: an input it refuses is
    // refused the same way by a live initiator, so only inputs it accepts need one (an X-Wing keygen).
    run: (input) =>
      guarded(() => {
        parseHandshakeM2(input)
        const fresh = new HandshakeInitiator(params(alice, tidI, tidR))
        fresh.start()
        fresh.onM2(input)
      })
  }
}

function handshakeM3Target(): FuzzTarget {
  // A responder can take one M3; making one costs an X-Wing encapsulation and an ML-DSA signature,
  // so responders are made ahead in small batches.
  const m1 = new HandshakeInitiator(params(alice, tidI, tidR))
  const r0 = new HandshakeResponder(params(bob, tidR, tidI))
  const m3 = m1.onM2(r0.onM1(m1.start()))
  const pool: HandshakeResponder[] = []
  let m1Bytes: Uint8Array | undefined
  const fresh = (): HandshakeResponder => {
    if (pool.length === 0) {
      m1Bytes ??= new HandshakeInitiator(params(alice, tidI, tidR)).start()
      for (let k = 0; k < 16; k++) {
        const r = new HandshakeResponder(params(bob, tidR, tidI))
        r.onM1(m1Bytes)
        pool.push(r)
      }
    }
    return pool.pop()!
  }
  return {
    name: 'handshake-m3',
    description: 'handshake M3 as the accepting side receives it (HandshakeResponder.onM3)',
    maxInputBytes: MAX_HANDSHAKE_MESSAGE_BYTES + 1024,
    seeds: () => [m3],
    // onM3 runs parseHandshakeM3 first, before any state or cryptography: an input it refuses is
    // refused the same way by a responder waiting for M3, so only inputs it accepts use one up.
    run: (input) =>
      guarded(() => {
        parseHandshakeM3(input)
        fresh().onM3(input)
      })
  }
}

function keystoreTarget(): FuzzTarget {
  const file = encodeKeystoreFile({
    alias: 'fuzz',
    algorithm: alice.algorithm,
    createdAt: '2026-12-01T00:00:00.000Z',
    peerId: alice.peerId,
    publicKey: alice.publicKey,
    secret: { type: 'plain', seed: new Uint8Array(32).fill(0xa1) }
  })
  const encrypted = encodeKeystoreFile({
    alias: 'fuzz',
    algorithm: alice.algorithm,
    createdAt: '2026-12-01T00:00:00.000Z',
    peerId: alice.peerId,
    publicKey: alice.publicKey,
    secret: { type: 'scrypt-chacha20poly1305', kdf: { N: 1024, r: 8, p: 1 }, salt: new Uint8Array(16).fill(1), nonce: new Uint8Array(12).fill(2), check: new Uint8Array(16).fill(3), ciphertext: new Uint8Array(48).fill(4) }
  })
  return {
    name: 'keystore',
    description: 'identity files (the keystore file parser: JSON, every field, base64, KDF bounds)',
    maxInputBytes: 80 * 1024,
    seeds: () => [file, encrypted],
    run: (input) => guarded(() => parseKeystoreFile(input, '/fuzz/fuzz.identity', 'fuzz'))
  }
}

function peerCacheTarget(): FuzzTarget {
  // A RAM-backed directory where there is one: the target writes and reads a file per input.
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'saorsa-fuzz-'))
  const path = join(dir, 'peers.json')
  const doc = {
    format: 'saorsa-gossip-peer-cache',
    version: 1,
    peers: [
      { peer: pid(1), addrs: ['/ip4/127.0.0.1/udp/7000/quic-v1'], lastSeenMs: NOW, roles: ['coordinator'], failures: 0 },
      { peer: pid(2), addrs: ["/ip4/10.0.0.2/tcp/7001"], lastSeenMs: NOW - 1000, roles: [], failures: 2 }
    ]
  }
  return {
    name: 'peer-cache',
    description: 'the on-disk peer cache file (PeerCache.load from a real file)',
    maxInputBytes: 80 * 1024,
    seeds: () => [utf8(JSON.stringify(doc)), utf8(JSON.stringify(doc, null, 2))],
    run: async (input) => {
      writeFileSync(path, input)
      const cache = new PeerCache({ path })
      const n = await cache.load(NOW)
      rmSync(path, { force: true })
      for (const e of cache.entries(NOW)) {
        if (typeof e.peer !== 'string' || !Array.isArray(e.addrs)) throw new InvariantError('peer cache returned a malformed entry')
      }
      return n > 0 ? 'accepted' : 'empty'
    },
    close: () => rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * The control socket of a real running node (over the in-process transport): each input is sent as
 * one line, then a sentinel request; the outcome is the reply to the input (`accepted` for a result,
 * else the error's first words), `closed` when the node closed the connection. The node must keep
 * answering; a reply that is not one JSON object per line is an invariant failure.
 */
function controlTarget(): FuzzTarget {
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'saorsa-fuzz-ctl-'))
  const path = join(dir, 'c.sock')
  let node: GossipNode | undefined
  let server: ControlServer | undefined
  let sock: Socket | undefined
  let buf = ''
  let waiting: ((lines: string[] | 'closed') => void) | undefined
  let lines: string[] = []
  /** Replies still awaited besides the sentinel's: 1 for a non-blank input line (the node answers every one), else 0. */
  let expectOther = 0
  let sentinelSeen = false
  const SENTINEL = 987_654_321
  const ready = (async () => {
    const identity = Identity.fromSeed(new Uint8Array(32).fill(0xc7))
    node = createGossipNode({ identity, transport: new MemoryNetwork().createTransport({ identity }), coordinators: [], seed: 1 })
    await node.start()
    server = await startControlServer(node, path)
  })()
  const connect = (): Socket => {
    const s = createConnection(path)
    s.setEncoding('utf8')
    s.on('data', (c: string) => {
      buf += c
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i)
        buf = buf.slice(i + 1)
        lines.push(line)
        // Requests run concurrently, so the sentinel's reply may overtake the input's: wait for both.
        if (line.includes(`"id":${SENTINEL}`)) sentinelSeen = true
        else if (!line.includes('"event"')) expectOther = 0
        if (sentinelSeen && expectOther === 0 && waiting !== undefined) {
          const got = lines
          lines = []
          const w = waiting
          waiting = undefined
          w(got)
        }
      }
    })
    s.on('error', () => undefined)
    s.on('close', () => {
      if (sock === s) sock = undefined
      const w = waiting
      waiting = undefined
      buf = ''
      lines = []
      w?.('closed')
    })
    return s
  }
  const req = (o: object): Uint8Array => utf8(JSON.stringify(o))
  return {
    name: 'control',
    description: 'the control socket of a running node: one input per line, on a live connection (the JSON-lines parser and every method)',
    maxInputBytes: 64 * 1024,
    seeds: () => [
      req({ id: 1, method: 'status' }),
      req({ id: 2, method: 'peers' }),
      req({ id: 3, method: 'topics' }),
      req({ id: 4, method: 'publish', params: { topic: 'fuzz', message: 'hello' } }),
      req({ id: 5, method: 'publish', params: { topic: 'fuzz', payloadBase64: 'AAECAw==' } }),
      req({ id: 6, method: 'subscribe', params: { topic: 'fuzz' } }),
      req({ id: 7, method: 'unsubscribe', params: { subscription: 6 } })
    ],
    run: async (input) => {
      await ready
      if (sock === undefined) sock = connect()
      const s = sock
      const replies = new Promise<string[] | 'closed'>((resolve) => (waiting = resolve))
      // One input is one line: a newline inside it would make it several requests.
      const line = Buffer.from(input).toString('utf8').replace(/[\r\n]/g, ' ')
      expectOther = line.trim() === '' ? 0 : 1
      sentinelSeen = false
      s.write(`${line}\n{"id":${SENTINEL},"method":"topics"}\n`)
      const got = await replies
      if (got === 'closed') return 'closed'
      let outcome = 'no-reply'
      for (const l of got) {
        let o: { id?: unknown; result?: unknown; error?: { message?: unknown }; event?: unknown }
        try {
          o = JSON.parse(l) as typeof o
        } catch {
          throw new InvariantError(`control reply is not JSON: ${l.slice(0, 200)}`)
        }
        if (o.id === SENTINEL || o.event !== undefined) continue
        outcome = o.error !== undefined ? `error:${String(o.error.message).split(/[ (:]/)[0]}` : 'accepted'
      }
      return outcome
    },
    close: () => {
      sock?.destroy()
      void (async () => {
        await ready
        await server?.close()
        await node?.stop()
        rmSync(dir, { recursive: true, force: true })
      })().catch(() => undefined) // best effort: the run is over
    }
  }
}

/** Every target, by name. Built lazily: making seeds signs with ML-DSA. */
export const TARGETS: Record<string, () => FuzzTarget> = {
  cbor: () => cborTarget,
  envelope: envelopeTarget,
  membership: () => membershipTarget,
  pubsub: pubsubTarget,
  coordinator: coordinatorTarget,
  advert: advertTarget,
  frame: frameTarget,
  'handshake-m1': handshakeM1Target,
  'handshake-m2': handshakeM2Target,
  'handshake-m3': handshakeM3Target,
  keystore: keystoreTarget,
  'peer-cache': peerCacheTarget,
  control: controlTarget
}

/** Limits worth knowing when reading a report. */
export const FUZZ_LIMITS = { MAX_ENVELOPE_BYTES, MAX_FRAME_BYTES }
