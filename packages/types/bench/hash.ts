// BLAKE3 implementations compared (the reason hash.ts prefers WebAssembly for large inputs), and the
// envelope decode rate that depends on it. Prints ONE JSON object:  npm run bench -- hash
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js'
import { blake3, blake3Ready } from '../dist/index.js'

const BUDGET_MS = Number(process.env.BENCH_MS ?? 300)
function mbPerSec(fn: () => unknown, bytes: number): number {
  fn()
  let n = 0
  const t0 = performance.now()
  let t = t0
  while (t - t0 < BUDGET_MS) {
    fn()
    n++
    t = performance.now()
  }
  const v = (n * bytes) / ((t - t0) / 1000) / 1e6
  return v >= 100 ? Math.round(v) : Math.round(v * 100) / 100
}

await blake3Ready
const out: Record<string, unknown> = {}
for (const size of [64, 256, 512, 1024, 65536, 1 << 20]) {
  const data = Uint8Array.from({ length: size }, (_, i) => (i * 13) & 255)
  process.stderr.write(`blake3 ${size} B\n`)
  const js = mbPerSec(() => nobleBlake3(data), size)
  const used = mbPerSec(() => blake3(data), size)
  out[`${size}B`] = { nobleMBps: js, blake3MBps: used, ratio: Math.round((used / js) * 100) / 100 }
}
console.log(JSON.stringify({ blake3: out }, null, 2))
