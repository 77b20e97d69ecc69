// Plumtree core: each handler is fed inputs and its output commands are checked; a small in-test
// network of cores checks anti-entropy end to end. The body type is a plain record whose `bad` flag
// the test validator rejects (the real driver checks signatures instead).
import { describe, expect, it } from 'vitest'
import { createSeededRng } from '@saorsa-gossip/types'
import type { MessageId, PeerId, TopicId } from '@saorsa-gossip/types'
import { DEFAULT_PLUMTREE_CONFIG, Plumtree } from '../src/proto/plumtree.js'
import type { PlumtreeConfig } from '../src/proto/plumtree.js'
import type { PubSubCommand, PubSubEvent, PubSubInput, PubSubMessage } from '../src/proto/types.js'

interface Body {
  readonly n: number
  readonly bad?: boolean
}
type Cmd = PubSubCommand<Body>
type Msg = PubSubMessage<Body>

const hex = (n: number, tag: number): string => tag.toString(16).padStart(8, '0') + n.toString(16).padStart(56, '0')
const peer = (n: number): PeerId => hex(n, 1) as PeerId
const mid = (n: number): MessageId => hex(n, 2) as MessageId
const TOPIC = hex(1, 3) as TopicId
const ME = peer(0)
const [A, B, C] = [peer(1), peer(2), peer(3)] as [PeerId, PeerId, PeerId]
const C0 = DEFAULT_PLUMTREE_CONFIG

function core(neighbours: PeerId[], config: Partial<PlumtreeConfig> = {}, me: PeerId = ME): Plumtree<Body> {
  const p = new Plumtree<Body>(me, config, createSeededRng(7), ({ data }) => (data.bad === true ? 'bad-signature' : undefined))
  for (const n of neighbours) p.handle({ type: 'neighbor-up', peer: n }, 0)
  return p
}
const gossip = (n: number, hops: number, mode: 'eager' | 'graft' | 'sync' | 'relay' = 'eager', bad = false): Msg => ({
  type: 'gossip',
  topic: TOPIC,
  id: mid(n),
  hops,
  mode,
  data: bad ? { n, bad } : { n }
})
const from = (p: PeerId, msg: Msg): PubSubInput<Body> => ({ type: 'message', from: p, msg })
const sends = (out: Cmd[]): Array<{ to: PeerId; msg: Msg }> => out.flatMap((c) => (c.type === 'send' ? [{ to: c.to, msg: c.msg }] : []))
const events = (out: Cmd[]): Array<PubSubEvent<Body>> => out.flatMap((c) => (c.type === 'emit' ? [c.event] : []))
const sendsOf = (out: Cmd[], type: Msg['type']): Array<{ to: PeerId; msg: Msg }> => sends(out).filter((s) => s.msg.type === type)

describe('Plumtree core: push, prune, lazy push', () => {
  it('publish pushes to every neighbour with hops 1 and delivers nothing locally', () => {
    const p = core([A, B, C])
    const out = p.handle({ type: 'publish', topic: TOPIC, id: mid(1), data: { n: 1 } }, 10)
    expect(sends(out)).toEqual([A, B, C].map((to) => ({ to, msg: gossip(1, 1) })))
    expect(events(out)).toEqual([])
    expect(p.hasSeen(mid(1))).toBe(true)
  })

  it('a first copy is delivered once and forwarded to the other eager peers with hops + 1', () => {
    const p = core([A, B, C])
    const out = p.handle(from(A, gossip(1, 3)), 10)
    expect(events(out)).toEqual([{ type: 'deliver', topic: TOPIC, id: mid(1), from: A, hops: 3, via: 'eager', data: { n: 1 } }])
    expect(sends(out)).toEqual([B, C].map((to) => ({ to, msg: gossip(1, 4) })))
  })

  it('a duplicate from an eager peer prunes that link; the next message reaches it by IHAVE after the flush delay', () => {
    const p = core([A, B, C])
    p.handle(from(A, gossip(1, 1)), 10)
    // B has not given us a first copy: its duplicate makes the link lazy and B is told so.
    const dup = p.handle(from(B, gossip(1, 2)), 20 + C0.pruneGuardMs)
    expect(sends(dup)).toEqual([{ to: B, msg: { type: 'prune', topic: TOPIC } }])
    expect(events(dup)).toEqual([])
    expect(p.links(TOPIC)).toEqual({ eager: [A, C], lazy: [B] })
    const next = p.handle(from(A, gossip(2, 1)), 5000)
    expect(sends(next)).toEqual([{ to: C, msg: gossip(2, 2) }])
    expect(next).toContainEqual({ type: 'schedule', after: C0.ihaveFlushMs, timer: { type: 'flush' } })
    const flush = p.handle({ type: 'timer', timer: { type: 'flush' } }, 5050)
    expect(sends(flush)).toEqual([{ to: B, msg: { type: 'ihave', topic: TOPIC, entries: [{ id: mid(2), hops: 1 }] } }])
  })

  it('a link that gave us a first copy within pruneGuardMs is not pruned by a duplicate', () => {
    const p = core([A, B])
    p.handle(from(B, gossip(1, 1)), 0)
    p.handle(from(A, gossip(2, 1)), 100)
    const out = p.handle(from(B, gossip(2, 2)), 200)
    expect(sendsOf(out, 'prune')).toEqual([])
    expect(p.links(TOPIC).eager).toContain(B)
  })

  it('an IHAVE never carries more than maxIdsPerMessage entries', () => {
    const p = core([A, B], { maxIdsPerMessage: 4 })
    p.handle(from(A, gossip(100, 1)), 0)
    p.handle(from(B, gossip(100, 1)), 5000) // B → lazy
    let immediate: Array<{ to: PeerId; msg: Msg }> = []
    for (let i = 0; i < 6; i++) immediate = immediate.concat(sendsOf(p.handle(from(A, gossip(i, 1)), 6000 + i), 'ihave'))
    expect(immediate).toHaveLength(1)
    expect(immediate[0]?.msg.type === 'ihave' && immediate[0].msg.entries.length).toBe(4)
    const rest = sendsOf(p.handle({ type: 'timer', timer: { type: 'flush' } }, 6100), 'ihave')
    expect(rest.map((s) => (s.msg.type === 'ihave' ? s.msg.entries.map((e) => e.id) : []))).toEqual([[mid(4), mid(5)]])
  })

  it('a copy from a peer outside our neighbours is relayed along the tree in relay mode; relay duplicates prune nothing', () => {
    const p = core([A, B])
    const out = p.handle(from(C, gossip(1, 2)), 0)
    expect(events(out).map((e) => e.type)).toEqual(['deliver'])
    expect(sends(out)).toEqual([A, B].map((to) => ({ to, msg: gossip(1, 3, 'relay') })))
    // A relay copy arriving again over a tree link changes nothing.
    expect(sends(p.handle(from(A, gossip(1, 3, 'relay')), 5000))).toEqual([])
    expect(p.links(TOPIC)).toEqual({ eager: [A, B], lazy: [] })
    // And a first copy in relay mode is passed on in relay mode.
    expect(sends(p.handle(from(A, gossip(2, 4, 'relay')), 5001))).toEqual([{ to: B, msg: gossip(2, 5, 'relay') }])
  })

  it('neighbor-down removes the peer from every topic; a new neighbour starts eager', () => {
    const p = core([A, B])
    p.handle(from(A, gossip(1, 1)), 0)
    p.handle({ type: 'neighbor-down', peer: A }, 1)
    p.handle({ type: 'neighbor-up', peer: C }, 2)
    expect(p.links(TOPIC)).toEqual({ eager: [B, C], lazy: [] })
  })
})

describe('Plumtree core: repair by GRAFT and the tree optimisation', () => {
  function withLazy(): Plumtree<Body> {
    const p = core([A, B, C])
    p.handle(from(A, gossip(100, 1)), 0)
    p.handle(from(B, gossip(100, 2)), 5000)
    p.handle(from(C, gossip(100, 2)), 5000)
    expect(p.links(TOPIC)).toEqual({ eager: [A], lazy: [B, C] })
    return p
  }

  it('an IHAVE of an unknown message arms a timer; on expiry the announcer is grafted and asked for it, then the next one', () => {
    const p = withLazy()
    const ihave = (hops: number): Msg => ({ type: 'ihave', topic: TOPIC, entries: [{ id: mid(1), hops }] })
    const first = p.handle(from(B, ihave(2)), 10_000)
    expect(first).toEqual([{ type: 'schedule', after: C0.graftTimeoutMs, timer: { type: 'graft', topic: TOPIC, id: mid(1) } }])
    expect(p.handle(from(C, ihave(3)), 10_010)).toEqual([])
    const fire = p.handle({ type: 'timer', timer: { type: 'graft', topic: TOPIC, id: mid(1) } }, 11_000)
    expect(sends(fire)).toEqual([{ to: B, msg: { type: 'graft', topic: TOPIC, ids: [mid(1)] } }])
    expect(fire).toContainEqual({ type: 'schedule', after: C0.graftRetryMs, timer: { type: 'graft', topic: TOPIC, id: mid(1) } })
    expect(p.links(TOPIC).eager).toContain(B)
    const retry = p.handle({ type: 'timer', timer: { type: 'graft', topic: TOPIC, id: mid(1) } }, 11_500)
    expect(sendsOf(retry, 'graft').map((s) => s.to)).toEqual([C])
    // The answer ends the wait: the next timer does nothing.
    const got = p.handle(from(C, gossip(1, 3, 'graft')), 11_600)
    expect(events(got)).toContainEqual({ type: 'deliver', topic: TOPIC, id: mid(1), from: C, hops: 3, via: 'graft', data: { n: 1 } })
    expect(p.handle({ type: 'timer', timer: { type: 'graft', topic: TOPIC, id: mid(1) } }, 12_000)).toEqual([])
  })

  it('an IHAVE of a message already delivered arms nothing', () => {
    const p = withLazy()
    p.handle(from(A, gossip(1, 1)), 10_000)
    expect(p.handle(from(B, { type: 'ihave', topic: TOPIC, entries: [{ id: mid(1), hops: 1 }] }), 10_001)).toEqual([])
  })

  it('a GRAFT makes the link eager and is answered from the cache in graft mode; an IWANT is answered in sync mode and changes no link', () => {
    const p = withLazy()
    p.handle(from(A, gossip(1, 1)), 10_000)
    p.handle({ type: 'timer', timer: { type: 'flush' } }, 10_050)
    const g = p.handle(from(B, { type: 'graft', topic: TOPIC, ids: [mid(1), mid(99)] }), 10_100)
    expect(sends(g)).toEqual([{ to: B, msg: gossip(1, 2, 'graft') }])
    expect(p.links(TOPIC).eager).toContain(B)
    const w = p.handle(from(C, { type: 'iwant', topic: TOPIC, ids: [mid(1)] }), 10_200)
    expect(sends(w)).toEqual([{ to: C, msg: gossip(1, 2, 'sync') }])
    expect(p.links(TOPIC).lazy).toContain(C)
  })

  it('IHAVE entries still queued for a link that turns eager go out as pushes, except to peers known to hold them', () => {
    const p = withLazy()
    p.handle(from(A, gossip(1, 1)), 10_000)
    p.handle(from(A, gossip(2, 1)), 10_001)
    p.handle(from(B, { type: 'ihave', topic: TOPIC, entries: [{ id: mid(2), hops: 1 }] }), 10_002)
    const g = p.handle(from(B, { type: 'graft', topic: TOPIC, ids: [mid(1)] }), 10_003)
    expect(sends(g)).toEqual([{ to: B, msg: gossip(1, 2) }])
    const flush = p.handle({ type: 'timer', timer: { type: 'flush' } }, 10_050)
    expect(sendsOf(flush, 'ihave').map((s) => s.to)).toEqual([C])
  })

  it('a node pruned by its last tree link rejoins the tree through a lazy link at once', () => {
    const p = withLazy() // eager [A], lazy [B, C]
    const out = p.handle(from(A, { type: 'prune', topic: TOPIC }), 20_000)
    const grafts = sendsOf(out, 'graft')
    expect(grafts).toHaveLength(1)
    const to = grafts[0]?.to as PeerId
    expect([B, C]).toContain(to)
    expect(p.links(TOPIC).eager).toEqual([to])
    expect(p.links(TOPIC).lazy).toContain(A)
  })

  it('a PRUNE makes the link lazy', () => {
    const p = core([A, B])
    p.handle(from(A, gossip(1, 1)), 0)
    p.handle(from(B, { type: 'prune', topic: TOPIC }), 1)
    expect(p.links(TOPIC)).toEqual({ eager: [A], lazy: [B] })
  })

  it('a lazy link that announces messages optimizationHops sooner, optimizationCount times in a row, replaces the tree link', () => {
    const p = withLazy()
    let out: Cmd[] = []
    for (let i = 0; i < C0.optimizationCount; i++) {
      p.handle(from(A, gossip(10 + i, 8)), 20_000 + i * 100)
      out = p.handle(from(B, { type: 'ihave', topic: TOPIC, entries: [{ id: mid(10 + i), hops: 8 - C0.optimizationHops - 1 }] }), 20_050 + i * 100)
      if (i < C0.optimizationCount - 1) expect(sends(out)).toEqual([])
    }
    expect(sends(out)).toEqual([
      { to: B, msg: { type: 'graft', topic: TOPIC, ids: [] } },
      { to: A, msg: { type: 'prune', topic: TOPIC } }
    ])
    expect(p.links(TOPIC)).toEqual({ eager: [B], lazy: [C, A] })
  })

  it('a shortcut of fewer than optimizationHops hops changes nothing', () => {
    const p = withLazy()
    for (let i = 0; i < 5; i++) {
      p.handle(from(A, gossip(10 + i, 8)), 20_000 + i * 100)
      const out = p.handle(from(B, { type: 'ihave', topic: TOPIC, entries: [{ id: mid(10 + i), hops: 8 - C0.optimizationHops }] }), 20_050 + i * 100)
      expect(sends(out)).toEqual([])
    }
  })
})

describe('Plumtree core: validation, replays and scores', () => {
  it('an invalid message is rejected, scored, not remembered, and a valid copy of the same id is then delivered', () => {
    const p = core([A, B])
    const bad = p.handle(from(A, gossip(1, 1, 'eager', true)), 0)
    expect(events(bad)).toEqual([{ type: 'rejected', peer: A, reason: 'bad-signature' }])
    expect(sends(bad)).toEqual([])
    expect(p.scores.get(A, 0)).toBe(C0.score.weights?.invalid ?? -100)
    expect(p.hasSeen(mid(1))).toBe(false)
    const good = p.handle(from(B, gossip(1, 1)), 1)
    expect(events(good).map((e) => e.type)).toEqual(['deliver'])
  })

  it('the same peer sending the same message twice costs it score; another peer sending a copy does not', () => {
    const p = core([A, B], { trustRampMs: 0 })
    p.handle(from(A, gossip(1, 1)), 0)
    p.handle(from(B, gossip(1, 1)), 1)
    expect(p.scores.get(B, 1)).toBe(0)
    const again = p.handle(from(A, gossip(1, 1)), 2)
    expect(events(again)).toEqual([{ type: 'rejected', peer: A, reason: 'duplicate' }])
    expect(p.scores.get(A, 2)).toBeCloseTo(1 - 10, 3)
  })

  it('hops outside 1..maxHops are invalid', () => {
    const p = core([A])
    expect(events(p.handle(from(A, gossip(1, 0)), 0))).toEqual([{ type: 'rejected', peer: A, reason: 'hops' }])
    const q = core([A], { maxHops: 5 })
    expect(events(q.handle(from(A, gossip(1, 6)), 0))).toEqual([{ type: 'rejected', peer: A, reason: 'hops' }])
  })

  it('below the threshold a peer is graylisted once: pruned everywhere, disconnected, then ignored', () => {
    const p = core([A, B])
    p.handle(from(B, gossip(100, 1)), 0)
    let out: Cmd[] = []
    for (let i = 0; i < 5; i++) out = out.concat(p.handle(from(A, gossip(i, 1, 'eager', true)), 10))
    expect(events(out).filter((e) => e.type === 'graylisted')).toEqual([{ type: 'graylisted', peer: A, score: -500 }])
    expect(out.filter((c) => c.type === 'disconnect')).toEqual([{ type: 'disconnect', peer: A }])
    expect(p.links(TOPIC)).toEqual({ eager: [B], lazy: [] })
    const later = p.handle(from(A, gossip(50, 1)), 20)
    expect(events(later)).toEqual([{ type: 'rejected', peer: A, reason: 'graylisted' }])
    expect(p.hasSeen(mid(50))).toBe(false)
    // Scores decay: after enough half-lives A is back above the threshold and rejoins lazily.
    const healed = 4 * (C0.score.halfLifeMs ?? 300_000)
    p.handle({ type: 'timer', timer: { type: 'anti-entropy' } }, healed)
    expect(p.scores.isGraylisted(A, healed)).toBe(false)
    expect(p.links(TOPIC).lazy).toContain(A)
  })

  it('a peer sending faster than its budget is dropped and scored', () => {
    const lim = { perSecond: 10, burst: 5 }
    const p = core([A], { rateLimit: lim, newPeerRateLimit: lim })
    const reasons: string[] = []
    for (let i = 0; i < 8; i++) for (const e of events(p.handle(from(A, gossip(i, 1)), 0))) if (e.type === 'rejected') reasons.push(e.reason)
    expect(reasons).toEqual(['rate-limit', 'rate-limit', 'rate-limit'])
  })

  const rejectedReasons = (out: Cmd[]): string[] => events(out).flatMap((e) => (e.type === 'rejected' ? [e.reason] : []))
  const burstOf = (p: Plumtree<Body>, peerId: PeerId, n0: number, count: number, at: number): number => {
    let delivered = 0
    for (let i = 0; i < count; i++) delivered += events(p.handle(from(peerId, gossip(n0 + i, 1)), at)).filter((e) => e.type === 'deliver').length
    return delivered
  }

  it('a newcomer gets the small starting budget; it grows to the full one over trustRampMs without penalties', () => {
    const cfg = { newPeerRateLimit: { perSecond: 1, burst: 20 }, rateLimit: { perSecond: 100, burst: 200 }, trustRampMs: 10_000, score: { graylistThreshold: -1e9 } }
    // At t = 0 a new peer's burst is 20.
    expect(burstOf(core([A], cfg), A, 0, 100, 0)).toBe(20)
    // A peer first seen at t = 0 and quiet until t = 10 s has grown to the full burst of 200.
    const p = core([A], cfg)
    p.handle({ type: 'message', from: A, msg: { type: 'prune', topic: TOPIC } }, 0)
    expect(burstOf(p, A, 1000, 300, 10_000)).toBe(200)
    // Halfway through the ramp: halfway between (burst 110).
    const q = core([A], cfg)
    q.handle({ type: 'message', from: A, msg: { type: 'prune', topic: TOPIC } }, 0)
    expect(burstOf(q, A, 1000, 300, 5_000)).toBe(110)
  })

  it('a penalty sends an established peer back to the starting budget', () => {
    const cfg = { newPeerRateLimit: { perSecond: 1, burst: 20 }, rateLimit: { perSecond: 100, burst: 200 }, trustRampMs: 10_000, score: { graylistThreshold: -1e9 } }
    const p = core([A], cfg)
    p.handle({ type: 'message', from: A, msg: { type: 'prune', topic: TOPIC } }, 0)
    // An invalid message at t = 20 s (well past the ramp).
    expect(rejectedReasons(p.handle(from(A, gossip(1, 1, 'eager', true)), 20_000))).toEqual(['bad-signature'])
    expect(burstOf(p, A, 1000, 300, 20_000)).toBeLessThanOrEqual(20)
  })

  it('a neighbour over budget is not blamed (it relays what the overlay carries): dropped, its earned budget kept', () => {
    const cfg = { newPeerRateLimit: { perSecond: 1, burst: 20 }, rateLimit: { perSecond: 100, burst: 200 }, trustRampMs: 10_000 }
    const p = core([A], cfg)
    p.handle({ type: 'message', from: A, msg: { type: 'prune', topic: TOPIC } }, 0)
    const out = Array.from({ length: 300 }, (_, i) => p.handle(from(A, gossip(1000 + i, 1)), 20_000)).flatMap(events)
    expect(out.filter((e) => e.type === 'deliver')).toHaveLength(200)
    expect(out.filter((e) => e.type === 'graylisted')).toEqual([])
    expect(p.scores.get(A, 20_000)).toBeGreaterThanOrEqual(0) // its first deliveries, no penalty
    // Its earned budget is kept: a second later, 100 more (the full rate's refill).
    expect(burstOf(p, A, 5000, 150, 21_000)).toBe(100)
  })

  it('budgets count bytes as well as messages', () => {
    const cfg = { newPeerByteLimit: { perSecond: 1000, burst: 10_000 }, byteLimit: { perSecond: 1000, burst: 10_000 } }
    const p = core([], cfg) // A pushes to us without being our neighbour
    const reasons: string[] = []
    let delivered = 0
    for (let i = 0; i < 6; i++) {
      const out = p.handle({ type: 'message', from: A, msg: gossip(i, 1), bytes: 3000 }, 0)
      reasons.push(...rejectedReasons(out))
      delivered += events(out).filter((e) => e.type === 'deliver').length
    }
    expect(delivered).toBe(3)
    expect(reasons).toEqual(['byte-limit', 'byte-limit', 'byte-limit'])
    expect(p.scores.get(A, 0)).toBeLessThan(0)
  })

  it('answers to our own IWANT spend what we asked for, not the peer\'s budget, and are never blamed', () => {
    const lim = { perSecond: 1, burst: 2 }
    const p = core([A], { rateLimit: lim, newPeerRateLimit: lim })
    // We received an IHAVE for 5 ids and asked for them (a graft after the timer) — here directly: an anti-entropy IWANT.
    // Simulate our request by letting the core send a GRAFT: an IHAVE, then the graft timer.
    const out = p.handle(from(A, { type: 'ihave', topic: TOPIC, entries: [0, 1, 2, 3, 4].map((n) => ({ id: mid(n), hops: 1 })) }), 0)
    for (const c of out) if (c.type === 'schedule' && c.timer.type === 'graft') p.handle({ type: 'timer', timer: c.timer }, 1000)
    let delivered = 0
    const reasons: string[] = []
    for (let i = 0; i < 5; i++) {
      const o = p.handle(from(A, gossip(i, 2, 'graft')), 1001)
      delivered += events(o).filter((e) => e.type === 'deliver').length
      reasons.push(...rejectedReasons(o))
    }
    expect(reasons).toEqual([])
    expect(delivered).toBe(5)
    // Unsolicited pushes beyond the budget are still dropped and blamed.
    const more = [5, 6, 7].flatMap((n) => rejectedReasons(p.handle(from(A, gossip(n, 1)), 1002)))
    expect(more).toContain('rate-limit')
  })

  it('an answer we asked for is charged its bytes once; copies in graft mode of ids we never asked for spend the ordinary budget', () => {
    const lim = { perSecond: 1, burst: 2 }
    const bytesLim = { perSecond: 1, burst: 10_000 }
    const p = core([A], { rateLimit: lim, newPeerRateLimit: lim, byteLimit: bytesLim, newPeerByteLimit: bytesLim })
    const out = p.handle(from(A, { type: 'ihave', topic: TOPIC, entries: [0, 1, 2, 3].map((n) => ({ id: mid(n), hops: 1 })) }), 0)
    for (const c of out) if (c.type === 'schedule' && c.timer.type === 'graft') p.handle({ type: 'timer', timer: c.timer }, 1000)
    // Four requested answers of 2,400 bytes: 9,600 of the 10,000-byte burst, each charged once.
    const answered = [0, 1, 2, 3].map((n) => events(p.handle({ type: 'message', from: A, msg: gossip(n, 2, 'graft'), bytes: 2400 }, 1001)))
    expect(answered.flat().filter((e) => e.type === 'deliver')).toHaveLength(4)
    expect(answered.flat().filter((e) => e.type === 'rejected')).toEqual([])
    // "Answers" with ids we never asked for: the ordinary message budget (burst 2, the IHAVE took one,
    // one more refilled at 1/s by t = 1 s): two go through, the third is over budget.
    const forged = [10, 11, 12].map((n) => rejectedReasons(p.handle({ type: 'message', from: A, msg: gossip(n, 2, 'graft') }, 1002)))
    expect(forged).toEqual([[], [], ['rate-limit']])
  })

  it('a stale copy we asked for is dropped without blame; a stale push costs the sender', () => {
    const p = new Plumtree<Body>(ME, {}, createSeededRng(7), ({ data }) => (data.n >= 100 ? 'stale' : undefined))
    p.handle({ type: 'neighbor-up', peer: A }, 0)
    const out = p.handle(from(A, { type: 'ihave', topic: TOPIC, entries: [{ id: mid(100), hops: 1 }] }), 0)
    for (const c of out) if (c.type === 'schedule' && c.timer.type === 'graft') p.handle({ type: 'timer', timer: c.timer }, 1000)
    expect(rejectedReasons(p.handle(from(A, gossip(100, 2, 'graft')), 1001))).toEqual(['stale'])
    expect(p.scores.get(A, 1001)).toBe(0)
    expect(rejectedReasons(p.handle(from(A, gossip(101, 1)), 1002))).toEqual(['stale'])
    expect(p.scores.get(A, 1002)).toBe(-10)
  })

  it('a peer asking for more ids than its budget gets nothing and is scored', () => {
    const p = core([A], { requestLimit: { perSecond: 1, burst: 2 } })
    p.handle(from(A, gossip(1, 1)), 0)
    const out = p.handle(from(A, { type: 'iwant', topic: TOPIC, ids: [mid(1), mid(1), mid(1)] }), 1)
    expect(sends(out)).toEqual([])
    expect(events(out)).toEqual([{ type: 'rejected', peer: A, reason: 'request-limit' }])
  })

  it('the message cache and the seen set are bounded', () => {
    const p = core([A], { cacheMaxMessages: 10, seenMaxIds: 20 })
    for (let i = 0; i < 50; i++) p.handle(from(A, gossip(i, 1)), i)
    expect(p.cacheSize()).toBe(10)
    expect(p.hasSeen(mid(49))).toBe(true)
    expect(p.hasSeen(mid(29))).toBe(false)
    expect(p.hasSeen(mid(30))).toBe(true)
  })
})

describe('Plumtree core: bounds against a hostile or unlucky neighbour', () => {
  const TOPIC2 = hex(2, 3) as TopicId
  const ihave = (topic: TopicId, ids: number[], hops = 2): Msg => ({ type: 'ihave', topic, entries: ids.map((n) => ({ id: mid(n), hops })) })
  const graftTimers = (out: Cmd[]) => out.flatMap((c) => (c.type === 'schedule' && c.timer.type === 'graft' ? [c.timer] : []))

  it('a copy of a message received at maxHops is answered with maxHops, never beyond', () => {
    const p = core([A, B], { maxHops: 5 })
    p.handle(from(A, gossip(1, 5)), 0)
    expect(sends(p.handle(from(B, { type: 'iwant', topic: TOPIC, ids: [mid(1)] }), 1))).toEqual([{ to: B, msg: gossip(1, 5, 'sync') }])
  })

  it('the ids one IHAVE announced are each asked of that announcer once, however many timers fire', () => {
    const p = core([A, B])
    p.handle(from(A, gossip(100, 1)), 0)
    p.handle(from(B, gossip(100, 1)), 5000) // B → lazy
    const ids = Array.from({ length: 10 }, (_, k) => k)
    const timers = graftTimers(p.handle(from(B, ihave(TOPIC, ids)), 6000))
    expect(timers).toHaveLength(10)
    const asked: MessageId[] = []
    for (const timer of timers) for (const s of sendsOf(p.handle({ type: 'timer', timer }, 7000), 'graft')) if (s.msg.type === 'graft') asked.push(...s.msg.ids)
    expect(asked.sort()).toEqual(ids.map(mid).sort())
  })

  it('one peer’s announcements can hold at most maxMissingPerPeer waiting entries; others are still heard', () => {
    const p = core([A, B], { maxMissingPerPeer: 50 })
    const flood = graftTimers(p.handle(from(A, ihave(TOPIC, Array.from({ length: 200 }, (_, k) => 1000 + k))), 0))
    expect(flood).toHaveLength(50)
    expect(graftTimers(p.handle(from(B, ihave(TOPIC, [1])), 1))).toEqual([{ type: 'graft', topic: TOPIC, id: mid(1) }])
  })

  it('an IHAVE naming another topic cannot shadow the genuine announcement', () => {
    const p = core([A, B])
    p.handle(from(A, ihave(TOPIC2, [1])), 0) // hostile: wrong topic, first
    const honest = graftTimers(p.handle(from(B, ihave(TOPIC, [1])), 10))
    expect(honest).toEqual([{ type: 'graft', topic: TOPIC, id: mid(1) }])
    const fire = p.handle({ type: 'timer', timer: honest[0]! }, 1010)
    expect(sendsOf(fire, 'graft')).toEqual([{ to: B, msg: { type: 'graft', topic: TOPIC, ids: [mid(1)] } }])
  })

  it('a SYNC_RETRY is answered only after a smaller SYNC we sent that peer; SYNC and IWANT only from neighbours', () => {
    const p = core([A, B])
    p.handle(from(A, gossip(1, 1)), 0)
    expect(sends(p.handle(from(B, { type: 'sync-retry', topic: TOPIC, cells: 3840 }), 1))).toEqual([])
    const round = p.handle({ type: 'timer', timer: { type: 'anti-entropy' } }, 10_000)
    const sync = sendsOf(round, 'sync')[0]
    if (sync === undefined || sync.msg.type !== 'sync') throw new Error('expected a SYNC')
    const retry = p.handle(from(sync.to, { type: 'sync-retry', topic: TOPIC, cells: 240 }), 10_010)
    expect(sendsOf(retry, 'sync').map((x) => (x.msg.type === 'sync' ? x.msg.cells : 0))).toEqual([240])
    expect(sends(p.handle(from(C, { type: 'iwant', topic: TOPIC, ids: [mid(1)] }), 10_020))).toEqual([])
    expect(sends(p.handle(from(C, { type: 'sync', topic: TOPIC, cells: 60, seed: 1, sketch: new Uint8Array(60 * 40) }), 10_030))).toEqual([])
  })

  it('a GRAFT on a topic we hold no state for creates none', () => {
    const p = core([A])
    p.handle(from(A, { type: 'graft', topic: TOPIC2, ids: [] }), 0)
    expect(p.topics()).toEqual([])
  })

  it('an answer to our own GRAFT that crosses a push from the same peer costs it nothing', () => {
    const p = core([A, B], { trustRampMs: 0 })
    p.handle(from(A, gossip(1, 1)), 0)
    p.handle(from(A, gossip(1, 2, 'graft')), 1)
    expect(p.scores.get(A, 1)).toBeGreaterThan(0)
  })

  it('a peer on its starting budget earns no credit for first deliveries and pays −40 per message over budget', () => {
    const lim = { perSecond: 1, burst: 3 }
    const p = core([], { newPeerRateLimit: lim, trustRampMs: 60_000 }) // A is not our neighbour
    for (let i = 0; i < 3; i++) p.handle(from(A, gossip(i, 1)), 0)
    expect(p.scores.get(A, 0)).toBe(0)
    expect(events(p.handle(from(A, gossip(9, 1)), 0))).toEqual([{ type: 'rejected', peer: A, reason: 'rate-limit' }])
    expect(p.scores.get(A, 0)).toBe(-40)
    // Ten over-budget messages graylist it (−400 is the threshold; below it on the eleventh).
    const graylisted = Array.from({ length: 10 }, (_, i) => events(p.handle(from(A, gossip(100 + i, 1)), 0)).some((e) => e.type === 'graylisted'))
    expect(graylisted.indexOf(true)).toBe(9)
  })
})

describe('Plumtree core: anti-entropy', () => {
  /** Routes messages between cores (zero latency) and runs timers in time order. */
  class Net {
    readonly cores = new Map<PeerId, Plumtree<Body>>()
    readonly delivered = new Map<PeerId, Map<MessageId, string>>()
    readonly timers: Array<{ at: number; peer: PeerId; timer: Extract<PubSubInput<Body>, { type: 'timer' }>['timer'] }> = []
    now = 0
    add(id: PeerId, config: Partial<PlumtreeConfig>): Plumtree<Body> {
      const p = new Plumtree<Body>(id, config, createSeededRng(this.cores.size + 1), () => undefined)
      this.cores.set(id, p)
      this.delivered.set(id, new Map())
      return p
    }
    input(to: PeerId, input: PubSubInput<Body>): void {
      const queue: Array<[PeerId, PubSubInput<Body>]> = [[to, input]]
      while (queue.length > 0) {
        const [at, ev] = queue.shift() as [PeerId, PubSubInput<Body>]
        for (const c of this.cores.get(at)?.handle(ev, this.now) ?? []) {
          if (c.type === 'send') queue.push([c.to, { type: 'message', from: at, msg: c.msg }])
          else if (c.type === 'schedule') this.timers.push({ at: this.now + c.after, peer: at, timer: c.timer })
          else if (c.type === 'emit' && c.event.type === 'deliver') this.delivered.get(at)?.set(c.event.id, c.event.via)
        }
      }
    }
    runUntil(t: number): void {
      for (;;) {
        this.timers.sort((x, y) => x.at - y.at)
        const next = this.timers[0]
        if (next === undefined || next.at > t) break
        this.timers.shift()
        this.now = next.at
        this.input(next.peer, { type: 'timer', timer: next.timer })
      }
      this.now = t
    }
  }

  it('two neighbours that missed each other’s messages exchange them at the next round, in sync mode', () => {
    const net = new Net()
    const cfg = { syncSettleMs: 0 }
    net.add(A, cfg)
    net.add(B, cfg)
    // Each publishes while the other is not a neighbour (a partition): nothing crosses.
    for (let i = 0; i < 5; i++) net.input(A, { type: 'publish', topic: TOPIC, id: mid(i), data: { n: i } })
    for (let i = 5; i < 12; i++) net.input(B, { type: 'publish', topic: TOPIC, id: mid(i), data: { n: i } })
    net.input(A, { type: 'neighbor-up', peer: B })
    net.input(B, { type: 'neighbor-up', peer: A })
    net.input(A, { type: 'start' })
    net.input(B, { type: 'start' })
    net.runUntil(C0.antiEntropyIntervalMs + 1)
    expect([...(net.delivered.get(A) ?? new Map()).entries()].sort()).toEqual(Array.from({ length: 7 }, (_, k) => [mid(5 + k), 'sync']))
    expect([...(net.delivered.get(B) ?? new Map()).entries()].sort()).toEqual(Array.from({ length: 5 }, (_, k) => [mid(k), 'sync']))
  })

  it('a difference beyond the smallest sketch escalates to a bigger one and still reconciles', () => {
    const net = new Net()
    const cfg = { syncSettleMs: 0 }
    net.add(A, cfg)
    net.add(B, cfg)
    for (let i = 0; i < 150; i++) net.input(A, { type: 'publish', topic: TOPIC, id: mid(i), data: { n: i } })
    net.input(A, { type: 'neighbor-up', peer: B })
    net.input(B, { type: 'neighbor-up', peer: A })
    net.input(B, { type: 'publish', topic: TOPIC, id: mid(1000), data: { n: 1000 } })
    net.input(A, { type: 'start' })
    net.input(B, { type: 'start' })
    net.runUntil(C0.antiEntropyIntervalMs + 1)
    expect(net.delivered.get(B)?.size).toBe(150)
    expect(net.delivered.get(A)?.get(mid(1000))).toBe('eager')
  })

  it('messages younger than syncSettleMs are left to the tree', () => {
    const net = new Net()
    net.add(A, {})
    net.add(B, {})
    net.input(A, { type: 'start' })
    net.input(B, { type: 'start' })
    net.runUntil(C0.antiEntropyIntervalMs - 1000)
    net.input(A, { type: 'publish', topic: TOPIC, id: mid(1), data: { n: 1 } })
    net.input(A, { type: 'neighbor-up', peer: B })
    net.input(B, { type: 'neighbor-up', peer: A })
    net.runUntil(C0.antiEntropyIntervalMs + 1)
    expect(net.delivered.get(B)?.size).toBe(0)
    net.runUntil(2 * C0.antiEntropyIntervalMs + 1)
    expect(net.delivered.get(B)?.get(mid(1))).toBe('sync')
  })
})
