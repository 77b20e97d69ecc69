// Pre-authentication bench (SPEC.md §5.5): what a hostile, never-authenticated libp2p peer can make a
// node spend. Prints ONE JSON object:  npm run bench -- preauth   (BENCH_KINDS=quic,tcp)
//
// - flood: 100 connections × 2 bulk streams, each announcing a 4 MiB frame and sending 4 MiB − 1
//   bytes of it before any preamble or handshake. Victim memory (RSS, V8 heap, array buffers): at
//   rest, peak while the attack runs, and after the attacker leaves (after GC).
// - slots: 70 connections that send a valid M1 and never M3 (re-dialling when dropped), then five
//   honest nodes dial the victim one after another while the attack runs: joined or not, and how
//   long it took; plus the honest dial time with no attack.
//
// Each scenario runs in a fresh victim process (this file with `victim <scenario> <kind>`), and the
// attacker in its own process (test/preauth-attacker.ts), so the figures are the victim's alone.
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { Identity } from '@saorsa-gossip/identity'
import { spawnAttacker } from '../test/preauth-attacker.ts'
import type { AttackReport } from '../test/preauth-attacker.ts'

// BENCH_DIST: another build of this package to measure (e.g. the one before a change).
const { Libp2pTransport } = (await import(process.env.BENCH_DIST ?? '../dist/index.js')) as typeof import('../dist/index.js')

const SELF = fileURLToPath(import.meta.url)
const FLOOD_CONNS = Number(process.env.BENCH_FLOOD_CONNS ?? 100)
const SLOT_CONNS = Number(process.env.BENCH_SLOT_CONNS ?? 70)
const HONEST = Number(process.env.BENCH_HONEST ?? 5)
/** How long the flood is held after the attacker has handed everything over (old code: 10 s). */
const HOLD_MS = Number(process.env.BENCH_HOLD_MS ?? 3_000)
const progress = (s: string): void => void process.stderr.write(`${s}\n`)
const mb = (x: number): number => Math.round((x / 1e6) * 10) / 10
const r1 = (x: number): number => Math.round(x * 10) / 10

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

interface Mem {
  rss: number
  heapUsed: number
  arrayBuffers: number
}
function mem(): Mem {
  const m = process.memoryUsage()
  return { rss: m.rss, heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers }
}
async function settledMem(): Promise<Mem> {
  for (let i = 0; i < 3; i++) {
    gc()
    await new Promise((r) => setImmediate(r))
  }
  return mem()
}

function only(kind: string) {
  return kind === 'quic' ? { tcp: false } : { quic: false }
}

/** flood: 4 MiB announced, 4 MiB − 1 sent; control: the same connections and streams, each sending
 *  one well-formed (unknown) 32-byte session id: what 100 connections cost without any body. */
async function victimFlood(kind: string, control = false): Promise<unknown> {
  const victim = new Libp2pTransport({ identity: Identity.fromSeed(new Uint8Array(32).fill(7)) }, only(kind))
  await victim.start()
  const rest = await settledMem()
  const peak: Mem = { ...rest }
  let peakLive = rest.heapUsed + rest.arrayBuffers
  let n = 0
  // Every 10th sample collects garbage first: `peakLive` is what the victim actually holds, `peak`
  // includes transient garbage (Noise/Yamux/QUIC buffers of connections set up and torn down).
  const sample = setInterval(() => {
    const live = ++n % 10 === 0
    if (live) gc()
    const m = mem()
    peak.rss = Math.max(peak.rss, m.rss)
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed)
    peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers)
    if (live) peakLive = Math.max(peakLive, m.heapUsed + m.arrayBuffers)
  }, 10)
  const t0 = performance.now()
  const announce = control ? 32 : 4 * 1024 * 1024
  const a = spawnAttacker({ mode: 'flood', addr: victim.listenAddrs()[0] as string, conns: FLOOD_CONNS, streams: 2, protocol: '/saorsa-gossip/bulk/1.0.0', announce, send: control ? 32 : announce - 1 })
  const sent = await a.next((r) => r.type === 'sent', 120_000)
  const sentMs = performance.now() - t0
  await new Promise((r) => setTimeout(r, HOLD_MS))
  const held = mem()
  await a.stop()
  // The attacker is gone: wait until the victim has closed every connection of it.
  const h = victim.libp2p
  const deadline = Date.now() + 20_000
  while ((h?.connections().length ?? 0) > 0 && Date.now() < deadline) {
    await h?.once('connection:close', undefined, { signal: AbortSignal.timeout(1_000) }).catch(() => undefined)
  }
  clearInterval(sample)
  const after = await settledMem()
  const stats = victim.stats()
  await victim.stop()
  return {
    attack: { conns: FLOOD_CONNS, streamsPerConn: 2, announcedBytes: announce, report: sent, sentAfterMs: Math.round(sentMs) },
    mb: {
      rest: { rss: mb(rest.rss), heapUsed: mb(rest.heapUsed), arrayBuffers: mb(rest.arrayBuffers) },
      peak: { rss: mb(peak.rss), heapUsed: mb(peak.heapUsed), arrayBuffers: mb(peak.arrayBuffers) },
      heldAfterHoldMs: { rss: mb(held.rss), heapUsed: mb(held.heapUsed), arrayBuffers: mb(held.arrayBuffers) },
      after: { rss: mb(after.rss), heapUsed: mb(after.heapUsed), arrayBuffers: mb(after.arrayBuffers) },
      peakGrowth: {
        rss: mb(peak.rss - rest.rss),
        heapPlusBuffers: mb(peak.heapUsed + peak.arrayBuffers - rest.heapUsed - rest.arrayBuffers),
        liveHeapPlusBuffers: mb(peakLive - rest.heapUsed - rest.arrayBuffers)
      },
      afterGrowth: { rss: mb(after.rss - rest.rss), heapPlusBuffers: mb(after.heapUsed + after.arrayBuffers - rest.heapUsed - rest.arrayBuffers) }
    },
    victim: stats
  }
}

async function honestDial(victimAddr: string, seed: number, kind: string): Promise<{ ok: boolean; ms: number; error?: string }> {
  const t = new Libp2pTransport({ identity: Identity.fromSeed(new Uint8Array(32).fill(seed)) }, only(kind))
  await t.start()
  const t0 = performance.now()
  try {
    await t.dial(victimAddr, { signal: AbortSignal.timeout(10_000) })
    return { ok: true, ms: r1(performance.now() - t0) }
  } catch (e) {
    return { ok: false, ms: r1(performance.now() - t0), error: e instanceof Error ? e.message : String(e) }
  } finally {
    await t.stop()
  }
}

async function victimSlots(kind: string): Promise<unknown> {
  const victim = new Libp2pTransport({ identity: Identity.fromSeed(new Uint8Array(32).fill(8)) }, only(kind))
  await victim.start()
  const addr = victim.listenAddrs()[0] as string
  const quiet: Array<Awaited<ReturnType<typeof honestDial>>> = []
  for (let i = 0; i < HONEST; i++) quiet.push(await honestDial(addr, 20 + i, kind))
  const a = spawnAttacker({ mode: 'slots', addr, conns: SLOT_CONNS })
  let last: AttackReport | undefined
  // Under way once the victim has answered 64 M1s (all its slots, before this change).
  last = await a.next((r) => r.type === 'progress' && r.m2 >= 64, 60_000)
  let maxPending = 0
  const sample = setInterval(() => (maxPending = Math.max(maxPending, victim.stats().pendingHandshakes)), 10)
  const during: Array<Awaited<ReturnType<typeof honestDial>> & { pendingAtStart: number }> = []
  for (let i = 0; i < HONEST; i++) {
    const pendingAtStart = victim.stats().pendingHandshakes
    during.push({ ...(await honestDial(addr, 40 + i, kind)), pendingAtStart })
  }
  last = await a.next((r) => r.type === 'progress', 5_000).catch(() => last)
  clearInterval(sample)
  await a.stop()
  const stats = victim.stats()
  await victim.stop()
  return {
    attack: { conns: SLOT_CONNS, lastReport: last, maxPendingHandshakes: maxPending },
    honestNoAttack: { joined: quiet.filter((d) => d.ok).length, of: quiet.length, msP50: median(quiet.filter((d) => d.ok).map((d) => d.ms)) },
    honestDuringAttack: { joined: during.filter((d) => d.ok).length, of: during.length, dials: during },
    victim: stats
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] ?? NaN
}

async function runVictim(scenario: string, kind: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = fork(SELF, ['victim', scenario, kind], { execArgv: ['--no-warnings'], stdio: ['ignore', 'pipe', 'inherit', 'ipc'] })
    let out = ''
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()))
    child.on('exit', (code) => {
      try {
        resolve(JSON.parse(out))
      } catch {
        reject(new Error(`victim ${scenario}/${kind} exited with ${code}: ${out}`))
      }
    })
  })
}

if (process.argv[2] === 'victim') {
  const [scenario, kind] = [process.argv[3] as string, process.argv[4] as string]
  const result = scenario === 'slots' ? await victimSlots(kind) : await victimFlood(kind, scenario === 'flood-control')
  process.stdout.write(JSON.stringify(result))
  process.exit(0)
} else {
  const t0 = performance.now()
  const out: Record<string, unknown> = {}
  for (const kind of (process.env.BENCH_KINDS ?? 'quic,tcp').split(',')) {
    for (const scenario of (process.env.BENCH_SCENARIOS ?? 'flood-control,flood,slots').split(',')) {
      progress(`${kind}: ${scenario}`)
      out[`${kind}-${scenario}`] = await runVictim(scenario, kind).catch((e: unknown) => ({ error: String(e) }))
    }
  }
  out.params = { floodConns: FLOOD_CONNS, slotConns: SLOT_CONNS, honestDials: HONEST, holdMs: HOLD_MS, node: process.version }
  out.totalSeconds = Math.round((performance.now() - t0) / 100) / 10
  console.log(JSON.stringify(out, null, 2))
  process.exit(0)
}
