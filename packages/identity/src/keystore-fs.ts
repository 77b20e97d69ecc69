// File-system side of the keystore: atomic never-overwrite creation, bounded reads that refuse files
// others can read, directory fsync, and removal of temp files a crashed writer left behind.
// Node only: node:fs and friends are reached through process.getBuiltinModule (Node >= 22.3) when a
// keystore is created, never by a static import, so the package stays importable in browsers.
import type * as NodeFsSync from 'node:fs'
import type * as NodeFs from 'node:fs/promises'
import type * as NodeOs from 'node:os'
import type * as NodePath from 'node:path'
import { AbortError, KeystoreError } from '@saorsa-gossip/types'

/** The Node built-ins the keystore uses. */
export interface NodeModules {
  fs: typeof NodeFs
  fsSync: typeof NodeFsSync
  path: typeof NodePath
  os: typeof NodeOs
}

/** The Node built-ins, or ERR_KEYSTORE_IO outside Node. */
export function loadNode(): NodeModules {
  const get = typeof process !== 'undefined' ? process.getBuiltinModule : undefined
  if (typeof get !== 'function') throw new KeystoreError('the file keystore needs Node.js (node:fs)', 'ERR_KEYSTORE_IO')
  return { fs: get('node:fs/promises'), fsSync: get('node:fs'), path: get('node:path'), os: get('node:os') }
}

/** The `code` of a Node system error (ENOENT, EEXIST, ...). */
export const errno = (e: unknown): string | undefined =>
  typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : undefined

/** Throws AbortError when `signal` is aborted. */
export function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new AbortError('keystore operation aborted', { cause: signal.reason })
}

/** ERR_KEYSTORE_IO for `path`, carrying the system error as cause. */
export function ioError(message: string, path: string, cause: unknown): KeystoreError {
  const detail = cause instanceof Error ? `: ${cause.message}` : ''
  return new KeystoreError(message + detail, 'ERR_KEYSTORE_IO', path, { cause })
}

/** Octal text of a file mode's permission bits (`0644`). */
const octal = (mode: number): string => `0${(mode & 0o777).toString(8).padStart(3, '0')}`

/**
 * ERR_KEYSTORE_IO when `mode` lets group or others in (any of 0o077): an identity file holds a secret
 * seed (or its passphrase-protected form) and must be private to its owner. Not checked on Windows,
 * whose permissions are ACLs.
 */
export function checkPrivate(path: string, mode: number): void {
  if (process.platform === 'win32' || (mode & 0o077) === 0) return
  throw new KeystoreError(
    `${path}: permissions ${octal(mode)} are too open (group or others can access the secret key); refusing to use it. Fix: chmod 600 ${path}`,
    'ERR_KEYSTORE_IO',
    path
  )
}

/**
 * Reads a regular file of at most `max` bytes that only its owner can access (see checkPrivate);
 * `notFound()` is thrown for ENOENT.
 */
export async function readLimited(node: NodeModules, path: string, max: number, notFound: () => KeystoreError): Promise<Uint8Array> {
  let fh: NodeFs.FileHandle
  try {
    fh = await node.fs.open(path, 'r')
  } catch (e) {
    if (errno(e) === 'ENOENT') throw notFound()
    throw ioError(`cannot open ${path}`, path, e)
  }
  try {
    const st = await fh.stat()
    if (!st.isFile()) throw new KeystoreError(`${path}: not a regular file`, 'ERR_KEYSTORE_FOREIGN', path)
    checkPrivate(path, st.mode)
    const tooBig = (): KeystoreError =>
      new KeystoreError(`${path}: corrupt identity file: more than ${max} bytes`, 'ERR_KEYSTORE_CORRUPT', path)
    if (st.size > max) throw tooBig()
    const data = await fh.readFile()
    if (data.length > max) throw tooBig()
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  } catch (e) {
    if (e instanceof KeystoreError) throw e
    throw ioError(`cannot read ${path}`, path, e)
  } finally {
    await fh.close()
  }
}

/** Creates `path` with mode 0600 only if it does not exist (O_EXCL), writes and fsyncs it. */
async function writeNew(fs: typeof NodeFs, path: string, bytes: Uint8Array): Promise<void> {
  const fh = await fs.open(path, 'wx', 0o600)
  try {
    await fh.chmod(0o600)
    await fh.writeFile(bytes)
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/**
 * Temp files of this process that hold key material and are not yet removed. Should the process exit
 * in between (process.exit() on a signal, an uncaught error), an 'exit' handler removes them; after
 * a SIGKILL the next keystore use does (sweepStaleTemps).
 */
const inFlight = new Set<string>()
let exitHookInstalled = false

function removeInFlightSync(fsSync: typeof NodeFsSync): void {
  for (const t of inFlight) {
    try {
      fsSync.unlinkSync(t)
    } catch {
      // already gone
    }
  }
  inFlight.clear()
}

function trackTemp(node: NodeModules, tmp: string): void {
  inFlight.add(tmp)
  if (!exitHookInstalled && typeof process.once === 'function') {
    exitHookInstalled = true
    process.once('exit', () => removeInFlightSync(node.fsSync))
  }
}

/**
 * Name of a temp file for `alias` in the keystore directory: `.<alias>.<pid>.<12 hex>.tmp`. The pid
 * lets a later sweep tell a crashed writer's file from one being written now. Never a valid alias
 * file name (it does not end in `.json`).
 */
export function tempName(alias: string, randomHex: string): string {
  return `.${alias}.${process.pid}.${randomHex}.tmp`
}

/** Temp file names of ours: with the writer's pid, or without (written before pids were added). */
const TEMP_PATTERN = /^\.[A-Za-z0-9][A-Za-z0-9._-]{0,63}?\.(?:(\d{1,10})\.)?[0-9a-f]{12}\.tmp$/
/** A temp file older than this is left over whoever wrote it (a write takes milliseconds). */
export const STALE_TEMP_MS = 10_000

/** Whether process `pid` exists (EPERM: it exists but is another user's). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return errno(e) === 'EPERM'
  }
}

/**
 * Removes the temp files a crashed writer left in `dir`: names of TEMP_PATTERN whose writer pid is
 * dead, or older than STALE_TEMP_MS. Returns the names removed. A missing `dir` is nothing to do.
 */
export async function sweepStaleTemps(node: NodeModules, dir: string, now = Date.now()): Promise<string[]> {
  let names: string[]
  try {
    names = await node.fs.readdir(dir)
  } catch {
    return []
  }
  const removed: string[] = []
  for (const name of names) {
    const m = TEMP_PATTERN.exec(name)
    if (m === null) continue
    const p = node.path.join(dir, name)
    if (inFlight.has(p)) continue
    try {
      const st = await node.fs.lstat(p)
      if (!st.isFile()) continue
      const pid = m[1] === undefined ? undefined : Number(m[1])
      const deadWriter = pid !== undefined && pid !== process.pid && !alive(pid)
      if (!deadWriter && now - st.mtimeMs < STALE_TEMP_MS) continue
      await node.fs.unlink(p)
      removed.push(name)
    } catch {
      // removed meanwhile, or not ours to remove: leave it
    }
  }
  if (removed.length > 0) await syncDir(node, dir)
  return removed
}

/** What writeExclusive writes where. */
export interface ExclusiveWrite {
  dir: string
  /** Name of the temporary file in `dir` (unique, not a valid alias file name). */
  tmpName: string
  path: string
  bytes: Uint8Array
  signal: AbortSignal | undefined
  /** The error to throw when `path` already exists. */
  exists: () => KeystoreError
}

/**
 * Writes `bytes` as `path` only if no such file exists, atomically: readers never see a partial file
 * and an existing file is never replaced, even when two writers race. Temp file (0600) + fsync, then
 * link(2) to the final name, which fails with EEXIST instead of replacing (unlike rename(2)); then the
 * temp name is removed and the directory fsynced. Without hard links (some FUSE/FAT file systems) it
 * falls back to an exclusive create of the final name, which keeps the never-overwrite rule.
 */
export async function writeExclusive(node: NodeModules, w: ExclusiveWrite): Promise<void> {
  const { fs, path: p } = node
  const tmp = p.join(w.dir, w.tmpName)
  trackTemp(node, tmp)
  try {
    await writeNew(fs, tmp, w.bytes)
    checkAbort(w.signal)
    try {
      await fs.link(tmp, w.path)
    } catch (e) {
      const code = errno(e)
      if (code === 'EEXIST') throw w.exists()
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS' && code !== 'EXDEV') {
        throw ioError(`cannot create ${w.path}`, w.path, e)
      }
      try {
        await writeNew(fs, w.path, w.bytes)
      } catch (e2) {
        if (errno(e2) === 'EEXIST') throw w.exists()
        throw ioError(`cannot create ${w.path}`, w.path, e2)
      }
    }
  } catch (e) {
    if (e instanceof KeystoreError || e instanceof AbortError) throw e
    throw ioError(`cannot write ${tmp}`, tmp, e)
  } finally {
    await fs.unlink(tmp).catch(() => undefined)
    inFlight.delete(tmp)
  }
  await syncDir(node, w.dir)
}

/** Creates `dir` (and parents) with mode 0700, and tightens it to 0700 if it is looser. */
export async function ensureDir(node: NodeModules, dir: string): Promise<void> {
  try {
    await node.fs.mkdir(dir, { recursive: true, mode: 0o700 })
    const st = await node.fs.stat(dir)
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) await node.fs.chmod(dir, 0o700)
  } catch (e) {
    throw ioError(`cannot create keystore directory ${dir}`, dir, e)
  }
}

/** fsyncs a directory so a new or removed entry survives a crash (best effort). */
export async function syncDir(node: NodeModules, dir: string): Promise<void> {
  if (process.platform === 'win32') return
  try {
    const fh = await node.fs.open(dir, 'r')
    try {
      await fh.sync()
    } finally {
      await fh.close()
    }
  } catch {
    // Some file systems cannot fsync a directory; the file itself was already synced.
  }
}
