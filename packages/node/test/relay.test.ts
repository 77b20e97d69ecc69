// The relay role end to end over real libp2p links on 127.0.0.1: a node with no direct listener
// (`bind: 'none'`) reserves a slot on the relay coordinator, joins with its circuit address, and a
// third node reaches it through the relay; pub/sub messages flow both ways over that relayed link.
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
    expect(addrs.length).toBeGreaterThan(0)
    expect(addrs.every((a) => a.includes('/p2p-circuit'))).toBe(true)

    const other = createGossipNode({ identity: Identity.generate(), coordinators: [contact] })
    nodes.push(other)
    await other.start()
    // Membership introduces hidden to other with the circuit address from hidden's JOIN: the only way
    // to dial it. (Hidden may have dialled other directly meanwhile; dialling out is not the problem.)
    await until(() => other.peers().some((p) => p.peer === hidden.peerId && p.view === 'active'), 10_000, 'other and hidden to be neighbours')
    const learned = other.peers().find((p) => p.peer === hidden.peerId)?.addrs ?? []
    expect(learned.length).toBeGreaterThan(0)
    expect(learned.every((a) => a.includes('/p2p-circuit'))).toBe(true)
    await other.transport.disconnect(hidden.peerId)
    expect(await other.transport.dial(learned[0] as string, { expectedPeer: hidden.peerId })).toBe(hidden.peerId)
    const relayed = (other.transport as Libp2pTransport).libp2p?.connections().filter((c) => c.remoteAddr.toString().includes('/p2p-circuit')) ?? []
    expect(relayed.length).toBeGreaterThan(0)
    await until(() => other.peers().some((p) => p.peer === hidden.peerId && p.view === 'active'), 10_000, 'the neighbours to reconnect')

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
