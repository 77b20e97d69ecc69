// PlumtreePubSub end to end over the real stack: DefaultMembership + MemoryTransport (the real PQ
// channel, in memory). Honest nodes exchange messages exactly once; a hostile peer that hand-crafts
// frames is rejected by every receiver, scored, and finally graylisted, while the honest traffic keeps
// flowing; subscriptions end on abort, unsubscribe and stop.
import { setTimeout as sleep } from 'node:timers/promises'
import { createVerifier, Identity } from '@saorsa-gossip/identity'
import { DefaultMembership } from '@saorsa-gossip/membership'
import { MemoryNetwork } from '@saorsa-gossip/transport'
import type { MemoryTransport } from '@saorsa-gossip/transport'
import { bytesEqual, createEnvelope, encodeEnvelope, messageIdFromBytes, topicIdFromName } from '@saorsa-gossip/types'
import type { MessageId, PeerId, Signer } from '@saorsa-gossip/types'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { encodePubSubMessage } from '../src/codec.js'
import type { SignedMessage } from '../src/codec.js'
import { PlumtreePubSub } from '../src/plumtree-pubsub.js'
import type { PlumtreePubSubInit } from '../src/plumtree-pubsub.js'
import type { PubSubDelivery, Subscription } from '../src/pubsub.js'

const CHAT = 'chat'
const chatId = topicIdFromName(CHAT)
const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const dec = (b: Uint8Array): string => new TextDecoder().decode(b)

interface Node {
  readonly name: string
  readonly identity: Identity
  readonly t: MemoryTransport
  readonly m: DefaultMembership
  readonly ps: PlumtreePubSub
  readonly peerId: PeerId
  /** Every `message` event of the node, in order. */
  readonly seen: PubSubDelivery[]
  /** Every `message:rejected` event of the node, in order. */
  readonly rejected: Array<{ peer: PeerId; reason: string }>
}

type Cleanup = Array<() => Promise<void>>

async function startNode(net: MemoryNetwork, cleanup: Cleanup, name: string, seed: number, init: PlumtreePubSubInit = {}): Promise<Node> {
  const identity = Identity.fromSeed(new Uint8Array(32).fill(seed))
  const t = net.createTransport({ identity })
  await t.start()
  const m = new DefaultMembership({ transport: t }, { seed })
  await m.start()
  const ps = new PlumtreePubSub({ transport: t, membership: m, signer: identity, verifier: createVerifier() }, { seed, ...init })
  await ps.start()
  const seen: PubSubDelivery[] = []
  const rejected: Array<{ peer: PeerId; reason: string }> = []
  ps.on('message', (d) => seen.push(d))
  ps.on('message:rejected', (r) => rejected.push(r))
  cleanup.push(async () => {
    await ps.stop()
    await m.stop()
    await t.stop()
  })
  return { name, identity, t, m, ps, peerId: t.peerId, seen, rejected }
}

/**
 * Waits, event-driven, until the nodes form one overlay: the graph of links that both ends hold as
 * pub/sub neighbours (learnt from membership) is connected.
 */
async function overlay(nodes: Node[], ms: number): Promise<void> {
  const linked = (x: Node, y: Node): boolean => (x.ps.core?.neighbours() ?? []).includes(y.peerId) && (y.ps.core?.neighbours() ?? []).includes(x.peerId)
  const connected = (): boolean => {
    const reached = new Set<Node>(nodes.slice(0, 1))
    for (let grew = true; grew; ) {
      grew = false
      for (const x of nodes) {
        if (reached.has(x)) continue
        if ([...reached].some((y) => linked(x, y))) {
          reached.add(x)
          grew = true
        }
      }
    }
    return reached.size === nodes.length
  }
  const deadline = AbortSignal.timeout(ms)
  while (!connected()) {
    await Promise.race(nodes.map((x) => x.m.once('neighbor:up', () => true, { signal: deadline }).catch(() => undefined)))
    if (deadline.aborted) break
  }
  expect(connected()).toBe(true)
}

/** Drains a subscription into an array; `atLeast(n)` resolves once n deliveries arrived. */
function collect(sub: Subscription): { got: PubSubDelivery[]; ended: Promise<void>; atLeast(n: number, signal: AbortSignal): Promise<void> } {
  const got: PubSubDelivery[] = []
  let waiters: Array<{ n: number; resolve: () => void }> = []
  const ended = (async () => {
    for await (const d of sub) {
      got.push(d)
      waiters = waiters.filter((w) => (got.length >= w.n ? (w.resolve(), false) : true))
    }
  })()
  return {
    got,
    ended,
    atLeast: (n, signal) =>
      new Promise<void>((resolve, reject) => {
        if (got.length >= n) return resolve()
        if (signal.aborted) return reject(new Error(`only ${got.length} of ${n} deliveries`))
        waiters.push({ n, resolve })
        signal.addEventListener('abort', () => reject(new Error(`only ${got.length} of ${n} deliveries`)), { once: true })
      })
  }
}

/** Resolves when `p` settles, or rejects with `what` after `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  const signal = AbortSignal.timeout(ms)
  return Promise.race([
    p,
    new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new Error(`timed out: ${what}`)), { once: true }))
  ])
}

describe('PlumtreePubSub: three honest nodes', () => {
  const cleanup: Cleanup = []
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c()
  })

  it('every subscriber gets every message of the others exactly once, intact; emitSelf delivers our own once', async () => {
    const net = new MemoryNetwork()
    const a = await startNode(net, cleanup, 'a', 1, { emitSelf: true })
    const b = await startNode(net, cleanup, 'b', 2)
    const c = await startNode(net, cleanup, 'c', 3)
    await b.m.join([a.t.listenAddrs()[0]!])
    await c.m.join([a.t.listenAddrs()[0]!])
    const nodes = [a, b, c]
    await overlay(nodes, 10_000)

    const subs = new Map(nodes.map((n) => [n, collect(n.ps.subscribe(CHAT))]))
    for (const n of nodes) expect(n.ps.topics()).toEqual([CHAT])

    const PER_NODE = 5
    const published: Array<{ by: Node; id: MessageId; payload: string; seq: number }> = []
    const t0 = Date.now()
    for (let i = 0; i < PER_NODE; i++) {
      for (const n of nodes) {
        const payload = `${n.name}:${i}:${'x'.repeat(i * 100)}`
        published.push({ by: n, id: await n.ps.publish(CHAT, enc(payload)), payload, seq: i })
      }
    }
    expect(new Set(published.map((p) => p.id)).size).toBe(published.length)

    // a (emitSelf) receives all 15; b and c the 10 of the others.
    const expected = (n: Node) => published.filter((p) => p.by !== n || n === a)
    const deadline = AbortSignal.timeout(10_000)
    await Promise.all(nodes.map((n) => subs.get(n)!.atLeast(expected(n).length, deadline)))
    // One bounded window in which any extra copy would show up.
    await sleep(300)

    for (const n of nodes) {
      // Each origin's sequence numbers increase in publishing order (they start at the clock in µs,
      // so they keep increasing across restarts too).
      for (const by of nodes) {
        const seqs = expected(n)
          .filter((p) => p.by === by)
          .sort((x, y) => x.seq - y.seq)
          .map((p) => subs.get(n)!.got.find((d) => d.id === p.id)!.seq)
        for (let k = 1; k < seqs.length; k++) expect(seqs[k]!).toBeGreaterThan(seqs[k - 1]!)
        if (seqs.length > 0) expect(seqs[0]!).toBeGreaterThanOrEqual(t0 * 1000)
      }
      const got = subs.get(n)!.got
      const want = expected(n)
      expect(got.length, `deliveries at ${n.name}`).toBe(want.length)
      expect(new Set(got.map((d) => d.id)).size).toBe(want.length)
      for (const p of want) {
        const copies = got.filter((d) => d.id === p.id)
        expect(copies.length, `${n.name} got ${p.payload.slice(0, 5)}`).toBe(1)
        const d = copies[0]!
        expect(d.from).toBe(p.by.peerId)
        expect(d.topic).toBe(chatId)
        expect(dec(d.payload)).toBe(p.payload)
        expect(Number.isSafeInteger(d.seq)).toBe(true)
        expect(d.timestampMs).toBeGreaterThanOrEqual(t0)
        expect(d.timestampMs).toBeLessThanOrEqual(Date.now())
        if (p.by === n) {
          // Our own message, delivered locally by emitSelf.
          expect([d.hops, d.receivedFrom]).toEqual([0, n.peerId])
        } else {
          expect(d.hops).toBeGreaterThanOrEqual(1)
          expect(d.hops).toBeLessThanOrEqual(2)
          expect(nodes.filter((x) => x !== n).map((x) => x.peerId)).toContain(d.receivedFrom)
        }
      }
      // Nothing of our own without emitSelf.
      if (n !== a) expect(got.filter((d) => d.from === n.peerId)).toEqual([])
      // The `message` event saw the same set.
      expect(n.seen.map((d) => d.id).sort()).toEqual(want.map((p) => p.id).sort())
      // Honest traffic costs nobody any score.
      for (const [, score] of n.ps.peerScores()) expect(score).toBeGreaterThanOrEqual(0)
      expect(n.rejected).toEqual([])
    }
  })
})

describe('PlumtreePubSub: a hostile peer hand-crafting frames', () => {
  const cleanup: Cleanup = []
  const net = new MemoryNetwork()
  let honest: Node
  let v1: Node
  let v2: Node
  let nextSeed = 100
  const victims = (): Node[] => [v1, v2]

  beforeAll(async () => {
    honest = await startNode(net, cleanup, 'honest', 11)
    v1 = await startNode(net, cleanup, 'v1', 12)
    v2 = await startNode(net, cleanup, 'v2', 13)
    await v1.m.join([honest.t.listenAddrs()[0]!])
    await v2.m.join([honest.t.listenAddrs()[0]!])
    await overlay([honest, v1, v2], 10_000)
    for (const v of victims()) v.ps.subscribe(CHAT)
  })
  afterAll(async () => {
    for (const c of cleanup.splice(0).reverse()) await c()
  })

  /** A bare transport with a fresh identity (fresh score), connected to both victims. */
  async function hostile(): Promise<{ identity: Identity; t: MemoryTransport; peerId: PeerId; sign(payload: string, timestampMs?: number, signer?: Signer): SignedMessage; send(bytes: Uint8Array): Promise<void> }> {
    const identity = Identity.fromSeed(new Uint8Array(32).fill(nextSeed++))
    const t = net.createTransport({ identity })
    await t.start()
    cleanup.push(() => t.stop())
    for (const v of victims()) expect(await t.dial(v.t.listenAddrs()[0]!)).toBe(v.peerId)
    let seq = 0
    return {
      identity,
      t,
      peerId: t.peerId,
      sign: (payload, timestampMs = Date.now(), signer = identity) => createEnvelope({ topic: chatId, payload: enc(payload), seq: seq++, timestampMs }, signer),
      // The same frame to every victim.
      send: async (bytes) => {
        for (const v of victims()) await t.send(v.peerId, 'pubsub', bytes)
      }
    }
  }

  const gossip = (m: SignedMessage, id: MessageId = m.envelope.id): Uint8Array =>
    encodePubSubMessage({ type: 'gossip', topic: m.envelope.header.topic, id, hops: 1, mode: 'eager', data: m })

  /** Resolves when every victim has rejected a frame of `peer` for `reason`. */
  const rejectedByAll = (peer: PeerId, reason: string): Promise<unknown> =>
    Promise.all(victims().map((v) => v.ps.once('message:rejected', (r) => r.peer === peer && r.reason === reason, { signal: AbortSignal.timeout(5_000) })))

  /** The honest node publishes; both victims must deliver it, intact and from the honest node. */
  async function honestStillArrives(label: string): Promise<void> {
    const payload = enc(`honest after ${label} ${Math.random()}`)
    const arrivals = victims().map((v) =>
      v.ps.once('message', (d) => bytesEqual(d.payload, payload), { signal: AbortSignal.timeout(5_000) })
    )
    const id = await honest.ps.publish(CHAT, payload)
    for (const d of await Promise.all(arrivals)) {
      expect(d.id).toBe(id)
      expect(d.from).toBe(honest.peerId)
    }
  }

  const scoreOf = (v: Node, peer: PeerId): number | undefined => v.ps.peerScores().get(peer)
  const deliveredIds = (v: Node): MessageId[] => v.seen.map((d) => d.id)

  it('a forged signature is rejected by every receiver (bad-signature), never delivered, and costs score', async () => {
    const h = await hostile()
    const good = h.sign('forged by h')
    const signature = good.envelope.signature.slice()
    signature[17]! ^= 0x40
    const envelope = { ...good.envelope, signature }
    const forged: SignedMessage = { envelope, bytes: encodeEnvelope(envelope) }
    const rejected = rejectedByAll(h.peerId, 'bad-signature')
    await h.send(gossip(forged))
    await rejected
    for (const v of victims()) {
      expect(deliveredIds(v)).not.toContain(envelope.id)
      const s = scoreOf(v, h.peerId)
      expect(s).toBeLessThan(-99)
      expect(s).toBeGreaterThanOrEqual(-100)
      // A rejected copy is not remembered: it cannot block the genuine message with the same id.
      expect(v.ps.core?.hasSeen(envelope.id)).toBe(false)
    }
    await honestStillArrives('bad-signature')

    // A genuine message of the honest node, forged first and then relayed intact by h: the forged
    // copy did not block it.
    const real = createEnvelope({ topic: chatId, payload: enc('signed by honest, relayed by h'), seq: 10_000, timestampMs: Date.now() }, honest.identity)
    const realSig = real.envelope.signature.slice()
    realSig[0]! ^= 0x01
    const fakeEnv = { ...real.envelope, signature: realSig }
    const rejected2 = rejectedByAll(h.peerId, 'bad-signature')
    await h.send(gossip({ envelope: fakeEnv, bytes: encodeEnvelope(fakeEnv) }))
    await rejected2
    const arrivals = victims().map((v) => v.ps.once('message', (d) => d.id === real.envelope.id, { signal: AbortSignal.timeout(5_000) }))
    await h.send(gossip(real))
    for (const d of await Promise.all(arrivals)) {
      expect(d.from).toBe(honest.peerId)
      expect(dec(d.payload)).toBe('signed by honest, relayed by h')
    }
  })

  it('a signer key that does not hash to the origin is rejected (origin-key)', async () => {
    const h = await hostile()
    const mallory = Identity.fromSeed(new Uint8Array(32).fill(nextSeed++))
    // Origin claims h, but the key carried (and the valid signature) is mallory's.
    const impostor: Signer = { algorithm: mallory.algorithm, publicKey: mallory.publicKey, peerId: h.peerId, sign: (m) => mallory.sign(m) }
    const msg = h.sign('claims to be h, signed by mallory', Date.now(), impostor)
    expect(msg.envelope.header.origin).toBe(h.peerId)
    const rejected = rejectedByAll(h.peerId, 'origin-key')
    await h.send(gossip(msg))
    await rejected
    for (const v of victims()) {
      expect(deliveredIds(v)).not.toContain(msg.envelope.id)
      expect(scoreOf(v, h.peerId)).toBeLessThan(-99)
    }
    await honestStillArrives('origin-key')
  })

  it('a wrong message id is rejected (id-mismatch) and scored; the correct frame is then accepted', async () => {
    const h = await hostile()
    const msg = h.sign('id games')
    const wrong = messageIdFromBytes(new Uint8Array(32).fill(0x5a))
    const rejected = rejectedByAll(h.peerId, 'id-mismatch')
    await h.send(gossip(msg, wrong))
    await rejected
    for (const v of victims()) {
      expect(deliveredIds(v)).not.toContain(msg.envelope.id)
      expect(deliveredIds(v)).not.toContain(wrong)
      const s = scoreOf(v, h.peerId)
      expect(s).toBeLessThan(-99)
      expect(s).toBeGreaterThanOrEqual(-100)
    }
    await honestStillArrives('id-mismatch')
    const arrivals = victims().map((v) => v.ps.once('message', (d) => d.id === msg.envelope.id, { signal: AbortSignal.timeout(5_000) }))
    await h.send(gossip(msg))
    for (const d of await Promise.all(arrivals)) expect([d.from, dec(d.payload)]).toEqual([h.peerId, 'id games'])
  })

  it('a replay is delivered once; the second copy from the same peer costs score (duplicate)', async () => {
    const h = await hostile()
    const msg = h.sign('say it twice')
    const firstArrivals = victims().map((v) => v.ps.once('message', (d) => d.id === msg.envelope.id, { signal: AbortSignal.timeout(5_000) }))
    const dup = rejectedByAll(h.peerId, 'duplicate')
    await h.send(gossip(msg))
    await h.send(gossip(msg))
    const firsts = await Promise.all(firstArrivals)
    await dup
    await honestStillArrives('duplicate')
    for (const [i, v] of victims().entries()) {
      expect(firsts[i]!.from).toBe(h.peerId)
      expect(deliveredIds(v).filter((id) => id === msg.envelope.id)).toHaveLength(1)
      // +1 for a first delivery (when h was first), −10 for the duplicate.
      const s = scoreOf(v, h.peerId)!
      expect(s).toBeLessThanOrEqual(-8.9)
      expect(s).toBeGreaterThanOrEqual(-10)
    }
  })

  it('a stale message (an hour old) is rejected (stale) before its signature is checked, and costs the relay a little (no honest relay forwards one)', async () => {
    const h = await hostile()
    const msg = h.sign('old news', Date.now() - 3_600_000)
    const rejected = rejectedByAll(h.peerId, 'stale')
    await h.send(gossip(msg))
    await rejected
    for (const v of victims()) {
      expect(deliveredIds(v)).not.toContain(msg.envelope.id)
      expect(v.ps.core?.hasSeen(msg.envelope.id)).toBe(false)
      // −10 for the stale copy (plus at most the +1s of earlier first deliveries in this suite).
      expect(scoreOf(v, h.peerId)!).toBeLessThanOrEqual(-8)
      expect(scoreOf(v, h.peerId)!).toBeGreaterThanOrEqual(-10)
    }
    await honestStillArrives('stale')
  })

  it('a message whose signer key we lack is dropped without blame (unknown-signer); with the key it is delivered', async () => {
    const h = await hostile()
    const bare = createEnvelope({ topic: chatId, payload: enc('no key'), seq: 0, timestampMs: Date.now(), includeSignerKey: false }, h.identity)
    const rejected = rejectedByAll(h.peerId, 'unknown-signer')
    await h.send(gossip(bare))
    await rejected
    for (const v of victims()) {
      expect(deliveredIds(v)).not.toContain(bare.envelope.id)
      expect(scoreOf(v, h.peerId) ?? 0).toBeGreaterThanOrEqual(0)
    }
    const keyed = createEnvelope({ topic: chatId, payload: enc('with key'), seq: 1, timestampMs: Date.now() }, h.identity)
    const arrivals = victims().map((v) => v.ps.once('message', (d) => d.id === keyed.envelope.id, { signal: AbortSignal.timeout(5_000) }))
    await h.send(gossip(keyed))
    await Promise.all(arrivals)
  })

  it('an envelope of another kind is relayed and reported, but never handed to subscribers', async () => {
    const h = await hostile()
    const subs = victims().map((v) => v.ps.subscribe(CHAT, { signal: AbortSignal.timeout(10_000) }))
    const other = createEnvelope({ kind: 1, topic: chatId, payload: enc('advert'), seq: 0, timestampMs: Date.now() }, h.identity)
    const events = victims().map((v) => v.ps.once('message', (d) => d.id === other.envelope.id, { signal: AbortSignal.timeout(5_000) }))
    await h.send(gossip(other))
    for (const d of await Promise.all(events)) expect(d.kind).toBe(1)
    await honestStillArrives('kind 1')
    // Each subscription holds the honest message (sent after the kind-1 one) and nothing of kind 1.
    for (const sub of subs) {
      const got: PubSubDelivery[] = []
      for await (const d of sub) {
        got.push(d)
        if (d.from === honest.peerId) break
      }
      expect(got.map((d) => d.kind)).toEqual([0])
    }
  })

  it('five forged messages get the sender graylisted by every receiver; honest traffic continues', async () => {
    const h = await hostile()
    const graylisted = Promise.all(
      victims().map((v) => v.ps.once('peer:graylisted', (g) => g.peer === h.peerId, { signal: AbortSignal.timeout(5_000) }))
    )
    const forgedIds: MessageId[] = []
    for (let i = 0; i < 5; i++) {
      const good = h.sign(`forgery ${i}`)
      const signature = good.envelope.signature.slice()
      signature[100 + i]! ^= 0xff
      const envelope = { ...good.envelope, signature }
      forgedIds.push(envelope.id)
      await h.send(gossip({ envelope, bytes: encodeEnvelope(envelope) }))
    }
    const events = await graylisted
    for (const [i, v] of victims().entries()) {
      expect(events[i]!.score).toBeLessThan(-400)
      expect(scoreOf(v, h.peerId)).toBeLessThan(-400)
      expect(v.rejected.filter((r) => r.peer === h.peerId && r.reason === 'bad-signature')).toHaveLength(5)
      for (const id of forgedIds) expect(deliveredIds(v)).not.toContain(id)
    }
    await honestStillArrives('graylisting')
  })
})

describe('PlumtreePubSub: subscriptions', () => {
  const cleanup: Cleanup = []
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c()
  })

  it('ends an iteration on abort and on unsubscribe; topics() follows; stop() ends them all', async () => {
    const net = new MemoryNetwork()
    const n = await startNode(net, cleanup, 'solo', 21, { emitSelf: true })
    expect(n.ps.topics()).toEqual([])

    const ac = new AbortController()
    const aborted = collect(n.ps.subscribe('a', { signal: ac.signal }))
    const a2 = collect(n.ps.subscribe('a'))
    const b = collect(n.ps.subscribe('b'))
    expect(n.ps.topics().sort()).toEqual(['a', 'b'])

    const idA = await n.ps.publish('a', enc('one'))
    await aborted.atLeast(1, AbortSignal.timeout(2_000))
    expect(aborted.got.map((d) => [d.id, dec(d.payload), d.from, d.hops])).toEqual([[idA, 'one', n.peerId, 0]])

    ac.abort()
    await within(aborted.ended, 2_000, 'aborted subscription ends')
    expect(n.ps.topics().sort()).toEqual(['a', 'b']) // a2 still holds 'a'
    await n.ps.publish('a', enc('two'))
    await a2.atLeast(2, AbortSignal.timeout(2_000))
    expect(aborted.got).toHaveLength(1)
    expect(a2.got.map((d) => dec(d.payload))).toEqual(['one', 'two'])
    expect(b.got).toEqual([])

    // An already aborted signal: the iteration ends at once and holds no topic.
    const dead = n.ps.subscribe('c', { signal: AbortSignal.abort() })
    const deadC = collect(dead)
    await within(deadC.ended, 2_000, 'pre-aborted subscription ends')
    expect(n.ps.topics().sort()).toEqual(['a', 'b'])

    // unsubscribe() ends the iteration and drops the topic once nobody holds it.
    const a2sub = n.ps.subscribe('a')
    const a3 = collect(a2sub)
    a2sub.unsubscribe()
    await within(a3.ended, 2_000, 'unsubscribed iteration ends')
    expect(n.ps.topics().sort()).toEqual(['a', 'b'])

    // Break out of a for-await: the subscription ends as well.
    const brk = n.ps.subscribe('d')
    const brkDone = (async () => {
      for await (const d of brk) return dec(d.payload)
      return undefined
    })()
    expect(n.ps.topics().sort()).toEqual(['a', 'b', 'd'])
    await n.ps.publish('d', enc('once'))
    expect(await within(brkDone, 2_000, 'break')).toBe('once')
    expect(n.ps.topics().sort()).toEqual(['a', 'b'])

    // stop() ends every iteration and clears topics().
    await n.ps.stop()
    await within(Promise.all([a2.ended, b.ended]), 2_000, 'stop ends every iteration')
    expect(n.ps.topics()).toEqual([])
    await expect(n.ps.publish('a', enc('after stop'))).rejects.toThrow(/not started/)
    expect(a2.got).toHaveLength(2)
  })

  it('a subscription has one reader: a second iteration fails clearly', async () => {
    const net = new MemoryNetwork()
    const n = await startNode(net, cleanup, 'solo3', 23)
    const sub = n.ps.subscribe('once')
    const first = sub[Symbol.asyncIterator]()
    const second = sub[Symbol.asyncIterator]()
    const pending = first.next()
    await expect(second.next()).rejects.toThrow(/iterated once/)
    sub.unsubscribe()
    expect((await pending).done).toBe(true)
  })

  it('topics() lists each subscribed name once and drops it after the last unsubscribe', async () => {
    const net = new MemoryNetwork()
    const n = await startNode(net, cleanup, 'solo2', 22)
    const x1 = n.ps.subscribe('x')
    const x2 = n.ps.subscribe('x')
    const y = n.ps.subscribe('y')
    expect(x1.topic).toBe(topicIdFromName('x'))
    expect(n.ps.topics().sort()).toEqual(['x', 'y'])
    x1.unsubscribe()
    expect(n.ps.topics().sort()).toEqual(['x', 'y'])
    x2.unsubscribe()
    expect(n.ps.topics()).toEqual(['y'])
    y.unsubscribe()
    y.unsubscribe() // idempotent
    expect(n.ps.topics()).toEqual([])
    // Without emitSelf our own messages are not delivered to us (emitSelf delivers synchronously in publish).
    n.ps.subscribe('z')
    await n.ps.publish('z', enc('mine'))
    expect(n.seen).toEqual([])
    expect(() => n.ps.subscribe('z', { bufferSize: 0 })).toThrow(RangeError)
  })
})
