// End-to-end tests of `saorsa-gossip identity …`: the built binary in a child process, a temporary
// keystore home, real files on disk.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

const BIN = join(import.meta.dirname, '..', 'bin', 'saorsa-gossip.js')
let home: string

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    env: { ...process.env, SAORSA_GOSSIP_HOME: home, SAORSA_GOSSIP_PASSPHRASE: '', ...env },
    encoding: 'utf8'
  })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex')

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'saorsa-cli-'))
})
afterEach(() => {
  rmSync(home, { recursive: true, force: true })
})

describe('saorsa-gossip identity', () => {
  it('create, list, show --json, delete', () => {
    const c = cli(['identity', 'create', '--alias', 'Alice'])
    expect(c.stderr).toBe('')
    expect(c.code).toBe(0)
    const lines = c.stdout.trim().split('\n')
    expect(lines[0]).toBe('✓ Created identity: Alice')
    const peerId = /PeerId: ([0-9a-f]{64})$/.exec(lines[1] ?? '')?.[1]
    expect(peerId).toBeDefined()
    const path = /Saved to: (.+)$/.exec(lines[2] ?? '')?.[1] ?? ''
    expect(statSync(path).mode & 0o777).toBe(0o600)

    const l = cli(['identity', 'list'])
    expect(l.code).toBe(0)
    expect(l.stdout).toContain('Alice')
    expect(l.stdout).toContain(peerId)

    const s = cli(['identity', 'show', 'Alice', '--json'])
    expect(s.code).toBe(0)
    const j = JSON.parse(s.stdout) as Record<string, unknown>
    expect(j).toMatchObject({ alias: 'Alice', peerId, publicKeySize: 1952, path, algorithm: 'ML-DSA-65', encrypted: false })
    expect(Date.parse(String(j.createdAt))).toBeGreaterThan(Date.parse('2024-01-01'))

    const ck = cli(['identity', 'check', 'Alice', '--json'])
    expect(ck.code).toBe(0)
    expect(JSON.parse(ck.stdout)).toEqual({ alias: 'Alice', peerId, ok: true })

    const d = cli(['identity', 'delete', 'Alice'])
    expect(d.code).toBe(0)
    expect(existsSync(path)).toBe(false)
    expect(cli(['identity', 'list', '--json']).stdout.trim()).toBe('[]')
  })

  it('refuses a second identity with the same alias, leaving the first intact', () => {
    const first = cli(['identity', 'create', '--alias', 'Alice', '--json'])
    const path = (JSON.parse(first.stdout) as { path: string }).path
    const before = sha(path)
    const again = cli(['identity', 'create', '--alias', 'Alice'])
    expect(again.code).toBe(1)
    expect(again.stdout).toBe('')
    expect(again.stderr.trim().split('\n')).toHaveLength(1)
    expect(again.stderr).toMatch(/^error: .*Alice.*exists/)
    expect(sha(path)).toBe(before)
  })

  it('reports a missing identity in one line with exit 1', () => {
    const r = cli(['identity', 'show', 'Nobody'])
    expect(r.code).toBe(1)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/^error: .*Nobody/)
  })

  it('gives exit 2 for usage errors', () => {
    expect(cli(['identity', 'create']).code).toBe(2)
    expect(cli(['identity', 'create', '--alias', 'A', '--algorithm', 'rsa']).code).toBe(2)
    expect(cli(['no-such-command']).code).toBe(2)
  })

  it('rejects an invalid alias', () => {
    const r = cli(['identity', 'create', '--alias', '../evil'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/alias/)
  })

  describe.each([
    ['truncated', (b: Buffer) => b.subarray(0, Math.floor(b.length / 2))],
    ['corrupted', (b: Buffer) => Buffer.from(b.toString('utf8').replace(/"peerId": ?"[0-9a-f]/, (m) => m.slice(0, -1) + (m.endsWith('0') ? '1' : '0')))],
    ['foreign', () => Buffer.from('{"hello":"world"}\n')],
    ['binary', () => Buffer.from([0, 1, 2, 3, 255, 254])]
  ])('a %s keystore file', (_kind, damage) => {
    it('is an error naming the file, and is left untouched', () => {
      const created = JSON.parse(cli(['identity', 'create', '--alias', 'Bob', '--json']).stdout) as { path: string }
      const damaged = damage(readFileSync(created.path))
      writeFileSync(created.path, damaged)
      const before = sha(created.path)
      for (const args of [['identity', 'show', 'Bob'], ['identity', 'check', 'Bob'], ['identity', 'create', '--alias', 'Bob'], ['identity', 'list']]) {
        const r = cli(args)
        expect(r.code, args.join(' ')).toBe(1)
        if (args[1] !== 'create') expect(r.stderr, args.join(' ')).toContain(created.path)
        expect(sha(created.path)).toBe(before)
      }
    })
  })

  it('encrypts with a passphrase; a wrong passphrase is a clear error', () => {
    const pf = join(home, 'pass.txt')
    writeFileSync(pf, 'correct horse battery staple\n')
    const c = cli(['identity', 'create', '--alias', 'Carol', '--passphrase-file', pf, '--json'])
    expect(c.code).toBe(0)
    const e = JSON.parse(c.stdout) as { path: string; encrypted: boolean }
    expect(e.encrypted).toBe(true)
    expect(readFileSync(e.path, 'utf8')).not.toMatch(/"seed"/)
    expect(cli(['identity', 'check', 'Carol', '--passphrase-file', pf]).code).toBe(0)
    expect(cli(['identity', 'check', 'Carol'], { SAORSA_GOSSIP_PASSPHRASE: 'correct horse battery staple' }).code).toBe(0)
    const wrong = cli(['identity', 'check', 'Carol'], { SAORSA_GOSSIP_PASSPHRASE: 'wrong' })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toMatch(/^error: .*wrong passphrase/i)
    const none = cli(['identity', 'check', 'Carol'])
    expect(none.code).toBe(1)
    expect(none.stderr).toMatch(/passphrase/i)
  })
})
