// A hostile libp2p peer for the pre-authentication test and bench (test/preauth.test.ts,
// bench/preauth.ts). It runs as its own process, so the victim's memory figures are its own:
//
//   node test/preauth-attacker.ts '<json AttackPlan>'        (spawned with an IPC channel: fork)
//
// It reports to its parent over IPC ({ type: 'progress' | 'sent' | 'error' }) and stops on
// { type: 'stop' }. Two attacks (SPEC.md §5.5):
//   - `flood`: `conns` connections, each opening `streams` streams of `protocol` that announce a frame
//     of `announce` bytes and send `send` bytes of it (never the whole frame), then hold everything.
//   - `slots`: `conns` connections, each sending a valid M1 and never M3; when the victim drops one,
//     it dials again and sends a fresh M1, so the victim's handshake slots stay under pressure.
// Each connection comes from its own minimal libp2p node (its own transport key), as a real attacker
// would mint them. Only libp2p packages and the built package (`../dist`, for M1) are imported, so
// Node runs this file directly (type stripping).
import { noise } from '@chainsafe/libp2p-noise'
import { quic } from '@chainsafe/libp2p-quic'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Connection, Libp2p, Stream, StreamMessageEvent } from '@libp2p/interface'

export interface AttackPlan {
  mode: 'flood' | 'slots'
  /** The victim's listen multiaddr (one of QUIC or TCP). */
  addr: string
  conns: number
  /** flood: streams per connection, their protocol, the frame length announced and the bytes sent. */
  streams?: number
  protocol?: string
  announce?: number
  send?: number
}

export type AttackReport =
  | { type: 'progress'; m2: number; holding: number; dropped: number; dialFailures: number }
  | { type: 'sent'; streams: number; resetByVictim: number; bytesHandedOver: number; conns: number; closedByVictim: number }
  | { type: 'error'; message: string }

const HANDSHAKE = '/saorsa-gossip/handshake/1.0.0'

/** The attacker process as its parent sees it. */
export interface Attacker {
  /** The next report matching `filter` (rejects after `ms`). */
  next(filter: (r: AttackReport) => boolean, ms: number): Promise<AttackReport>
  /** Asks the attacker to stop, and resolves once it has exited (killed after 10 s). */
  stop(): Promise<void>
}

/** Starts the attacker in its own process (for a parent: a test or the bench). */
export function spawnAttacker(plan: AttackPlan): Attacker {
  const file = fileURLToPath(import.meta.url)
  const child = fork(file, [JSON.stringify(plan)], { execArgv: ['--no-warnings'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
  const listeners = new Set<(r: AttackReport) => void>()
  child.on('message', (r: AttackReport) => {
    if (r.type === 'error') process.stderr.write(`attacker: ${r.message}\n`)
    for (const l of [...listeners]) l(r)
  })
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  return {
    next(filter, ms) {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          listeners.delete(l)
          reject(new Error(`attacker: no matching report within ${ms} ms`))
        }, ms)
        const l = (r: AttackReport): void => {
          if (!filter(r)) return
          clearTimeout(t)
          listeners.delete(l)
          resolve(r)
        }
        listeners.add(l)
      })
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      if (child.connected) child.send({ type: 'stop' })
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(t)
    }
  }
}

async function minimalNode(kind: 'quic' | 'tcp'): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: [] },
    transports: [kind === 'quic' ? quic() : tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false }
  })
}

/** Resolves when `stream` can take more bytes, or rejects when it closes. */
function drained(stream: Stream): Promise<void> {
  if (!stream.writableNeedsDrain) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const done = (ok: boolean) => () => {
      stream.removeEventListener('drain', onDrain)
      stream.removeEventListener('close', onClose)
      if (ok) resolve()
      else reject(new Error('stream closed'))
    }
    const onDrain = done(true)
    const onClose = done(false)
    stream.addEventListener('drain', onDrain)
    stream.addEventListener('close', onClose)
  })
}

function header(length: number): Uint8Array {
  const h = new Uint8Array(4)
  new DataView(h.buffer).setUint32(0, length)
  return h
}

/** Writes `bytes` in 64 KiB pieces, waiting for drain; resolves to the bytes handed over. */
async function pump(stream: Stream, bytes: Uint8Array): Promise<number> {
  let sent = 0
  const piece = 64 * 1024
  try {
    while (sent < bytes.length) {
      const chunk = bytes.subarray(sent, Math.min(bytes.length, sent + piece))
      if (!stream.send(chunk)) await drained(stream)
      sent += chunk.length
    }
  } catch {
    // reset by the victim
  }
  return sent
}

function kindOf(addr: string): 'quic' | 'tcp' {
  return addr.includes('/quic-v1') ? 'quic' : 'tcp'
}

async function flood(plan: AttackPlan, nodes: Libp2p[], report: (r: AttackReport) => void): Promise<void> {
  const streams = plan.streams ?? 2
  const protocol = plan.protocol ?? '/saorsa-gossip/bulk/1.0.0'
  const announce = plan.announce ?? 4 * 1024 * 1024
  // One shared body (never the whole announced frame): the attacker's own memory stays small.
  const body = new Uint8Array(plan.send ?? announce - 1).fill(0x5a)
  let reset = 0
  let handed = 0
  let closed = 0
  const closes: Array<Promise<void>> = []
  const target = multiaddr(plan.addr)
  await Promise.all(
    Array.from({ length: plan.conns }, async () => {
      const node = await minimalNode(kindOf(plan.addr))
      nodes.push(node)
      let conn: Connection
      try {
        conn = await node.dial(target, { signal: AbortSignal.timeout(10_000) })
      } catch {
        reset += streams
        return
      }
      closes.push(
        new Promise<void>((resolve) =>
          conn.addEventListener(
            'close',
            () => {
              closed++
              resolve()
            },
            { once: true }
          )
        )
      )
      await Promise.all(
        Array.from({ length: streams }, async () => {
          let s: Stream
          try {
            s = await conn.newStream(protocol, { negotiateFully: false, signal: AbortSignal.timeout(10_000) })
          } catch {
            reset++
            return
          }
          const n = (await pump(s, header(announce))) + (await pump(s, body))
          handed += n
          if (n < 4 + body.length || s.status !== 'open') reset++
        })
      )
    })
  )
  // Give the victim up to 10 s to drop the connections it refuses.
  await Promise.race([Promise.all(closes), new Promise((r) => setTimeout(r, 10_000))])
  report({ type: 'sent', streams: plan.conns * streams, resetByVictim: reset, bytesHandedOver: handed, conns: plan.conns, closedByVictim: closed })
}

async function slots(plan: AttackPlan, nodes: Libp2p[], stopped: () => boolean, report: (r: AttackReport) => void): Promise<void> {
  // M1 needs no identity of ours beyond a throwaway key; built with the package itself.
  const { HandshakeInitiator } = await import('../dist/index.js')
  const { createVerifier, Identity } = await import('@saorsa-gossip/identity')
  const identity = Identity.generate()
  const verifier = createVerifier()
  const target = multiaddr(plan.addr)
  let m2 = 0
  let holding = 0
  let dropped = 0
  let dialFailures = 0
  let last = 0
  const tell = (force = false): void => {
    const now = Date.now()
    if (!force && now - last < 50) return
    last = now
    report({ type: 'progress', m2, holding, dropped, dialFailures })
  }
  await Promise.all(
    Array.from({ length: plan.conns }, async () => {
      const node = await minimalNode(kindOf(plan.addr))
      nodes.push(node)
      while (!stopped()) {
        let conn: Connection
        try {
          conn = await node.dial(target, { signal: AbortSignal.timeout(10_000) })
        } catch {
          dialFailures++
          tell()
          // Let the event loop breathe (a failed dial can reject without I/O): a spinning attacker
          // would never see its parent's stop or exit.
          await new Promise((r) => setTimeout(r, 20))
          continue
        }
        let s: Stream
        try {
          s = await conn.newStream(HANDSHAKE, { negotiateFully: false, signal: AbortSignal.timeout(10_000) })
        } catch {
          dialFailures++
          await conn.close().catch(() => undefined)
          await new Promise((r) => setTimeout(r, 20))
          continue
        }
        const m1 = new HandshakeInitiator({ identity, verifier, localTransportId: new Uint8Array(0), remoteTransportId: new Uint8Array(0) }).start()
        const framed = new Uint8Array(4 + m1.length)
        framed.set(header(m1.length))
        framed.set(m1, 4)
        try {
          s.send(framed)
        } catch {
          // refused before M1 went out (e.g. `handshake:busy`)
          dropped++
          await conn.close().catch(() => undefined)
          continue
        }
        // Count M2 once a whole frame of it is in, then hold the slot until the victim drops us.
        let holdingThis = false
        await new Promise<void>((resolve) => {
          const head: number[] = []
          let got = 0
          const onMessage = (evt: StreamMessageEvent): void => {
            const b = evt.data.subarray()
            for (let i = 0; i < b.length && head.length < 4; i++) head.push(b[i] as number)
            got += b.length
            const need = head.length === 4 ? 4 + new DataView(new Uint8Array(head).buffer).getUint32(0) : Infinity
            if (!holdingThis && got >= need) {
              holdingThis = true
              m2++
              holding++
              tell()
            }
          }
          const onClose = (): void => {
            s.removeEventListener('message', onMessage)
            resolve()
          }
          s.addEventListener('message', onMessage)
          s.addEventListener('close', onClose, { once: true })
          // The victim ends the stream (or the connection) when it drops the handshake.
          s.addEventListener('remoteCloseWrite', () => s.abort(new Error('victim closed')), { once: true })
          conn.addEventListener('close', () => s.abort(new Error('connection closed')), { once: true })
        })
        if (holdingThis) holding--
        dropped++
        tell()
        await conn.close().catch(() => undefined)
      }
    })
  )
  tell(true)
}

async function main(): Promise<void> {
  const plan = JSON.parse(process.argv[2] ?? '{}') as AttackPlan
  const report = (r: AttackReport): void => {
    process.send?.(r)
  }
  const nodes: Libp2p[] = []
  let stop = false
  const stopping = new Promise<void>((resolve) =>
    process.on('message', (m: { type?: string }) => {
      if (m.type === 'stop') {
        stop = true
        resolve()
      }
    })
  )
  process.on('disconnect', () => process.exit(0))
  try {
    if (plan.mode === 'flood') {
      await flood(plan, nodes, report)
      await stopping
    } else {
      await Promise.race([slots(plan, nodes, () => stop || !process.connected, report), stopping])
      stop = true
    }
  } catch (e) {
    report({ type: 'error', message: e instanceof Error ? e.stack ?? e.message : String(e) })
  }
  await Promise.allSettled(nodes.map(async (n) => n.stop()))
  process.exit(0)
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.send !== undefined) void main()
