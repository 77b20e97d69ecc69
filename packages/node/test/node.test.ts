// GossipNode end to end over the real stack (PQ channel in memory, DefaultMembership, Plumtree, the
// coordinator layer): nodes join through a coordinator and verify its advert; a node that joined
// through a plain peer learns coordinators by FIND_COORDINATOR; a tampered or borrowed advert is
// rejected; a restarted node rejoins from its peer cache on disk; a reflector reports our address;
// metrics come out as Prometheus text; start/stop are ordered and idempotent.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { COORDINATOR_TOPIC, decodeAdvert } from '@saorsa-gossip/coordinator'
import type { Role } from '@saorsa-gossip/coordinator'
import { createVerifier, Identity } from '@saorsa-gossip/identity'
import { MemoryNetwork } from '@saorsa-gossip/transport'
import { EnvelopeKinds } from '@saorsa-gossip/types'
import type { PeerId } from '@saorsa-gossip/types'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createGossipNode, toPrometheusText } from '../src/index.js'
import type { GossipNode, GossipNodeInit } from '../src/index.js'

let dir: string
let nodes: GossipNode[] = []
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'saorsa-node-'))
})
afterEach(async () => {
  await Promise.all(nodes.map((n) => n.stop()))
  nodes = []
  await rm(dir, { recursive: true, force: true })
})

const idOf = (n: number): Identity => Identity.fromSeed(new Uint8Array(32).fill(n))

async function start(net: MemoryNetwork, seed: number, init: Partial<GossipNodeInit> = {}): Promise<GossipNode> {
  const identity = init.identity instanceof Identity ? init.identity : idOf(seed)
  const node = createGossipNode({ identity, transport: net.createTransport({ identity }), seed, ...init })
  nodes.push(node)
  await node.start()
  return node
}

/** Polls `cond` on every event of the nodes' layers until it holds or `ms` pass. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const addrOf = (n: GossipNode): string => n.transport.listenAddrs()[0] as string
const hasAdvertOf = (n: GossipNode, c: GossipNode): boolean => n.coordinators().some((a) => a.advert.peer === c.peerId)

describe('GossipNode', () => {
  it('joins through a coordinator, verifies its adverts, and finds coordinators through friends of friends', async () => {
    const net = new MemoryNetwork()
    const roles: Role[] = ['coordinator', 'reflector']
    const c = await start(net, 1, { roles, publishIntervalMs: 60_000 })
    expect(c.status().joinedVia).toBeUndefined() // the first node starts alone
    const a = await start(net, 2, { coordinators: [addrOf(c)] })
    const b = await start(net, 3, { coordinators: [addrOf(c)] })
    expect(a.status().joinedVia).toMatchObject({ peer: c.peerId, source: 'given' })
    // A and B knew no coordinator after joining: FIND_COORDINATOR to C answers with C's own advert.
    await until(() => hasAdvertOf(a, c) && hasAdvertOf(b, c), 5000, 'adverts at a and b')
    expect(a.coordinators()[0]?.advert.roles).toEqual(roles)
    // The reflector told A the address it sees it at.
    await until(() => a.status().observedAddr !== undefined, 5000, 'observed address')
    expect(a.status().observedAddr).toBe(addrOf(a))
    // D joins through B (not a coordinator) and learns C by a query relayed over B.
    const d = await start(net, 4, { coordinators: [addrOf(b)] })
    await until(() => hasAdvertOf(d, c), 5000, 'advert at d')
    // A fresh advert published on the topic reaches every node and verifies there.
    const seen = new Map<PeerId, number>()
    for (const n of [a, b, d]) n.on('advert', ({ advert, via }) => void (via === 'topic' && advert.peer === c.peerId && seen.set(n.peerId, advert.notBefore)))
    await until(() => [a, b, d].every((n) => n.peers().some((p) => p.view === 'active')), 5000, 'views')
    const published = await c.coordinator.publishAdvert()
    await until(() => seen.size === 3, 5000, 'topic adverts')
    expect([...seen.values()].every((t) => t === published?.advert.notBefore)).toBe(true)
    expect(toPrometheusText(c.metrics())).toMatch(/^saorsa_coordinator_adverts_published_total 2$/m)
    expect(a.prometheus()).toMatch(/^# TYPE saorsa_coordinator_adverts_received_total counter$/m)
    expect(a.prometheus()).toMatch(/^saorsa_node_active_peers \d+$/m)
  })

  it('rejects tampered adverts and adverts published by someone other than their coordinator', async () => {
    const net = new MemoryNetwork()
    const c = await start(net, 11, { roles: ['coordinator'], publishIntervalMs: 60_000 })
    const a = await start(net, 12, { coordinators: [addrOf(c)] })
    const h = await start(net, 13, { coordinators: [addrOf(c)] })
    await until(() => hasAdvertOf(a, c) && hasAdvertOf(h, c) && [a, h].every((n) => n.peers().some((p) => p.peer === c.peerId && p.view === 'active')), 5000, 'setup')
    const rejected: string[] = []
    a.coordinator.on('advert:rejected', ({ reason }) => rejected.push(reason))
    const genuine = c.coordinator.advert?.bytes as Uint8Array
    const tampered = Uint8Array.from(genuine)
    tampered[tampered.length - 100] = (tampered[tampered.length - 100] as number) ^ 1
    // H publishes a tampered copy and an intact copy of C's advert under its own envelope.
    await h.pubsub.publish(COORDINATOR_TOPIC, tampered, { kind: EnvelopeKinds.coordinatorAdvert })
    await h.pubsub.publish(COORDINATOR_TOPIC, genuine, { kind: EnvelopeKinds.coordinatorAdvert })
    await until(() => rejected.length >= 2, 5000, 'rejections')
    expect(rejected.sort()).toEqual(['not-own-advert', 'signature'])
    expect(() => decodeAdvert(tampered, createVerifier(), { now: Date.now() })).toThrow(/signature/)
    expect(a.coordinators().map((x) => x.advert.peer)).toEqual([c.peerId])
  })

  it('rejoins from its peer cache after a restart, without any coordinator address', async () => {
    const net = new MemoryNetwork()
    const c = await start(net, 21, { roles: ['coordinator'], publishIntervalMs: 60_000 })
    const path = join(dir, 'peers.json')
    const a = await start(net, 22, { coordinators: [addrOf(c)], peerCachePath: path })
    await until(() => a.peers().some((p) => p.peer === c.peerId) && hasAdvertOf(a, c), 5000, 'join')
    await a.stop()
    await a.stop() // idempotent
    expect(a.running).toBe(false)
    const again = await start(net, 22, { peerCachePath: path })
    expect(again.status().joinedVia).toMatchObject({ peer: c.peerId, source: 'cache' })
    await until(() => again.peers().some((p) => p.peer === c.peerId), 5000, 'rejoin')
  })

  it('fails to start with a one-line reason when no given coordinator answers, and stops what it started', async () => {
    const net = new MemoryNetwork()
    const identity = idOf(31)
    const t = net.createTransport({ identity })
    const node = createGossipNode({ identity, transport: t, coordinators: ['memory://999'], coordinator: { dialTimeoutMs: 500 } })
    nodes.push(node)
    const err = await node.start().then(
      () => undefined,
      (e: unknown) => e as Error
    )
    expect(err?.name).toBe('BootstrapError')
    expect(err?.message).toMatch(/^could not reach coordinator memory:\/\/999 \(/)
    expect(err?.message).not.toContain('\n')
    expect(t.listenAddrs()).toEqual([])
    await expect(node.start()).rejects.toThrow(/started once/)
  })
})
