// Prometheus text exposition (format 0.0.4) of a MetricsSnapshot: counters, gauges, and observations
// as summaries without quantiles (`_count`, `_sum`) plus `_min` / `_max` gauges.
import type { MetricsSnapshot } from '@saorsa-gossip/types'

/** Splits `name{a="1"}` into its name and label text. */
function split(key: string): { name: string; labels: string } {
  const i = key.indexOf('{')
  return i < 0 ? { name: key, labels: '' } : { name: key.slice(0, i), labels: key.slice(i) }
}

const num = (v: number): string => (Number.isFinite(v) ? String(v) : v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN')

/** Renders `snap` as Prometheus text; metric names are sorted, each with one `# TYPE` line. */
export function toPrometheusText(snap: MetricsSnapshot): string {
  const families = new Map<string, { type: string; lines: string[] }>()
  const add = (name: string, type: string, line: string): void => {
    let f = families.get(name)
    if (f === undefined) {
      f = { type, lines: [] }
      families.set(name, f)
    }
    f.lines.push(line)
  }
  for (const [k, v] of Object.entries(snap.counters)) {
    const { name, labels } = split(k)
    add(name, 'counter', `${name}${labels} ${num(v)}`)
  }
  for (const [k, v] of Object.entries(snap.gauges)) {
    const { name, labels } = split(k)
    add(name, 'gauge', `${name}${labels} ${num(v)}`)
  }
  for (const [k, o] of Object.entries(snap.observations)) {
    const { name, labels } = split(k)
    add(name, 'summary', `${name}_count${labels} ${o.count}`)
    add(name, 'summary', `${name}_sum${labels} ${num(o.sum)}`)
    add(`${name}_min`, 'gauge', `${name}_min${labels} ${num(o.min)}`)
    add(`${name}_max`, 'gauge', `${name}_max${labels} ${num(o.max)}`)
  }
  const out: string[] = []
  for (const name of [...families.keys()].sort()) {
    const f = families.get(name) as { type: string; lines: string[] }
    out.push(`# TYPE ${name} ${f.type}`, ...f.lines)
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`
}
