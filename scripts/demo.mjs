#!/usr/bin/env node
// `npm start`: a local Saorsa Gossip network, every node its own process on 127.0.0.1.
//   1. two coordinators (`saorsa-coordinator`; the second joins the first),
//   2. N nodes (`saorsa-gossip network join`), each joining through one of the coordinators,
//   3. every node subscribes to one topic through its control socket, several nodes publish,
//   4. each delivery is printed (origin → receiver, latency), then a summary table,
//   5. everything is stopped with SIGINT, and the exit code says whether every delivery was made.
// Options: --nodes N (default 5) --duration S (default 10) --publishers P (default 3)
//          --interval-ms MS (default 1000, per publisher) --keep (leave the state directory) --quiet
import { spawn } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { ControlClient } from '@saorsa-gossip/node'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const CLI = join(root, 'apps', 'cli', 'bin', 'saorsa-gossip.js')
const COORDINATOR = join(root, 'apps', 'coordinator', 'bin', 'saorsa-coordinator.js')
const TOPIC = 'demo'

function parseArgs(argv) {
  const o = { nodes: 5, duration: 10, publishers: 3, intervalMs: 1000, keep: false, quiet: false }
  const num = (flag, v, min, max) => {
    const n = Number(v)
    if (!Number.isInteger(n) || n < min || n > max) fail(`${flag} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`, 2)
    return n
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--nodes') o.nodes = num(a, argv[++i], 2, 200)
    else if (a === '--duration') o.duration = num(a, argv[++i], 1, 3600)
    else if (a === '--publishers') o.publishers = num(a, argv[++i], 1, 200)
    else if (a === '--interval-ms') o.intervalMs = num(a, argv[++i], 10, 60_000)
    else if (a === '--keep') o.keep = true
    else if (a === '--quiet') o.quiet = true
    else if (a === '--help' || a === '-h') {
      console.log('usage: npm start -- [--nodes N] [--duration S] [--publishers P] [--interval-ms MS] [--keep] [--quiet]')
      process.exit(0)
    } else fail(`unknown option ${a} (try --help)`, 2)
  }
  o.publishers = Math.min(o.publishers, o.nodes)
  return o
}

const procs = []
let home
let keep = false

function fail(msg, code = 1) {
  console.error(`demo: ${msg}`)
  process.exitCode = code
  throw new DemoError(msg)
}
class DemoError extends Error {}

/** A TCP port that is free now, whose UDP twin is free too (QUIC and TCP share the port number). */
async function freePort() {
  for (;;) {
    const port = await new Promise((resolve, reject) => {
      const s = createServer()
      s.once('error', reject)
      s.listen(0, '127.0.0.1', () => {
        const p = s.address().port
        s.close(() => resolve(p))
      })
    })
    const udpFree = await new Promise((resolve) => {
      const u = createSocket('udp4')
      u.once('error', () => resolve(false))
      u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)))
    })
    if (udpFree) return port
  }
}

/** Starts a process; its stderr goes to a log file; stdout lines to `onLine`. */
function start(name, script, args, onLine) {
  const log = createWriteStream(join(home, `${name}.log`))
  const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, SAORSA_GOSSIP_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  // Every line of stdout and stderr goes to the log file and to the current line watchers.
  const watchers = new Set()
  const p = { name, child, exited, log, watchers }
  procs.push(p)
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (l) => {
      log.write(`${l}\n`)
      onLine?.(l)
      for (const w of [...watchers]) w(l)
    })
  }
  return p
}

/** Resolves with the first line `match` accepts, or fails when the process exits or `ms` pass. */
function waitForLine(p, match, ms, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      p.watchers.delete(check)
      reject(new DemoError(`${p.name}: no "${what}" within ${ms / 1000} s (see ${join(home, `${p.name}.log`)})`))
    }, ms)
    function check(l) {
      const m = match(l)
      if (m === undefined) return
      clearTimeout(timer)
      p.watchers.delete(check)
      resolve(m)
    }
    p.watchers.add(check)
    p.exited.then(({ code }) => {
      if (!p.watchers.delete(check)) return
      clearTimeout(timer)
      reject(new DemoError(`${p.name} exited with code ${code} before "${what}" (see ${join(home, `${p.name}.log`)})`))
    })
  })
}

function run(script, args) {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [script, ...args], { env: { ...process.env, SAORSA_GOSSIP_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] })
    let err = ''
    c.stderr.on('data', (d) => (err += d))
    c.once('exit', (code) => resolve({ code, err }))
  })
}

const pct = (sorted, q) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)])
const ms = (v) => (Number.isNaN(v) ? '-' : `${v.toFixed(0)} ms`)

async function stopAll() {
  for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGINT')
  const deadline = setTimeout(() => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL')
  }, 10_000)
  const results = await Promise.all(procs.map((p) => p.exited))
  clearTimeout(deadline)
  return results
}

async function main() {
  const o = parseArgs(process.argv.slice(2))
  home = mkdtempSync(join(tmpdir(), 'saorsa-net-'))
  keep = o.keep
  const t0 = Date.now()
  console.log(`Saorsa Gossip local network: 2 coordinators + ${o.nodes} nodes on 127.0.0.1 (Node ${process.version}), state in ${home}`)

  // 1. Coordinators.
  const ports = [await freePort(), await freePort()]
  const coords = []
  for (let i = 0; i < 2; i++) {
    const args = ['--bind', `127.0.0.1:${ports[i]}`, '--roles', i === 0 ? 'coordinator,reflector' : 'coordinator,reflector,relay', '--publish-interval', '5', '--identity-path', join(home, `coordinator${i + 1}.identity`), '--home', home]
    if (i === 1) args.push('--coordinator', `127.0.0.1:${ports[0]}`)
    const p = start(`coordinator${i + 1}`, COORDINATOR, args)
    const peerId = await waitForLine(p, (l) => /Loaded identity: ([0-9a-f]{64})/.exec(l)?.[1], 30_000, 'Loaded identity')
    await waitForLine(p, (l) => (l.includes('Listening on') ? true : undefined), 30_000, 'Listening on')
    coords.push({ name: p.name, peerId, port: ports[i] })
    console.log(`  coordinator${i + 1}  ${peerId.slice(0, 16)}…  127.0.0.1:${ports[i]}  (${((Date.now() - t0) / 1000).toFixed(1)} s)`)
  }

  // 2. Node identities, then the nodes, each through one coordinator.
  const names = Array.from({ length: o.nodes }, (_, i) => `node${i + 1}`)
  const created = await Promise.all(names.map((n) => run(CLI, ['identity', 'create', '--alias', n])))
  created.forEach((r, i) => r.code !== 0 && fail(`identity create ${names[i]} failed: ${r.err.trim()}`))
  const nodes = []
  await Promise.all(
    names.map(async (name, i) => {
      const via = `127.0.0.1:${ports[i % 2]}`
      const p = start(name, CLI, ['network', 'join', '--identity', name, '--coordinator', via, '--json'])
      const joined = await waitForLine(p, (l) => {
        try {
          const e = JSON.parse(l)
          return e.event === 'joined' ? e : undefined
        } catch {
          return undefined
        }
      }, 60_000, 'joined')
      nodes[i] = { name, peerId: joined.peerId, via, control: await ControlClient.connect(joined.control), delivered: [], expected: 0 }
    })
  )
  console.log(`  ${o.nodes} nodes joined (${((Date.now() - t0) / 1000).toFixed(1)} s)`)
  const byId = new Map([...nodes.map((n) => [n.peerId, n.name]), ...coords.map((c) => [c.peerId, c.name])])

  // 3. Wait until every node has a live neighbour and holds both coordinators' verified adverts.
  const settle = Date.now() + 30_000
  for (;;) {
    const st = await Promise.all(nodes.map((n) => n.control.request('status')))
    const ok = st.every((s) => s.activePeers > 0 && coords.every((c) => s.coordinators.some((a) => a.peer === c.peerId)))
    if (ok) break
    if (Date.now() > settle) {
      const bad = st.map((s, i) => `${nodes[i].name}: ${s.activePeers} peers, ${s.coordinators.length} adverts`).join('; ')
      fail(`the network did not settle within 30 s (${bad})`)
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  console.log(`  every node has neighbours and verified adverts of both coordinators (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`)

  // 4. Subscribe everyone, then publish.
  const sent = new Map()
  let deliveries = 0
  const expectedTotal = () => [...sent.values()].reduce((a) => a + (o.nodes - 1), 0)
  let allIn
  const allArrived = new Promise((r) => (allIn = r))
  for (const n of nodes) {
    await n.control.subscribe(TOPIC, (d) => {
      const m = sent.get(d.id)
      const latency = d.receivedAtMs - d.timestampMs
      n.delivered.push({ id: d.id, latency, dup: n.delivered.some((x) => x.id === d.id) })
      deliveries++
      if (!o.quiet) console.log(`  ${(byId.get(d.from) ?? d.from.slice(0, 8)).padEnd(8)} → ${n.name.padEnd(8)} ${(d.message ?? '').padEnd(22)} ${latency.toString().padStart(4)} ms  ${d.hops} hop${d.hops === 1 ? '' : 's'}${m === undefined ? ' (not yet acknowledged)' : ''}`)
      if (deliveries >= expectedTotal() && publishingDone) allIn()
    })
  }
  let publishingDone = false
  const publishers = nodes.slice(0, o.publishers)
  const end = Date.now() + o.duration * 1000
  let k = 0
  await Promise.all(
    publishers.map(async (p, i) => {
      await new Promise((r) => setTimeout(r, (i * o.intervalMs) / publishers.length))
      while (Date.now() < end) {
        const text = `#${++k} from ${p.name}`
        const r = await p.control.request('publish', { topic: TOPIC, message: text })
        sent.set(r.id, { from: p.name, text })
        for (const n of nodes) if (n !== p) n.expected++
        await new Promise((res) => setTimeout(res, o.intervalMs))
      }
    })
  )
  publishingDone = true
  if (deliveries >= expectedTotal()) allIn()
  const grace = setTimeout(() => allIn(), 10_000)
  await allArrived
  clearTimeout(grace)

  // 5. Summary.
  const peers = await Promise.all(nodes.map((n) => n.control.request('peers')))
  console.log(`\n  ${sent.size} messages from ${publishers.length} publishers, ${expectedTotal()} deliveries expected`)
  console.log('  node       delivered/expected   dup   P50      P95      peers')
  const all = []
  let made = 0
  let dups = 0
  nodes.forEach((n, i) => {
    const unique = n.delivered.filter((d) => !d.dup && sent.has(d.id))
    const lat = unique.map((d) => d.latency).sort((a, b) => a - b)
    all.push(...lat)
    made += unique.length
    const dup = n.delivered.filter((d) => d.dup).length
    dups += dup
    const live = peers[i].filter((p) => p.view === 'active' && p.state === 'alive').length
    console.log(`  ${n.name.padEnd(10)} ${`${unique.length}/${n.expected}`.padStart(17)}   ${String(dup).padStart(3)}   ${ms(pct(lat, 0.5)).padEnd(8)} ${ms(pct(lat, 0.95)).padEnd(8)} ${live}`)
  })
  all.sort((a, b) => a - b)
  const expected = expectedTotal()
  console.log(`  ${'total'.padEnd(10)} ${`${made}/${expected}`.padStart(17)}   ${String(dups).padStart(3)}   ${ms(pct(all, 0.5)).padEnd(8)} ${ms(pct(all, 0.95)).padEnd(8)}`)
  for (const n of nodes) n.control.close()
  const exits = await stopAll()
  const unclean = exits.map((e, i) => ({ ...e, name: procs[i].name })).filter((e) => e.code !== 0)
  if (unclean.length > 0) console.log(`  processes that did not exit cleanly: ${unclean.map((e) => `${e.name} (${e.code ?? e.signal})`).join(', ')}`)
  if (made < expected) fail(`${expected - made} of ${expected} deliveries missing (logs in ${home}; rerun with --keep to keep them)`)
  if (dups > 0) fail(`${dups} duplicate deliveries`)
  if (unclean.length > 0) fail('not every process stopped cleanly')
  console.log(`\n✓ every expected delivery made; all ${procs.length} processes stopped cleanly (${((Date.now() - t0) / 1000).toFixed(1)} s)`)
  process.exitCode = 0
}

try {
  await main()
} catch (e) {
  if (!(e instanceof DemoError)) {
    console.error(`demo: ${e instanceof Error ? e.message : String(e)}`)
    process.exitCode = 1
  } else if (!process.exitCode) process.exitCode = 1
  await stopAll()
} finally {
  if (home !== undefined && !keep && process.exitCode === 0) rmSync(home, { recursive: true, force: true })
  else if (home !== undefined && process.exitCode !== 0) console.error(`demo: logs kept in ${home}`)
}
