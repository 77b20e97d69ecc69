// Bootstrap when nobody answers (SPEC.md §8.2): a coordinator whose peer cache lists only departed
// nodes starts alone and keeps retrying them with exponential backoff, joining when one comes back;
// a plain node does the same with cached contacts but still fails when the coordinators it was
// given explicitly do not answer; background attempts do not make the peer cache forget anyone; the
// retries stop when someone joins us. Over the in-memory transport with the full PQ channel.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createVerifier, Identity } from '@saorsa-gossip/identity'
import { DefaultMembership } from '@saorsa-gossip/membership'
import { PlumtreePubSub } from '@saorsa-gossip/pubsub'
import { MemoryNetwork, MemoryTransport } from '@saorsa-gossip/transport'
import type { Transport } from '@saorsa-gossip/transport'
import type { Logger } from '@saorsa-gossip/types'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CoordinatorService, PeerCache } from '../src/index.js'
import type { CoordinatorServiceEvents, CoordinatorServiceInit } from '../src/index.js'

interface Stack {
  service: CoordinatorService
  transport: Transport
  membership: DefaultMembership
  stop(): Promise<void>
}

let dir: string
let stacks: Stack[] = []
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'saorsa-retry-'))
})
afterEach(async () => {
  await Promise.all(stacks.map((s) => s.stop()))
  stacks = []
  await rm(dir, { recursive: true, force: true })
})

const idOf = (n: number): Identity => Identity.fromSeed(new Uint8Array(32).fill(n))
const FAST: CoordinatorServiceInit = { retryInitialMs: 40, retryMaxMs: 160, dialTimeoutMs: 1_000, rejoinAfterMs: 60_000, seed: 7 }

/** Transport, membership, pub/sub and the coordinator service of identity `n`, started (not bootstrapped). */
async function stack(net: MemoryNetwork, n: number, init: CoordinatorServiceInit, addr?: string, logger?: Logger): Promise<Stack> {
  const identity = idOf(n)
  const transport = addr === undefined ? net.createTransport({ identity }) : new MemoryTransport(net, addr, { identity })
  const membership = new DefaultMembership({ transport }, { seed: n })
  const pubsub = new PlumtreePubSub({ transport, membership, signer: identity, verifier: createVerifier() }, { seed: n })
  const service = new CoordinatorService({ transport, membership, pubsub, signer: identity, verifier: createVerifier(), ...(logger === undefined ? {} : { logger }) }, { ...FAST, ...init })
  await transport.start()
  await membership.start()
  await pubsub.start()
  await service.start()
  const s: Stack = {
    service,
    transport,
    membership,
    async stop() {
      await service.stop()
      await pubsub.stop()
      await membership.stop()
      await transport.stop()
    }
  }
  stacks.push(s)
  return s
}

/** A peer cache file listing `peers` (as if they had been neighbours before a shutdown). */
async function cacheListing(path: string, peers: Array<{ n: number; addr: string; roles?: Array<'coordinator'> }>): Promise<void> {
  const c = new PeerCache({ path })
  for (const p of peers) c.upsert(idOf(p.n).peerId, [p.addr], Date.now(), p.roles ?? [])
  await c.save()
}

/** Resolves with the first event `name` of `s` that `match` accepts. */
function next<K extends keyof CoordinatorServiceEvents>(s: CoordinatorService, name: K, match: (e: CoordinatorServiceEvents[K]) => boolean = () => true): Promise<CoordinatorServiceEvents[K]> {
  return new Promise((resolve) => {
    const off = s.on(name, (e) => {
      if (!match(e)) return
      off()
      resolve(e)
    })
  })
}

describe('bootstrap when no contact answers', () => {
  it('a coordinator whose cached peers are all gone starts alone, retries with backoff, and joins when one comes back', async () => {
    const net = new MemoryNetwork()
    const path = join(dir, 'coord.peers.json')
    await cacheListing(path, [
      { n: 2, addr: 'memory://gone-a' },
      { n: 3, addr: 'memory://gone-b' }
    ])
    const c = await stack(net, 1, { roles: ['coordinator'], peerCachePath: path })
    const delays: number[] = []
    c.service.on('bootstrap:retry', ({ inMs }) => delays.push(inMs))
    const sixth = next(c.service, 'bootstrap:retry', (e) => e.attempt === 7)
    expect(await c.service.bootstrap([])).toBeUndefined() // started alone, no throw
    expect(c.service.retrying).toEqual({ attempt: 1 })
    await sixth // six background attempts failed: more than maxFailures (5) of the peer cache
    // Exponential backoff within ±20 % jitter: 40, 80, 160, then capped at 160.
    const want = [40, 80, 160, 160, 160, 160]
    delays.slice(0, 6).forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(Math.floor((want[i] as number) * 0.8))
      expect(d).toBeLessThanOrEqual(Math.ceil((want[i] as number) * 1.2))
    })
    // Background failures are not held against the cached peers.
    expect(c.service.peerCache.entries(Date.now()).map((e) => e.peer).sort()).toEqual([idOf(2).peerId, idOf(3).peerId].sort())
    // Node 3 comes back at its old address (alone: it knows nobody).
    const b = await stack(net, 3, {}, 'memory://gone-b')
    expect(await b.service.bootstrap([])).toBeUndefined()
    const joined = await next(c.service, 'bootstrap:joined')
    expect(joined).toMatchObject({ peer: idOf(3).peerId, source: 'cache' })
    expect(joined.attempt).toBeGreaterThanOrEqual(7)
    expect(c.service.retrying).toBeUndefined()
    expect(c.membership.activeView().map((p) => p.id)).toContain(idOf(3).peerId)
  })

  it('a coordinator whose given coordinators are unreachable starts alone too (whenUnreachable defaults to start-alone with the coordinator role)', async () => {
    const net = new MemoryNetwork()
    const c = await stack(net, 11, { roles: ['coordinator'] })
    const retry = next(c.service, 'bootstrap:retry')
    expect(await c.service.bootstrap(['memory://other-coordinator'])).toBeUndefined()
    expect(await retry).toMatchObject({ attempt: 1, contacts: 1 })
    // It comes up: the given address is retried and joined.
    const other = await stack(net, 12, { roles: ['coordinator'] }, 'memory://other-coordinator')
    await other.service.bootstrap([])
    expect(await next(c.service, 'bootstrap:joined')).toMatchObject({ peer: idOf(12).peerId, source: 'given', via: 'memory://other-coordinator' })
  })

  it('a plain node fails when the coordinators it was given do not answer, but starts alone when only cached peers fail', async () => {
    const net = new MemoryNetwork()
    const given = await stack(net, 21, {})
    const err = await given.service.bootstrap(['memory://999']).then(
      () => undefined,
      (e: unknown) => e as Error
    )
    expect(err?.name).toBe('BootstrapError')
    expect(err?.message).toMatch(/^could not reach coordinator memory:\/\/999 \(memory:\/\/999: /)
    expect(given.service.retrying).toBeUndefined()

    const path = join(dir, 'node.peers.json')
    await cacheListing(path, [{ n: 23, addr: 'memory://gone-c', roles: ['coordinator'] }])
    const cached = await stack(net, 22, { peerCachePath: path })
    expect(await cached.service.bootstrap([])).toBeUndefined()
    expect(cached.service.retrying).toEqual({ attempt: 1 })
    // With whenUnreachable: 'start-alone' a plain node keeps running even with given contacts.
    const lenient = await stack(net, 24, { whenUnreachable: 'start-alone' })
    expect(await lenient.service.bootstrap(['memory://998'])).toBeUndefined()
    expect(lenient.service.retrying).toEqual({ attempt: 1 })
  })

  it('at start, tries cached contacts only within startBudgetMs and leaves the rest to the retries', async () => {
    const net = new MemoryNetwork()
    const path = join(dir, 'many.peers.json')
    await cacheListing(path, [41, 42, 43, 44].map((n) => ({ n, addr: `memory://gone-${n}` })))
    const warnings: string[] = []
    const logger: Logger = {
      debug: () => {},
      info: () => {},
      warn: (o, m) => void warnings.push(typeof o === 'string' ? o : (m ?? '')),
      error: () => {},
      child: () => logger
    }
    const c = await stack(net, 40, { roles: ['coordinator'], peerCachePath: path, startBudgetMs: 0 }, undefined, logger)
    const retry = next(c.service, 'bootstrap:retry')
    expect(await c.service.bootstrap([])).toBeUndefined()
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/^could not reach any cached peer \(memory:\/\/gone-4\d: .*; 3 not tried yet\); started alone, retrying in the background$/)
    expect((await retry).contacts).toBe(4) // the background attempts try every contact
  })

  it('stops retrying when someone joins us, and on stop()', async () => {
    const net = new MemoryNetwork()
    const path = join(dir, 'c.peers.json')
    await cacheListing(path, [{ n: 32, addr: 'memory://gone-d' }])
    const c = await stack(net, 31, { roles: ['coordinator'], peerCachePath: path })
    await c.service.bootstrap([])
    const addr = c.transport.listenAddrs()[0] as string
    // A node restarted after the coordinator joins through it.
    const n = await stack(net, 33, {})
    expect(await n.service.bootstrap([addr])).toMatchObject({ peer: idOf(31).peerId, source: 'given' })
    // The coordinator's next attempt sees a neighbour and ends the retries.
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (c.service.retrying === undefined) resolve()
        else setTimeout(check, 10)
      }
      check()
    })
    expect(c.membership.activeView().map((p) => p.id)).toContain(idOf(33).peerId)

    const alone = await stack(net, 34, { whenUnreachable: 'start-alone' })
    await alone.service.bootstrap(['memory://997'])
    expect(alone.service.retrying).toBeDefined()
    await alone.service.stop()
    expect(alone.service.retrying).toBeUndefined()
  })
})
