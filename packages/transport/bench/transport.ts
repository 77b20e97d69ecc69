// Transport benchmark: the PQ channel over libp2p QUIC and TCP against raw libp2p streams (same
// length-prefixed framing, no handshake, no sealing), in one run, so our overhead is a ratio.
// Both ends live in this process (2 cores shared); each figure is the median of BENCH_ROUNDS rounds
// (default 3), raw and PQ alternating. Prints ONE JSON object:  npm run bench -- transport
import { Identity } from '@saorsa-gossip/identity'
import type { Stream } from '@libp2p/interface'
import { createLibp2pNode, Libp2pTransport } from '../dist/index.js'
import { readFrames, writeFrame } from '../dist/index.js'
import type { Transport } from '../dist/index.js'

const MSGS_1K = Number(process.env.BENCH_MSGS ?? 20_000)
const MSGS_64K = Number(process.env.BENCH_BULK ?? 600)
const RTTS = Number(process.env.BENCH_RTTS ?? 1000)
const DIALS = Number(process.env.BENCH_DIALS ?? 10)
const progress = (s: string): void => void process.stderr.write(`${s}\n`)
const r2 = (x: number): number => Math.round(x * 100) / 100
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return r2(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN)
}
const median = (xs: number[]): number => pct(xs, 50)

interface Pipe {
  /** Sends one message a→b. */
  send(bytes: Uint8Array): Promise<void>
  /** Sends one message b→a. */
  reply(bytes: Uint8Array): Promise<void>
  onB(fn: (b: Uint8Array) => void): void
  onA(fn: (b: Uint8Array) => void): void
}

async function measure(p: Pipe): Promise<{ rttP50Ms: number; rttP99Ms: number; msgsPerSec1KiB: number; mbPerSec64KiB: number }> {
  const kib = new Uint8Array(1024).fill(7)
  // Echo for round trips.
  let echo = true
  p.onB((b) => {
    if (echo) void p.reply(b)
  })
  const rtts: number[] = []
  for (let i = 0; i < RTTS; i++) {
    const back = new Promise<void>((resolve) => p.onA(() => resolve()))
    const t0 = performance.now()
    await p.send(kib)
    await back
    rtts.push(performance.now() - t0)
  }
  echo = false
  const stream = async (size: number, n: number): Promise<number> => {
    const body = new Uint8Array(size).fill(3)
    let got = 0
    const done = new Promise<void>((resolve) =>
      p.onB(() => {
        if (++got === n) resolve()
      })
    )
    const t0 = performance.now()
    for (let i = 0; i < n; i++) await p.send(body)
    await done
    return (performance.now() - t0) / 1000
  }
  const s1 = await stream(1024, MSGS_1K)
  const s64 = await stream(65536, MSGS_64K)
  return { rttP50Ms: median(rtts), rttP99Ms: pct(rtts, 99), msgsPerSec1KiB: Math.round(MSGS_1K / s1), mbPerSec64KiB: r2((MSGS_64K * 65536) / s64 / 1e6) }
}

/** One-shot listener slots: each `on*` call replaces the previous handler. */
function slots() {
  let a: (b: Uint8Array) => void = () => {}
  let b: (b: Uint8Array) => void = () => {}
  return { setA: (f: typeof a) => void (a = f), setB: (f: typeof b) => void (b = f), a: (x: Uint8Array) => a(x), b: (x: Uint8Array) => b(x) }
}

async function pqRun(kind: 'quic' | 'tcp') {
  const only = kind === 'quic' ? { tcp: false } : { quic: false }
  const dials: number[] = []
  const idA = Identity.fromSeed(new Uint8Array(32).fill(1))
  const idB = Identity.fromSeed(new Uint8Array(32).fill(2))
  const b = new Libp2pTransport({ identity: idB }, only)
  await b.start()
  const addr = b.listenAddrs()[0] as string
  for (let i = 0; i < DIALS; i++) {
    const a = new Libp2pTransport({ identity: idA }, only)
    await a.start()
    const t0 = performance.now()
    await a.dial(addr)
    dials.push(performance.now() - t0)
    await a.stop()
  }
  const a: Transport = new Libp2pTransport({ identity: idA }, only)
  await a.start()
  await a.dial(addr)
  const s = slots()
  b.on('message', (m) => s.b(m.bytes))
  a.on('message', (m) => s.a(m.bytes))
  const res = await measure({
    send: (x) => a.send(b.peerId, x.length > 4096 ? 'bulk' : 'pubsub', x),
    reply: (x) => b.send(a.peerId, 'pubsub', x),
    onA: s.setA,
    onB: s.setB
  })
  await a.stop()
  await b.stop()
  return { dialHandshakeMsP50: median(dials), ...res }
}

async function rawRun(kind: 'quic' | 'tcp') {
  const only = kind === 'quic' ? { tcp: false } : { quic: false }
  const PROTO = '/bench/raw/1.0.0'
  const nb = await createLibp2pNode(only)
  const s = slots()
  const inbound: Stream[] = []
  await nb.handle(PROTO, (stream: Stream) => {
    inbound.push(stream)
    void (async () => {
      for await (const f of readFrames(stream, { maxFrameBytes: 1 << 20 })) s.b(f)
    })().catch(() => undefined) // the stream ends with the connection
  })
  const dials: number[] = []
  const addr = nb.multiaddrs()[0] as Parameters<typeof nb.dial>[0]
  for (let i = 0; i < DIALS; i++) {
    const na = await createLibp2pNode(only)
    const t0 = performance.now()
    await na.dial(addr)
    dials.push(performance.now() - t0)
    await na.stop()
  }
  const na = await createLibp2pNode(only)
  const out = await na.newStream(addr, PROTO)
  void (async () => {
    for await (const f of readFrames(out, { maxFrameBytes: 1 << 20 })) s.a(f)
  })().catch(() => undefined)
  await writeFrame(out, new Uint8Array(1)) // make the inbound stream appear
  while (inbound.length === 0) await new Promise((r) => setImmediate(r))
  const back = inbound[0] as Stream
  const res = await measure({
    send: (x) => writeFrame(out, x, { maxFrameBytes: 1 << 20 }),
    reply: (x) => writeFrame(back, x, { maxFrameBytes: 1 << 20 }),
    onA: s.setA,
    onB: s.setB
  })
  await na.stop()
  await nb.stop()
  return { dialMsP50: median(dials), ...res }
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const t0 = performance.now()
const out: Record<string, unknown> = {}
type Run = Awaited<ReturnType<typeof measure>>
/** Per-field median over rounds. */
function medianRun<T extends Run>(runs: T[]): T {
  const m = { ...(runs[0] as T) }
  for (const k of Object.keys(m) as Array<keyof T>) (m[k] as number) = median(runs.map((r) => r[k] as number))
  return m
}
for (const kind of ['quic', 'tcp'] as const) {
  // Raw and PQ alternate round by round, so drifting machine load hits both alike.
  const raws: Array<Awaited<ReturnType<typeof rawRun>>> = []
  const pqs: Array<Awaited<ReturnType<typeof pqRun>>> = []
  for (let r = 0; r < ROUNDS; r++) {
    progress(`${kind} round ${r + 1}/${ROUNDS}: raw libp2p`)
    raws.push(await rawRun(kind))
    progress(`${kind} round ${r + 1}/${ROUNDS}: PQ channel`)
    pqs.push(await pqRun(kind))
  }
  const raw = medianRun(raws)
  const pq = medianRun(pqs)
  out[kind] = {
    pq,
    raw,
    pqOverRaw1KiB: r2(pq.msgsPerSec1KiB / raw.msgsPerSec1KiB),
    pqOverRaw64KiB: r2(pq.mbPerSec64KiB / raw.mbPerSec64KiB),
    pqRttOverRaw: r2(pq.rttP50Ms / raw.rttP50Ms),
    rounds1KiB: { pq: pqs.map((x) => x.msgsPerSec1KiB), raw: raws.map((x) => x.msgsPerSec1KiB) }
  }
}
out.params = { rounds: ROUNDS, msgs1KiB: MSGS_1K, msgs64KiB: MSGS_64K, roundTrips: RTTS, dials: DIALS, node: process.version }
out.totalSeconds = r2((performance.now() - t0) / 1000)
console.log(JSON.stringify(out, null, 2))
process.exit(0)
