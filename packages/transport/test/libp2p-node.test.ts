// Real libp2p nodes on 127.0.0.1 (QUIC, TCP + Noise + Yamux, circuit relay v2) exchanging
// length-prefixed frames. No mocks and no sleeps: every wait is on an event or a promise, bounded by
// an AbortSignal timeout.
import { AbortError, MAX_FRAME_BYTES } from '@saorsa-gossip/types'
import { afterEach, describe, expect, it } from 'vitest'
import {
  connectionKind,
  createLibp2pNode,
  isLimitedConnection,
  type Libp2pHandle,
  type Libp2pNodeOptions
} from '../src/libp2p-node.js'
import {
  abortStream,
  closeStream,
  encodeFrameHeader,
  FRAME_HEADER_BYTES,
  FrameTooLargeError,
  frameWriter,
  readFrames,
  StreamClosedError,
  writeFrame
} from '../src/libp2p-streams.js'
import type { Connection, Stream } from '@libp2p/interface'

const ECHO = '/saorsa-test/echo/1.0.0'
const SINK = '/saorsa-test/stall/1.0.0'
const COLLECT = '/saorsa-test/collect/1.0.0'
const STRICT = '/saorsa-test/direct-only/1.0.0'

const started: Libp2pHandle[] = []
async function node(options: Libp2pNodeOptions = {}): Promise<Libp2pHandle> {
  const n = await createLibp2pNode(options)
  started.push(n)
  return n
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((n) => n.stop()))
})

const within = (ms: number): AbortSignal => AbortSignal.timeout(ms)

interface Deferred<T> {
  promise: Promise<T>
  resolve: (value: T) => void
  reject: (reason: unknown) => void
}
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (reason: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** `promise`, or a rejection after `ms`. */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)
    promise.then(
      (v) => {
        clearTimeout(timer)
        resolve(v)
      },
      (e: unknown) => {
        clearTimeout(timer)
        reject(e instanceof Error ? e : new Error(String(e)))
      }
    )
  })
}

/** Echo handler: every frame comes back prefixed with one byte 0xEC; closes when the remote does. */
async function serveEcho(n: Libp2pHandle): Promise<void> {
  await n.handle(ECHO, async (stream) => {
    const out = frameWriter(stream)
    try {
      for await (const frame of readFrames(stream)) {
        const reply = new Uint8Array(frame.byteLength + 1)
        reply[0] = 0xec
        reply.set(frame, 1)
        await out.write(reply)
      }
      await closeStream(stream)
    } catch (err) {
      abortStream(stream, err instanceof Error ? err : undefined)
    }
  })
}

function pattern(length: number, seed: number): Uint8Array {
  const b = new Uint8Array(length)
  for (let i = 0; i < length; i++) b[i] = (i * 31 + seed) & 0xff
  return b
}

/** Sends `frames` on a new echo stream, checks every echo, then closes both ways. */
async function echoRoundTrip(from: Libp2pHandle, conn: Connection, frames: Uint8Array[]): Promise<void> {
  const stream = await from.newStream(conn, ECHO, { signal: within(5_000) })
  const replies = readFrames(stream, { signal: within(10_000) })
  for (const [i, frame] of frames.entries()) {
    await writeFrame(stream, frame, { signal: within(5_000) })
    const r = await replies.next()
    expect(r.done).toBe(false)
    const reply = r.value as Uint8Array
    expect(reply.byteLength, `reply ${i}`).toBe(frame.byteLength + 1)
    expect(reply[0]).toBe(0xec)
    expect(Buffer.from(reply.subarray(1)).equals(Buffer.from(frame))).toBe(true)
  }
  expect(await closeStream(stream)).toBe(true)
  // the remote closes after our FIN: the reader ends cleanly
  expect((await replies.next()).done).toBe(true)
}

const FRAMES = [new Uint8Array(0), pattern(1, 1), pattern(1024, 2), pattern(100_000, 3), pattern(MAX_FRAME_BYTES - 1, 4)] // the echo adds one byte

async function medianRtt(from: Libp2pHandle, conn: Connection, rounds: number): Promise<number> {
  const stream = await from.newStream(conn, ECHO, { signal: within(5_000) })
  const replies = readFrames(stream, { signal: within(10_000) })
  const payload = pattern(1024, 9)
  const times: number[] = []
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now()
    await writeFrame(stream, payload)
    await replies.next()
    times.push(performance.now() - t0)
  }
  await closeStream(stream)
  await replies.return()
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)] ?? Number.NaN
}

describe('libp2p node: direct connections', () => {
  it('QUIC only: dials over quic-v1, exchanges frames both ways, reports observed address', async () => {
    const a = await node({ tcp: false })
    const b = await node({ tcp: false })
    await serveEcho(b)
    expect(a.multiaddrs().every((m) => m.toString().includes('/quic-v1'))).toBe(true)
    const target = b.multiaddrs()[0]
    expect(target).toBeDefined()
    if (target === undefined) return

    // b reports, through identify, the address it sees a at
    const observed = a.once('observed-addr', (o) => o.reportedBy.some((p) => p.equals(b.peerId)), {
      signal: within(5_000)
    })
    const inbound = b.once('connection:open', (c) => c.remotePeer.equals(a.peerId), { signal: within(5_000) })
    const t0 = performance.now()
    const conn = await a.dial(target, { signal: within(5_000) })
    const dialMs = performance.now() - t0
    expect(conn.remoteAddr.toString()).toContain('/quic-v1')
    expect(connectionKind(conn)).toBe('quic')
    expect(connectionKind(await inbound)).toBe('quic')
    expect(isLimitedConnection(conn)).toBe(false)

    await echoRoundTrip(a, conn, FRAMES)

    const seen = await observed
    expect(seen.addr.toString()).toMatch(/^\/ip4\/127\.0\.0\.1\/udp\/\d+\/quic-v1$/)
    expect(a.observedAddrs().map((o) => o.addr.toString())).toContain(seen.addr.toString())

    const rtt = await medianRtt(a, conn, 200)
    console.log(`[measure] QUIC loopback (one process): dial ${dialMs.toFixed(1)} ms, 1 KiB RTT median ${rtt.toFixed(3)} ms`)
  })

  it('TCP only (Noise + Yamux): exchanges frames, reassembles frames from unaligned chunks', async () => {
    const a = await node({ quic: false })
    const b = await node({ quic: false })
    await serveEcho(b)
    expect(a.multiaddrs().every((m) => m.toString().includes('/tcp/'))).toBe(true)
    const target = b.multiaddrs()[0]
    if (target === undefined) throw new Error('b has no address')

    const t0 = performance.now()
    const conn = await a.dial(target, { signal: within(5_000) })
    const dialMs = performance.now() - t0
    expect(connectionKind(conn)).toBe('tcp')
    expect(conn.remoteAddr.toString()).not.toContain('/quic-v1')
    expect(conn.encryption).toBe('/noise')
    expect(conn.multiplexer).toBe('/yamux/1.0.0')

    await echoRoundTrip(a, conn, FRAMES)

    // Three frames sent as raw bytes cut at awkward places (inside headers and bodies).
    const bodies = [pattern(5, 1), pattern(0, 2), pattern(70_000, 3)]
    const wire = Buffer.concat(bodies.flatMap((f) => [encodeFrameHeader(f.byteLength), f]))
    const stream = await a.newStream(conn, ECHO, { signal: within(5_000) })
    const replies = readFrames(stream, { signal: within(5_000) })
    const cuts = [0, 1, 3, 6, 9, 10, 11, 13, 14, 5000, 40_001, wire.byteLength]
    for (let i = 1; i < cuts.length; i++) {
      if (!stream.send(wire.subarray(cuts[i - 1], cuts[i]))) await stream.onDrain({ signal: within(5_000) })
    }
    for (const body of bodies) {
      const r = await replies.next()
      expect(r.done).toBe(false)
      expect(Buffer.from((r.value as Uint8Array).subarray(1)).equals(Buffer.from(body))).toBe(true)
    }
    await closeStream(stream)
    expect((await replies.next()).done).toBe(true)

    const rtt = await medianRtt(a, conn, 200)
    console.log(`[measure] TCP+noise+yamux loopback (one process): dial ${dialMs.toFixed(1)} ms, 1 KiB RTT median ${rtt.toFixed(3)} ms`)
  })
})

describe('libp2p node: circuit relay v2', () => {
  it('B listens through relay R; A dials the circuit address; limited connection carries frames', async () => {
    const r = await node({ relayServer: true, quic: false })
    const relayAddr = r.multiaddrs().find((m) => m.toString().includes('/tcp/'))
    if (relayAddr === undefined) throw new Error('relay has no TCP address')

    const b = await node({ quic: false, listen: ['/ip4/127.0.0.1/tcp/0', `${relayAddr.toString()}/p2p-circuit`] })
    await serveEcho(b)
    let strictCalls = 0
    await b.handle(
      STRICT,
      (stream) => {
        strictCalls++
        abortStream(stream)
      },
      { runOnLimitedConnection: false }
    )
    const isCircuit = (m: { toString(): string }): boolean => m.toString().includes('/p2p-circuit')
    if (!b.multiaddrs().some(isCircuit)) {
      await b.once('self:addresses', (addrs) => addrs.some(isCircuit), { signal: within(10_000) })
    }
    const circuitAddr = b.multiaddrs().find(isCircuit)
    if (circuitAddr === undefined) throw new Error('no circuit address')
    expect(circuitAddr.toString()).toContain(`/p2p/${r.peerId.toString()}/p2p-circuit/p2p/${b.peerId.toString()}`)

    const a = await node({ quic: false })
    const conn = await a.dial(circuitAddr, { signal: within(5_000) })
    expect(connectionKind(conn)).toBe('relay')
    expect(conn.direct).toBe(false)
    expect(isLimitedConnection(conn)).toBe(true)
    const remaining = conn.limits?.bytes ?? 0n
    expect(remaining > 0n && remaining <= 16n * 1024n * 1024n).toBe(true)

    await echoRoundTrip(a, conn, [pattern(10, 1), pattern(4096, 2), pattern(200_000, 3)])

    // A protocol registered with runOnLimitedConnection: false is negotiated, then reset by the
    // remote before its handler runs; a stream opened with runOnLimitedConnection: false is refused
    // locally.
    const strict = await a.newStream(conn, STRICT, { signal: within(5_000) })
    await expect(readFrames(strict, { signal: within(5_000) }).next()).rejects.toBeInstanceOf(StreamClosedError)
    expect(strictCalls).toBe(0)
    await expect(
      a.newStream(conn, ECHO, { signal: within(5_000), runOnLimitedConnection: false })
    ).rejects.toMatchObject({ name: 'LimitedConnectionError' })
  })
})

describe('libp2p streams: backpressure and limits', () => {
  it('a stalled reader blocks only its own stream (TCP/Yamux): other streams and peers stay prompt', async () => {
    const a = await node({ quic: false })
    const stalled = await node({ quic: false })
    const prompt = await node({ quic: false })

    // The stalled peer reads the first 20 frames (so the writer sees several drains: libp2p's own
    // stream.onDrain() goes wrong after the first one), then pauses the stream and never reads
    // again: Yamux stops granting window.
    const stalledStreams: Stream[] = []
    await stalled.handle(SINK, async (stream) => {
      stream.maxReadBufferLength = 64 * 1024 * 1024
      let n = 0
      for await (const frame of readFrames(stream)) {
        if (frame.byteLength > 0 && ++n === 20) break
      }
      if (stream.readStatus === 'readable') stream.pause()
      stalledStreams.push(stream)
    })
    // Both the stalled peer (on another stream of the same connection) and a third peer collect frames.
    const collector = (into: Uint8Array[], done: Deferred<void>) => async (stream: Stream) => {
      try {
        for await (const f of readFrames(stream)) into.push(f)
        done.resolve()
      } catch (err) {
        done.reject(err)
      }
    }
    const gotOnStalledPeer: Uint8Array[] = []
    const gotOnPrompt: Uint8Array[] = []
    const stalledPeerDone = deferred<void>()
    const promptDone = deferred<void>()
    await stalled.handle(COLLECT, collector(gotOnStalledPeer, stalledPeerDone))
    await prompt.handle(COLLECT, collector(gotOnPrompt, promptDone))

    const toStalled = await a.dial(stalled.multiaddrs()[0] ?? '', { signal: within(5_000) })
    const toPrompt = await a.dial(prompt.multiaddrs()[0] ?? '', { signal: within(5_000) })

    const sink = await a.newStream(toStalled, SINK, { signal: within(5_000) })
    const chunk = pattern(64 * 1024, 7)
    const total = 50 * 1024 * 1024
    let written = 0
    let maxQueued = 0
    const stallSignal = within(2_000)
    const background = (async () => {
      while (written < total) {
        await writeFrame(sink, chunk, { signal: stallSignal })
        written += chunk.byteLength
        maxQueued = Math.max(maxQueued, sink.writeBufferLength)
      }
    })()
    const backgroundOutcome = background.then(
      () => 'finished',
      (err: unknown) => err
    )

    // While that write is stuck, frames to the same peer (other stream) and to another peer arrive.
    const t0 = performance.now()
    const side = await a.newStream(toStalled, COLLECT, { signal: within(2_000) })
    const other = await a.newStream(toPrompt, COLLECT, { signal: within(2_000) })
    for (let i = 0; i < 20; i++) {
      await writeFrame(side, pattern(1000, i), { signal: within(1_000) })
      await writeFrame(other, pattern(1000, i), { signal: within(1_000) })
    }
    await Promise.all([closeStream(side), closeStream(other)])
    // the collectors end when our FIN arrives, i.e. after all 20 frames
    await withTimeout(Promise.all([stalledPeerDone.promise, promptDone.promise]), 2_000, 'collectors')
    const promptMs = performance.now() - t0

    const outcome = await backgroundOutcome
    expect(outcome).toBeInstanceOf(AbortError)
    expect(written).toBeLessThan(total)
    expect(written).toBeGreaterThan(20 * chunk.byteLength)
    // The writer waited for drain instead of piling frames into libp2p's write buffer.
    expect(maxQueued).toBeLessThanOrEqual(chunk.byteLength + FRAME_HEADER_BYTES)
    expect(stalledStreams).toHaveLength(1)
    expect(gotOnPrompt).toHaveLength(20)
    expect(gotOnStalledPeer).toHaveLength(20)
    expect(promptMs).toBeLessThan(2_000)
    console.log(
      `[measure] stalled Yamux stream: ${(written / 1024).toFixed(0)} KiB accepted before the 2 s timeout; ` +
        `40 frames to other stream/peer delivered in ${promptMs.toFixed(1)} ms`
    )
    abortStream(sink)
  })

  it('a stalled reader on QUIC is reset by the receiver at its read-buffer limit; the writer sees it', async () => {
    const a = await node({ tcp: false })
    const stalled = await node({ tcp: false })
    await stalled.handle(SINK, (stream) => {
      stream.maxReadBufferLength = 1024 * 1024
      stream.pause() // a no-op on QUIC: libp2p keeps reading and resets past maxReadBufferLength
    })
    const conn = await a.dial(stalled.multiaddrs()[0] ?? '', { signal: within(5_000) })
    const sink = await a.newStream(conn, SINK, { signal: within(5_000) })
    const chunk = pattern(64 * 1024, 7)
    let written = 0
    const err = await (async () => {
      try {
        while (written < 50 * 1024 * 1024) {
          await writeFrame(sink, chunk, { signal: within(5_000) })
          written += chunk.byteLength
        }
      } catch (e) {
        return e
      }
      return undefined
    })()
    expect(err).toBeDefined()
    expect(err).not.toBeInstanceOf(AbortError)
    expect(written).toBeLessThan(50 * 1024 * 1024)
    console.log(`[measure] stalled QUIC stream reset after ${(written / 1024).toFixed(0)} KiB written: ${String(err)}`)
  })

  it('an oversized length prefix is rejected as soon as the header arrives, before any body', async () => {
    const a = await node({ quic: false })
    const b = await node({ quic: false })
    const result = deferred<unknown>()
    await b.handle(COLLECT, async (stream) => {
      try {
        for await (const frame of readFrames(stream, { maxFrameBytes: 1024 })) result.resolve(frame)
        result.resolve('ended')
      } catch (err) {
        result.resolve(err)
        abortStream(stream, err instanceof Error ? err : undefined)
      }
    })
    const conn = await a.dial(b.multiaddrs()[0] ?? '', { signal: within(5_000) })
    const stream = await a.newStream(conn, COLLECT, { signal: within(5_000) })
    // Header announcing 4 GiB − 1 and no body: a reader that waited for (or allocated) the body would
    // hang or throw a RangeError; ours throws FrameTooLargeError at once.
    stream.send(encodeFrameHeader(0xffff_ffff))
    const err = await withTimeout(result.promise, 5_000, 'reader error')
    expect(err).toBeInstanceOf(FrameTooLargeError)
    expect(err).toMatchObject({ length: 0xffff_ffff, max: 1024, code: 'ERR_LIMIT_EXCEEDED' })

    // Just above the limit is refused too; the writer refuses to send an oversized body at all.
    await expect(writeFrame(stream, new Uint8Array(1025), { maxFrameBytes: 1024 })).rejects.toBeInstanceOf(
      FrameTooLargeError
    )
    abortStream(stream)
  })
})
