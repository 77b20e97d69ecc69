// `saorsa-sim <scenario> --nodes N --seed S [--fail F] [--loss L] [--warmup-ms T] [--broadcasts B] [--interval-ms T] [--partition-ms T] [--json]`
// Runs one simulation scenario and prints its figures (one JSON object with --json).
import { parseArgs } from 'node:util'
import { PUBSUB_SCENARIOS } from './pubsub-scenarios.js'
import type { BroadcastOptions } from './pubsub-scenarios.js'
import { SCENARIOS as MEMBERSHIP_SCENARIOS } from './scenarios.js'

const SCENARIOS = { ...MEMBERSHIP_SCENARIOS, ...PUBSUB_SCENARIOS }

const USAGE = `usage: saorsa-sim <${Object.keys(SCENARIOS).join('|')}> --nodes N --seed S [--fail F] [--loss L] [--warmup-ms T] [--broadcasts B] [--interval-ms T] [--partition-ms T] [--json]`

function fail(msg: string, code = 2): never {
  process.stderr.write(`error: ${msg}\n${USAGE}\n`)
  process.exit(code)
}

function num(name: string, v: string | undefined, check: (n: number) => boolean, rule: string): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isFinite(n) || !check(n)) fail(`--${name} must be ${rule}, got ${JSON.stringify(v)}`)
  return n
}

let parsed: ReturnType<typeof parseArgs>
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      nodes: { type: 'string' },
      seed: { type: 'string' },
      fail: { type: 'string' },
      loss: { type: 'string' },
      'warmup-ms': { type: 'string' },
      broadcasts: { type: 'string' },
      'interval-ms': { type: 'string' },
      'partition-ms': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' }
    }
  })
} catch (e) {
  fail((e as Error).message)
}
const { values, positionals } = parsed
if (values.help === true) {
  process.stdout.write(`${USAGE}\n`)
  process.exit(0)
}
const name = positionals[0]
if (name === undefined || !(name in SCENARIOS)) fail(name === undefined ? 'missing scenario' : `unknown scenario ${JSON.stringify(name)}`)
const str = (k: string): string | undefined => (typeof values[k] === 'string' ? (values[k] as string) : undefined)
const opts: BroadcastOptions & { partitionMs?: number } = {
  nodes: num('nodes', str('nodes') ?? '1000', (n) => Number.isInteger(n) && n >= 2 && n <= 100_000, 'an integer in 2..100000') as number,
  seed: num('seed', str('seed') ?? '1', (n) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff, 'an integer in 0..2^32-1') as number
}
const f = num('fail', str('fail'), (n) => n >= 0 && n < 1, 'a fraction in [0, 1)')
if (f !== undefined) opts.fail = f
const l = num('loss', str('loss'), (n) => n >= 0 && n < 1, 'a fraction in [0, 1)')
if (l !== undefined) opts.loss = l
const w = num('warmup-ms', str('warmup-ms'), (n) => Number.isInteger(n) && n >= 0, 'a non-negative integer')
if (w !== undefined) opts.warmupMs = w
const b = num('broadcasts', str('broadcasts'), (n) => Number.isInteger(n) && n >= 1 && n <= 100_000, 'an integer in 1..100000')
if (b !== undefined) opts.broadcasts = b
const iv = num('interval-ms', str('interval-ms'), (n) => Number.isInteger(n) && n >= 1, 'a positive integer')
if (iv !== undefined) opts.intervalMs = iv
const pm = num('partition-ms', str('partition-ms'), (n) => Number.isInteger(n) && n >= 1000, 'an integer of at least 1000')
if (pm !== undefined) opts.partitionMs = pm

const result = SCENARIOS[name as keyof typeof SCENARIOS](opts)
if (values.json === true) {
  process.stdout.write(`${JSON.stringify(result)}\n`)
} else {
  for (const [k, v] of Object.entries(result)) process.stdout.write(`${k.padEnd(22)} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}\n`)
}
