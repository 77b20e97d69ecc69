// The pub/sub scenarios at a size the test suite can afford (the figures in the READMEs come from
// `saorsa-sim … --nodes 1000` and the `broadcast` bench). They drive the real Plumtree and
// membership cores; these tests pin what must hold at any size.
import { describe, expect, it } from 'vitest'
import { broadcastFailureScenario, broadcastScenario, partitionScenario } from '../src/index.js'

describe('pub/sub scenarios', () => {
  it('broadcast: every broadcast reaches every node by push or GRAFT, with little redundancy', () => {
    const r = broadcastScenario({ nodes: 150, seed: 3, broadcasts: 40 })
    expect(r.broadcasts).toBe(40)
    expect(r.reliability).toBe(1)
    expect(r.reliabilityMin).toBe(1)
    expect(r.rmr as number).toBeLessThan(0.1)
    expect(r.ldh as number).toBeGreaterThanOrEqual(2)
    expect(r.maxHops as number).toBeLessThanOrEqual(16)
    expect(r.graylisted).toBe(0)
  })

  it('broadcast-failure: the first broadcast after half the nodes crash silently reaches every survivor it can, later ones all', () => {
    // At this size a survivor whose neighbours all crashed is cut off until membership repairs:
    // `firstReachable` is what any broadcast could reach at that instant.
    for (const seed of [3, 4]) {
      const r = broadcastFailureScenario({ nodes: 150, seed, fail: 0.5 })
      expect(r.crashed).toBe(75)
      expect(r.firstReachable as number).toBeGreaterThan(0.9)
      expect(r.firstReliability as number).toBeGreaterThanOrEqual((r.firstReachable as number) - 0.01)
      expect(r.laterReliabilityMin).toBe(1)
    }
  })

  it('partition: after healing every node holds every message within two anti-entropy periods', () => {
    const r = partitionScenario({ nodes: 150, seed: 3 })
    expect(r.heldAtHeal as number).toBeLessThan(0.6)
    expect(r.healSeconds).not.toBeNull()
    expect(r.healSeconds as number).toBeLessThanOrEqual(60)
    expect(r.heldAtEnd).toBe(1)
    expect(r.deliveriesViaSync as number).toBeGreaterThan(0)
  })

  it('is deterministic: the same seed gives the same figures', () => {
    const strip = ({ wallMs: _w, ...rest }: Record<string, unknown>) => rest
    expect(strip(broadcastScenario({ nodes: 80, seed: 9, broadcasts: 10 }))).toEqual(strip(broadcastScenario({ nodes: 80, seed: 9, broadcasts: 10 })))
  })
})
