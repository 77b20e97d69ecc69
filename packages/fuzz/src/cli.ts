// `saorsa-fuzz <target[,target…]|all> [--inputs N] [--seed S] [--json] [--out FILE]`
// Runs the fuzz harness. With `all`, each target runs in a child process of its own, so an input that
// kills the process (out of memory, stack) is reported as a crash of that target and the rest go on.
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { emptyReport, runFuzz } from './harness.js'
import type { FuzzReport } from './harness.js'
import { TARGETS } from './targets.js'

const USAGE = `usage: saorsa-fuzz <target[,target…]|all> [--inputs N] [--seed S] [--json] [--out FILE]\n  targets: ${Object.keys(TARGETS).join(', ')}`

function usage(msg: string): never {
  process.stderr.write(`error: ${msg}\n${USAGE}\n`)
  process.exit(2)
}

let parsed: ReturnType<typeof parseArgs>
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      inputs: { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'boolean' },
      out: { type: 'string' },
      child: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' }
    }
  })
} catch (e) {
  usage((e as Error).message)
}
const { values, positionals } = parsed
if (values.help === true) {
  process.stdout.write(`${USAGE}\n`)
  process.exit(0)
}
if (positionals.length !== 1) usage('name one target (or all)')
const which = positionals[0]!
const names = which === 'all' ? Object.keys(TARGETS) : which.split(',')
for (const n of names) if (TARGETS[n] === undefined) usage(`unknown target ${JSON.stringify(n)}`)
const inputs = values.inputs === undefined ? 10_000 : Number(values.inputs)
if (!Number.isSafeInteger(inputs) || inputs < 1) usage(`--inputs must be a positive integer, got ${JSON.stringify(values.inputs)}`)
const seed = values.seed === undefined ? 1 : Number(values.seed)
if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffff_ffff) usage(`--seed must be an integer in 0..2^32-1, got ${JSON.stringify(values.seed)}`)
const json = values.json === true

function line(r: FuzzReport): string {
  const reasons = Object.entries(r.reasons)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')
  return `${r.target}: ${r.inputs} inputs in ${(r.totalMs / 1000).toFixed(1)} s, accepted ${r.accepted}, rejected ${r.rejected}, crashes ${r.crashes}, slowest ${r.slowestMs.toFixed(2)} ms, over 50 ms ${r.over50Ms} (once ${r.over50MsOnce})\n  reasons: ${reasons}`
}

async function one(name: string): Promise<FuzzReport> {
  const target = TARGETS[name]!()
  const every = Math.max(1000, Math.floor(inputs / 20))
  try {
    return await runFuzz(target, {
      inputs,
      seed,
      progressEvery: values.child === true || json ? 0 : every,
      onProgress: (done, r) => process.stderr.write(`  ${name}: ${done}/${inputs} (${r.crashes} crashes)\n`)
    })
  } finally {
    target.close?.()
  }
}

if (values.child === true) {
  // Child mode: one target, its report as one JSON line on stdout.
  const r = await one(names[0]!)
  process.stdout.write(`${JSON.stringify(r)}\n`)
  process.exit(0)
}

const reports: FuzzReport[] = []
for (const name of names) {
  if (names.length === 1) {
    reports.push(await one(name))
  } else {
    if (!json) process.stderr.write(`▶ ${name} (${inputs} inputs, seed ${seed})\n`)
    const started = performance.now()
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), name, '--child', '--inputs', String(inputs), '--seed', String(seed)], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'inherit']
    })
    const out = child.stdout.trim().split('\n').pop() ?? ''
    if (child.status === 0 && out.startsWith('{')) {
      reports.push(JSON.parse(out) as FuzzReport)
    } else {
      // The process died: that is a crash of this target.
      reports.push({
        ...emptyReport(name, seed),
        crashes: 1,
        crashSamples: [{ kind: 'random', inputHex: '', error: `process exited with ${child.signal ?? child.status}` }],
        totalMs: Math.round(performance.now() - started)
      })
    }
  }
  if (!json) process.stderr.write(`${line(reports[reports.length - 1]!)}\n`)
}
const summary = { seed, inputsPerTarget: inputs, node: process.version, reports }
if (typeof values.out === 'string') writeFileSync(values.out, `${JSON.stringify(summary, null, 2)}\n`)
if (json) process.stdout.write(`${JSON.stringify(summary)}\n`)
const crashes = reports.reduce((n, r) => n + r.crashes, 0)
process.exit(crashes > 0 ? 1 : 0)
