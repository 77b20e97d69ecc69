// Three DefaultMembership nodes over MemoryTransport (the real PQ channel, in memory).
import { Identity } from '@saorsa-gossip/identity'
import { MemoryNetwork } from '@saorsa-gossip/transport'
import type { MemoryTransport } from '@saorsa-gossip/transport'
import { afterEach, describe, expect, it } from 'vitest'
import { DefaultMembership } from '../src/index.js'

describe('DefaultMembership over MemoryTransport', () => {
  const stops: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const s of stops.splice(0).reverse()) await s()
  })

  async function node(net: MemoryNetwork, seed: number): Promise<{ t: MemoryTransport; m: DefaultMembership }> {
    const t = net.createTransport({ identity: Identity.fromSeed(new Uint8Array(32).fill(seed)) })
    await t.start()
    const m = new DefaultMembership({ transport: t }, { seed })
    await m.start()
    stops.push(async () => {
      await m.stop()
      await t.stop()
    })
    return { t, m }
  }

  const sees = (m: DefaultMembership, ids: string[]) => ids.every((id) => m.activeView().some((p) => p.id === id))

  async function until(cond: () => boolean, m: DefaultMembership[], ms: number): Promise<void> {
    const deadline = AbortSignal.timeout(ms)
    while (!cond()) {
      const waits: Array<Promise<unknown>> = []
      for (const x of m) {
        waits.push(x.once('neighbor:up', () => true, { signal: deadline }).catch(() => undefined))
        waits.push(x.once('neighbor:down', () => true, { signal: deadline }).catch(() => undefined))
      }
      await Promise.race(waits)
      if (deadline.aborted) break
    }
  }

  it('three nodes join through one, see each other, and drop a stopped one within 5 s', async () => {
    const net = new MemoryNetwork()
    const a = await node(net, 1)
    const b = await node(net, 2)
    const c = await node(net, 3)
    await b.m.join(a.t.listenAddrs())
    await c.m.join(a.t.listenAddrs())
    const all = [a, b, c]
    await until(() => all.every((x) => sees(x.m, all.filter((y) => y !== x).map((y) => y.t.peerId))), all.map((x) => x.m), 10_000)
    for (const x of all) expect(x.m.activeView().map((p) => p.id).sort()).toEqual(all.filter((y) => y !== x).map((y) => y.t.peerId).sort())

    const t0 = performance.now()
    const downA = a.m.once('neighbor:down', (d) => d.peer === c.t.peerId, { signal: AbortSignal.timeout(5_000) })
    const downB = b.m.once('neighbor:down', (d) => d.peer === c.t.peerId, { signal: AbortSignal.timeout(5_000) })
    await c.m.stop()
    await c.t.stop()
    await Promise.all([downA, downB])
    expect(performance.now() - t0).toBeLessThan(5_000)
    expect(a.m.activeView().map((p) => p.id)).toEqual([b.t.peerId])
    expect(b.m.activeView().map((p) => p.id)).toEqual([a.t.peerId])
  })

  it('rejects joining with no reachable bootstrap address', async () => {
    const net = new MemoryNetwork()
    const a = await node(net, 9)
    await expect(a.m.join(['memory://nowhere'])).rejects.toThrow(/could not reach/)
  })
})
