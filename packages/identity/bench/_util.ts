// Shared helpers of the benchmark scripts in this folder (files starting with `_` are not benchmarks).

export const BUDGET_MS = Number(process.env.BENCH_MS ?? 300)
export const progress = (s: string): void => {
  process.stderr.write(s + '\n')
}

/** Runs `fn` repeatedly for about `ms` milliseconds (at least `minIter` times); returns ops per second. */
export function opsPerSec(fn: () => unknown, ms = BUDGET_MS, minIter = 1): number {
  fn() // warm up (key import caches, JIT)
  let n = 0
  const t0 = performance.now()
  let t = t0
  while (n < minIter || t - t0 < ms) {
    fn()
    n++
    t = performance.now()
  }
  return round((n * 1000) / (t - t0))
}

export const round = (x: number): number => (x >= 100 ? Math.round(x) : Math.round(x * 100) / 100)
export const seeded = (len: number, k: number): Uint8Array => Uint8Array.from({ length: len }, (_, i) => (i * 31 + k) & 255)

