// Wall time and peak memory of the `membership` scenario at 1,000 and 10,000 nodes (issue 4 bench).
// Each size runs in its own child process so its peak RSS is its own. Prints ONE JSON object:
//   npm run -s bench -- membership        (BENCH_SIZES=1000,10000 by default)
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const sizes = (process.env.BENCH_SIZES ?? '1000,10000').split(',').map(Number)
const seed = Number(process.env.BENCH_SEED ?? 1)
const worker = fileURLToPath(new URL('./_membership-worker.ts', import.meta.url))
const out: Record<string, unknown> = { scenario: 'membership', seed, node: process.version }
for (const n of sizes) {
  process.stderr.write(`membership scenario, ${n} nodes…\n`)
  const r = spawnSync(process.execPath, ['--no-warnings', worker, String(n), String(seed)], { encoding: 'utf8', maxBuffer: 1 << 24 })
  if (r.status !== 0) {
    process.stderr.write(r.stderr)
    process.exit(1)
  }
  const res = JSON.parse(r.stdout) as Record<string, unknown>
  out[`n${n}`] = res
}
console.log(JSON.stringify(out, null, 2))
