// The relay role end to end over real libp2p links on 127.0.0.1: a node with no direct listener
// (`bind: 'none'`) reserves a slot on the relay coordinator and joins with its circuit address;
// membership hands that address to the others, a newcomer reaches the node through the relay with
// it, and pub/sub messages flow both ways.
import { Identity } from '@saorsa-gossip/identity'
import type { Libp2pTransport } from '@saorsa-gossip/transport'
import { afterAll, describe, expect, it } from 'vitest'
import { createGossipNode } from '../src/index.js'
import type { GossipNode } from '../src/index.js'

const nodes: GossipNode[] = []
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()))
})

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

describe('relay role', () => {
  it('makes a node without a direct listener reachable through a relay coordinator', async () => {
    const relay = createGossipNode({ identity: Identity.generate(), roles: ['coordinator', 'relay'] })
    nodes.push(relay)
    await relay.start()
    const contact = relay.transport.listenAddrs().find((a) => a.includes('/tcp/')) as string
    const hidden = createGossipNode({ identity: Identity.generate(), bind: 'none', relayClient: true, coordinators: [contact] })
    nodes.push(hidden)
    await hidden.start()
    const addrs = hidden.transport.listenAddrs()
    expect(addrs.some((a) => a.includes('/p2p-circuit'))).toBe(true)

    const other = createGossipNode({ identity: Identity.generate(), coordinators: [contact] })
    nodes.push(other)
    await other.start()
    await until(() => other.peers().some((p) => p.peer === hidden.peerId && p.view === 'active'), 10_000, 'other and hidden to be neighbours')
    // Membership gave other hidden's circuit address (from hidden's JOIN or NEIGHBOR)...
    const circuit = other.peers().find((p) => p.peer === hidden.peerId)?.addrs.find((a) => a.includes('/p2p-circuit'))
    expect(circuit).toBeDefined()
    // ...and a newcomer with no prior link to hidden (which has no listener of its own) reaches it there.
    const newcomer = createGossipNode({ identity: Identity.generate() })
    nodes.push(newcomer)
    await newcomer.start()
    expect(await newcomer.transport.dial(circuit as string, { expectedPeer: hidden.peerId })).toBe(hidden.peerId)
    const relayed = (newcomer.transport as Libp2pTransport).libp2p?.connections().filter((c) => c.remoteAddr.toString().includes('/p2p-circuit')) ?? []
    expect(relayed.length).toBe(1)

    const atHidden = hidden.pubsub.subscribe('t')
    const atOther = other.pubsub.subscribe('t')
    await other.pubsub.publish('t', new TextEncoder().encode('to hidden'))
    await hidden.pubsub.publish('t', new TextEncoder().encode('from hidden'))
    const first = async (s: AsyncIterable<{ payload: Uint8Array }>): Promise<string> => {
      for await (const m of s) return new TextDecoder().decode(m.payload)
      return ''
    }
    expect(await first(atHidden)).toBe('to hidden')
    expect(await first(atOther)).toBe('from hidden')
  })
})
