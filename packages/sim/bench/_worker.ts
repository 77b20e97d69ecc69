// Child of the sim benches: runs one scenario at one size and prints its figures with peak RSS.
//   node _worker.ts <scenario> <nodes> <seed>
import { PUBSUB_SCENARIOS, SCENARIOS } from '../dist/index.js'

const [name, n, seed] = process.argv.slice(2)
const all = { ...SCENARIOS, ...PUBSUB_SCENARIOS } as Record<string, (o: { nodes: number; seed: number }) => Record<string, unknown>>
const run = all[name ?? '']
if (run === undefined) throw new Error(`unknown scenario ${String(name)}`)
const r = run({ nodes: Number(n), seed: Number(seed) })
console.log(JSON.stringify({ ...r, violations: undefined, peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }))
