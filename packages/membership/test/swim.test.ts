import { describe, expect, it } from 'vitest'
import { createSeededRng } from '@saorsa-gossip/types'
import type { PeerId } from '@saorsa-gossip/types'
import { DEFAULT_SWIM_CONFIG, Swim } from '../src/proto/swim.js'
import type { SwimCommand, SwimConfig, SwimInput, SwimMessage, SwimTimer, SwimUpdate } from '../src/proto/swim.js'
import type { MembershipEvent, PeerInfo } from '../src/proto/types.js'

const pid = (n: number): PeerId => n.toString(16).padStart(64, '0') as PeerId
const peer = (n: number): PeerInfo => ({ id: pid(n), addrs: [`/memory/${n}`] })
const ME = peer(0xabc)
const upd = (n: number | PeerInfo, state: SwimUpdate['state'], incarnation: number): SwimUpdate => ({
  peer: typeof n === 'number' ? peer(n) : n,
  state,
  incarnation
})

interface Setup {
  active?: number[]
  passive?: number[]
  config?: Partial<SwimConfig>
  seed?: number
}

function make({ active = [], passive = [], config = {}, seed = 1 }: Setup = {}): Swim {
  const s = new Swim(ME, config, createSeededRng(seed))
  for (const n of active) s.handle({ type: 'add-member', peer: peer(n), priority: 'active' }, 0)
  for (const n of passive) s.handle({ type: 'add-member', peer: peer(n), priority: 'passive' }, 0)
  return s
}

/** Starts `s` and runs its first probe round; returns the round's commands. */
function firstRound(s: Swim): SwimCommand[] {
  const [cmd] = s.handle({ type: 'start' }, 0)
  if (cmd?.type !== 'schedule') throw new Error('start did not schedule')
  return s.handle({ type: 'timer', timer: cmd.timer }, 0)
}

const msg = (from: number, m: SwimMessage): SwimInput => ({ type: 'message', from: peer(from), msg: m })
const timer = (t: SwimTimer): SwimInput => ({ type: 'timer', timer: t })
const ping = (seq: number, to: number, updates: SwimUpdate[] = []): SwimCommand => ({ type: 'send', to: peer(to), msg: { type: 'ping', seq, updates } })
const probeCmds = (seq: number, to: number, updates: SwimUpdate[] = [], health = 0): SwimCommand[] => [
  ping(seq, to, updates),
  { type: 'schedule', after: 400 * (1 + health), timer: { type: 'ack-timeout', seq } },
  { type: 'schedule', after: 900 * (1 + health), timer: { type: 'probe-timeout', seq } }
]
const nextTick = (tick: number): SwimCommand => ({ type: 'schedule', after: 1000, timer: { type: 'probe', tick } })
const emit = (event: MembershipEvent): SwimCommand => ({ type: 'emit', event })
/** Feeds updates through an ACK nobody waits for (no reply, no probe effect). */
const gossip = (s: Swim, updates: SwimUpdate[], from = 0x99): SwimCommand[] => s.handle(msg(from, { type: 'ack', seq: 77_777, updates }), 0)

describe('Swim: start and probe rounds', () => {
  it('start schedules the first probe at a random phase of the period, once', () => {
    const s = make({ active: [1, 2] })
    expect(s.handle({ type: 'start' }, 0)).toEqual([
      { type: 'schedule', after: createSeededRng(1).int(1000), timer: { type: 'probe', tick: 0 } }
    ])
    expect(s.handle({ type: 'start' }, 0)).toEqual([])
  })

  it('a round pings every active member and one passive member', () => {
    const s = make({ active: [1, 2], passive: [3] })
    expect(firstRound(s)).toEqual([nextTick(1), ...probeCmds(1, 1), ...probeCmds(2, 2), ...probeCmds(3, 3)])
  })

  it('a member with a probe in flight is not pinged again', () => {
    const s = make({ active: [1] })
    firstRound(s)
    expect(s.handle(timer({ type: 'probe', tick: 1 }), 1000)).toEqual([nextTick(2)])
  })

  it('passive members are visited by randomized round-robin: each once per traversal', () => {
    const passive = [3, 4, 5, 6, 7]
    const s = make({ passive, seed: 9 })
    s.handle({ type: 'start' }, 0)
    const visits: number[] = []
    for (let tick = 0; tick < 10; tick++) {
      const cmds = s.handle(timer({ type: 'probe', tick }), tick * 1000)
      for (const c of cmds) {
        if (c.type === 'send' && c.msg.type === 'ping') {
          visits.push(parseInt(c.to.id, 16))
          s.handle(msg(parseInt(c.to.id, 16), { type: 'ack', seq: c.msg.seq, updates: [] }), tick * 1000 + 20)
        }
      }
    }
    expect(visits).toHaveLength(10)
    expect([...visits.slice(0, 5)].sort()).toEqual(passive)
    expect([...visits.slice(5)].sort()).toEqual(passive)
  })

  it('more actives than maxProbesPerPeriod are pinged round-robin, cap per round', () => {
    const s = make({ active: [1, 2, 3, 4, 5], config: { maxProbesPerPeriod: 2 } })
    const r1 = firstRound(s)
    expect(r1).toEqual([nextTick(1), ...probeCmds(1, 1), ...probeCmds(2, 2)])
    expect(s.handle(timer({ type: 'probe', tick: 1 }), 1000)).toEqual([nextTick(2), ...probeCmds(3, 3), ...probeCmds(4, 4)])
  })
})

describe('Swim: direct and indirect probes', () => {
  it('an ACK before the timeout: no suspicion, later timeouts are stale', () => {
    const s = make({ active: [1, 2] })
    firstRound(s)
    expect(s.handle(msg(1, { type: 'ack', seq: 1, updates: [] }), 20)).toEqual([])
    expect(s.handle(timer({ type: 'ack-timeout', seq: 1 }), 400)).toEqual([])
    expect(s.handle(timer({ type: 'probe-timeout', seq: 1 }), 900)).toEqual([])
    expect(s.state(pid(1))).toBe('alive')
  })

  it('the ACK timeout sends PING_REQ {seq, target} to the k = 3 other alive members', () => {
    const s = make({ active: [1, 2, 3, 4] })
    firstRound(s)
    expect(s.handle(timer({ type: 'ack-timeout', seq: 1 }), 400)).toEqual([2, 3, 4].map((h) => ({
      type: 'send', to: peer(h), msg: { type: 'ping-req', seq: 1, target: peer(1), updates: [] }
    })))
  })

  it('with more candidates than k, PING_REQ goes to k distinct random members, never the target', () => {
    const s = make({ active: [1, 2, 3, 4, 5, 6, 7, 8] })
    firstRound(s)
    const cmds = s.handle(timer({ type: 'ack-timeout', seq: 1 }), 400)
    const to = cmds.map((c) => (c.type === 'send' && c.msg.type === 'ping-req' ? c.to.id : 'x'))
    expect(to).toHaveLength(3)
    expect(new Set(to).size).toBe(3)
    expect(to).not.toContain(pid(1))
    expect(to).not.toContain('x')
  })

  it('send-failed of a PING goes to indirect probes at once', () => {
    const s = make({ active: [1, 2, 3, 4] })
    firstRound(s)
    expect(s.handle({ type: 'send-failed', peer: pid(1) }, 5)).toHaveLength(3)
    expect(s.handle(timer({ type: 'ack-timeout', seq: 1 }), 400)).toEqual([]) // already indirect
  })

  it('an ACK relayed by a helper: no suspicion', () => {
    const s = make({ active: [1, 2, 3, 4] })
    firstRound(s)
    s.handle(timer({ type: 'ack-timeout', seq: 1 }), 400)
    expect(s.handle(msg(3, { type: 'ack', seq: 1, updates: [] }), 450)).toEqual([])
    expect(s.handle(timer({ type: 'probe-timeout', seq: 1 }), 900)).toEqual([])
    expect(s.state(pid(1))).toBe('alive')
  })

  it('an ACK with the right seq from someone we did not ask does not count', () => {
    const s = make({ active: [1, 2, 3, 4] })
    firstRound(s)
    expect(s.handle(msg(9, { type: 'ack', seq: 1, updates: [] }), 450)).toEqual([])
    expect(s.handle(timer({ type: 'probe-timeout', seq: 1 }), 900)[0]).toEqual(emit({ type: 'member:suspect', peer: pid(1), incarnation: 0 }))
  })

  it('no ACK by the end of the round: suspect, emit, start the suspicion timer', () => {
    const s = make({ active: [1] })
    firstRound(s)
    expect(s.handle(timer({ type: 'probe-timeout', seq: 1 }), 900)).toEqual([
      emit({ type: 'member:suspect', peer: pid(1), incarnation: 0 }),
      { type: 'schedule', after: 3000, timer: { type: 'suspicion-timeout', peer: pid(1), gen: 1 } }
    ])
    expect(s.state(pid(1))).toBe('suspect')
  })

  it('the suspicion timer expires unrefuted: failed, emit, disseminate, stop probing', () => {
    const s = make({ active: [1, 2] })
    firstRound(s)
    s.handle(msg(2, { type: 'ack', seq: 2, updates: [] }), 20)
    s.handle(timer({ type: 'probe-timeout', seq: 1 }), 900)
    expect(s.handle(timer({ type: 'suspicion-timeout', peer: pid(1), gen: 1 }), 3900)).toEqual([
      emit({ type: 'member:failed', peer: pid(1), incarnation: 0 })
    ])
    expect(s.state(pid(1))).toBe('failed')
    // Next round: only 2 is pinged, carrying the verdict.
    const round = s.handle(timer({ type: 'probe', tick: 1 }), 4000)
    // (The failed probe raised local health to 1: timeouts ×2.)
    expect(round).toEqual([nextTick(2), ...probeCmds(3, 2, [upd(1, 'failed', 0)], 1)])
  })

  it('a suspect is pinged every period whatever its priority, and the PING carries its suspicion (buddy)', () => {
    const s = make({ passive: [5, 6] })
    gossip(s, [upd(5, 'suspect', 0), upd(6, 'alive', 1)])
    const round = firstRound(s)
    // 5 (suspect) is pinged with its suspicion first; the one passive slot then goes to 6. (The
    // buddy copy does not count as a transmission, so 5's queued suspicion leads the next message.)
    expect(round).toEqual([
      nextTick(1),
      ...probeCmds(1, 5, [upd(5, 'suspect', 0), upd(6, 'alive', 1)]),
      ...probeCmds(2, 6, [upd(5, 'suspect', 0), upd(6, 'alive', 1)])
    ])
  })

  it('a suspect is pinged every period even while the LHM keeps its last round open (buddy)', () => {
    const s = make({ active: [1] })
    firstRound(s)
    s.handle(timer({ type: 'probe-timeout', seq: 1 }), 900) // suspect; the failed probe raises health to 1
    expect(s.localHealth()).toBe(1)
    // The round opened at 1 s runs to 1 s + 900 ms × 2 = 2.8 s, past the next period.
    expect(s.handle(timer({ type: 'probe', tick: 1 }), 1000)).toEqual([nextTick(2), ...probeCmds(2, 1, [upd(1, 'suspect', 0)], 1)])
    expect(s.handle(timer({ type: 'ack-timeout', seq: 2 }), 1800)).toEqual([]) // no helpers to ask
    // At 2 s the suspect hears of its suspicion again, on a fresh PING; the open round is dropped.
    expect(s.handle(timer({ type: 'probe', tick: 2 }), 2000)).toEqual([nextTick(3), ...probeCmds(3, 1, [upd(1, 'suspect', 0)], 1)])
    expect(s.handle(timer({ type: 'probe-timeout', seq: 2 }), 2800)).toEqual([])
    expect(s.localHealth()).toBe(1) // a dropped round counts neither way
    // An alive member with an open round is still not pinged twice.
    const t = make({ active: [1] })
    firstRound(t)
    expect(t.handle(timer({ type: 'probe', tick: 1 }), 800)).toEqual([nextTick(2)])
  })

  it('a PING_REQ about a suspect leads with the suspicion even when its gossip is spent', () => {
    const s = make({ active: [1, 2, 3, 4] })
    firstRound(s)
    for (const n of [2, 3, 4]) s.handle(msg(n, { type: 'ack', seq: n, updates: [] }), 10)
    gossip(s, [upd(1, 'suspect', 0)])
    // λ·⌈log₂(5 + 1)⌉ = 9 transmissions, on ACKs to 2: then the queue no longer holds it.
    for (let i = 0; i < 9; i++) s.handle(msg(2, { type: 'ping', seq: 100 + i, updates: [] }), 20)
    expect(s.handle(msg(2, { type: 'ping', seq: 200, updates: [] }), 20)).toEqual([{ type: 'send', to: peer(2), msg: { type: 'ack', seq: 200, updates: [] } }])
    expect(s.handle(timer({ type: 'ack-timeout', seq: 1 }), 400)).toEqual([2, 3, 4].map((h) => ({
      type: 'send', to: peer(h), msg: { type: 'ping-req', seq: 1, target: peer(1), updates: [upd(1, 'suspect', 0)] }
    })))
  })

  it('learning a suspicion by gossip triggers a verification PING when running', () => {
    const s = make({ active: [1, 2] })
    s.handle({ type: 'start' }, 0)
    expect(gossip(s, [upd(1, 'suspect', 0)])).toEqual([
      emit({ type: 'member:suspect', peer: pid(1), incarnation: 0 }),
      { type: 'schedule', after: 3000, timer: { type: 'suspicion-timeout', peer: pid(1), gen: 1 } },
      ...probeCmds(1, 1, [upd(1, 'suspect', 0)])
    ])
  })
})

describe('Swim: serving PING and PING_REQ', () => {
  it('answers a PING from an unknown peer but does not add it', () => {
    const s = make({ active: [1] })
    expect(s.handle(msg(42, { type: 'ping', seq: 5, updates: [] }), 0)).toEqual([
      { type: 'send', to: peer(42), msg: { type: 'ack', seq: 5, updates: [] } }
    ])
    expect(s.state(pid(42))).toBeUndefined()
    expect(s.members()).toHaveLength(1)
  })

  it('a helper PINGs the target and relays its ACK with the original seq, target news first', () => {
    const s = make()
    expect(s.handle(msg(1, { type: 'ping-req', seq: 70, target: peer(2), updates: [] }), 0)).toEqual([
      ping(1, 2),
      { type: 'schedule', after: 400, timer: { type: 'relay-timeout', seq: 1, phase: 'nack' } }
    ])
    const news = [upd(2, 'alive', 4), upd(8, 'alive', 1)]
    expect(s.handle(msg(2, { type: 'ack', seq: 1, updates: news }), 20)).toEqual([
      { type: 'send', to: peer(1), msg: { type: 'ack', seq: 70, updates: [upd(2, 'alive', 4)] } }
    ])
    expect(s.handle(timer({ type: 'relay-timeout', seq: 1, phase: 'nack' }), 400)).toEqual([])
  })

  it('a helper hands a suspicion of the target in the PING_REQ on to the target first, and relays the refutation', () => {
    const s = make() // the helper need not watch the target itself
    expect(s.handle(msg(1, { type: 'ping-req', seq: 70, target: peer(2), updates: [upd(7, 'alive', 1), upd(2, 'suspect', 3)] }), 0)).toEqual([
      ping(1, 2, [upd(2, 'suspect', 3)]),
      { type: 'schedule', after: 400, timer: { type: 'relay-timeout', seq: 1, phase: 'nack' } }
    ])
    expect(s.handle(msg(2, { type: 'ack', seq: 1, updates: [upd(2, 'alive', 4)] }), 20)).toEqual([
      { type: 'send', to: peer(1), msg: { type: 'ack', seq: 70, updates: [upd(2, 'alive', 4)] } }
    ])
    // A helper that suspects the target itself sends its own buddy copy, once.
    const t = make({ active: [2] })
    gossip(t, [upd(2, 'suspect', 3)])
    const out = t.handle(msg(1, { type: 'ping-req', seq: 71, target: peer(2), updates: [upd(2, 'suspect', 3)] }), 0)
    expect(out[0]).toEqual(ping(1, 2, [upd(2, 'suspect', 3)]))
  })

  it('a helper NACKs when the target stays silent (Lifeguard), then still relays a late ACK', () => {
    const s = make()
    s.handle(msg(1, { type: 'ping-req', seq: 70, target: peer(2), updates: [] }), 0)
    expect(s.handle(timer({ type: 'relay-timeout', seq: 1, phase: 'nack' }), 400)).toEqual([
      { type: 'send', to: peer(1), msg: { type: 'nack', seq: 70 } },
      { type: 'schedule', after: 400, timer: { type: 'relay-timeout', seq: 1, phase: 'expire' } }
    ])
    expect(s.handle(msg(2, { type: 'ack', seq: 1, updates: [] }), 500)).toEqual([
      { type: 'send', to: peer(1), msg: { type: 'ack', seq: 70, updates: [] } }
    ])
  })

  it('the relay table is bounded', () => {
    const s = make({ config: { maxRelays: 2 } })
    expect(s.handle(msg(1, { type: 'ping-req', seq: 1, target: peer(5), updates: [] }), 0)).toHaveLength(2)
    expect(s.handle(msg(1, { type: 'ping-req', seq: 2, target: peer(6), updates: [] }), 0)).toHaveLength(2)
    expect(s.handle(msg(1, { type: 'ping-req', seq: 3, target: peer(7), updates: [] }), 0)).toEqual([])
  })
})

describe('Swim: incarnations, refutation and precedence (SWIM §4.2)', () => {
  it('suspected: increments the incarnation and disseminates ALIVE on the ACK', () => {
    const s = make({ active: [1] })
    expect(s.handle(msg(1, { type: 'ping', seq: 9, updates: [upd(ME, 'suspect', 0)] }), 0)).toEqual([
      { type: 'send', to: peer(1), msg: { type: 'ack', seq: 9, updates: [upd(ME, 'alive', 1)] } }
    ])
    expect(s.incarnation()).toBe(1)
    expect(s.localHealth()).toBe(1)
  })

  it('declared failed: refutes too; a stale suspicion only recirculates the current ALIVE', () => {
    const s = make({ active: [1] })
    gossip(s, [upd(ME, 'failed', 4)])
    expect(s.incarnation()).toBe(5)
    const reply = (n: number) => s.handle(msg(1, { type: 'ping', seq: n, updates: [upd(ME, 'suspect', 2)] }), 0)
    for (let i = 0; i < 20; i++) reply(i) // exhaust the ALIVE's retransmissions
    expect(reply(100)).toEqual([{ type: 'send', to: peer(1), msg: { type: 'ack', seq: 100, updates: [upd(ME, 'alive', 5)] } }])
    expect(s.incarnation()).toBe(5)
  })

  type Case = [string, SwimUpdate[], SwimUpdate, SwimCommand[], string, number]
  const susp = (inc: number): SwimCommand[] => [
    emit({ type: 'member:suspect', peer: pid(1), incarnation: inc }),
    { type: 'schedule', after: 3000, timer: { type: 'suspicion-timeout', peer: pid(1), gen: expect.any(Number) as unknown as number } }
  ]
  const cases: Case[] = [
    ['suspect(i) overrides alive(j) for i = j', [], upd(1, 'suspect', 0), susp(0), 'suspect', 0],
    ['suspect(i) does not override alive(j) for i < j', [upd(1, 'alive', 2)], upd(1, 'suspect', 1), [], 'alive', 2],
    ['alive(i) does not override suspect(j) for i = j', [upd(1, 'suspect', 2)], upd(1, 'alive', 2), [], 'suspect', 2],
    ['alive(i) overrides suspect(j) for i > j, emitting member:alive', [upd(1, 'suspect', 2)], upd(1, 'alive', 3),
      [emit({ type: 'member:alive', peer: pid(1), incarnation: 3 })], 'alive', 3],
    ['alive(i) over alive(j), i > j, updates silently', [], upd(1, 'alive', 7), [], 'alive', 7],
    ['suspect(i) overrides suspect(j) for i > j', [upd(1, 'suspect', 2)], upd(1, 'suspect', 3), susp(3), 'suspect', 3],
    ['failed(i) overrides suspect(j) for i = j', [upd(1, 'suspect', 2)], upd(1, 'failed', 2),
      [emit({ type: 'member:failed', peer: pid(1), incarnation: 2 })], 'failed', 2],
    ['failed(i) overrides alive(j) for i > j', [], upd(1, 'failed', 3),
      [emit({ type: 'member:failed', peer: pid(1), incarnation: 3 })], 'failed', 3],
    ['failed(i) is stale against alive(j), i < j', [upd(1, 'alive', 3)], upd(1, 'failed', 2), [], 'alive', 3],
    ['nothing overrides failed(j) but alive(i > j)', [upd(1, 'failed', 2)], upd(1, 'suspect', 9), [], 'failed', 2],
    ['alive(i = j) does not revive failed(j)', [upd(1, 'failed', 2)], upd(1, 'alive', 2), [], 'failed', 2],
    ['alive(i > j) revives failed(j)', [upd(1, 'failed', 2)], upd(1, 'alive', 3),
      [emit({ type: 'member:alive', peer: pid(1), incarnation: 3 })], 'alive', 3]
  ]
  for (const [name, before, update, cmds, state, inc] of cases) {
    it(name, () => {
      const s = make({ active: [1] })
      gossip(s, before)
      expect(gossip(s, [update])).toEqual(cmds)
      expect(s.state(pid(1))).toBe(state)
      expect(s.members()[0]?.incarnation).toBe(inc)
    })
  }

  it('updates about peers we do not watch are ignored', () => {
    const s = make({ active: [1] })
    expect(gossip(s, [upd(50, 'failed', 0)])).toEqual([])
    expect(s.state(pid(50))).toBeUndefined()
    expect(s.handle(msg(1, { type: 'ping', seq: 1, updates: [] }), 0)).toEqual([
      { type: 'send', to: peer(1), msg: { type: 'ack', seq: 1, updates: [] } }
    ])
  })

  it('a refutation arriving after the suspicion timer was set makes the timer stale', () => {
    const s = make({ active: [1] })
    firstRound(s)
    s.handle(timer({ type: 'probe-timeout', seq: 1 }), 900)
    expect(gossip(s, [upd(1, 'alive', 1)])).toEqual([emit({ type: 'member:alive', peer: pid(1), incarnation: 1 })])
    expect(s.handle(timer({ type: 'suspicion-timeout', peer: pid(1), gen: 1 }), 3900)).toEqual([])
    expect(s.state(pid(1))).toBe('alive')
  })
})

describe('Swim: dissemination', () => {
  it('at most maxPiggyback updates per message, least-sent then newest first', () => {
    const ids = Array.from({ length: 12 }, (_, i) => i + 1)
    const s = make({ passive: ids })
    gossip(s, ids.map((n) => upd(n, 'alive', 1)))
    const ack = (seq: number) => s.handle(msg(1, { type: 'ping', seq, updates: [] }), 0)
    const newestFirst = [...ids].reverse()
    expect(ack(1)).toEqual([{ type: 'send', to: peer(1), msg: { type: 'ack', seq: 1, updates: newestFirst.slice(0, 8).map((n) => upd(n, 'alive', 1)) } }])
    expect(ack(2)).toEqual([{
      type: 'send', to: peer(1), msg: { type: 'ack', seq: 2, updates: [...newestFirst.slice(8), ...newestFirst.slice(0, 4)].map((n) => upd(n, 'alive', 1)) }
    }])
  })

  it('each update is retransmitted λ·⌈log₂(n + 1)⌉ times, then dropped', () => {
    const s = make({ active: [1, 2, 3] }) // n = 3 members + us → 3·⌈log₂ 5⌉ = 9
    gossip(s, [upd(1, 'alive', 1)])
    let carried = 0
    for (let seq = 0; seq < 20; seq++) {
      const [c] = s.handle(msg(2, { type: 'ping', seq, updates: [] }), 0)
      if (c?.type === 'send' && c.msg.type === 'ack' && c.msg.updates.length > 0) carried++
    }
    expect(carried).toBe(3 * Math.ceil(Math.log2(5)))
  })

  it('messages with more updates than allowed are dropped whole', () => {
    const s = make({ active: [1] })
    const many = Array.from({ length: DEFAULT_SWIM_CONFIG.maxUpdatesPerMessage + 1 }, () => upd(1, 'failed', 0))
    expect(s.handle(msg(1, { type: 'ping', seq: 1, updates: many }), 0)).toEqual([])
    expect(s.state(pid(1))).toBe('alive')
  })
})

describe('Swim: Lifeguard local health', () => {
  it('a raised health multiplier scales the ack and round timeouts by (1 + health)', () => {
    const s = make({ active: [1] })
    gossip(s, [upd(ME, 'suspect', 0)])
    gossip(s, [upd(ME, 'suspect', 1)])
    expect(s.localHealth()).toBe(2)
    expect(firstRound(s)).toEqual([nextTick(1), ...probeCmds(1, 1, [upd(ME, 'alive', 2)], 2)])
  })

  it('successful probes lower it; it stays within [0, 8]', () => {
    const s = make({ active: [1] })
    for (let i = 0; i < 20; i++) gossip(s, [upd(ME, 'suspect', i)])
    expect(s.localHealth()).toBe(8)
    firstRound(s)
    s.handle(msg(1, { type: 'ack', seq: 1, updates: [] }), 10)
    expect(s.localHealth()).toBe(7)
  })

  it('a failed probe with missed NACKs counts twice; with all NACKs in, once', () => {
    const run = (nacks: boolean): number => {
      const s = make({ active: [1, 2, 3, 4] })
      firstRound(s)
      for (const n of [2, 3, 4]) s.handle(msg(n, { type: 'ack', seq: n, updates: [] }), 10)
      s.handle(timer({ type: 'ack-timeout', seq: 1 }), 400)
      if (nacks) for (const n of [2, 3, 4]) s.handle(msg(n, { type: 'nack', seq: 1 }), 800)
      s.handle(timer({ type: 'probe-timeout', seq: 1 }), 900)
      return s.localHealth()
    }
    expect(run(true)).toBe(1)
    expect(run(false)).toBe(2)
  })
})

describe('Swim: robustness', () => {
  it('stale and unknown timers are ignored', () => {
    const s = make({ active: [1] })
    firstRound(s)
    expect(s.handle(timer({ type: 'probe', tick: 0 }), 1000)).toEqual([]) // already fired
    expect(s.handle(timer({ type: 'probe', tick: 7 }), 1000)).toEqual([])
    expect(s.handle(timer({ type: 'ack-timeout', seq: 99 }), 1000)).toEqual([])
    expect(s.handle(timer({ type: 'probe-timeout', seq: 99 }), 1000)).toEqual([])
    expect(s.handle(timer({ type: 'relay-timeout', seq: 99, phase: 'nack' }), 1000)).toEqual([])
    expect(s.handle(timer({ type: 'suspicion-timeout', peer: pid(1), gen: 1 }), 1000)).toEqual([])
    expect(s.handle(timer({ type: 'bogus' } as unknown as SwimTimer), 1000)).toEqual([])
    expect(s.state(pid(1))).toBe('alive')
  })

  it('probe timers before start are ignored; removed members are no longer probed', () => {
    const s = make({ active: [1, 2] })
    expect(s.handle(timer({ type: 'probe', tick: 0 }), 0)).toEqual([])
    s.handle({ type: 'remove-member', peer: pid(2) }, 0)
    expect(firstRound(s)).toEqual([nextTick(1), ...probeCmds(1, 1)])
  })

  it('malformed messages are ignored without throwing', () => {
    const X = 0xfa1
    const s = make({ active: [X] })
    const bad: unknown[] = [
      null,
      42,
      { type: 'ping', seq: -1, updates: [] },
      { type: 'ping', seq: 2 ** 32, updates: [] },
      { type: 'ping', seq: 1.5, updates: [] },
      { type: 'ping', seq: '1', updates: [] },
      { type: 'ping', seq: 1 },
      { type: 'ping', seq: 1, updates: 'x' },
      { type: 'hello', seq: 1, updates: [] },
      { type: 'ping-req', seq: 1, updates: [] },
      { type: 'ping-req', seq: 1, target: { id: 'zz', addrs: [] }, updates: [] },
      { type: 'ping', seq: 1, updates: [{ peer: peer(X), state: 'failed', incarnation: -1 }] },
      { type: 'ping', seq: 1, updates: [{ peer: peer(X), state: 'dead', incarnation: 1 }] },
      { type: 'ping', seq: 1, updates: [{ peer: peer(X), state: 'failed', incarnation: 2 ** 40 }] },
      { type: 'ping', seq: 1, updates: [{ peer: { id: pid(X).toUpperCase(), addrs: [] }, state: 'failed', incarnation: 1 }] },
      { type: 'ping', seq: 1, updates: [{ peer: { id: pid(X), addrs: Array(17).fill('a') }, state: 'failed', incarnation: 1 }] },
      { type: 'ping', seq: 1, updates: [{ peer: { id: pid(X), addrs: [7] }, state: 'failed', incarnation: 1 }] },
      { type: 'ping', seq: 1, updates: [null] }
    ]
    for (const m of bad) expect(s.handle({ type: 'message', from: peer(1), msg: m as SwimMessage }, 0)).toEqual([])
    expect(s.handle({ type: 'message', from: ME, msg: { type: 'ping', seq: 1, updates: [] } }, 0)).toEqual([])
    expect(s.state(pid(X))).toBe('alive')
  })

  it('the member table is capped; a failed member is evicted to make room', () => {
    const s = make({ active: [1, 2], config: { maxMembers: 2 } })
    s.handle({ type: 'add-member', peer: peer(3) }, 0)
    expect(s.state(pid(3))).toBeUndefined()
    gossip(s, [upd(1, 'failed', 0)])
    s.handle({ type: 'add-member', peer: peer(3) }, 0)
    expect(s.members().map((m) => m.peer.id)).toEqual([pid(2), pid(3)])
  })

  it('invalid add-member input and self are ignored', () => {
    const s = make()
    s.handle({ type: 'add-member', peer: ME }, 0)
    s.handle({ type: 'add-member', peer: { id: 'nope' as PeerId, addrs: [] } }, 0)
    expect(s.members()).toEqual([])
  })
})

// ---- a small virtual-time network ----

interface QItem {
  at: number
  seq: number
  node: number
  input: SwimInput
}

class Heap {
  readonly #a: QItem[] = []
  get size(): number {
    return this.#a.length
  }
  push(x: QItem): void {
    const a = this.#a
    a.push(x)
    let i = a.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!less(a[i] as QItem, a[p] as QItem)) break
      ;[a[i], a[p]] = [a[p] as QItem, a[i] as QItem]
      i = p
    }
  }
  pop(): QItem | undefined {
    const a = this.#a
    const top = a[0]
    const last = a.pop()
    if (a.length > 0 && last !== undefined) {
      a[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < a.length && less(a[l] as QItem, a[m] as QItem)) m = l
        if (r < a.length && less(a[r] as QItem, a[m] as QItem)) m = r
        if (m === i) break
        ;[a[i], a[m]] = [a[m] as QItem, a[i] as QItem]
        i = m
      }
    }
    return top
  }
}
const less = (x: QItem, y: QItem): boolean => x.at < y.at || (x.at === y.at && x.seq < y.seq)

interface Emitted {
  at: number
  node: number
  event: MembershipEvent
}

/** n nodes, all members of each other; node i's actives are i±1..±4 (mod n), the rest passive. */
function network(n: number, loss: number, seed: number) {
  const rng = createSeededRng(seed)
  const ids = Array.from({ length: n }, (_, i) => peer(0x1000 + i))
  const index = new Map(ids.map((p, i) => [p.id, i]))
  const nodes = ids.map((p, i) => new Swim(p, {}, createSeededRng(seed * 1000 + i)))
  const crashed = new Set<number>()
  const q = new Heap()
  const emitted: Emitted[] = []
  let seq = 0
  let now = 0
  let delivered = 0
  const push = (at: number, node: number, input: SwimInput) => q.push({ at, seq: seq++, node, input })
  const run = (i: number, input: SwimInput) => {
    if (crashed.has(i)) return
    const node = nodes[i] as Swim
    for (const c of node.handle(input, now)) {
      if (c.type === 'send') {
        const j = index.get(c.to.id)
        if (j === undefined || rng.next() < loss) continue
        push(now + 10, j, { type: 'message', from: ids[i] as PeerInfo, msg: c.msg })
      } else if (c.type === 'schedule') push(now + c.after, i, { type: 'timer', timer: c.timer })
      else if (c.type === 'emit') emitted.push({ at: now, node: i, event: c.event })
    }
  }
  for (let i = 0; i < n; i++) {
    const near = new Set<number>()
    for (let d = 1; d <= 4; d++) near.add((i + d) % n).add((i - d + n) % n)
    for (let j = 0; j < n; j++) {
      if (j !== i) run(i, { type: 'add-member', peer: ids[j] as PeerInfo, priority: near.has(j) ? 'active' : 'passive' })
    }
    run(i, { type: 'start' })
  }
  return {
    ids,
    nodes,
    emitted,
    crash: (i: number) => crashed.add(i),
    stats: () => ({ delivered }),
    until(t: number) {
      for (;;) {
        const it = q.pop()
        if (it === undefined) break
        if (it.at > t) {
          q.push(it)
          break
        }
        now = it.at
        delivered++
        run(it.node, it.input)
      }
      now = t
    }
  }
}

describe('Swim: 50-node virtual-time network', () => {
  for (const loss of [0, 0.05]) {
    it(`crashed nodes are suspected within 2 s and declared failed within 5 s (loss ${loss * 100} %)`, () => {
      const net = network(50, loss, 7)
      net.until(10_000)
      const victims = [7, 23, 41]
      const crashAt = [10_137, 20_501, 30_777]
      for (let v = 0; v < victims.length; v++) {
        const victim = victims[v] as number
        const at = crashAt[v] as number
        net.until(at)
        net.crash(victim)
        net.until(at + 8_000)
        const about = net.emitted.filter((e) => e.event.peer === net.ids[victim]?.id && e.at >= at)
        const firstSuspect = about.find((e) => e.event.type === 'member:suspect')
        const firstFailed = about.find((e) => e.event.type === 'member:failed')
        expect(firstSuspect).toBeDefined()
        expect(firstFailed).toBeDefined()
        expect((firstSuspect?.at ?? Infinity) - at).toBeLessThanOrEqual(2_000)
        expect((firstFailed?.at ?? Infinity) - at).toBeLessThanOrEqual(5_000)
        // Every live node ends up with the verdict.
        const deciders = new Set(about.filter((e) => e.event.type === 'member:failed').map((e) => e.node))
        expect(deciders.size).toBe(49 - v)
      }
      const wrong = net.emitted.filter((e) => e.event.type === 'member:failed' && !victims.some((v) => net.ids[v]?.id === e.event.peer))
      expect(wrong).toEqual([])
    })
  }

  it('5 % loss, no crash: nobody is declared failed over 10 virtual minutes', () => {
    const net = network(50, 0.05, 11)
    net.until(600_000)
    expect(net.emitted.filter((e) => e.event.type === 'member:failed')).toEqual([])
    // Local health stays low on healthy nodes.
    expect(Math.max(...net.nodes.map((s) => s.localHealth()))).toBeLessThanOrEqual(2)
  })
})

describe('passive suspicion timeout', () => {
  it('a suspected passive member gets passiveSuspicionMultiplier × the timeout; an active one the plain timeout', () => {
    const passive = make({ passive: [1] })
    const out = gossip(passive, [upd(1, 'suspect', 0)])
    expect(out).toContainEqual({ type: 'schedule', after: 9000, timer: { type: 'suspicion-timeout', peer: pid(1), gen: expect.any(Number) as unknown as number } })
    const active = make({ active: [1] })
    expect(gossip(active, [upd(1, 'suspect', 0)])).toContainEqual({ type: 'schedule', after: 3000, timer: { type: 'suspicion-timeout', peer: pid(1), gen: expect.any(Number) as unknown as number } })
  })
})

describe('refutation reaches the accuser', () => {
  it('after the suspicion, our ALIVE rides on the next 6 messages to the accuser even when gossip is spent', () => {
    const s = make({ active: [1, 2] })
    // Peer 1 suspects us; we refute on the ACK.
    s.handle(msg(1, { type: 'ping', seq: 1, updates: [upd(ME, 'suspect', 0)] }), 0)
    // Exhaust the ALIVE's ordinary retransmissions on traffic with peer 2.
    for (let i = 0; i < 40; i++) s.handle(msg(2, { type: 'ping', seq: 100 + i, updates: [] }), 0)
    const toTwo = s.handle(msg(2, { type: 'ping', seq: 999, updates: [] }), 0)
    expect(toTwo).toEqual([{ type: 'send', to: peer(2), msg: { type: 'ack', seq: 999, updates: [] } }])
    // Messages to the accuser still carry it, 5 more times (6 in all with the first ACK).
    for (let i = 0; i < 5; i++) {
      expect(s.handle(msg(1, { type: 'ping', seq: 10 + i, updates: [] }), 0)).toEqual([
        { type: 'send', to: peer(1), msg: { type: 'ack', seq: 10 + i, updates: [upd(ME, 'alive', 1)] } }
      ])
    }
    expect(s.handle(msg(1, { type: 'ping', seq: 20, updates: [] }), 0)).toEqual([{ type: 'send', to: peer(1), msg: { type: 'ack', seq: 20, updates: [] } }])
  })
})
