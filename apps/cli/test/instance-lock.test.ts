// The instance lock both binaries take next to their identity file (@saorsa-gossip/node
// acquireInstanceLock): exclusive, names the holder's pid, taken over when stale (dead pid, a pid
// reused by another process, a lock left empty by a crash), removed on release and at exit, and
// exactly one winner when several processes take over the same stale lock at once.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { acquireInstanceLock, InstanceLockedError } from '@saorsa-gossip/node'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

const NODE_DIST = join(import.meta.dirname, '..', '..', '..', 'packages', 'node', 'dist', 'index.js')
let dir: string
let lock: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'saorsa-lock-'))
  lock = join(dir, 'id.json.lock')
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

/** A pid no process has: one that just exited. */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid as number
/** Field 22 of /proc/<pid>/stat (start time), as the lock records it on Linux. */
const startOf = (pid: number): string | undefined => {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

async function lockedBy(p: Promise<unknown>): Promise<InstanceLockedError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err
  )
  if (!(e instanceof InstanceLockedError)) throw new Error(`expected InstanceLockedError, got ${String(e)}`)
  return e
}

describe('instance lock', () => {
  it('is exclusive, names the pid that holds it, and is removed on release', async () => {
    const held = await acquireInstanceLock(lock, { what: 'identity A' })
    expect(readFileSync(lock, 'utf8')).toMatch(new RegExp(`^${process.pid}\\n(start=\\d+\\n)?$`))
    if (process.platform !== 'win32') expect(statSync(lock).mode & 0o777).toBe(0o600)
    const e = await lockedBy(acquireInstanceLock(lock, { what: 'identity A' }))
    expect(e.message).toBe(`identity A is in use by another running instance (pid ${process.pid}; lock file ${lock})`)
    expect(e.pid).toBe(process.pid)
    await held.release()
    await held.release() // idempotent
    expect(existsSync(lock)).toBe(false)
    await (await acquireInstanceLock(lock)).release()
  })

  it('refuses a lock held by another live process', async () => {
    const other = process.ppid
    const start = startOf(other)
    writeFileSync(lock, `${other}\n${start === undefined ? '' : `start=${start}\n`}`)
    expect((await lockedBy(acquireInstanceLock(lock))).pid).toBe(other)
  })

  it('takes over a stale lock: dead pid, its own pid from a previous life, a reused pid, an old empty file', async () => {
    const stale: string[] = [`${deadPid()}\n`, `${process.pid}\n`, 'garbage']
    if (startOf(process.ppid) !== undefined) stale.push(`${process.ppid}\nstart=1\n`) // live pid, other start time
    for (const text of stale) {
      writeFileSync(lock, text)
      if (text === 'garbage') utimesSync(lock, new Date(Date.now() - 10_000), new Date(Date.now() - 10_000))
      const l = await acquireInstanceLock(lock)
      expect(readFileSync(lock, 'utf8').split('\n')[0], JSON.stringify(text)).toBe(String(process.pid))
      await l.release()
    }
  })

  it('release leaves a lock that is no longer ours', async () => {
    const l = await acquireInstanceLock(lock)
    writeFileSync(lock, '424242\n')
    await l.release()
    expect(readFileSync(lock, 'utf8')).toBe('424242\n')
  })

  it('is removed when the process exits without releasing it', () => {
    const script = `const { acquireInstanceLock } = await import(${JSON.stringify(NODE_DIST)}); await acquireInstanceLock(${JSON.stringify(lock)}); process.exit(3)`
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })
    expect(r.status, r.stderr).toBe(3)
    expect(existsSync(lock)).toBe(false)
  })

  it('lets exactly one of several processes take over the same stale lock', async () => {
    writeFileSync(lock, `${deadPid()}\n`)
    const script = [
      `const { acquireInstanceLock } = await import(${JSON.stringify(NODE_DIST)})`,
      // Start together: each waits for a line on stdin before trying.
      `const go = await new Promise((r) => process.stdin.once('data', r))`,
      `try { const l = await acquireInstanceLock(${JSON.stringify(lock)}); console.log('won'); process.stdin.once('end', () => l.release()) }`,
      `catch (e) { console.log('locked ' + e.pid); process.exit(0) }`
    ].join('\n')
    const children = Array.from({ length: 4 }, () => spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] }))
    const answers = children.map(
      (c) => new Promise<string>((resolve) => createInterface({ input: c.stdout }).once('line', resolve))
    )
    // Each child reads stdin once its module has loaded; a line written earlier waits in the pipe.
    for (const c of children) c.stdin.write('go\n')
    const got = await Promise.all(answers)
    expect(got.filter((a) => a === 'won')).toHaveLength(1)
    const winner = children[got.indexOf('won')]
    for (const a of got) if (a !== 'won') expect(a).toBe(`locked ${winner?.pid}`)
    for (const c of children) c.stdin.end()
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))))
    expect(existsSync(lock)).toBe(false)
  }, 60_000)
})
