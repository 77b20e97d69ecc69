// The peer cache on disk: survives a restart, is bounded and expiring, drops peers that keep failing,
// and moves a damaged file aside instead of trusting or silently losing it.
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { PeerId } from '@saorsa-gossip/types'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { PeerCache } from '../src/index.js'

const T0 = 1_800_000_000_000
const pid = (n: number): PeerId => n.toString(16).padStart(2, '0').repeat(32) as PeerId
let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'saorsa-pc-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('PeerCache', () => {
  it('saves atomically with mode 0600 and loads the same entries after a restart', async () => {
    const path = join(dir, 'state', 'peers.json')
    const a = new PeerCache({ path })
    expect(await a.load(T0)).toBe(0)
    a.upsert(pid(1), ['/ip4/127.0.0.1/tcp/1'], T0)
    a.upsert(pid(2), ['/ip4/127.0.0.1/tcp/2'], T0 + 1, ['coordinator'])
    a.upsert(pid(3), ['/ip4/127.0.0.1/tcp/3'], T0 + 2)
    await a.save()
    if (process.platform !== 'win32') expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect((await readdir(join(dir, 'state'))).filter((f) => f.endsWith('.tmp'))).toEqual([])
    const b = new PeerCache({ path })
    expect(await b.load(T0 + 3)).toBe(3)
    // Coordinators first, then most recently seen first.
    expect(b.entries(T0 + 3).map((e) => e.peer)).toEqual([pid(2), pid(3), pid(1)])
    expect(b.entries(T0 + 3)[0]?.roles).toEqual(['coordinator'])
  })

  it('bounds entries, expires old ones, and forgets peers after repeated failures', async () => {
    const c = new PeerCache({ capacity: 3, maxAgeMs: 1000, maxFailures: 2 })
    for (let i = 1; i <= 5; i++) c.upsert(pid(i), [`/ip4/127.0.0.1/tcp/${i}`], T0 + i)
    expect(c.entries(T0 + 5).map((e) => e.peer)).toEqual([pid(5), pid(4), pid(3)])
    c.recordFailure(pid(5))
    expect(c.size).toBe(3)
    c.recordFailure(pid(5))
    expect(c.size).toBe(2)
    c.upsert(pid(4), ['/ip4/127.0.0.1/tcp/44'], T0 + 10)
    expect(c.entries(T0 + 10)[0]?.addrs).toEqual(['/ip4/127.0.0.1/tcp/44', '/ip4/127.0.0.1/tcp/4'])
    expect(c.entries(T0 + 1009).map((e) => e.peer)).toEqual([pid(4)])
  })

  it('moves a damaged or foreign file aside, and skips invalid entries of a good one', async () => {
    const path = join(dir, 'peers.json')
    await writeFile(path, '{"format":"saorsa-gossip-peer-cache","vers')
    const warnings: unknown[] = []
    const logger = { debug: () => {}, info: () => {}, error: () => {}, warn: (o: unknown) => warnings.push(o), child: () => logger }
    expect(await new PeerCache({ path, logger }).load(T0)).toBe(0)
    const names = await readdir(dir)
    expect(names.some((n) => n.startsWith('peers.json.corrupt-'))).toBe(true)
    expect(names).not.toContain('peers.json')
    expect(warnings).toHaveLength(1)
    await writeFile(
      path,
      JSON.stringify({
        format: 'saorsa-gossip-peer-cache',
        version: 1,
        peers: [
          { peer: pid(1), addrs: ['/ip4/127.0.0.1/tcp/1'], lastSeenMs: T0, roles: ['relay', 'bogus'] },
          { peer: 'not-a-peer', addrs: ['/ip4/127.0.0.1/tcp/1'], lastSeenMs: T0 },
          { peer: pid(2), addrs: [], lastSeenMs: T0 },
          { peer: pid(3), addrs: ['/x'], lastSeenMs: -1 },
          { peer: pid(4), addrs: [''], lastSeenMs: T0 }
        ]
      })
    )
    const c = new PeerCache({ path, logger })
    expect(await c.load(T0)).toBe(1)
    expect(c.entries(T0)[0]?.roles).toEqual(['relay'])
    expect(JSON.parse(await readFile(path, 'utf8')).peers).toHaveLength(5)
  })
})
