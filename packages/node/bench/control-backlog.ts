// Control-socket backlog benchmark (SPEC.md §9): a real `saorsa-gossip network join` node (started
// alone, no coordinator) and a client that pipelines BENCH_REQUESTS `status` requests (default
// 200,000) on its control socket and never reads a reply. Samples the node's VmRSS from
// /proc/<pid>/status before and after, checks that a fresh `status` connection is still answered
// while the non-reader holds on, then closes the non-reader. For scale it first measures what
// BENCH_WARMUP (default 2,000) requests from a client that reads its replies cost. Prints ONE JSON object:
//   npm run bench -- control-backlog
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { ControlClient } from '../dist/index.js'

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200_000)
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2000)
/** The node's RSS counts as settled once it moved less than this over SETTLE_MS. */
const SETTLE_KB = 1024
const SETTLE_MS = 3000
const MAX_WAIT_MS = Number(process.env.BENCH_MAX_WAIT_MS ?? 60_000)
const CLI = join(import.meta.dirname, '..', '..', '..', 'apps', 'cli', 'bin', 'saorsa-gossip.js')
const progress = (s: string): void => void process.stderr.write(`${s}\n`)
const mb = (kb: number): number => Math.round((kb / 1024) * 10) / 10
const until = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (m === null) throw new Error(`no VmRSS for pid ${pid}`)
  return Number(m[1])
}

/** Samples every 250 ms until the RSS moved less than SETTLE_KB over SETTLE_MS (or MAX_WAIT_MS); returns last and peak. */
async function settle(pid: number): Promise<{ rssKb: number; peakKb: number; waitedMs: number }> {
  const t0 = Date.now()
  const samples: Array<{ t: number; kb: number }> = []
  let peak = 0
  for (;;) {
    const kb = rssKb(pid)
    peak = Math.max(peak, kb)
    const t = Date.now()
    samples.push({ t, kb })
    const window = samples.filter((s) => t - s.t <= SETTLE_MS)
    const spread = Math.max(...window.map((s) => s.kb)) - Math.min(...window.map((s) => s.kb))
    if ((t - t0 >= SETTLE_MS && spread < SETTLE_KB) || t - t0 >= MAX_WAIT_MS) return { rssKb: kb, peakKb: peak, waitedMs: t - t0 }
    await until(250)
  }
}

async function timedStatus(path: string): Promise<number> {
  const t0 = performance.now()
  const c = await ControlClient.connect(path)
  try {
    await c.request('status')
  } finally {
    c.close()
  }
  return Math.round((performance.now() - t0) * 10) / 10
}

/** WARMUP status requests written at once on one connection by a client that reads every reply. */
async function pipelinedAndRead(path: string, n: number): Promise<number> {
  if (n === 0) return 0
  const t0 = performance.now()
  const s = createConnection(path)
  await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject))
  const lines: string[] = []
  for (let i = 1; i <= n; i++) lines.push(`{"id":${i},"method":"status"}\n`)
  s.write(lines.join(''))
  let got = 0
  await new Promise<void>((resolve, reject) => {
    s.on('error', reject)
    s.on('data', (b: Buffer) => {
      for (const c of b) if (c === 0x0a && ++got === n) resolve()
    })
  })
  s.destroy()
  return Math.round(performance.now() - t0)
}

const home = mkdtempSync(join(tmpdir(), 'sg-bench-'))
const env = { ...process.env, SAORSA_GOSSIP_HOME: home, SAORSA_GOSSIP_PASSPHRASE: '' }
try {
  const made = spawnSync(process.execPath, [CLI, 'identity', 'create', '--alias', 'B'], { env, encoding: 'utf8' })
  if (made.status !== 0) throw new Error(`identity create failed: ${made.stderr}`)
  const child = spawn(process.execPath, [CLI, 'network', 'join', '--identity', 'B', '--json'], { env, stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const path = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`node exited with ${code}`)))
    createInterface({ input: child.stdout }).on('line', (l) => {
      const ev = JSON.parse(l) as { event?: string; control?: string }
      if (ev.event === 'joined' && ev.control !== undefined) resolve(ev.control)
    })
  })
  const pid = child.pid as number
  progress(`node pid ${pid}, control ${path}`)
  await timedStatus(path) // the request path used once
  const before = await settle(pid)
  progress(`RSS before: ${mb(before.rssKb)} MB`)
  // For scale: what WARMUP pipelined requests from a client that reads every reply cost.
  const warmupMs = await pipelinedAndRead(path, WARMUP)
  const warm = await settle(pid)
  progress(`RSS after ${WARMUP} read requests: ${mb(warm.rssKb)} MB (${warmupMs} ms)`)

  // The attacker: REQUESTS pipelined status requests, never a read.
  const attacker = createConnection(path)
  await new Promise<void>((resolve, reject) => attacker.once('connect', resolve).once('error', reject))
  attacker.on('error', () => {})
  attacker.pause()
  // In chunks of 1,000 lines, so the client's writableLength says how much the node has not taken.
  let requestBytes = 0
  for (let i = 1; i <= REQUESTS; i += 1000) {
    const lines: string[] = []
    for (let j = i; j < i + 1000 && j <= REQUESTS; j++) lines.push(`{"id":${j},"method":"status"}\n`)
    const chunk = lines.join('')
    requestBytes += Buffer.byteLength(chunk)
    attacker.write(chunk)
  }
  const after = await settle(pid)
  const unsentBytes = attacker.writableLength
  progress(`RSS after ${REQUESTS} unread requests: ${mb(after.rssKb)} MB (peak ${mb(after.peakKb)} MB, ${unsentBytes} request bytes not taken by the node)`)
  const freshStatusMs = await timedStatus(path)

  attacker.destroy()
  const closed = await settle(pid)
  const result = {
    bench: 'control-backlog',
    requests: REQUESTS,
    requestBytes,
    rssBeforeMB: mb(before.rssKb),
    warmupReadRequests: WARMUP,
    rssAfterWarmupMB: mb(warm.rssKb),
    rssAfterMB: mb(after.rssKb),
    rssPeakMB: mb(after.peakKb),
    rssDeltaMB: mb(after.rssKb - before.rssKb),
    rssPeakDeltaMB: mb(after.peakKb - before.rssKb),
    rssDeltaFromWarmupMB: mb(after.rssKb - warm.rssKb),
    requestBytesNotReadByNode: unsentBytes,
    settleMs: after.waitedMs,
    freshStatusMs,
    rssAfterCloseMB: mb(closed.rssKb)
  }
  child.kill('SIGINT')
  await exited
  process.stdout.write(`${JSON.stringify(result)}\n`)
} finally {
  rmSync(home, { recursive: true, force: true })
}
