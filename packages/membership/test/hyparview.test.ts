// HyParView core: each handler is fed one input and its whole output is compared, then a small
// in-test network of 50 cores checks the overlay invariants (symmetric, sized, connected).
import { describe, expect, it } from 'vitest'
import { createSeededRng } from '@saorsa-gossip/types'
import type { PeerId } from '@saorsa-gossip/types'
import { DEFAULT_HYPARVIEW_CONFIG, HyParView } from '../src/proto/hyparview.js'
import type { HyParViewCommand, HyParViewConfig, HyParViewInput, HyParViewMessage, HyParViewTimer } from '../src/proto/hyparview.js'
import type { PeerInfo } from '../src/proto/types.js'

const peer = (n: number): PeerInfo => ({ id: n.toString(16).padStart(64, '0') as PeerId, addrs: [`mem://${n}`] })
const ME = peer(0)
const P = Array.from({ length: 16 }, (_, i) => peer(i))

const msg = (from: PeerInfo, m: HyParViewMessage): HyParViewInput => ({ type: 'message', from, msg: m })
const timer = (t: HyParViewTimer): HyParViewInput => ({ type: 'timer', timer: t })
const send = (to: PeerInfo, m: HyParViewMessage): HyParViewCommand => ({ type: 'send', to, msg: m })
const up = (p: PeerInfo): HyParViewCommand => ({ type: 'emit', event: { type: 'neighbor:up', peer: p } })
const down = (p: PeerInfo): HyParViewCommand => ({ type: 'emit', event: { type: 'neighbor:down', peer: p.id } })
const close = (p: PeerInfo): HyParViewCommand => ({ type: 'disconnect', peer: p.id })
const schedule = (after: number, t: HyParViewTimer): HyParViewCommand => ({ type: 'schedule', after, timer: t })
const neighbor = (priority: 'high' | 'low'): HyParViewMessage => ({ type: 'neighbor', priority })
const reply = (accepted: boolean): HyParViewMessage => ({ type: 'neighbor-reply', accepted })
const disconnect = (alive: boolean): HyParViewMessage => ({ type: 'disconnect', alive })
const ids = (ps: readonly PeerInfo[]): PeerId[] => ps.map((p) => p.id)
const D = DEFAULT_HYPARVIEW_CONFIG

/** A core at ME with the given active view (made through accepted high NEIGHBORs) and passive view (as known peers). */
function core(opts: { active?: number[]; passive?: number[]; config?: Partial<HyParViewConfig>; seed?: number } = {}): HyParView {
  const hv = new HyParView(ME, opts.config ?? {}, createSeededRng(opts.seed ?? 1), (opts.passive ?? []).map(peer))
  for (const a of opts.active ?? []) hv.handle(msg(peer(a), neighbor('high')), 0)
  return hv
}

/** The one element of `out` matching `pred` (fails otherwise), to learn which random choice was made. */
function only<T>(xs: readonly T[], pred: (x: T) => boolean): T {
  const found = xs.filter(pred)
  expect(found).toHaveLength(1)
  return found[0] as T
}

const sentTo = (c: HyParViewCommand): PeerInfo | undefined => (c.type === 'send' ? c.to : undefined)

describe('HyParView driver inputs', () => {
  it('start schedules the first shuffle and repair timers, once', () => {
    const hv = core()
    expect(hv.handle({ type: 'start' }, 0)).toEqual([
      schedule(D.shuffleIntervalMs, { type: 'shuffle', round: 0 }),
      schedule(D.repairIntervalMs, { type: 'repair', round: 0 })
    ])
    expect(hv.handle({ type: 'start' }, 1)).toEqual([])
  })

  it('join sends JOIN to the contact and remembers it as passive', () => {
    const hv = core()
    expect(hv.handle({ type: 'join', contact: P[1]! }, 0)).toEqual([send(P[1]!, { type: 'join' })])
    expect(ids(hv.passiveView())).toEqual([P[1]!.id])
    expect(hv.handle({ type: 'join', contact: ME }, 0)).toEqual([])
  })

  it('link-down is no verdict', () => {
    const hv = core({ active: [1, 2] })
    expect(hv.handle({ type: 'link-down', peer: P[1]!.id }, 0)).toEqual([])
    expect(hv.isActive(P[1]!.id)).toBe(true)
  })

  it('rejects invalid config', () => {
    expect(() => new HyParView(ME, { activeViewMax: 4, activeViewSize: 5 }, createSeededRng(1))).toThrow(RangeError)
    expect(() => new HyParView(ME, { passiveRandomWalkLength: 7 }, createSeededRng(1))).toThrow(RangeError)
    expect(() => new HyParView(ME, { shuffleIntervalMs: 1.5 }, createSeededRng(1))).toThrow(RangeError)
    expect(() => new HyParView({ id: 'nope' as PeerId, addrs: [] }, {}, createSeededRng(1))).toThrow(TypeError)
  })
})

describe('onJoin', () => {
  it('with room: adds the joiner, NEIGHBOR high to it, FORWARD_JOIN(ARWL) to every other neighbour', () => {
    const hv = core({ active: [1, 2] })
    expect(hv.handle(msg(P[3]!, { type: 'join' }), 0)).toEqual([
      up(P[3]!),
      send(P[3]!, neighbor('high')),
      send(P[1]!, { type: 'forward-join', node: P[3]!, ttl: 6 }),
      send(P[2]!, { type: 'forward-join', node: P[3]!, ttl: 6 })
    ])
    expect(ids(hv.activeView())).toEqual(ids([P[1]!, P[2]!, P[3]!]))
  })

  it('with a full view: drops a random neighbour (DISCONNECT, to passive) and still adds the joiner', () => {
    const hv = core({ active: [1, 2, 3], config: { activeViewSize: 2, activeViewMax: 3 } })
    const out = hv.handle(msg(P[4]!, { type: 'join' }), 0)
    const victim = only(out, (c) => c.type === 'send' && c.msg.type === 'disconnect')
    const v = sentTo(victim)!
    const rest = [P[1]!, P[2]!, P[3]!].filter((p) => p.id !== v.id)
    expect(out).toEqual([
      down(v),
      send(v, disconnect(true)),
      close(v),
      up(P[4]!),
      send(P[4]!, neighbor('high')),
      ...rest.map((p) => send(p, { type: 'forward-join', node: P[4]!, ttl: 6 }))
    ])
    expect(ids(hv.activeView())).toEqual(ids([...rest, P[4]!]))
    expect(ids(hv.passiveView())).toEqual([v.id])
  })
})

describe('onJoin from a neighbour we still hold (it restarted)', () => {
  it('answers with NEIGHBOR high and forwards again, without a second neighbor:up', () => {
    const hv = core({ active: [1, 2] })
    expect(hv.handle(msg(P[2]!, { type: 'join' }), 0)).toEqual([
      send(P[2]!, neighbor('high')),
      send(P[1]!, { type: 'forward-join', node: P[2]!, ttl: 6 })
    ])
  })
})

describe('onForwardJoin', () => {
  it('ttl 0: adds the node and sends it NEIGHBOR high', () => {
    const hv = core({ active: [1, 2, 3] })
    expect(hv.handle(msg(P[1]!, { type: 'forward-join', node: P[5]!, ttl: 0 }), 0)).toEqual([up(P[5]!), send(P[5]!, neighbor('high'))])
    expect(hv.isActive(P[5]!.id)).toBe(true)
  })

  it('a one-member active view adds the node whatever the ttl', () => {
    const hv = core({ active: [1] })
    expect(hv.handle(msg(P[1]!, { type: 'forward-join', node: P[5]!, ttl: 4 }), 0)).toEqual([up(P[5]!), send(P[5]!, neighbor('high'))])
  })

  it('ttl = PRWL: adds the node to the passive view and forwards with ttl - 1 to a neighbour other than the sender', () => {
    const hv = core({ active: [1, 2, 3] })
    const out = hv.handle(msg(P[1]!, { type: 'forward-join', node: P[5]!, ttl: 3 }), 0)
    const next = sentTo(only(out, () => true))!
    expect([P[2]!.id, P[3]!.id]).toContain(next.id)
    expect(out).toEqual([send(next, { type: 'forward-join', node: P[5]!, ttl: 2 })])
    expect(ids(hv.passiveView())).toEqual([P[5]!.id])
  })

  it('in between: only forwards', () => {
    const hv = core({ active: [1, 2, 3] })
    const out = hv.handle(msg(P[2]!, { type: 'forward-join', node: P[5]!, ttl: 5 }), 0)
    const next = sentTo(only(out, () => true))!
    expect([P[1]!.id, P[3]!.id]).toContain(next.id)
    expect(out).toEqual([send(next, { type: 'forward-join', node: P[5]!, ttl: 4 })])
    expect(hv.passiveView()).toEqual([])
  })

  it('a node we already hold ends the walk at ttl 0 and is not forwarded to itself', () => {
    const hv = core({ active: [1, 5] })
    expect(hv.handle(msg(P[1]!, { type: 'forward-join', node: P[5]!, ttl: 0 }), 0)).toEqual([])
    // Active = {sender, node}: nobody else to forward to, and the node is already a neighbour.
    expect(hv.handle(msg(P[1]!, { type: 'forward-join', node: P[5]!, ttl: 4 }), 0)).toEqual([])
  })
})

describe('onNeighbor', () => {
  it('high with room: accepted', () => {
    const hv = core({ active: [1] })
    expect(hv.handle(msg(P[2]!, neighbor('high')), 0)).toEqual([up(P[2]!), send(P[2]!, reply(true))])
  })

  it('high with a full view: drops a random neighbour and accepts', () => {
    const hv = core({ active: [1, 2, 3], config: { activeViewSize: 2, activeViewMax: 3 } })
    const out = hv.handle(msg(P[4]!, neighbor('high')), 0)
    const v = sentTo(only(out, (c) => c.type === 'send' && c.msg.type === 'disconnect'))!
    expect(out).toEqual([down(v), send(v, disconnect(true)), close(v), up(P[4]!), send(P[4]!, reply(true))])
    expect(hv.activeView()).toHaveLength(3)
    expect(ids(hv.passiveView())).toEqual([v.id])
  })

  it('low is accepted above the target while below the max', () => {
    const hv = core({ active: [1, 2, 3], config: { activeViewSize: 3, activeViewMax: 4 } })
    expect(hv.handle(msg(P[4]!, neighbor('low')), 0)).toEqual([up(P[4]!), send(P[4]!, reply(true))])
  })

  it('low at the max but above the target is accepted by dropping a random neighbour to passive', () => {
    const hv = core({ active: [1, 2, 3, 4], config: { activeViewSize: 3, activeViewMax: 4 } })
    const out = hv.handle(msg(P[5]!, neighbor('low')), 0)
    const victim = out.find((c) => c.type === 'emit' && c.event.type === 'neighbor:down')
    const vid = victim !== undefined && victim.type === 'emit' && victim.event.type === 'neighbor:down' ? victim.event.peer : undefined
    const v = P.find((p) => p?.id === vid)!
    expect([1, 2, 3, 4].map((i) => P[i]!.id)).toContain(v.id)
    expect(out).toEqual([down(v), send(v, disconnect(true)), close(v), up(P[5]!), send(P[5]!, reply(true))])
    expect(hv.activeView()).toHaveLength(4)
    expect(ids(hv.passiveView())).toEqual([v.id])
  })

  it('low when the view is at a max equal to the target is refused; the requester is kept as passive', () => {
    const hv = core({ active: [1, 2, 3, 4], config: { activeViewSize: 4, activeViewMax: 4 } })
    expect(hv.handle(msg(P[5]!, neighbor('low')), 0)).toEqual([send(P[5]!, reply(false)), close(P[5]!)])
    expect(hv.isActive(P[5]!.id)).toBe(false)
    expect(ids(hv.passiveView())).toEqual([P[5]!.id])
  })

  it('from a neighbour we already hold: accepted again, no second neighbor:up', () => {
    const hv = core({ active: [1] })
    expect(hv.handle(msg(P[1]!, neighbor('low')), 0)).toEqual([send(P[1]!, reply(true))])
  })
})

describe('repair, onNeighborReply and neighbor timeouts', () => {
  const cfg: Partial<HyParViewConfig> = { activeViewSize: 2, activeViewMax: 3 }
  const timeout = (p: PeerInfo, attempt: number): HyParViewCommand => schedule(D.neighborRequestTimeoutMs, { type: 'neighbor-timeout', peer: p.id, attempt })

  it('repair with an empty view asks one passive peer at high priority, the rest low', () => {
    const hv = core({ passive: [7, 8, 9], config: cfg })
    hv.handle({ type: 'start' }, 0)
    const out = hv.handle(timer({ type: 'repair', round: 0 }), 5_000)
    const asked = out.filter((c) => c.type === 'send').map((c) => sentTo(c)!)
    expect(asked).toHaveLength(2)
    expect(out).toEqual([
      send(asked[0]!, neighbor('high')),
      timeout(asked[0]!, 1),
      send(asked[1]!, neighbor('low')),
      timeout(asked[1]!, 2),
      schedule(D.repairIntervalMs, { type: 'repair', round: 1 })
    ])
    // Both requests are outstanding: the next repair round asks nobody else.
    expect(hv.handle(timer({ type: 'repair', round: 1 }), 10_000)).toEqual([schedule(D.repairIntervalMs, { type: 'repair', round: 2 })])
    // A stale or duplicated repair timer does nothing.
    expect(hv.handle(timer({ type: 'repair', round: 1 }), 10_000)).toEqual([])
  })

  it('accepted reply: the peer moves from passive to active', () => {
    const hv = core({ active: [1], passive: [7], config: cfg })
    expect(hv.handle(timer({ type: 'repair', round: 0 }), 0)).toEqual([
      send(P[7]!, neighbor('low')),
      timeout(P[7]!, 1),
      schedule(D.repairIntervalMs, { type: 'repair', round: 1 })
    ])
    expect(hv.handle(msg(P[7]!, reply(true)), 1)).toEqual([up(P[7]!)])
    expect(ids(hv.activeView())).toEqual(ids([P[1]!, P[7]!]))
    expect(hv.passiveView()).toEqual([])
    // Its timeout is now stale.
    expect(hv.handle(timer({ type: 'neighbor-timeout', peer: P[7]!.id, attempt: 1 }), 5_000)).toEqual([])
  })

  it('rejected reply: keeps the peer as passive, closes the link, asks another passive peer', () => {
    const hv = core({ active: [1], passive: [7, 8], config: cfg })
    const first = sentTo(hv.handle(timer({ type: 'repair', round: 0 }), 0)[0]!)!
    const other = first.id === P[7]!.id ? P[8]! : P[7]!
    expect(hv.handle(msg(first, reply(false)), 1)).toEqual([close(first), send(other, neighbor('low')), timeout(other, 2)])
    expect(ids(hv.passiveView()).sort()).toEqual([P[7]!.id, P[8]!.id].sort())
  })

  it('when every passive peer refused, waits for the next repair tick instead of asking them again', () => {
    const hv = core({ active: [1], passive: [7, 8], config: cfg })
    const first = sentTo(hv.handle(timer({ type: 'repair', round: 0 }), 0)[0]!)!
    const other = first.id === P[7]!.id ? P[8]! : P[7]!
    hv.handle(msg(first, reply(false)), 1)
    expect(hv.handle(msg(other, reply(false)), 2)).toEqual([close(other)])
    const out = hv.handle(timer({ type: 'repair', round: 1 }), 5_000)
    const again = sentTo(out[0]!)!
    expect(out).toEqual([send(again, neighbor('low')), timeout(again, 3), schedule(D.repairIntervalMs, { type: 'repair', round: 2 })])
  })

  it('an acceptance we did not ask for (late, after a timeout) is undone with DISCONNECT', () => {
    const hv = core({ active: [1], passive: [7], config: cfg })
    hv.handle(timer({ type: 'repair', round: 0 }), 0)
    expect(hv.handle(timer({ type: 'neighbor-timeout', peer: P[7]!.id, attempt: 1 }), 5_000)).toEqual([close(P[7]!)])
    expect(hv.passiveView()).toEqual([]) // a failed connection removes q from the passive view
    expect(hv.handle(msg(P[7]!, reply(true)), 5_001)).toEqual([send(P[7]!, disconnect(true)), close(P[7]!)])
    expect(hv.handle(msg(P[9]!, reply(false)), 5_002)).toEqual([])
  })

  it('an acceptance arriving when the view has meanwhile reached the max is undone', () => {
    const hv = core({ active: [1], passive: [7], config: cfg })
    hv.handle(timer({ type: 'repair', round: 0 }), 0)
    hv.handle(msg(P[2]!, neighbor('low')), 1)
    hv.handle(msg(P[3]!, neighbor('low')), 2)
    expect(hv.activeView()).toHaveLength(3)
    expect(hv.handle(msg(P[7]!, reply(true)), 3)).toEqual([send(P[7]!, disconnect(true)), close(P[7]!)])
    expect(hv.activeView()).toHaveLength(3)
    expect(ids(hv.passiveView())).toEqual([P[7]!.id])
  })

  it('neighbor timeout: drops the peer from the passive view and tries another; stale timers ignored', () => {
    const hv = core({ active: [1], passive: [7, 8], config: cfg })
    const first = sentTo(hv.handle(timer({ type: 'repair', round: 0 }), 0)[0]!)!
    const other = first.id === P[7]!.id ? P[8]! : P[7]!
    expect(hv.handle(timer({ type: 'neighbor-timeout', peer: first.id, attempt: 99 }), 1)).toEqual([])
    expect(hv.handle(timer({ type: 'neighbor-timeout', peer: first.id, attempt: 1 }), 5_000)).toEqual([
      close(first),
      send(other, neighbor('low')),
      timeout(other, 2)
    ])
    expect(ids(hv.passiveView())).toEqual([other.id])
    expect(hv.handle(timer({ type: 'neighbor-timeout', peer: first.id, attempt: 1 }), 5_000)).toEqual([])
  })

  it('send-failed to a peer we asked: rejection and removal from the passive view', () => {
    const hv = core({ active: [1], passive: [7, 8], config: cfg })
    const first = sentTo(hv.handle(timer({ type: 'repair', round: 0 }), 0)[0]!)!
    const other = first.id === P[7]!.id ? P[8]! : P[7]!
    expect(hv.handle({ type: 'send-failed', peer: first.id }, 1)).toEqual([send(other, neighbor('low')), timeout(other, 2)])
    expect(ids(hv.passiveView())).toEqual([other.id])
  })
})

describe('onDisconnect', () => {
  it('alive: removes the sender, keeps it as passive, refills from another passive peer', () => {
    const hv = core({ active: [1, 2], passive: [9], config: { activeViewSize: 2 } })
    expect(hv.handle(msg(P[1]!, disconnect(true)), 0)).toEqual([
      down(P[1]!),
      close(P[1]!),
      send(P[9]!, neighbor('low')),
      schedule(D.neighborRequestTimeoutMs, { type: 'neighbor-timeout', peer: P[9]!.id, attempt: 1 })
    ])
    expect(ids(hv.activeView())).toEqual([P[2]!.id])
    expect(ids(hv.passiveView())).toEqual([P[9]!.id, P[1]!.id])
  })

  it('dead: removes the sender from both views', () => {
    const hv = core({ active: [1, 2], config: { activeViewSize: 2 } })
    expect(hv.handle(msg(P[1]!, disconnect(false)), 0)).toEqual([down(P[1]!), close(P[1]!)])
    expect(ids(hv.activeView())).toEqual([P[2]!.id])
    expect(hv.passiveView()).toEqual([])
  })

  it('from a non-neighbour: alive is ignored, dead forgets it', () => {
    const hv = core({ active: [1], passive: [5] })
    expect(hv.handle(msg(P[5]!, disconnect(true)), 0)).toEqual([])
    expect(ids(hv.passiveView())).toEqual([P[5]!.id])
    expect(hv.handle(msg(P[5]!, disconnect(false)), 0)).toEqual([])
    expect(hv.passiveView()).toEqual([])
  })
})

describe('peer-failed and send-failed to a neighbour', () => {
  const cfg: Partial<HyParViewConfig> = { activeViewSize: 2 }

  it('peer-failed: removes the peer (DISCONNECT in case the verdict is wrong) and promotes a passive peer', () => {
    const hv = core({ active: [1, 2], passive: [5], config: cfg })
    expect(hv.handle({ type: 'peer-failed', peer: P[1]!.id }, 0)).toEqual([
      down(P[1]!),
      send(P[1]!, disconnect(true)),
      close(P[1]!),
      send(P[5]!, neighbor('low')),
      schedule(D.neighborRequestTimeoutMs, { type: 'neighbor-timeout', peer: P[5]!.id, attempt: 1 })
    ])
    expect(hv.isActive(P[1]!.id)).toBe(false)
    expect(ids(hv.passiveView())).toEqual([P[5]!.id])
  })

  it('the last neighbour failing makes the promotion high priority', () => {
    const hv = core({ active: [1], passive: [5], config: cfg })
    expect(hv.handle({ type: 'peer-failed', peer: P[1]!.id }, 0)).toEqual([
      down(P[1]!),
      send(P[1]!, disconnect(true)),
      close(P[1]!),
      send(P[5]!, neighbor('high')),
      schedule(D.neighborRequestTimeoutMs, { type: 'neighbor-timeout', peer: P[5]!.id, attempt: 1 })
    ])
  })

  it('a failed peer is not re-learnt second hand until it contacts us again', () => {
    const hv = core({ active: [1, 2, 3], config: { activeViewSize: 1 } })
    hv.handle({ type: 'peer-failed', peer: P[3]!.id }, 0)
    hv.handle(msg(P[1]!, { type: 'forward-join', node: P[3]!, ttl: 3 }), 1) // PRWL: would go to passive
    expect(hv.passiveView()).toEqual([])
    hv.handle(msg(P[3]!, disconnect(true)), 2) // it talks to us: alive again
    hv.handle(msg(P[1]!, { type: 'forward-join', node: P[3]!, ttl: 3 }), 3)
    expect(ids(hv.passiveView())).toEqual([P[3]!.id])
  })

  it('send-failed to a neighbour: dropped like a failure, without a DISCONNECT that cannot arrive', () => {
    const hv = core({ active: [1, 2], passive: [5], config: cfg })
    expect(hv.handle({ type: 'send-failed', peer: P[1]!.id }, 0)).toEqual([
      down(P[1]!),
      close(P[1]!),
      send(P[5]!, neighbor('low')),
      schedule(D.neighborRequestTimeoutMs, { type: 'neighbor-timeout', peer: P[5]!.id, attempt: 1 })
    ])
  })

  it('send-failed to a passive peer forgets it', () => {
    const hv = core({ active: [1], passive: [5] })
    expect(hv.handle({ type: 'send-failed', peer: P[5]!.id }, 0)).toEqual([])
    expect(hv.passiveView()).toEqual([])
  })
})

describe('shuffle', () => {
  const cfg: Partial<HyParViewConfig> = { activeViewSize: 2, passiveViewSize: 4, shuffleActiveCount: 1, shufflePassiveCount: 2 }

  it('timer: sends itself, ka active and kp passive samples to a random neighbour with ttl SRWL; stale rounds ignored', () => {
    const hv = core({ active: [1, 2], passive: [5, 6, 7], config: cfg })
    hv.handle({ type: 'start' }, 0)
    const out = hv.handle(timer({ type: 'shuffle', round: 0 }), 30_000)
    const first = out[0]!
    if (first.type !== 'send' || first.msg.type !== 'shuffle') throw new Error('expected a shuffle first')
    const target = first.to
    const other = target.id === P[1]!.id ? P[2]! : P[1]!
    const pas = first.msg.nodes.slice(1, 3)
    expect(ids(pas).every((id) => [P[5]!.id, P[6]!.id, P[7]!.id].includes(id))).toBe(true)
    expect(new Set(ids(pas)).size).toBe(2)
    expect(out).toEqual([
      send(target, { type: 'shuffle', origin: ME, nodes: [other, ...pas, ME], ttl: 6 }),
      schedule(D.shuffleIntervalMs, { type: 'shuffle', round: 1 })
    ])
    expect(hv.handle(timer({ type: 'shuffle', round: 0 }), 30_000)).toEqual([])
  })

  it('timer with no neighbours: only reschedules', () => {
    const hv = core({ passive: [5], config: cfg })
    expect(hv.handle(timer({ type: 'shuffle', round: 0 }), 0)).toEqual([schedule(D.shuffleIntervalMs, { type: 'shuffle', round: 1 })])
  })

  it('walk: decrements the ttl and forwards to a neighbour other than the sender and the origin', () => {
    const hv = core({ active: [1, 2, 3, 9], config: cfg })
    const nodes = [P[9]!, P[10]!]
    const out = hv.handle(msg(P[1]!, { type: 'shuffle', origin: P[9]!, nodes, ttl: 4 }), 0)
    const next = sentTo(only(out, () => true))!
    expect([P[2]!.id, P[3]!.id]).toContain(next.id)
    expect(out).toEqual([send(next, { type: 'shuffle', origin: P[9]!, nodes, ttl: 3 })])
  })

  it('end of the walk: replies with as many passive samples, integrates, evicting the ones it sent first', () => {
    const hv = core({ active: [1, 2], passive: [5, 6, 7], config: cfg })
    // Our own id in the list is legitimate (the origin sampled us from its active view) and not counted.
    const out = hv.handle(msg(P[1]!, { type: 'shuffle', origin: P[9]!, nodes: [P[10]!, ME, P[9]!], ttl: 1 }), 0)
    const first = out[0]!
    if (first.type !== 'send' || first.msg.type !== 'shuffle-reply') throw new Error('expected a shuffle reply')
    const sent = first.msg.nodes
    expect(sent).toHaveLength(2)
    expect(out).toEqual([send(P[9]!, { type: 'shuffle-reply', nodes: sent }), close(P[9]!)])
    const kept = [P[5]!, P[6]!, P[7]!].filter((p) => !ids(sent).includes(p.id))
    expect(kept).toHaveLength(1)
    // 10 fits (3 → 4); 9 evicts one of the two we sent, never the one we kept.
    const passive = ids(hv.passiveView())
    expect(passive).toHaveLength(4)
    expect(passive).toContain(kept[0]!.id)
    expect(passive).toContain(P[9]!.id)
    expect(passive).toContain(P[10]!.id)
    expect(passive.filter((id) => ids(sent).includes(id))).toHaveLength(1)
  })

  it('a view of one neighbour ends the walk early; the reply is topped up from the active view', () => {
    const hv = core({ active: [1], config: cfg })
    const out = hv.handle(msg(P[1]!, { type: 'shuffle', origin: P[9]!, nodes: [P[9]!], ttl: 6 }), 0)
    expect(out).toEqual([send(P[9]!, { type: 'shuffle-reply', nodes: [P[1]!] }), close(P[9]!)])
    expect(ids(hv.passiveView())).toEqual([P[9]!.id])
  })

  it('reply: integrated at the origin evicting the entries it sent; unsolicited replies ignored', () => {
    const hv = core({ active: [1, 2], passive: [5, 6, 7, 8], config: cfg })
    const out = hv.handle(timer({ type: 'shuffle', round: 0 }), 0)
    const first = out[0]!
    if (first.type !== 'send' || first.msg.type !== 'shuffle') throw new Error('expected a shuffle')
    const sentPassive = ids(first.msg.nodes.slice(1, 3))
    const unsent = ids([P[5]!, P[6]!, P[7]!, P[8]!]).filter((id) => !sentPassive.includes(id))
    expect(hv.handle(msg(P[3]!, { type: 'shuffle-reply', nodes: [P[11]!, P[12]!] }), 1)).toEqual([])
    expect(ids(hv.passiveView()).sort()).toEqual([...unsent, P[11]!.id, P[12]!.id].sort())
    const before = hv.passiveView()
    expect(hv.handle(msg(P[3]!, { type: 'shuffle-reply', nodes: [P[13]!] }), 2)).toEqual([])
    expect(hv.passiveView()).toEqual(before)
  })
})

describe('partition healing (heal probes)', () => {
  const cfg: Partial<HyParViewConfig> = { activeViewSize: 2, activeViewMax: 3, passiveViewSize: 4, healRounds: 2 }
  const probes = (out: HyParViewCommand[]): PeerId[] =>
    out.flatMap((c) => (c.type === 'send' && c.msg.type === 'neighbor' && c.msg.priority === 'low' ? [c.to.id] : []))

  it('a peer declared failed is asked to be a neighbour again at the next shuffle round; an acceptance is taken even at the max', () => {
    const hv = core({ active: [1, 2, 3], config: cfg })
    hv.handle({ type: 'start' }, 0)
    hv.handle({ type: 'peer-failed', peer: P[1]!.id }, 0)
    hv.handle(msg(P[4]!, neighbor('high')), 0) // back at the max (3)
    const out = hv.handle(timer({ type: 'shuffle', round: 0 }), 30_000)
    expect(probes(out)).toEqual([P[1]!.id])
    const accepted = hv.handle(msg(P[1]!, reply(true)), 30_100)
    expect(ids(hv.activeView())).toContain(P[1]!.id)
    expect(hv.activeView()).toHaveLength(3) // a spare neighbour was shed for it
    expect(accepted.some((c) => c.type === 'emit' && c.event.type === 'neighbor:up' && c.event.peer.id === P[1]!.id)).toBe(true)
    // Healed: no more probes.
    expect(probes(hv.handle(timer({ type: 'shuffle', round: 1 }), 60_000))).toEqual([])
  })

  it('an unanswered probe leaves the peer gone and it is probed again later, for healRounds rounds only', () => {
    const hv = core({ active: [1, 2], config: cfg })
    hv.handle({ type: 'start' }, 0)
    hv.handle({ type: 'peer-failed', peer: P[1]!.id }, 0)
    const first = hv.handle(timer({ type: 'shuffle', round: 0 }), 30_000)
    expect(probes(first)).toEqual([P[1]!.id])
    const t = first.find((c) => c.type === 'schedule' && c.timer.type === 'neighbor-timeout')
    if (t === undefined || t.type !== 'schedule') throw new Error('expected a neighbor-timeout')
    expect(hv.handle(timer(t.timer), 35_000)).toEqual([close(P[1]!)])
    expect(probes(hv.handle(timer({ type: 'shuffle', round: 1 }), 60_000))).toEqual([P[1]!.id])
    expect(probes(hv.handle(timer({ type: 'shuffle', round: 2 }), 90_000))).toEqual([]) // pending still
    hv.handle(msg(P[1]!, reply(false)), 90_001)
    expect(probes(hv.handle(timer({ type: 'shuffle', round: 3 }), 120_000))).toEqual([]) // beyond healRounds
  })

  it('a peer that left cleanly (DISCONNECT alive = false) is never probed', () => {
    const hv = core({ active: [1, 2], config: cfg })
    hv.handle({ type: 'start' }, 0)
    hv.handle(msg(P[1]!, disconnect(false)), 0)
    expect(probes(hv.handle(timer({ type: 'shuffle', round: 0 }), 30_000))).toEqual([])
  })
})

describe('untrusted input', () => {
  it('malformed messages are ignored without throwing and without changing state', () => {
    const hv = core({ active: [1, 2, 3], passive: [5], config: { activeViewSize: 3, shuffleActiveCount: 1, shufflePassiveCount: 1 } })
    hv.handle(timer({ type: 'shuffle', round: 0 }), 0) // so a shuffle reply would be expected
    const bad = (x: unknown): HyParViewMessage => x as HyParViewMessage
    const garbage: HyParViewMessage[] = [
      bad({ type: 'forward-join', node: P[6]!, ttl: 7 }), // ttl above ARWL
      bad({ type: 'forward-join', node: P[6]!, ttl: -1 }),
      bad({ type: 'forward-join', node: P[6]!, ttl: 1.5 }),
      bad({ type: 'forward-join', node: P[6]!, ttl: '0' }),
      bad({ type: 'forward-join', ttl: 0 }),
      bad({ type: 'forward-join', node: { id: 'xyz', addrs: [] }, ttl: 0 }),
      bad({ type: 'forward-join', node: { id: P[6]!.id, addrs: 'mem://6' }, ttl: 0 }),
      bad({ type: 'forward-join', node: { id: P[6]!.id, addrs: Array(17).fill('a') }, ttl: 0 }),
      bad({ type: 'forward-join', node: ME, ttl: 0 }), // ourselves
      bad({ type: 'forward-join', node: P[1]!, ttl: 0 }), // the sender about itself
      bad({ type: 'neighbor', priority: 'urgent' }),
      bad({ type: 'neighbor' }),
      bad({ type: 'neighbor-reply', accepted: 'yes' }),
      bad({ type: 'disconnect' }),
      bad({ type: 'shuffle', origin: P[9]!, nodes: [P[6]!, P[7]!, P[8]!, P[9]!], ttl: 0 }), // longer than ka + kp + 1
      bad({ type: 'shuffle', origin: P[9]!, nodes: 'many', ttl: 0 }),
      bad({ type: 'shuffle', origin: P[9]!, nodes: [42], ttl: 0 }),
      bad({ type: 'shuffle', origin: ME, nodes: [], ttl: 0 }),
      bad({ type: 'shuffle', origin: P[9]!, nodes: [], ttl: 99 }),
      bad({ type: 'shuffle', nodes: [], ttl: 0 }),
      bad({ type: 'shuffle-reply', nodes: [P[6]!, P[7]!, P[8]!, P[9]!] }), // too long
      bad({ type: 'shuffle-reply', nodes: [null] }),
      bad({ type: 'shuffle-reply' }),
      bad({ type: 'launch-missiles' }),
      bad(null),
      bad(42)
    ]
    const active = hv.activeView()
    const passive = hv.passiveView()
    for (const m of garbage) {
      expect(hv.handle(msg(P[2]!, m), 1)).toEqual([])
    }
    // A message claiming to come from ourselves, and inputs naming nonsense peers.
    expect(hv.handle(msg(ME, { type: 'join' }), 1)).toEqual([])
    expect(hv.handle(msg({ id: 'bad' as PeerId, addrs: [] }, { type: 'join' }), 1)).toEqual([])
    expect(hv.handle({ type: 'peer-failed', peer: 'bad' as PeerId }, 1)).toEqual([])
    expect(hv.handle({ type: 'peer-failed', peer: ME.id }, 1)).toEqual([])
    expect(hv.handle({ type: 'join', contact: { id: 'bad' as PeerId, addrs: [] } }, 1)).toEqual([])
    expect(hv.activeView()).toEqual(active)
    expect(hv.passiveView()).toEqual(passive)
  })

  it('duplicates and our own id inside a shuffle list are skipped, not counted', () => {
    const hv = core({ active: [1], config: { passiveViewSize: 8 } })
    const out = hv.handle(msg(P[1]!, { type: 'shuffle', origin: P[9]!, nodes: [P[9]!, P[10]!, P[10]!, ME, P[9]!], ttl: 0 }), 0)
    expect(out).toEqual([send(P[9]!, { type: 'shuffle-reply', nodes: [P[1]!] }), close(P[9]!)])
    expect(ids(hv.passiveView())).toEqual([P[9]!.id, P[10]!.id])
  })
})

// ——— a small network: instant, in-order delivery between cores; timers on a virtual clock ———

interface Net {
  readonly infos: PeerInfo[]
  readonly cores: HyParView[]
  readonly alive: boolean[]
  readonly ups: Array<Set<PeerId>>
  readonly errors: string[]
  now: number
  input(i: number, ev: HyParViewInput): void
  runUntil(t: number): void
}

function network(n: number, seed: number, config: Partial<HyParViewConfig> = {}): Net {
  const infos = Array.from({ length: n }, (_, i) => peer(0x1000 + i))
  const index = new Map(infos.map((p, i) => [p.id, i]))
  const cores = infos.map((p, i) => new HyParView(p, config, createSeededRng(seed * 7919 + i)))
  const alive = infos.map(() => true)
  const ups = infos.map(() => new Set<PeerId>())
  const errors: string[] = []
  const queue: Array<{ to: number; ev: HyParViewInput }> = []
  let timers: Array<{ at: number; seq: number; node: number; timer: HyParViewTimer }> = []
  let seq = 0
  const net: Net = {
    infos,
    cores,
    alive,
    ups,
    errors,
    now: 0,
    input(i, ev) {
      queue.push({ to: i, ev })
      drain()
    },
    runUntil(t) {
      for (;;) {
        const next = timers[0]
        if (next === undefined || next.at > t) break
        timers = timers.slice(1)
        net.now = next.at
        if (alive[next.node]) queue.push({ to: next.node, ev: { type: 'timer', timer: next.timer } })
        drain()
      }
      net.now = t
    }
  }
  function apply(i: number, cmds: HyParViewCommand[]): void {
    for (const c of cmds) {
      if (c.type === 'send') {
        const j = index.get(c.to.id)
        if (j === undefined || !alive[j]) queue.push({ to: i, ev: { type: 'send-failed', peer: c.to.id } })
        else queue.push({ to: j, ev: { type: 'message', from: infos[i]!, msg: c.msg } })
      } else if (c.type === 'schedule') {
        const entry = { at: net.now + c.after, seq: seq++, node: i, timer: c.timer }
        const k = timers.findIndex((x) => x.at > entry.at)
        if (k < 0) timers.push(entry)
        else timers.splice(k, 0, entry)
      } else if (c.type === 'emit') {
        const e = c.event
        if (e.type === 'neighbor:up') {
          if (ups[i]!.has(e.peer.id)) errors.push(`node ${i}: neighbor:up twice for ${e.peer.id}`)
          ups[i]!.add(e.peer.id)
        } else if (e.type === 'neighbor:down') {
          if (!ups[i]!.delete(e.peer)) errors.push(`node ${i}: neighbor:down without up for ${e.peer}`)
        }
      }
    }
  }
  function drain(): void {
    let steps = 0
    while (queue.length > 0) {
      if (++steps > 1_000_000) throw new Error('message storm')
      const d = queue.shift()!
      if (alive[d.to]) apply(d.to, cores[d.to]!.handle(d.ev, net.now))
    }
  }
  return net
}

/** Invariant violations over the live cores; empty when the overlay is healthy. */
function check(net: Net, cfg: HyParViewConfig): string[] {
  const v = [...net.errors]
  const live = net.cores.map((_, i) => i).filter((i) => net.alive[i])
  const index = new Map(net.infos.map((p, i) => [p.id, i]))
  for (const i of live) {
    const c = net.cores[i]!
    const act = ids(c.activeView())
    const pas = ids(c.passiveView())
    if (act.length < cfg.activeViewSize || act.length > cfg.activeViewMax) v.push(`node ${i}: active view size ${act.length}`)
    if (pas.length > cfg.passiveViewSize) v.push(`node ${i}: passive view size ${pas.length}`)
    if (act.includes(net.infos[i]!.id) || pas.includes(net.infos[i]!.id)) v.push(`node ${i}: itself in a view`)
    if (pas.some((id) => act.includes(id))) v.push(`node ${i}: a peer both active and passive`)
    if ([...net.ups[i]!].sort().join() !== [...act].sort().join()) v.push(`node ${i}: up/down events disagree with the view`)
    for (const id of act) {
      const j = index.get(id)!
      if (!net.alive[j]) v.push(`node ${i}: dead ${j} still active`)
      else if (!net.cores[j]!.isActive(net.infos[i]!.id)) v.push(`asymmetric ${i}→${j}`)
    }
  }
  // One connected component over active links.
  const seen = new Set<number>([live[0]!])
  const stack = [live[0]!]
  while (stack.length > 0) {
    const x = stack.pop()!
    for (const p of net.cores[x]!.activeView()) {
      const y = index.get(p.id)!
      if (net.alive[y] && !seen.has(y)) {
        seen.add(y)
        stack.push(y)
      }
    }
  }
  if (seen.size !== live.length) v.push(`${live.length - seen.size} live nodes outside the main component`)
  return v
}

describe('network of 50 cores', () => {
  const N = 50
  const cfg = D

  function grow(seed: number): Net {
    const net = network(N, seed)
    const pick = createSeededRng(seed)
    for (let i = 0; i < N; i++) {
      net.runUntil(i * 100)
      net.input(i, { type: 'start' })
      if (i > 0) net.input(i, { type: 'join', contact: net.infos[pick.int(i)]! })
    }
    net.runUntil(N * 100 + 10 * cfg.shuffleIntervalMs)
    return net
  }

  it('after joins and shuffles: symmetric, views within [target, max], passive ≤ size, connected', () => {
    for (const seed of [1, 2, 3]) {
      const net = grow(seed)
      expect(check(net, cfg)).toEqual([])
      // The shuffles did fill passive views beyond what the joins gave.
      expect(Math.min(...net.cores.map((c) => c.passiveView().length))).toBeGreaterThan(10)
    }
  })

  it('recovers after 20% of the nodes crash and are declared failed', () => {
    const net = grow(4)
    const dead = [3, 7, 11, 19, 23, 29, 31, 37, 41, 43]
    for (const d of dead) net.alive[d] = false
    // What SWIM would tell every live node, some seconds later.
    net.runUntil(net.now + 2_000)
    for (const d of dead) for (let i = 0; i < N; i++) if (net.alive[i]) net.input(i, { type: 'peer-failed', peer: net.infos[d]!.id })
    net.runUntil(net.now + 5 * cfg.shuffleIntervalMs)
    expect(check(net, cfg)).toEqual([])
  })

  it('is reproducible from its seed', () => {
    const a = grow(5)
    const b = grow(5)
    expect(a.cores.map((c) => ids(c.activeView()))).toEqual(b.cores.map((c) => ids(c.activeView())))
    expect(a.cores.map((c) => ids(c.passiveView()))).toEqual(b.cores.map((c) => ids(c.passiveView())))
  })
})
