// PlumtreePubSub over the real libp2p transport (QUIC only, loopback): the same driver and the same
// PQ channel as in production, with real envelopes of ~6.4 KB crossing real streams.
import { createVerifier, Identity } from '@saorsa-gossip/identity'
import { DefaultMembership } from '@saorsa-gossip/membership'
import { Libp2pTransport } from '@saorsa-gossip/transport'
import type { MessageId } from '@saorsa-gossip/types'
import { afterAll, describe, expect, it } from 'vitest'
import { PlumtreePubSub } from '../src/index.js'
import type { PubSubDelivery } from '../src/index.js'

describe('PlumtreePubSub over QUIC', () => {
  const stops: Array<() => Promise<void>> = []
  afterAll(async () => {
    for (const s of stops.splice(0).reverse()) await s()
  })

  async function node(seed: number) {
    const identity = Identity.fromSeed(new Uint8Array(32).fill(seed))
    const transport = new Libp2pTransport({ identity }, { tcp: false })
    await transport.start()
    const membership = new DefaultMembership({ transport }, { seed })
    await membership.start()
    const pubsub = new PlumtreePubSub({ transport, membership, signer: identity, verifier: createVerifier() }, { seed })
    await pubsub.start()
    stops.push(async () => {
      await pubsub.stop()
      await membership.stop()
      await transport.stop()
    })
    return { identity, transport, membership, pubsub }
  }

  it('three nodes: every message reaches the two other subscribers exactly once', async () => {
    const nodes = [await node(41), await node(42), await node(43)]
    const [a, b, c] = nodes as [Awaited<ReturnType<typeof node>>, Awaited<ReturnType<typeof node>>, Awaited<ReturnType<typeof node>>]
    const joined = [b, c].map((n) => n.membership.once('neighbor:up', () => true, { signal: AbortSignal.timeout(15_000) }))
    await b.membership.join(a.transport.listenAddrs())
    await c.membership.join(a.transport.listenAddrs())
    await Promise.all(joined)
    const got = new Map<string, PubSubDelivery[]>(nodes.map((n) => [n.transport.peerId, []]))
    for (const n of nodes) n.pubsub.on('message', (d) => got.get(n.transport.peerId)?.push(d))
    const sent: MessageId[] = []
    const expected = 2 * 3 * 4 // 3 publishers × 4 messages × 2 receivers
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${[...got.values()].flat().length} of ${expected} deliveries`)), 15_000)
      for (const n of nodes)
        n.pubsub.on('message', () => {
          if ([...got.values()].flat().length >= expected) {
            clearTimeout(timer)
            resolve()
          }
        })
    })
    for (let k = 0; k < 4; k++) for (const n of nodes) sent.push(await n.pubsub.publish('quic-chat', new TextEncoder().encode(`${n.transport.peerId.slice(0, 6)} #${k}`)))
    await done
    for (const n of nodes) {
      const ids = (got.get(n.transport.peerId) ?? []).map((d) => d.id)
      expect(new Set(ids).size).toBe(ids.length)
      expect(ids).toHaveLength(8)
      for (const d of got.get(n.transport.peerId) ?? []) expect(d.from).not.toBe(n.transport.peerId)
    }
    expect(new Set([...got.values()].flat().map((d) => d.id))).toEqual(new Set(sent))
  })
})
