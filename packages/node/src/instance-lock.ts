// One running instance per identity: a lock file next to the identity file (SPEC.md §4). Both
// binaries (`saorsa-coordinator`, `saorsa-gossip network join`) take it before they load the
// identity and release it when they stop.
//
// - Created with O_CREAT|O_EXCL, mode 0600, holding `<pid>\n` and, on Linux, `start=<ticks>\n` (the
//   process start time from /proc/<pid>/stat, field 22), so a pid reused by an unrelated process
//   (a container restart gives the same small pids again) is not taken for the holder.
// - A lock whose holder is dead (kill(pid, 0) → ESRCH, or a different start time) is stale and is
//   taken over. Two processes taking over the same stale lock serialise on `<lock>.takeover` (also
//   O_EXCL; a takeover guard older than 5 s belongs to a crashed taker and is removed).
// - Removed on release (only if it still holds our pid), and from an 'exit' handler should the
//   process exit without releasing. After a SIGKILL it stays, and the next start takes it over.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { open, readFile, stat, unlink } from 'node:fs/promises'

/** Thrown when another live process holds the lock; `message` is one line naming the pid. */
export class InstanceLockedError extends Error {
  readonly pid: number | undefined
  readonly path: string
  constructor(message: string, path: string, pid: number | undefined) {
    super(message)
    this.name = 'InstanceLockedError'
    this.path = path
    this.pid = pid
  }
}

/** A held lock. */
export interface InstanceLock {
  /** The lock file. */
  readonly path: string
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): Promise<void>
}

/** Options of acquireInstanceLock. */
export interface InstanceLockInit {
  /** Names what is locked in the error message (default: the lock path without `.lock`). */
  what?: string
}

/** A takeover guard older than this belongs to a crashed process (a takeover takes milliseconds). */
const GUARD_STALE_MS = 5_000
/** A lock file without a readable pid younger than this may be being written: wait for it. */
const EMPTY_GRACE_MS = 2_000
const MAX_ROUNDS = 200

/** Lock files held by this process (a second acquire in the same process is refused too). */
const held = new Set<string>()

const errno = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** The start time of `pid` in clock ticks since boot (Linux /proc), or undefined elsewhere. */
function startTicks(pid: number): string | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Field 2 (comm) is in parentheses and may contain spaces: fields 3.. start after the last ')'.
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ')
    return rest[19] // field 22, starttime
  } catch {
    return undefined
  }
}

/** Whether process `pid` exists (EPERM: it exists but is another user's). */
export function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return errno(e) === 'EPERM'
  }
}

interface Holder {
  pid: number
  start: string | undefined
}

function parseHolder(text: string): Holder | undefined {
  const m = /^(\d{1,10})\n(?:start=(\d{1,20})\n)?$/.exec(text)
  if (m === null) return undefined
  return { pid: Number(m[1]), start: m[2] }
}

/** Whether the process that wrote `h` is still running. */
function holderAlive(h: Holder, path: string): boolean {
  if (h.pid === process.pid) return held.has(path) // our pid, but not our lock: a previous life (pid reuse)
  if (!processAlive(h.pid)) return false
  if (h.start !== undefined) {
    const now = startTicks(h.pid)
    if (now !== undefined && now !== h.start) return false // the pid was reused
  }
  return true
}

const content = (): string => {
  const start = startTicks(process.pid)
  return `${process.pid}\n${start === undefined ? '' : `start=${start}\n`}`
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (e) {
    if (errno(e) === 'ENOENT') return undefined
    throw e
  }
}

/** Creates `path` exclusively with our pid; false when it exists. */
async function tryCreate(path: string): Promise<boolean> {
  let fh
  try {
    fh = await open(path, 'wx', 0o600)
  } catch (e) {
    if (errno(e) === 'EEXIST') return false
    throw e
  }
  try {
    await fh.writeFile(content())
    await fh.sync()
  } catch (e) {
    await fh.close()
    await unlink(path).catch(() => undefined)
    throw e
  }
  await fh.close()
  return true
}

/** Removes the stale lock `path` if it still reads `seen`, under the takeover guard. */
async function takeOver(path: string, seen: string): Promise<void> {
  const guard = `${path}.takeover`
  let fd
  try {
    fd = openSync(guard, 'wx', 0o600)
  } catch (e) {
    if (errno(e) !== 'EEXIST') throw e
    const st = await stat(guard).catch(() => undefined)
    if (st !== undefined && Date.now() - st.mtimeMs > GUARD_STALE_MS) await unlink(guard).catch(() => undefined)
    else await sleep(10)
    return
  }
  try {
    writeSync(fd, `${process.pid}\n`)
    if ((await readText(path)) === seen) await unlink(path).catch((e: unknown) => (errno(e) === 'ENOENT' ? undefined : Promise.reject(e)))
  } finally {
    closeSync(fd)
    await unlink(guard).catch(() => undefined)
  }
}

/**
 * Takes the lock file `path`, or throws InstanceLockedError naming the pid that holds it. Stale locks
 * (holder dead) are taken over. The caller releases it when it stops.
 */
export async function acquireInstanceLock(path: string, init: InstanceLockInit = {}): Promise<InstanceLock> {
  const what = init.what ?? path.replace(/\.lock$/, '')
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (await tryCreate(path)) return track(path)
    const text = await readText(path)
    if (text === undefined) continue // released meanwhile: try again
    const holder = parseHolder(text)
    if (holder === undefined) {
      // Being written right now, or left empty by a crash between create and write.
      const st = await stat(path).catch(() => undefined)
      if (st !== undefined && Date.now() - st.mtimeMs < EMPTY_GRACE_MS) {
        await sleep(10)
        continue
      }
      await takeOver(path, text)
      continue
    }
    if (holderAlive(holder, path)) {
      throw new InstanceLockedError(`${what} is in use by another running instance (pid ${holder.pid}; lock file ${path})`, path, holder.pid)
    }
    await takeOver(path, text)
  }
  throw new InstanceLockedError(`could not take the lock file ${path} (it keeps changing)`, path, undefined)
}

function track(path: string): InstanceLock {
  held.add(path)
  const mine = content()
  let released = false
  const releaseSync = (): void => {
    if (released) return
    released = true
    held.delete(path)
    try {
      if (readFileSync(path, 'utf8') === mine) unlinkSync(path)
    } catch {
      // already gone
    }
  }
  process.once('exit', releaseSync)
  return {
    path,
    async release() {
      if (released) return
      process.off('exit', releaseSync)
      released = true
      held.delete(path)
      if ((await readText(path).catch(() => undefined)) === mine) await unlink(path).catch(() => undefined)
    }
  }
}
