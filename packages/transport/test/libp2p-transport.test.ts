// Libp2pTransport over real sockets on 127.0.0.1: the compliance suite over QUIC and over TCP, and a
// relayed link through a circuit-relay-v2 node.
import { Identity } from '@saorsa-gossip/identity'
import { afterEach, describe, expect, it } from 'vitest'
import { createLibp2pNode } from '../src/libp2p-node.js'
import type { Libp2pHandle } from '../src/libp2p-node.js'
import { Libp2pTransport, rawLibp2pConnection } from '../src/libp2p-transport.js'
import type { Libp2pTransportInit } from '../src/libp2p-transport.js'
import { CHANNELS } from '../src/index.js'
import type { OuterConnection, PqLinksInit, Transport } from '../src/index.js'
import { collect, transportCompliance } from './compliance.js'

for (const kind of ['QUIC', 'TCP'] as const) {
  const only: Libp2pTransportInit = kind === 'QUIC' ? { tcp: false } : { quic: false }
  transportCompliance(`Libp2pTransport (${kind})`, () => {
    const made: Libp2pTransport[] = []
    const raws: Libp2pHandle[] = []
    return {
      async create(identity: Identity, init?: PqLinksInit) {
        const t = new Libp2pTransport({ identity }, { ...init, ...only })
        await t.start()
        made.push(t)
        return t
      },
      async rawConnect(target: Transport): Promise<OuterConnection> {
        const raw = await createLibp2pNode(only)
        raws.push(raw)
        return rawLibp2pConnection(raw, target.listenAddrs()[0] as string)
      },
      async teardown() {
        await Promise.all([...made.map((t) => t.stop()), ...raws.map((r) => r.stop())])
      }
    }
  })
}

describe('Libp2pTransport links', () => {
  const stops: Array<() => Promise<void>> = []
  afterEach(async () => {
    await Promise.all(stops.splice(0).map((s) => s()))
  })
  const node = async (seed: number, init: Libp2pTransportInit = {}) => {
    const t = new Libp2pTransport({ identity: Identity.fromSeed(new Uint8Array(32).fill(seed)) }, init)
    await t.start()
    stops.push(() => t.stop())
    return t
  }
  const enc = (s: string) => new TextEncoder().encode(s)

  it('uses QUIC when both sides have it, and learns its observed address', async () => {
    const a = await node(1)
    const b = await node(2)
    await a.dial(b.listenAddrs().find((x) => x.includes('/quic-v1')) as string)
    const conns = a.libp2p?.connections() ?? []
    expect(conns.map((c) => c.remoteAddr.toString()).some((x) => x.includes('/quic-v1'))).toBe(true)
    const got = collect(b, 1)
    await a.send(b.peerId, 'pubsub', enc('over quic'))
    expect(new TextDecoder().decode((await got)[0]!.bytes)).toBe('over quic')
    // identify tells each side how the other sees it (address reflection)
    if (a.observedAddrs().length === 0) await a.libp2p?.once('observed-addr', () => true, { signal: AbortSignal.timeout(10_000) })
    expect(a.observedAddrs()[0]).toMatch(/^\/ip4\/127\.0\.0\.1\//)
  })

  it('reaches a node that listens only through a relay, on all three channels both ways', async () => {
    const relay = await node(10, { relayServer: true, quic: false })
    const relayAddr = relay.listenAddrs().find((x) => x.includes('/tcp/')) as string
    const hidden = await node(11, { listen: [`${relayAddr}/p2p-circuit`], quic: false })
    // Wait for the relay reservation: the node then advertises a circuit address.
    while (!hidden.listenAddrs().some((x) => x.includes('/p2p-circuit'))) {
      await hidden.libp2p?.once('self:addresses', () => true, { signal: AbortSignal.timeout(10_000) })
    }
    const circuit = hidden.listenAddrs().find((x) => x.includes('/p2p-circuit')) as string
    expect(hidden.listenAddrs().every((x) => x.includes('/p2p-circuit'))).toBe(true)
    const third = await node(12, { quic: false })
    expect(await third.dial(circuit, { expectedPeer: hidden.peerId })).toBe(hidden.peerId)
    const conn = third.libp2p?.connections().find((c) => c.remoteAddr.toString().includes('/p2p-circuit'))
    expect(conn).toBeDefined()
    const atHidden = collect(hidden, 3, (m) => m.peer === third.peerId)
    const atThird = collect(third, 3, (m) => m.peer === hidden.peerId)
    for (const c of CHANNELS) {
      await third.send(hidden.peerId, c, enc(`to hidden ${c}`))
      await hidden.send(third.peerId, c, enc(`to third ${c}`))
    }
    expect((await atHidden).map((m) => `${m.channel}:${new TextDecoder().decode(m.bytes)}`).sort()).toEqual(CHANNELS.map((c) => `${c}:to hidden ${c}`).sort())
    expect((await atThird).map((m) => m.channel).sort()).toEqual([...CHANNELS].sort())
  })
})
