// Child of bench/membership.ts: runs one membership scenario and reports its figures with peak RSS.
import { membershipScenario } from '../dist/index.js'

const [n, seed] = process.argv.slice(2).map(Number)
const r = membershipScenario({ nodes: n as number, seed: seed as number })
console.log(
  JSON.stringify({
    wallMs: r.wallMs,
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    virtualSeconds: r.virtualSeconds,
    events: r.events,
    eventsPerSecond: Math.round((r.events as number) / ((r.wallMs as number) / 1000)),
    connected: r.connected,
    activeViewMin: r.activeViewMin,
    activeViewMax: r.activeViewMax,
    invariantViolations: r.invariantViolations
  })
)
