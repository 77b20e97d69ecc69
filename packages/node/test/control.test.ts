// The local control endpoint: owner-only socket, JSON-lines requests, errors for bad requests
// without dropping the connection, one live server per path, stale socket files replaced,
// subscriptions that stream deliveries, strict base64, and the bounds on what a client can make the
// node hold (a non-reader is not read, idle connections are closed or evicted, the CLI is served).
import { createConnection } from 'node:net'
import type { Socket } from 'node:net'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Identity } from '@saorsa-gossip/identity'
import { MemoryNetwork } from '@saorsa-gossip/transport'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ControlClient, createGossipNode, MAX_CONTROL_CONNECTIONS, startControlServer } from '../src/index.js'
import type { ControlDelivery, GossipNode, NodeStatus } from '../src/index.js'
import { CONTROL_PAUSE_BACKLOG_BYTES, MAX_CONTROL_REQUESTS_IN_FLIGHT } from '../src/control.js'
import type { ControlServerEvents } from '../src/control.js'

let dir: string
const cleanup: Array<() => Promise<void>> = []
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sg-ctl-'))
})
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f()
  await rm(dir, { recursive: true, force: true })
})

async function node(net: MemoryNetwork, seed: number, coordinators: string[] = []): Promise<GossipNode> {
  const identity = Identity.fromSeed(new Uint8Array(32).fill(seed))
  const n = createGossipNode({ identity, transport: net.createTransport({ identity }), coordinators, seed })
  await n.start()
  cleanup.push(() => n.stop())
  return n
}

/** Sends raw lines and collects `n` reply lines. */
function raw(path: string, lines: string[], n: number): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path)
    const got: Array<Record<string, unknown>> = []
    let buf = ''
    s.setEncoding('utf8')
    s.on('data', (c: string) => {
      buf += c
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        got.push(JSON.parse(buf.slice(0, i)) as Record<string, unknown>)
        buf = buf.slice(i + 1)
      }
      if (got.length >= n) {
        s.end()
        resolve(got)
      }
    })
    s.on('error', reject)
    s.write(lines.map((l) => `${l}\n`).join(''))
  })
}

describe('control endpoint', () => {
  it('serves status and peers, answers bad requests with errors, and keeps one server per path', async () => {
    const net = new MemoryNetwork()
    const a = await node(net, 1)
    const path = join(dir, 'run', 'a.sock')
    await writeFile(join(dir, 'stale.sock'), '') // a stale file at the path is replaced
    const server = await startControlServer(a, path)
    cleanup.push(() => server.close())
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect((await stat(join(dir, 'run'))).mode & 0o777).toBe(0o700)
    await expect(startControlServer(a, path)).rejects.toThrow(/already running/)

    const replies = await raw(path, ['not json', '{"id":"x","method":"status"}', '{"id":2,"method":"launch"}', '{"id":3,"method":"publish","params":{"topic":""}}', '{"id":4,"method":"status"}'], 5)
    expect(replies[0]).toMatchObject({ id: null, error: { message: expect.stringMatching(/JSON/) } })
    expect(replies[1]).toMatchObject({ id: null, error: { message: '"id" must be an integer' } })
    expect(replies[2]).toMatchObject({ id: 2, error: { message: expect.stringMatching(/^unknown method "launch"/) } })
    expect(replies[3]).toMatchObject({ id: 3, error: { message: expect.stringMatching(/"topic" must be a non-empty string/) } })
    expect((replies[4]?.result as NodeStatus).peerId).toBe(a.peerId)

    const stalePath = join(dir, 'stale.sock')
    const s2 = await startControlServer(a, stalePath)
    cleanup.push(() => s2.close())
    expect((await ControlClient.connect(stalePath).then(async (c) => {
      const r = await c.request<NodeStatus>('status')
      c.close()
      return r
    })).running).toBe(true)
  })

  it('streams deliveries to a subscriber and publishes for a client', async () => {
    const net = new MemoryNetwork()
    const a = await node(net, 11)
    const b = await node(net, 12, a.transport.listenAddrs())
    const pa = join(dir, 'a.sock')
    const pb = join(dir, 'b.sock')
    for (const [n, p] of [[a, pa], [b, pb]] as const) {
      const s = await startControlServer(n, p)
      cleanup.push(() => s.close())
    }
    const ca = await ControlClient.connect(pa)
    const cb = await ControlClient.connect(pb)
    cleanup.push(async () => {
      ca.close()
      cb.close()
    })
    const got = new Promise<ControlDelivery>((resolve) => void cb.subscribe('chat', resolve))
    await expect(cb.subscribe('chat', () => {})).resolves.toBeUndefined() // a second subscription on one connection
    expect(await cb.request('topics')).toEqual(['chat'])
    const r = await ca.request<{ id: string; bytes: number }>('publish', { topic: 'chat', payloadBase64: Buffer.from([0xff, 0x00]).toString('base64') })
    const d = await got
    expect(d).toMatchObject({ id: r.id, topic: 'chat', from: a.peerId, message: null, payloadBase64: '/wA=' })
    expect(r.bytes).toBe(2)
    await expect(ca.request('unsubscribe', { subscription: 99 })).rejects.toThrow(/no such subscription/)
  })

  it('rejects payloadBase64 that is not canonical base64, and keeps the connection', async () => {
    const net = new MemoryNetwork()
    const a = await node(net, 21)
    const path = join(dir, 'a.sock')
    const server = await startControlServer(a, path)
    cleanup.push(() => server.close())
    // No padding, non-zero pad bits, junk Buffer.from would skip, padding inside, URL-safe alphabet,
    // whitespace, not a string, and both payload fields at once.
    const bad: unknown[] = ['AAA', 'AB==', 'AA==!', '!!!!', 'AA==AA==', 'A===', '-_8=', 'AA ==', ' /wA=', 42, null]
    const lines = bad.map((b, i) => JSON.stringify({ id: i + 1, method: 'publish', params: { topic: 't', payloadBase64: b } }))
    lines.push(JSON.stringify({ id: 90, method: 'publish', params: { topic: 't', payloadBase64: '/wA=', message: 'x' } }))
    lines.push(JSON.stringify({ id: 91, method: 'publish', params: { topic: 't', payloadBase64: '/wA=' } }))
    const replies = await raw(path, lines, lines.length)
    for (const r of replies.slice(0, bad.length)) expect(r).toMatchObject({ error: { message: expect.stringMatching(/^"payloadBase64" must be canonical base64/) } })
    expect(replies.map((r) => r.id)).toEqual([...bad.map((_, i) => i + 1), 90, 91])
    expect(replies[bad.length]).toMatchObject({ id: 90, error: { message: 'give "message" or "payloadBase64", not both' } })
    expect(replies[bad.length + 1]).toMatchObject({ id: 91, result: { topic: 't', bytes: 2 } })
  })

  it('answers a fresh status while 40 idle connections are held: the longest idle ones are evicted', async () => {
    const net = new MemoryNetwork()
    const a = await node(net, 31)
    const path = join(dir, 'a.sock')
    const server = await startControlServer(a, path)
    cleanup.push(() => server.close())
    const idle: Array<{ socket: Socket; notice: Promise<string> }> = []
    const closed: number[] = []
    const waiters: Array<() => void> = []
    /** Resolves once `n` of the idle clients have seen their connection closed. */
    const evicted = (n: number): Promise<void> => new Promise((resolve) => {
      const check = (): void => (closed.length >= n ? resolve() : void waiters.push(check))
      check()
    })
    for (let i = 0; i < 40; i++) {
      const socket = createConnection(path)
      socket.setEncoding('utf8')
      const notice = new Promise<string>((resolve) => {
        let got = ''
        socket.on('data', (c: string) => void (got += c))
        socket.once('close', () => {
          closed.push(i)
          resolve(got)
          for (const w of waiters.splice(0)) w()
        })
      })
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
      idle.push({ socket, notice })
    }
    cleanup.push(async () => {
      for (const c of idle) c.socket.destroy()
    })
    await evicted(40 - MAX_CONTROL_CONNECTIONS)
    expect(server.connections).toBe(MAX_CONTROL_CONNECTIONS)
    // The oldest went first, each told why.
    expect(closed.sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    expect(JSON.parse(await idle[0]!.notice)).toEqual({ id: null, error: { message: expect.stringMatching(/at most 32 connections/) } })

    // What `saorsa-gossip network status` does: probe, connect, one request.
    const c = await ControlClient.connect(path)
    const status = await c.request<NodeStatus>('status')
    c.close()
    expect(status.peerId).toBe(a.peerId)
    await evicted(40 - MAX_CONTROL_CONNECTIONS + 1)
    expect(closed).toContain(8)
  })

  it('closes a connection idle past the timeout (silent or a partial line), never a subscriber', async () => {
    const net = new MemoryNetwork()
    const a = await node(net, 41)
    const path = join(dir, 'a.sock')
    const server = await startControlServer(a, path, { idleTimeoutMs: 50 })
    cleanup.push(() => server.close())
    const reasons: Array<ControlServerEvents['connection:close']> = []
    server.on('connection:close', (e) => reasons.push(e))
    const sub = await ControlClient.connect(path)
    cleanup.push(async () => sub.close())
    await sub.subscribe('news', () => {})

    const silent = createConnection(path)
    const partial = createConnection(path)
    partial.write('{"id":1,"method":"sta') // bytes without a whole request are no activity
    const notices = [silent, partial].map((s) => new Promise<string>((resolve) => {
      let buf = ''
      s.setEncoding('utf8')
      s.on('data', (c: string) => void (buf += c))
      s.once('close', () => resolve(buf))
    }))
    for (const n of await Promise.all(notices)) expect(JSON.parse(n)).toEqual({ id: null, error: { message: 'control connection closed: idle for 50 ms' } })
    expect(reasons.map((r) => r.reason)).toEqual(['idle', 'idle'])
    // The subscriber, connected before both and as silent since, is still served.
    expect(server.connections).toBe(1)
    await expect(sub.request('topics')).resolves.toEqual(['news'])
  })

  it('stops reading a client that pipelines requests and never reads; it gets every reply once it reads', async () => {
    const net = new MemoryNetwork()
    const a = await node(net, 51)
    const path = join(dir, 'a.sock')
    const server = await startControlServer(a, path)
    cleanup.push(() => server.close())
    const N = 20_000
    const replyBytes = JSON.stringify({ id: N, result: a.status() }).length + 1
    const pauses: Array<ControlServerEvents['connection:pause']> = []
    let reading = false
    let resumedWhileUnread = false
    server.on('connection:pause', (e) => pauses.push(e))
    server.on('connection:resume', () => void (resumedWhileUnread ||= pauses.some((e) => e.reason === 'backlog') && !reading))

    const s = createConnection(path)
    cleanup.push(async () => void s.destroy())
    await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject))
    s.pause() // never reads, for now
    const firstPause = server.once('connection:pause', (e) => e.reason === 'backlog')
    s.write(Array.from({ length: N }, (_, i) => `{"id":${i + 1},"method":"status"}\n`).join(''))
    const p = await firstPause
    // Replies held for the non-reader are bounded, and so are the requests taken from it (the
    // replies before the pause filled the kernel's socket buffer, then the 256 KiB backlog).
    expect(p.backlogBytes).toBeGreaterThan(CONTROL_PAUSE_BACKLOG_BYTES)
    expect(p.backlogBytes).toBeLessThanOrEqual(CONTROL_PAUSE_BACKLOG_BYTES + MAX_CONTROL_REQUESTS_IN_FLIGHT * replyBytes)
    expect(p.requests).toBeLessThan(N / 10)
    // Another client's full round trip runs the server's loop; the non-reader stays unread.
    const other = await ControlClient.connect(path)
    expect((await other.request<NodeStatus>('status')).peerId).toBe(a.peerId)
    other.close()
    expect(pauses.at(-1)).toBe(p)
    expect(resumedWhileUnread).toBe(false)

    // Once it reads, the server resumes (on 'drain') and every reply arrives, in order.
    reading = true
    let next = 1
    let buf = ''
    await new Promise<void>((resolve, reject) => {
      s.setEncoding('utf8')
      s.on('data', (c: string) => {
        buf += c
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          const r = JSON.parse(buf.slice(0, i)) as { id: number }
          buf = buf.slice(i + 1)
          if (r.id !== next) return reject(new Error(`reply ${r.id} where ${next} was due`))
          if (next++ === N) resolve()
        }
      })
      s.resume()
    })
    expect(resumedWhileUnread).toBe(false)
    for (const e of pauses) expect(e.backlogBytes).toBeLessThanOrEqual(CONTROL_PAUSE_BACKLOG_BYTES + MAX_CONTROL_REQUESTS_IN_FLIGHT * replyBytes)
  })
})
