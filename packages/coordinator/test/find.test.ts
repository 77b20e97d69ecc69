// FIND_COORDINATOR core: a query reaches peers 3 hops away and no further, replies come back hop by
// hop to the asker, duplicates and floods are dropped and counted, unsolicited replies go nowhere.
import { createSeededRng } from '@saorsa-gossip/types'
import type { PeerId } from '@saorsa-gossip/types'
import { describe, expect, it } from 'vitest'
import { FindCoordinator } from '../src/index.js'
import type { FindCommand } from '../src/index.js'

const pid = (n: number): PeerId => n.toString(16).padStart(2, '0').repeat(32) as PeerId
const ADVERT = new Uint8Array([1, 2, 3])

/** Delivers every command breadth-first over `graph`; returns what each node did. */
function pump(cores: Map<PeerId, FindCoordinator>, graph: Map<PeerId, PeerId[]>, adverts: Map<PeerId, Uint8Array[]>, start: Array<{ from: PeerId; cmds: FindCommand[] }>, now: number) {
  const found: Array<{ at: PeerId; from: PeerId }> = []
  const queried = new Set<PeerId>()
  const dropped: string[] = []
  const queue = [...start]
  while (queue.length > 0) {
    const { from, cmds } = queue.shift() as { from: PeerId; cmds: FindCommand[] }
    for (const c of cmds) {
      if (c.type === 'found') found.push({ at: from, from: c.from })
      else if (c.type === 'dropped') dropped.push(c.reason)
      else {
        const core = cores.get(c.to) as FindCoordinator
        if (c.msg.type === 'find') {
          queried.add(c.to)
          queue.push({ from: c.to, cmds: core.onFind(from, c.msg.queryId, c.msg.ttl, now, graph.get(c.to) ?? [], adverts.get(c.to) ?? []) })
        } else if (c.msg.type === 'found') queue.push({ from: c.to, cmds: core.onFound(from, c.msg.queryId, c.msg.adverts, now) })
      }
    }
  }
  return { found, queried, dropped }
}

describe('FindCoordinator', () => {
  it('travels 3 hops along a line, and the answer from hop 3 returns to the asker', () => {
    // 0 - 1 - 2 - 3 - 4: only node 3 (3 hops away) and node 4 (4 hops) know a coordinator.
    const n = 5
    const graph = new Map<PeerId, PeerId[]>()
    const cores = new Map<PeerId, FindCoordinator>()
    for (let i = 0; i < n; i++) {
      graph.set(pid(i), [i - 1, i + 1].filter((j) => j >= 0 && j < n).map(pid))
      cores.set(pid(i), new FindCoordinator({}, createSeededRng(i + 1)))
    }
    const adverts = new Map([[pid(3), [ADVERT]], [pid(4), [ADVERT]]])
    const T = 1000
    const first = cores.get(pid(0))?.query(T, graph.get(pid(0)) ?? []) ?? []
    const r = pump(cores, graph, adverts, [{ from: pid(0), cmds: first }], T)
    expect([...r.queried].sort()).toEqual([pid(1), pid(2), pid(3)].sort())
    expect(r.found).toEqual([{ at: pid(0), from: pid(1) }])
    // Our own next query is rate-limited.
    expect(cores.get(pid(0))?.query(T + 100, graph.get(pid(0)) ?? [])).toBeUndefined()
    expect(cores.get(pid(0))?.query(T + 5000, graph.get(pid(0)) ?? [])).toBeDefined()
  })

  it('dedups queries that arrive twice, limits each neighbour, and drops unsolicited replies', () => {
    const core = new FindCoordinator({ perPeerPerMinute: 5 }, createSeededRng(1))
    const q = new Uint8Array(16).fill(1)
    expect(core.onFind(pid(1), q, 3, 0, [pid(2), pid(3)], []).map((c) => c.type)).toEqual(['send', 'send'])
    expect(core.onFind(pid(2), q, 3, 0, [pid(1), pid(3)], [])).toEqual([{ type: 'dropped', from: pid(2), reason: 'duplicate' }])
    const reasons: string[] = []
    for (let i = 0; i < 10; i++) {
      for (const c of core.onFind(pid(9), new Uint8Array(16).fill(10 + i), 1, 0, [], [ADVERT])) if (c.type === 'dropped') reasons.push(c.reason)
    }
    expect(reasons).toEqual(Array(5).fill('rate'))
    expect(core.onFound(pid(4), new Uint8Array(16).fill(99), [ADVERT], 0)).toEqual([{ type: 'dropped', from: pid(4), reason: 'unsolicited' }])
    // The route back to pid(1) expires after 30 s.
    expect(core.onFound(pid(2), q, [ADVERT], 1000)[0]).toMatchObject({ type: 'send', to: pid(1) })
    expect(core.onFound(pid(2), q, [ADVERT], 31_000)[0]).toMatchObject({ type: 'dropped', reason: 'unsolicited' })
    expect(core.routes).toBe(0)
  })
})
