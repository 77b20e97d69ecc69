// A hostile peer against a real network of processes on 127.0.0.1: a coordinator C, the victim V and
// two honest nodes H1 and H2 (`saorsa-coordinator` and `saorsa-gossip network join`). The attacker is
// the project's own stack (a Libp2pTransport under identities it mints at will) in this process, and
// raw libp2p peers in processes of their own (packages/transport/test/preauth-attacker.ts) for what
// happens before authentication. Phase by phase:
//   garbage on every channel · 4 MiB bodies before authenticating · hundreds of idle connections and
//   stalled streams · half-done handshakes (an honest node joins through V meanwhile) · stale
//   replays · 300 Sybil coordinator adverts · a flood of valid signed messages under fresh
//   identities (last: the heaviest, its aftermath measured by no other phase).
// In every phase H1's messages reach V and H2 (all of them, P50 at V ≤ 50 ms — the flood phase
// only ≤ 1 s as yet, see there), V's RSS grows by at
// most 200 MB, and the attacker is penalised; afterwards V's heap is back where it was and its
// transport holds nothing for the attackers, and the real coordinator is still in every node's
// advert cache.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createAdvert, COORDINATOR_TOPIC } from '@saorsa-gossip/coordinator'
import { Identity } from '@saorsa-gossip/identity'
import { ControlClient } from '@saorsa-gossip/node'
import type { ControlDelivery, NodeStatus } from '@saorsa-gossip/node'
import { DEFAULT_PLUMTREE_CONFIG, encodePubSubMessage } from '@saorsa-gossip/pubsub'
import { Libp2pTransport } from '@saorsa-gossip/transport'
import { createEnvelope, EnvelopeKinds, topicIdFromName, utf8 } from '@saorsa-gossip/types'
import type { PeerId } from '@saorsa-gossip/types'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnAttacker } from '../../../packages/transport/test/preauth-attacker.ts'
import { CLI, COORD, freePort, json, runToEnd, start } from './helpers.js'
import type { Proc } from './helpers.js'

const MB = 1024 * 1024
/** Most the victim's RSS may grow during a phase. */
const MAX_GROWTH = 200 * MB
/** Honest P50 at the victim, per phase. */
const MAX_P50_MS = 50
/** …except during the fresh-identity flood (see that phase): a regression bound, not the goal. */
const FLOOD_MAX_P50_MS = 1000

const root = mkdtempSync(join(tmpdir(), 'sg-hostile-'))
const home = join(root, 'h')
const env = { ...process.env, SAORSA_GOSSIP_HOME: home, SAORSA_GOSSIP_PASSPHRASE: '' }
const procs: Proc[] = []
const cleanups: Array<() => Promise<void> | void> = []

interface Node {
  alias: string
  proc: Proc
  peerId: PeerId
  control: ControlClient
}
let coordinator: { proc: Proc; peerId: PeerId; port: number }
let victim: Node & { quicAddr: string; port: number }
let h1: Node
let h2: Node
/** Deliveries at V and H2, by topic. */
const seen = { V: new Map<string, ControlDelivery[]>(), H2: new Map<string, ControlDelivery[]>() }
const arrivals = new Set<() => void>()
const figures: Record<string, unknown> = {}
let heapBaseline = 0
let rssBaseline = 0

function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m === null ? 0 : Number(m[1]) * 1024
  } catch {
    return 0 // the process is gone
  }
}

// Should this worker die or time out, no child is left running.
process.once('exit', () => {
  for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL')
})

/** Samples the victim's RSS every 100 ms while a phase runs. */
function watchRss(): { stop(): { before: number; max: number; growth: number } } {
  const pid = victim.proc.child.pid!
  const before = rssOf(pid)
  let max = before
  const t = setInterval(() => (max = Math.max(max, rssOf(pid))), 100)
  return {
    stop() {
      clearInterval(t)
      max = Math.max(max, rssOf(pid))
      return { before, max, growth: max - before }
    }
  }
}

async function joinNode(alias: string, extra: string[]): Promise<Node> {
  const proc = start(CLI, ['network', 'join', '--identity', alias, '--json', ...extra], env)
  procs.push(proc)
  const joined = await proc.line((l) => (json(l)?.event === 'joined' ? json(l) : undefined), 60_000)
  const control = await ControlClient.connect(joined.control as string)
  cleanups.push(() => control.close())
  return { alias, proc, peerId: joined.peerId as PeerId, control }
}

function record(who: 'V' | 'H2', d: ControlDelivery): void {
  const list = seen[who].get(d.topic) ?? []
  list.push(d)
  seen[who].set(d.topic, list)
  for (const a of [...arrivals]) a()
}

/** Resolves when `cond` holds after a delivery (or now), rejects after `ms`. */
function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  if (cond()) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      arrivals.delete(check)
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`))
    }, ms)
    const check = (): void => {
      if (!cond()) return
      clearTimeout(t)
      arrivals.delete(check)
      resolve()
    }
    arrivals.add(check)
  })
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!
}

/** H1 publishes `n` messages 40 ms apart on `honest`; all must reach V and H2. Returns V's latencies (ms). */
async function honestRound(label: string, n = 12): Promise<number[]> {
  const ids: string[] = []
  for (let i = 0; i < n; i++) {
    const r = await h1.control.request<{ id: string }>('publish', { topic: 'honest', message: `${label} ${i}` })
    ids.push(r.id)
    await new Promise((r) => setTimeout(r, 40)) // the publishing pace (workload), not a synchronisation
  }
  const at = (who: 'V' | 'H2'): ControlDelivery[] => (seen[who].get('honest') ?? []).filter((d) => ids.includes(d.id))
  try {
    await until(() => at('V').length === n && at('H2').length === n, 15_000, `${label}: ${n} honest messages at V and H2`)
  } catch (e) {
    // Say what the nodes saw, for the failure report.
    const views = await Promise.all([victim, h1, h2].map(async (x) => `${x.alias}: ${JSON.stringify(await x.control.request('peers'))}`))
    throw new Error(`${(e as Error).message} (V ${at('V').length}, H2 ${at('H2').length}); ${views.join('; ')}`)
  }
  return at('V').map((d) => d.receivedAtMs - d.timestampMs)
}

/** An authenticated link to the victim under a freshly minted identity. */
async function attackerLink(): Promise<{ t: Libp2pTransport; identity: Identity; to: PeerId; gone: Promise<void> }> {
  const identity = Identity.generate()
  const t = new Libp2pTransport({ identity }, { listen: ['/ip4/127.0.0.1/udp/0/quic-v1'], tcp: false })
  await t.start()
  cleanups.push(() => t.stop())
  const to = await t.dial(victim.quicAddr, { expectedPeer: victim.peerId })
  const gone = new Promise<void>((resolve) => {
    const off = t.on('peer:disconnect', ({ peer }) => {
      if (peer !== to) return
      off()
      resolve()
    })
  })
  return { t, identity, to, gone }
}

const gossipFrame = (e: ReturnType<typeof createEnvelope>): Uint8Array =>
  encodePubSubMessage({ type: 'gossip', topic: e.envelope.header.topic, id: e.envelope.id, hops: 1, mode: 'eager', data: e })

/**
 * Hands every frame to the transport at once (as fast as the link takes them: a flood, not a
 * conversation) and resolves when all are sent or refused (the victim dropped the link); returns how
 * many went out.
 */
async function sendAll(link: Awaited<ReturnType<typeof attackerLink>>, channel: 'pubsub' | 'membership' | 'bulk', frames: Uint8Array[]): Promise<number> {
  const results = await Promise.allSettled(frames.map((f) => link.t.send(link.to, channel, f)))
  return results.filter((r) => r.status === 'fulfilled').length
}

beforeAll(async () => {
  for (const alias of ['V', 'H1', 'H2', 'J']) expect((await runToEnd(CLI, ['identity', 'create', '--alias', alias], env)).code).toBe(0)
  const port = await freePort()
  const cproc = start(COORD, ['--bind', `127.0.0.1:${port}`, '--roles', 'coordinator,reflector', '--publish-interval', '2', '--identity-path', join(home, 'coord.identity'), '--home', home], env)
  procs.push(cproc)
  const cpeer = await cproc.line((l) => /Loaded identity: ([0-9a-f]{64})/.exec(l)?.[1], 30_000)
  await cproc.line((l) => (l.includes('Listening on') ? true : undefined), 30_000)
  coordinator = { proc: cproc, peerId: cpeer as PeerId, port }
  const vport = await freePort()
  const v = await joinNode('V', ['--coordinator', `127.0.0.1:${port}`, '--bind', `127.0.0.1:${vport}`])
  const status = await v.control.request<NodeStatus>('status')
  victim = { ...v, port: vport, quicAddr: status.listenAddrs.find((a) => a.includes('/quic-v1'))! }
  h1 = await joinNode('H1', ['--coordinator', `127.0.0.1:${port}`])
  h2 = await joinNode('H2', ['--coordinator', `127.0.0.1:${port}`])
  for (const [who, n] of [['V', victim], ['H2', h2]] as const) {
    for (const topic of ['honest', 'flood']) await n.control.subscribe(topic, (d) => record(who, d))
  }
  // Warm up: the honest path works before anything hostile happens.
  const warm = await honestRound('warm-up')
  figures.warmUp = { p50: pct(warm, 50), max: Math.max(...warm) }
  const mem = (await victim.control.request<NodeStatus>('status')).memory
  heapBaseline = mem.heapUsed
  rssBaseline = mem.rss
}, 180_000)

afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
  for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL')
  await Promise.all(procs.map((p) => p.exited))
  rmSync(root, { recursive: true, force: true })
  console.info(`figures: ${JSON.stringify(figures)}`)
}, 60_000)

/**
 * Runs one phase: its attack, with honest rounds (each must deliver everything, at V and H2) one after
 * another for as long as the attack lasts, and the checks common to every phase.
 */
async function phase(name: string, attack: () => Promise<unknown>, maxP50Ms = MAX_P50_MS): Promise<void> {
  // Each phase starts from a calm network: one honest round (not measured) first.
  await honestRound(`${name} settle`)
  const rss = watchRss()
  let mem: ReturnType<ReturnType<typeof watchRss>['stop']>
  const latencies: number[] = []
  let rounds = 0
  let result: unknown
  try {
    let done = false
    const during = attack().finally(() => (done = true))
    during.catch(() => undefined) // awaited below
    do latencies.push(...(await honestRound(`${name} #${rounds++}`)))
    while (!done)
    result = await during
  } finally {
    mem = rss.stop()
  }
  const honest = { rounds, messages: latencies.length, p50: pct(latencies, 50), p95: pct(latencies, 95), max: Math.max(...latencies) }
  figures[name] = { honest, rssBeforeMB: Math.round(mem.before / MB), rssMaxMB: Math.round(mem.max / MB), growthMB: Math.round(mem.growth / MB), result }
  expect(honest.p50, `${name}: honest P50 at the victim`).toBeLessThanOrEqual(maxP50Ms)
  expect(mem.growth, `${name}: victim RSS growth`).toBeLessThanOrEqual(MAX_GROWTH)
  // The victim still answers its owner.
  expect((await victim.control.request<NodeStatus>('status')).running).toBe(true)
}

describe('a hostile peer against a network of processes', () => {
  it('garbage on every channel of an authenticated link: rejected, counted, the sender graylisted', async () => {
    await phase('garbage', async () => {
      const link = await attackerLink()
      const junk = (n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => Uint8Array.from({ length: 1 + ((i * 37) % 300) }, (_, j) => (i * 131 + j * 17) & 0xff))
      const sent = { membership: await sendAll(link, 'membership', junk(200)), bulk: await sendAll(link, 'bulk', junk(50)), pubsub: await sendAll(link, 'pubsub', junk(200)) }
      await Promise.race([link.gone, new Promise((_, r) => setTimeout(() => r(new Error('the garbage sender was not disconnected within 10 s')), 10_000))])
      return sent
    })
  }, 120_000)

  it('4 MiB bodies before authenticating (100 connections × 2 bulk streams) do not take the victim’s memory', async () => {
    await phase('preauth-4MiB', async () => {
      const a = spawnAttacker({ mode: 'flood', addr: victim.quicAddr, conns: 100, streams: 2, protocol: '/saorsa-gossip/bulk/1.0.0', announce: 4 * MB })
      try {
        return await a.next((r) => r.type === 'sent', 60_000)
      } finally {
        await a.stop()
      }
    })
  }, 180_000)

  it('hundreds of idle connections and stalled streams', async () => {
    await phase('idle-and-stalled', async () => {
      const idle = spawnAttacker({ mode: 'flood', addr: victim.quicAddr, conns: 300, streams: 0 })
      const stalled = spawnAttacker({ mode: 'flood', addr: victim.quicAddr, conns: 50, streams: 4, protocol: '/saorsa-gossip/pubsub/1.0.0', announce: 64 * 1024, send: 10 })
      try {
        return await Promise.all([idle.next((r) => r.type === 'sent', 60_000), stalled.next((r) => r.type === 'sent', 60_000)])
      } finally {
        await Promise.all([idle.stop(), stalled.stop()])
      }
    })
  }, 180_000)

  it('half-done handshakes (a valid M1, never M3) on 80 connections: an honest node still joins through the victim', async () => {
    await phase('half-done-handshakes', async () => {
      const a = spawnAttacker({ mode: 'slots', addr: victim.quicAddr, conns: 80 })
      try {
        await a.next((r) => r.type === 'progress' && r.m2 >= 20, 60_000)
        const t0 = Date.now()
        const j = await joinNode('J', ['--coordinator', `127.0.0.1:${victim.port}`])
        const joinMs = Date.now() - t0
        const peers = await j.control.request<Array<{ peer: string }>>('peers')
        expect(peers.map((p) => p.peer)).toContain(victim.peerId)
        return { joinMs, attacker: await a.next((r) => r.type === 'progress', 10_000) }
      } finally {
        await a.stop()
      }
    })
  }, 180_000)

  it('stale replays (an 11-minute-old valid message, over and over) cost the sender until it is graylisted', async () => {
    await phase('stale-replays', async () => {
      const link = await attackerLink()
      const old = gossipFrame(createEnvelope({ topic: topicIdFromName('honest'), payload: utf8('old news'), seq: 1, timestampMs: Date.now() - 11 * 60_000 }, link.identity))
      const sent = await sendAll(link, 'pubsub', Array.from({ length: 2000 }, () => old))
      await Promise.race([link.gone, new Promise((_, r) => setTimeout(() => r(new Error('the replayer was not disconnected within 10 s')), 10_000))])
      return { sent }
    })
  }, 120_000)

  it('300 Sybil coordinator adverts (24 h, best roles): the real coordinator stays in every node’s cache', async () => {
    await phase('sybil-adverts', async () => {
      const link = await attackerLink()
      const topic = topicIdFromName(COORDINATOR_TOPIC)
      const now = Date.now()
      const frames = Array.from({ length: 300 }, (_, i) => {
        const sybil = Identity.generate()
        const advert = createAdvert({ roles: ['coordinator', 'reflector', 'relay', 'rendezvous'], addrs: [`/ip4/127.0.0.1/udp/${20_000 + i}/quic-v1`], natClass: 'eim', now, validityMs: 24 * 3_600_000 }, sybil)
        return gossipFrame(createEnvelope({ topic, payload: advert.bytes, seq: 0, timestampMs: now, kind: EnvelopeKinds.coordinatorAdvert }, sybil))
      })
      // Paced under a newcomer's budget (100/s), so the adverts spread rather than get the sender cut off.
      let sent = 0
      for (let i = 0; i < frames.length; i += 20) {
        sent += await sendAll(link, 'pubsub', frames.slice(i, i + 20))
        await new Promise((r) => setTimeout(r, 250)) // the attacker's pace (workload), not a synchronisation
      }
      const cached: Record<string, { coordinators: number; real: boolean }> = {}
      for (const n of [victim, h1, h2]) {
        const s = await n.control.request<NodeStatus>('status')
        cached[n.alias] = { coordinators: s.coordinators.length, real: s.coordinators.some((c) => c.peer === coordinator.peerId) }
      }
      for (const [alias, c] of Object.entries(cached)) expect(c.real, `${alias} still holds the real coordinator`).toBe(true)
      // The flood did reach the caches (the test would prove nothing otherwise), as far as the cache
      // lets made-up coordinators from one address range in (16, SPEC.md §8.2).
      expect(cached.V!.coordinators).toBeGreaterThanOrEqual(10)
      return { sent, cached }
    })
  }, 180_000)

  it('a flood of valid signed 16 KiB messages under fresh identities: each delivers no more than a newcomer’s budget, then is graylisted', async () => {
    // 16 KiB messages (22 KB with signature and key): the byte budget binds first (a newcomer's
    // 2 MiB burst, about 95 of them, then 512 KiB/s), so the flood goes over budget however slowly a
    // busy victim takes them in.
    const c = DEFAULT_PLUMTREE_CONFIG
    // The attacker's preparation (three fresh identities linked to the victim, 900 messages signed)
    // is done before the phase: what is measured is the flood itself.
    const prepared = await Promise.all(
      [0, 1, 2].map(async (w) => {
        const link = await attackerLink()
        const frames = Array.from({ length: 300 }, (_, i) => gossipFrame(createEnvelope({ topic: topicIdFromName('flood'), payload: utf8(`flood ${w}.${i} `.padEnd(16 * 1024, '.')), seq: i, timestampMs: Date.now() }, link.identity)))
        return { link, frames }
      })
    )
    await phase('flood-fresh-identities', async () => {
      const waves: Array<{ sent: number; delivered: number; windowMs: number; budget: number }> = []
      for (const [w, { link, frames }] of prepared.entries()) {
        const frameBytes = frames[0]!.length
        const sent = await sendAll(link, 'pubsub', frames)
        await Promise.race([link.gone, new Promise((_, r) => setTimeout(() => r(new Error(`wave ${w}: the flooder was not disconnected within 10 s`)), 10_000))])
        // What got through arrived before the disconnect; the control stream to this process is ordered.
        await victim.control.request('topics')
        const got = (seen.V.get('flood') ?? []).filter((d) => d.from === link.identity.peerId)
        // The identity's budgets over the time it was let in: burst plus rate, the rate growing along
        // the trust ramp; the window is seen at the control socket, a little after the core's clock
        // (more so on a busy machine): 300 ms of slack. The binding one is the smaller.
        const windowMs = got.length === 0 ? 0 : Math.max(...got.map((d) => d.receivedAtMs)) - Math.min(...got.map((d) => d.receivedAtMs))
        const T = (windowMs + 300) / 1000
        const ramp = c.trustRampMs / 1000
        const allowed = (lo: { perSecond: number; burst: number }, hi: { perSecond: number }): number => lo.burst + lo.perSecond * T + ((hi.perSecond - lo.perSecond) * T * T) / (2 * ramp)
        const budget = Math.min(allowed(c.newPeerRateLimit, c.rateLimit), allowed(c.newPeerByteLimit, c.byteLimit) / frameBytes)
        waves.push({ sent, delivered: got.length, windowMs, budget: Math.round(budget) })
        expect(got.length, `wave ${w}: delivered within ${windowMs} ms`).toBeLessThanOrEqual(budget)
        expect(got.length).toBeGreaterThan(0)
      }
      return waves
      // Not yet the 50 ms of the other phases: the ~370 valid 16 KiB messages the three identities
      // get in within ~3 s are verified and relayed by all four nodes on this 2-core machine, and
      // honest messages queue behind them (measured P50 33–346 ms across runs; the issue measured
      // 1,065 ms before the budgets). The bound here guards against a regression; it is not the goal.
    }, FLOOD_MAX_P50_MS)
  }, 180_000)

  it('afterwards the victim gives the memory back: its heap returns to where it was before the attacks', async () => {
    // What the attacks made the victim hold must be freed (no state left behind: connections, streams,
    // budgets, buffers). The JS heap in use shows that; the process's RSS does not shrink as readily
    // (V8 keeps heap pages reserved, the allocator keeps freed native memory — QUIC's included), so it
    // is reported, with the per-phase growth bound above as its check.
    const deadline = Date.now() + 60_000
    let mem = (await victim.control.request<NodeStatus>('status')).memory
    while (mem.heapUsed > heapBaseline + 50 * MB && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500)) // polling a figure the runtime keeps, not a synchronisation
      mem = (await victim.control.request<NodeStatus>('status')).memory
    }
    figures.after = { heapUsedMB: Math.round(mem.heapUsed / MB), heapBaselineMB: Math.round(heapBaseline / MB), rssMB: Math.round(mem.rss / MB), rssBaselineMB: Math.round(rssBaseline / MB) }
    expect(mem.heapUsed).toBeLessThanOrEqual(heapBaseline + 50 * MB)
    // The transport holds nothing for the attackers any more.
    const t = (await victim.control.request<NodeStatus>('status')).transport
    expect(t.pendingHandshakes).toBe(0)
    expect(t.preauthConnections).toBe(0)
  }, 90_000)
})
