// `saorsa-coordinator` end to end, as real processes on 127.0.0.1:
// - every option is checked before anything happens: a bad one exits 2 with one line on stderr, and
//   nothing is written (the home directory is not even created) or bound;
// - a small network (a coordinator and two nodes) stopped as a whole starts again from its
//   coordinator alone, although its peer cache lists only nodes that are gone and its given
//   coordinator does not answer; the nodes, restarted later, rejoin through it;
// - one running instance per identity: a second coordinator (or `network join`) on the same identity
//   exits 1 at once naming the pid; the lock files are removed on a clean stop.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLI, COORD, freePort, json, runToEnd, start } from './helpers.js'
import type { Proc } from './helpers.js'

const root = mkdtempSync(join(tmpdir(), 'sg-coord-'))
const home = join(root, 'h')
const env = { ...process.env, SAORSA_GOSSIP_HOME: home, SAORSA_GOSSIP_PASSPHRASE: '' }
const procs: Proc[] = []
const track = (p: Proc): Proc => {
  procs.push(p)
  return p
}

afterAll(async () => {
  for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL')
  await Promise.all(procs.map((p) => p.exited))
  rmSync(root, { recursive: true, force: true })
})

const locks = (): string[] =>
  [home, join(home, 'identities')].flatMap((d) => (existsSync(d) ? readdirSync(d).filter((n) => n.endsWith('.lock')).map((n) => join(d, n)) : []))

describe('saorsa-coordinator usage errors', () => {
  const fresh = join(root, 'never-created')
  const cases: Array<[string[], RegExp]> = [
    [['--metrics', 'nonsense'], /^error: option '--metrics <addr>' argument 'nonsense' is invalid\. expected HOST:PORT with HOST an IP address or localhost and PORT 1-65535 \(see --help\)$/],
    [['--metrics', '127.0.0.1:99999'], /^error: option '--metrics <addr>' argument '127\.0\.0\.1:99999' is invalid\./],
    [['--metrics', '127.0.0.1:0'], /argument '127\.0\.0\.1:0' is invalid/],
    [['--metrics', 'example.org:9464'], /argument 'example\.org:9464' is invalid/],
    [['--roles', ''], /^error: option '--roles <list>' argument '' is invalid\. no role given; expected a comma-separated list of coordinator, reflector, relay, rendezvous \(see --help\)$/],
    [['--roles', 'coordinator,bogus'], /unknown role "bogus"/],
    [['--bind', 'nonsense'], /^error: option '--bind <addr>' argument 'nonsense' is invalid\. expected HOST:PORT with HOST an IP address or localhost and PORT 0-65535 \(see --help\)$/],
    [['--bind', '127.0.0.1:65536'], /argument '127\.0\.0\.1:65536' is invalid/],
    [['--bind', 'none'], /argument 'none' is invalid/],
    [['--coordinator', 'nonsense'], /--coordinator <addr>' argument 'nonsense' is invalid/],
    [['--identity-path', ''], /--identity-path <path>' argument '' is invalid/],
    [['--identity-path', join(root, 'bad name.identity')], /the file name without its extension \("bad name"\) must be/],
    [['--home', ''], /--home <dir>' argument '' is invalid/],
    [['--publish-interval', 'soon'], /--publish-interval <secs>' argument 'soon' is invalid/],
    [['--nat-class', 'open'], /--nat-class <class>' argument 'open' is invalid/],
    [['--bogus'], /^error: unknown option '--bogus' \(see --help\)$/],
    [['extra'], /^error: too many arguments\. Expected 0 arguments but got 1: extra\. \(see --help\)$/]
  ]
  it('exit 2 with one line on stderr; no file written, nothing bound', async () => {
    const port = await freePort()
    for (let i = 0; i < cases.length; i += 4) {
      const batch = cases.slice(i, i + 4)
      // A valid --bind on a fixed port beside the bad option: had anything started, it would log.
      const results = await Promise.all(batch.map(([args]) => runToEnd(COORD, ['--home', fresh, '--bind', `127.0.0.1:${port}`, ...args], env)))
      results.forEach((r, j) => {
        const [args, reason] = batch[j] as [string[], RegExp]
        const what = args.join(' ')
        expect(r.code, `${what}\n${r.stderr}`).toBe(2)
        expect(r.stdout, what).toBe('')
        expect(r.stderr.trimEnd().split('\n'), what).toHaveLength(1)
        expect(r.stderr.trimEnd(), what).toMatch(reason)
      })
    }
    expect(existsSync(fresh)).toBe(false)
  }, 180_000)
})

describe('a small network stopped as a whole', () => {
  let port = 0
  const coordArgs = (): string[] => ['--bind', `127.0.0.1:${port}`, '--publish-interval', '2', '--home', home]
  async function startCoordinator(extra: string[] = []): Promise<{ proc: Proc; peerId: string }> {
    const proc = track(start(COORD, [...coordArgs(), ...extra], env))
    const peerId = await proc.line((l) => /Loaded identity: ([0-9a-f]{64})/.exec(l)?.[1], 60_000)
    await proc.line((l) => (l.includes('Listening on') ? true : undefined), 90_000)
    return { proc, peerId }
  }
  async function joinAs(alias: string, extra: string[] = []): Promise<{ proc: Proc; joined: Record<string, unknown> }> {
    const proc = track(start(CLI, ['network', 'join', '--identity', alias, '--json', ...extra], env))
    const joined = await proc.line((l) => (json(l)?.event === 'joined' ? json(l) : undefined), 90_000)
    return { proc, joined }
  }
  async function stop(p: Proc): Promise<void> {
    p.child.kill('SIGTERM')
    expect(await p.exited).toEqual({ code: 0, signal: null })
  }

  beforeAll(async () => {
    port = await freePort()
    for (const alias of ['N1', 'N2']) expect((await runToEnd(CLI, ['identity', 'create', '--alias', alias], env)).code).toBe(0)
  }, 60_000)

  it('one instance per identity; the coordinator starts alone again; the nodes rejoin through it', async () => {
    const c = await startCoordinator()
    const nodes = [await joinAs('N1', ['--coordinator', `127.0.0.1:${port}`]), await joinAs('N2', ['--coordinator', `127.0.0.1:${port}`])]
    for (const n of nodes) expect((n.joined.joinedVia as { peer: string }).peer).toBe(c.peerId)
    // The coordinator has both nodes as neighbours (what its peer cache remembers at stop).
    for (const n of nodes) await n.proc.line((l) => (json(l)?.event === 'advert' && json(l)?.peer === c.peerId ? true : undefined), 30_000)
    expect(locks().sort()).toEqual([join(home, 'coordinator.identity.lock'), join(home, 'identities', 'N1.json.lock'), join(home, 'identities', 'N2.json.lock')])

    // A second coordinator on the same identity (another port: the lock, not the port, stops it).
    const other = await freePort()
    const second = await runToEnd(COORD, ['--bind', `127.0.0.1:${other}`, '--home', home], env)
    expect(second.code, second.stderr).toBe(1)
    const errors = second.stderr.split('\n').filter((l) => l.startsWith('error:'))
    expect(errors).toEqual([`error: identity file ${join(home, 'coordinator.identity')} is in use by another running instance (pid ${c.proc.child.pid}; lock file ${join(home, 'coordinator.identity.lock')})`])
    expect(second.stderr).not.toContain('Listening on')
    expect(second.stderr).not.toContain('Loaded identity')
    console.info(`figures: second coordinator refused after ${second.ms} ms (process start included)`)
    const again = await runToEnd(CLI, ['network', 'join', '--identity', 'N1', '--coordinator', `127.0.0.1:${port}`], env)
    expect(again.code).toBe(1)
    expect(again.stderr).toBe(`error: identity N1 is in use by another running instance (pid ${nodes[0]?.proc.child.pid}; lock file ${join(home, 'identities', 'N1.json.lock')})\n`)

    // An ordinary stop of the whole network: every lock is removed.
    for (const n of nodes) await stop(n.proc)
    await stop(c.proc)
    expect(locks()).toEqual([])

    // The coordinator alone: its cached peers are gone, and so is the coordinator it is given.
    const gone = await freePort()
    const alone = await startCoordinator(['--coordinator', `127.0.0.1:${gone}`])
    expect(alone.peerId).toBe(c.peerId)
    await alone.proc.line((l) => (l.includes('No contact answered: running alone, retrying them in the background') ? true : undefined), 30_000)
    expect(alone.proc.lines.join('\n')).toMatch(/could not reach coordinator 127\.0\.0\.1:\d+ \(.*\); started alone, retrying in the background/)
    expect(alone.proc.child.exitCode).toBeNull()

    // The nodes come back later, with no address given: they rejoin from their peer cache, through it.
    const back = [await joinAs('N1'), await joinAs('N2')]
    for (const n of back) expect(n.joined.joinedVia).toMatchObject({ peer: c.peerId, source: 'cache' })
    // The coordinator is in an overlay again: a node joined it, or its own retry reached one.
    await alone.proc.line((l) => (/a peer joined us; background bootstrap retries stop|joined the overlay through/.test(l) ? true : undefined), 120_000)
    for (const n of back) await n.proc.line((l) => (json(l)?.event === 'advert' && json(l)?.peer === c.peerId ? true : undefined), 30_000)

    for (const n of back) await stop(n.proc)
    await stop(alone.proc)
    expect(locks()).toEqual([])
  }, 400_000)
})
