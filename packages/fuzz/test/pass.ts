// The short seeded pass over one fuzz target, shared by the test files (split so vitest runs the
// costly handshake targets in parallel with the rest).
import { expect, it } from 'vitest'
import { runFuzz, TARGETS } from '../src/index.js'

/** Inputs per target in `npm test`. */
export const INPUTS = 10_000
// Handshake M2 and M3 seeds carry transcript signatures over fresh randomness, so a replayed seed
// cannot verify against a new handshake; every other target's seeds must be accepted as they are.
const SEEDS_CANNOT_VERIFY = new Set(['handshake-m2', 'handshake-m3'])

/** Declares the test of one target. */
export function fuzzPass(name: string): void {
  it(`${name}: no crash, seeds accepted, inputs rejected for many reasons`, async () => {
    const target = TARGETS[name]!()
    try {
      const nSeeds = target.seeds().length
      const seedRun = await runFuzz(target, { inputs: nSeeds, seed: 7 })
      if (!SEEDS_CANNOT_VERIFY.has(name)) expect(seedRun.accepted, 'every valid seed is accepted').toBe(nSeeds)
      const r = await runFuzz(target, { inputs: INPUTS, seed: 0x5eed })
      expect(r.crashSamples, JSON.stringify(r.crashSamples.slice(0, 3))).toEqual([])
      expect(r.crashes).toBe(0)
      expect(r.inputs).toBe(INPUTS)
      // The generator reaches past the first check: several distinct rejection reasons.
      expect(Object.keys(r.reasons).length).toBeGreaterThanOrEqual(name === 'peer-cache' ? 1 : 3)
    } finally {
      target.close?.()
    }
  }, 180_000)
}
