// The local control endpoint: owner-only socket, JSON-lines requests, errors for bad requests
// without dropping the connection, one live server per path, stale socket files replaced, and
// subscriptions that stream deliveries.
import { createConnection } from 'node:net'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Identity } from '@saorsa-gossip/identity'
import { MemoryNetwork } from '@saorsa-gossip/transport'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ControlClient, createGossipNode, startControlServer } from '../src/index.js'
import type { ControlDelivery, GossipNode, NodeStatus } from '../src/index.js'

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
})
