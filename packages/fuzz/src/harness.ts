// The fuzz loop: generate inputs for a target from its seed corpus with one seeded Rng, feed each,
// count outcomes by reason, keep every crash (input + error) and the slowest input.
import { createSeededRng, toHex } from '@saorsa-gossip/types'
import { nextInput } from './mutate.js'
import type { InputKind } from './mutate.js'
import type { FuzzTarget } from './targets.js'

/** Options of `runFuzz`. */
export interface FuzzOptions {
  /** Inputs to feed (default 10,000). */
  inputs?: number
  /** Rng seed (default 1): the same seed and build give the same inputs. */
  seed?: number
  /** Crashes kept in the report (default 20; all are counted). */
  keepCrashes?: number
  /** Called every `progressEvery` inputs (default 0 = never). */
  onProgress?: (done: number, report: FuzzReport) => void
  progressEvery?: number
}

/** One crashing input. */
export interface FuzzCrash {
  kind: InputKind
  inputHex: string
  error: string
}

/** Figures of one run over one target. */
export interface FuzzReport {
  target: string
  seed: number
  inputs: number
  accepted: number
  rejected: number
  /** Rejections by stable reason. */
  reasons: Record<string, number>
  /** Inputs by generation strategy. */
  kinds: Record<string, number>
  crashes: number
  crashSamples: FuzzCrash[]
  slowestMs: number
  slowestInputHex: string
  /** Inputs that took over 50 ms once (a GC pause or a busy machine counts here too). */
  over50MsOnce: number
  /** Inputs that took over 50 ms and again on each of 3 re-runs: slow because of the input itself. */
  over50Ms: number
  /** Those inputs (the first 20): hex and the times of the run and the re-runs. */
  slowSamples: Array<{ kind: InputKind; inputHex: string; ms: number[] }>
  totalMs: number
}

/** An input slower than this is a finding (issue "Hostile bytes and faults": no input over 50 ms). */
export const SLOW_MS = 50

const hex = (b: Uint8Array, max = 512): string => toHex(b.subarray(0, max)) + (b.length > max ? `…(${b.length} bytes)` : '')

/** A report with nothing counted yet. */
export function emptyReport(target: string, seed: number): FuzzReport {
  return { target, seed, inputs: 0, accepted: 0, rejected: 0, reasons: {}, kinds: {}, crashes: 0, crashSamples: [], slowestMs: 0, slowestInputHex: '', over50MsOnce: 0, over50Ms: 0, slowSamples: [], totalMs: 0 }
}

/** Runs `target` for `opts.inputs` generated inputs; never throws for a crashing input (it is reported). */
export async function runFuzz(target: FuzzTarget, opts: FuzzOptions = {}): Promise<FuzzReport> {
  const inputs = opts.inputs ?? 10_000
  const seed = opts.seed ?? 1
  const keep = opts.keepCrashes ?? 20
  const rng = createSeededRng(seed)
  const corpus = target.seeds()
  if (corpus.length === 0) throw new Error(`target ${target.name} has no seeds`)
  const report = emptyReport(target.name, seed)
  const timeOnce = async (input: Uint8Array): Promise<number> => {
    const t = performance.now()
    try {
      const r = target.run(input)
      if (typeof r !== 'string') await r
    } catch {
      // counted on the first run
    }
    return performance.now() - t
  }
  const started = performance.now()
  for (let i = 0; i < inputs; i++) {
    // Every seed is fed once as it is first: each must be accepted (checked by the tests).
    const { kind, input } = i < corpus.length ? { kind: 'structure' as InputKind, input: corpus[i]! } : nextInput(rng, corpus, target.maxInputBytes)
    report.kinds[kind] = (report.kinds[kind] ?? 0) + 1
    const t = performance.now()
    let outcome: string | undefined
    try {
      const r = target.run(input)
      outcome = typeof r === 'string' ? r : await r
    } catch (e) {
      report.crashes++
      if (report.crashSamples.length < keep) report.crashSamples.push({ kind, inputHex: hex(input), error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) })
    }
    const ms = performance.now() - t
    if (ms > report.slowestMs) {
      report.slowestMs = ms
      report.slowestInputHex = hex(input, 128)
    }
    if (ms > SLOW_MS) {
      report.over50MsOnce++
      const times = [ms]
      for (let k = 0; k < 3 && times[times.length - 1]! > SLOW_MS; k++) times.push(await timeOnce(input))
      if (times.length === 4 && times[3]! > SLOW_MS) {
        report.over50Ms++
        if (report.slowSamples.length < 20) report.slowSamples.push({ kind, inputHex: hex(input, 256), ms: times.map((t) => Math.round(t)) })
      }
    }
    report.inputs++
    if (outcome === 'accepted') report.accepted++
    else if (outcome !== undefined) {
      report.rejected++
      report.reasons[outcome] = (report.reasons[outcome] ?? 0) + 1
    }
    if (opts.onProgress !== undefined && opts.progressEvery !== undefined && opts.progressEvery > 0 && (i + 1) % opts.progressEvery === 0) {
      report.totalMs = performance.now() - started
      opts.onProgress(i + 1, report)
    }
  }
  report.totalMs = performance.now() - started
  report.slowestMs = Math.round(report.slowestMs * 1000) / 1000
  report.totalMs = Math.round(report.totalMs)
  return report
}
