import { describe, expect, it } from 'vitest'
import { EventQueue, membershipScenario, Simulator } from '../src/index.js'
import type { SimProtocol } from '../src/index.js'
import type { PeerInfo } from '@saorsa-gossip/membership'

describe('EventQueue', () => {
  it('orders by time, then by insertion, including pushes at the instant being drained', () => {
    const q = new EventQueue<string>()
    q.push(5, 'b1')
    q.push(1, 'a1')
    q.push(5, 'b2')
    q.push(1, 'a2')
    const out: string[] = []
    for (let e = q.pop(); e !== undefined; e = q.pop()) {
      out.push(`${e.time}:${e.event}`)
      if (e.event === 'a1') q.push(1, 'a3') // same instant, after a2
      if (e.event === 'a2') q.push(3, 'c1') // a new, later instant
      if (e.event === 'b1') expect(() => q.push(4, 'past')).toThrow(RangeError) // never into the past
    }
    expect(out).toEqual(['1:a1', '1:a2', '1:a3', '3:c1', '5:b1', '5:b2'])
    expect(q.size).toBe(0)
  })
})

describe('Simulator', () => {
  /** A toy core: echoes pings, counts pongs. */
  type Msg = { kind: 'ping' | 'pong' }
  class Echo implements SimProtocol<Msg, never, { type: 'go'; to: PeerInfo }> {
    pongs = 0
    handle(ev: { type: string; from?: PeerInfo; msg?: Msg; to?: PeerInfo }) {
      if (ev.type === 'go' && ev.to !== undefined) return [{ type: 'send' as const, to: ev.to, msg: { kind: 'ping' as const } }]
      if (ev.type === 'message' && ev.msg?.kind === 'ping' && ev.from !== undefined) return [{ type: 'send' as const, to: ev.from, msg: { kind: 'pong' as const } }]
      if (ev.type === 'message' && ev.msg?.kind === 'pong') this.pongs++
      return []
    }
  }

  it('delivers after the link latency, loses nothing without loss, and drops silently to crashed nodes', () => {
    const sim = new Simulator<Msg, never, { type: 'go'; to: PeerInfo }>({ seed: 7, latencyMs: [10, 10] }, () => new Echo())
    const a = sim.addNode()
    const b = sim.addNode()
    sim.input(a, { type: 'go', to: sim.infos[b]! }, 0)
    sim.runUntil(19)
    expect((sim.node(a) as Echo).pongs).toBe(0)
    sim.runUntil(20)
    expect((sim.node(a) as Echo).pongs).toBe(1)
    sim.crash(b)
    sim.input(a, { type: 'go', to: sim.infos[b]! })
    sim.runUntil(100)
    expect((sim.node(a) as Echo).pongs).toBe(1)
    expect(sim.stats.vanished).toBe(1)
    sim.restart(b)
    sim.input(a, { type: 'go', to: sim.infos[b]! })
    sim.runUntil(200)
    expect((sim.node(a) as Echo).pongs).toBe(2)
  })

  it('partitions cut links until healed', () => {
    const sim = new Simulator<Msg, never, { type: 'go'; to: PeerInfo }>({ seed: 7, latencyMs: [5, 5] }, () => new Echo())
    const a = sim.addNode()
    const b = sim.addNode()
    sim.partition((i) => i)
    sim.input(a, { type: 'go', to: sim.infos[b]! })
    sim.runUntil(50)
    expect((sim.node(a) as Echo).pongs).toBe(0)
    sim.heal()
    sim.input(a, { type: 'go', to: sim.infos[b]! })
    sim.runUntil(100)
    expect((sim.node(a) as Echo).pongs).toBe(1)
  })
})

describe('membership scenario', () => {
  it('200 nodes form one component with symmetric views within bounds, reproducibly', () => {
    const run = () => {
      const { wallMs: _w, ...rest } = membershipScenario({ nodes: 200, seed: 3 })
      return rest
    }
    const a = run()
    expect(a).toMatchObject({ connected: 1, components: 1, isolated: 0, invariantViolations: 0 })
    expect(a.activeViewMin).toBeGreaterThanOrEqual(8)
    expect(a.activeViewMax).toBeLessThanOrEqual(12)
    expect(JSON.stringify(run())).toBe(JSON.stringify(a)) // same seed, same figures
    const { wallMs: _w2, ...other } = membershipScenario({ nodes: 200, seed: 4 })
    expect(JSON.stringify(other)).not.toBe(JSON.stringify(a))
  })
})
