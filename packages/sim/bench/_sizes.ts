// Shared by the sim benches: runs `scenario` once per size, each in its own child process (so its
// peak RSS is its own), and prints ONE JSON object with the figures per size.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export function benchScenario(scenario: string, defaultSizes: string): void {
  const sizes = (process.env.BENCH_SIZES ?? defaultSizes).split(',').map(Number)
  const seed = Number(process.env.BENCH_SEED ?? 1)
  const worker = fileURLToPath(new URL('./_worker.ts', import.meta.url))
  const out: Record<string, unknown> = { scenario, seed, node: process.version }
  for (const n of sizes) {
    process.stderr.write(`${scenario} scenario, ${n} nodes…\n`)
    const r = spawnSync(process.execPath, ['--no-warnings', worker, scenario, String(n), String(seed)], { encoding: 'utf8', maxBuffer: 1 << 24 })
    if (r.status !== 0) {
      process.stderr.write(r.stderr)
      process.exit(1)
    }
    out[`n${n}`] = JSON.parse(r.stdout) as Record<string, unknown>
  }
  console.log(JSON.stringify(out, null, 2))
}
