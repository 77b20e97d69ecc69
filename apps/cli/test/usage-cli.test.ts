// Usage errors of `saorsa-gossip`: every option is checked while the command line is parsed, so a bad
// value exits 2 with ONE line on stderr before anything is written, locked, bound or opened (no
// identity file, no lock, no control socket, the home directory untouched).
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const BIN = join(import.meta.dirname, '..', 'bin', 'saorsa-gossip.js')
const root = mkdtempSync(join(tmpdir(), 'saorsa-usage-'))
const home = join(root, 'home')
const env = { ...process.env, SAORSA_GOSSIP_HOME: home, SAORSA_GOSSIP_PASSPHRASE: '' }

/** Every path under `dir` with its mode, size, mtime and content hash. */
function snapshot(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { recursive: true, withFileTypes: true }).map((d) => {
    const p = join(d.parentPath, d.name)
    const st = statSync(p)
    const hash = d.isFile() ? createHash('sha256').update(readFileSync(p)).digest('hex') : ''
    return `${p} ${st.mode.toString(8)} ${st.size} ${st.mtimeMs} ${hash}`
  })
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    c.stdout.on('data', (b: Buffer) => (stdout += b.toString()))
    c.stderr.on('data', (b: Buffer) => (stderr += b.toString()))
    c.once('close', (code) => resolve({ code, stdout, stderr }))
  })
}

beforeAll(() => {
  const r = spawnSync(process.execPath, [BIN, 'identity', 'create', '--alias', 'A'], { env, encoding: 'utf8' })
  expect(r.status, r.stderr).toBe(0)
})
afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

const cases: Array<[string[], RegExp]> = [
  [['network', 'join', '-i', 'A', '--roles', ''], /^error: option '--roles <list>' argument '' is invalid\. no role given; expected a comma-separated list of coordinator, reflector, relay, rendezvous \(see --help\)$/],
  [['network', 'join', '-i', 'A', '--roles', 'coordinator,,relay'], /empty role in the list/],
  [['network', 'join', '-i', 'A', '--roles', 'bogus'], /unknown role "bogus"/],
  [['network', 'join', '-i', 'A', '--bind', 'nonsense'], /^error: option '-b, --bind <addr>' argument 'nonsense' is invalid\. expected HOST:PORT with HOST an IP address or localhost and PORT 0-65535, or "none" \(see --help\)$/],
  [['network', 'join', '-i', 'A', '--bind', '127.0.0.1:99999'], /--bind <addr>' argument '127\.0\.0\.1:99999' is invalid/],
  [['network', 'join', '-i', 'A', '--bind', 'example.org:7000'], /--bind <addr>' argument 'example\.org:7000' is invalid/],
  [['network', 'join', '-i', 'A', '--coordinator', 'nonsense'], /--coordinator <addr>' argument 'nonsense' is invalid\. expected HOST:PORT/],
  [['network', 'join', '-i', 'A', '--coordinator', '127.0.0.1:0'], /argument '127\.0\.0\.1:0' is invalid/],
  [['network', 'join', '-i', 'A', '--coordinator', '/ip4/999.1.1.1/tcp/7000'], /argument '\/ip4\/999\.1\.1\.1\/tcp\/7000' is invalid/],
  [['network', 'join', '-i', 'A', '--passphrase-file', ''], /--passphrase-file <path>' argument '' is invalid\. expected a path/],
  [['network', 'join', '-i', '../A'], /--identity <alias>' argument '\.\.\/A' is invalid\. an alias is/],
  [['network', 'join'], /^error: required option '-i, --identity <alias>' not specified \(see --help\)$/],
  [['network', 'join', '-i', 'A', '--bogus'], /^error: unknown option '--bogus' \(see --help\)$/],
  [['network', 'status', '-i', 'a/b'], /argument 'a\/b' is invalid/],
  [['--home', '', 'identity', 'list'], /--home <dir>' argument '' is invalid/],
  [['identity', 'create', '--alias', 'B', '--algorithm', 'rsa'], /--algorithm <name>' argument 'rsa' is invalid/],
  [['identity', 'show'], /^error: missing required argument 'alias' \(see --help\)$/],
  [['identity', 'lsit'], /^error: unknown command 'lsit' \(Did you mean list\?\) \(see --help\)$/]
]

describe('saorsa-gossip usage errors', () => {
  it('exit 2 with one line on stderr, and leave the home directory untouched', async () => {
    const before = snapshot(home)
    expect(before.some((l) => l.includes('A.json'))).toBe(true)
    // A few at a time: each is a process start.
    for (let i = 0; i < cases.length; i += 4) {
      const batch = cases.slice(i, i + 4)
      const results = await Promise.all(batch.map(([args]) => run(args)))
      results.forEach((r, j) => {
        const [args, reason] = batch[j] as [string[], RegExp]
        const what = args.join(' ')
        expect(r.code, `${what}\n${r.stderr}`).toBe(2)
        expect(r.stdout, what).toBe('')
        expect(r.stderr.endsWith('\n'), what).toBe(true)
        expect(r.stderr.trimEnd().split('\n'), what).toHaveLength(1)
        expect(r.stderr.trimEnd(), what).toMatch(reason)
      })
    }
    // Nothing written: no lock, no control socket directory, no peer cache, no new identity.
    expect(snapshot(home)).toEqual(before)
    expect(existsSync(join(home, 'run'))).toBe(false)
  }, 180_000)
})
