// A neighbour that stops reading: what PlumtreePubSub queues for it stays bounded in frames and bytes,
// and the overflow is counted. The stall is made by holding back the transport's send to that one
// peer (everything else is the real MemoryTransport, membership and PQ channel).
import { createVerifier, Identity } from '@saorsa-gossip/identity'
import { DefaultMembership } from '@saorsa-gossip/membership'
import { MemoryNetwork } from '@saorsa-gossip/transport'
import type { Transport } from '@saorsa-gossip/transport'
import { MemoryMetrics } from '@saorsa-gossip/types'
import type { PeerId } from '@saorsa-gossip/types'
import { afterAll, describe, expect, it } from 'vitest'
import { PlumtreePubSub } from '../src/index.js'

describe('PlumtreePubSub send backpressure', () => {
  const stops: Array<() => Promise<void>> = []
  afterAll(async () => {
    for (const s of stops.splice(0).reverse()) await s()
  })

  it('bounds what is queued to a peer that stops reading, by bytes and by frames, and counts the drops', async () => {
    const net = new MemoryNetwork()
    const idV = Identity.fromSeed(new Uint8Array(32).fill(61))
    const idS = Identity.fromSeed(new Uint8Array(32).fill(62))
    const tv = net.createTransport({ identity: idV })
    const ts = net.createTransport({ identity: idS })
    await tv.start()
    await ts.start()
    let stalled: PeerId | undefined
    // The same transport, except that sends to `stalled` never complete (its queue never drains).
    const view = new Proxy(tv, {
      get(target, prop) {
        if (prop === 'send') {
          return (peer: PeerId, ...rest: Parameters<Transport['send']> extends [PeerId, ...infer R] ? R : never) =>
            peer === stalled ? new Promise<void>(() => {}) : target.send(peer, ...rest)
        }
        const v = Reflect.get(target, prop, target) as unknown
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
      }
    }) as Transport
    const mv = new DefaultMembership({ transport: tv }, { seed: 61 })
    const ms = new DefaultMembership({ transport: ts }, { seed: 62 })
    await mv.start()
    await ms.start()
    const up = mv.once('neighbor:up', () => true, { signal: AbortSignal.timeout(10_000) })
    await ms.join(tv.listenAddrs())
    await up
    const metrics = new MemoryMetrics()
    const maxBytes = 1024 * 1024
    const pv = new PlumtreePubSub({ transport: view, membership: mv, signer: idV, verifier: createVerifier(), metrics }, { maxPendingBytesPerPeer: maxBytes, maxPendingSendsPerPeer: 50 })
    await pv.start()
    stops.push(async () => {
      await pv.stop()
      await mv.stop()
      await ms.stop()
      await tv.stop()
      await ts.stop()
    })
    stalled = ts.peerId
    // 40 pushes of ~64 KiB (2.6 MB) to a peer that accepts nothing: the byte bound bites first.
    for (let i = 0; i < 40; i++) await pv.publish('bp', new Uint8Array(64 * 1024).fill(i))
    const q = pv.pendingTo(ts.peerId)
    expect(q.bytes).toBeLessThanOrEqual(maxBytes)
    expect(q.bytes).toBeGreaterThan(maxBytes - 80 * 1024)
    const dropped = () => metrics.snapshot().counters['saorsa_pubsub_send_dropped_total'] ?? 0
    expect(dropped()).toBeGreaterThanOrEqual(40 - 16)
    // Small messages: now the frame bound bites.
    const before = dropped()
    for (let i = 0; i < 80; i++) await pv.publish('bp', new Uint8Array(8).fill(i))
    expect(pv.pendingTo(ts.peerId).frames).toBeLessThanOrEqual(50)
    expect(dropped()).toBeGreaterThan(before)
  })
})
