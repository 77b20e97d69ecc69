// A small in-memory Metrics implementation with a snapshot, used by tests, the simulator and drivers.
// (Prometheus text exposition belongs to the node package.)
import type { MetricLabels, Metrics } from './interfaces.js'

/** One histogram-like summary of observations. */
export interface ObservationSummary {
  count: number
  sum: number
  min: number
  max: number
}

/** Everything a MemoryMetrics recorded, keyed by `name{label="v",…}`. */
export interface MetricsSnapshot {
  counters: Record<string, number>
  gauges: Record<string, number>
  observations: Record<string, ObservationSummary>
}

function key(name: string, labels?: MetricLabels): string {
  if (labels === undefined) return name
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`
}

/** Metrics kept in memory; `snapshot()` returns a plain copy. */
export class MemoryMetrics implements Metrics {
  readonly #counters = new Map<string, number>()
  readonly #gauges = new Map<string, number>()
  readonly #obs = new Map<string, ObservationSummary>()

  increment(name: string, by = 1, labels?: MetricLabels): void {
    const k = key(name, labels)
    this.#counters.set(k, (this.#counters.get(k) ?? 0) + by)
  }
  gauge(name: string, value: number, labels?: MetricLabels): void {
    this.#gauges.set(key(name, labels), value)
  }
  observe(name: string, value: number, labels?: MetricLabels): void {
    const k = key(name, labels)
    const o = this.#obs.get(k)
    if (o === undefined) this.#obs.set(k, { count: 1, sum: value, min: value, max: value })
    else {
      o.count++
      o.sum += value
      if (value < o.min) o.min = value
      if (value > o.max) o.max = value
    }
  }
  /** The counter `name` with `labels`, 0 when never incremented. */
  counter(name: string, labels?: MetricLabels): number {
    return this.#counters.get(key(name, labels)) ?? 0
  }
  snapshot(): MetricsSnapshot {
    return {
      counters: Object.fromEntries(this.#counters),
      gauges: Object.fromEntries(this.#gauges),
      observations: Object.fromEntries([...this.#obs].map(([k, v]) => [k, { ...v }]))
    }
  }
}

/** Metrics that records nothing. */
export const noopMetrics: Metrics = { increment: () => {}, gauge: () => {}, observe: () => {} }
