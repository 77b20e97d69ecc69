// The peer cache: peers this node has been connected to, kept on disk so a restarted node can rejoin
// without a coordinator (SPEC.md §8.4). Bounded, expiring, written atomically (temp file + rename,
// mode 0600). A damaged file is moved aside with a warning, never trusted and never silently lost.
import { randomBytes } from 'node:crypto'
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'
import { parsePeerId, silentLogger } from '@saorsa-gossip/types'
import type { Logger, PeerId } from '@saorsa-gossip/types'
import { ROLES } from './advert.js'
import type { Role } from './advert.js'

/** `format` field of the file. */
export const PEER_CACHE_FORMAT = 'saorsa-gossip-peer-cache'
export const PEER_CACHE_VERSION = 1
/** Largest file read (a full cache of 1,024 peers with 8 addresses each is ~1 MiB). */
const MAX_FILE_BYTES = 4 * 1024 * 1024

/** One remembered peer. */
export interface PeerCacheEntry {
  peer: PeerId
  /** Where it was reached (multiaddrs without `/p2p/` suffix, 1..256 characters each), at most 8. */
  addrs: string[]
  /** Last time it was connected or advertised, Unix ms. */
  lastSeenMs: number
  /** Roles from its verified advert (empty for plain nodes). */
  roles: Role[]
  /** Failed dials since it was last reached. */
  failures: number
}

export interface PeerCacheInit {
  /** File to load from and save to; none = memory only. */
  path?: string
  /** Most peers kept (default 512): the least recently seen go first. */
  capacity?: number
  /** Entries older than this are dropped (default 7 days). */
  maxAgeMs?: number
  /** Entries that failed this many dials in a row are dropped (default 5). */
  maxFailures?: number
  logger?: Logger
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** The peer cache. `load()` once, then `upsert` as peers are seen and `save()` now and then. */
export class PeerCache {
  readonly path: string | undefined
  readonly capacity: number
  readonly maxAgeMs: number
  readonly maxFailures: number
  readonly #log: Logger
  readonly #entries = new Map<PeerId, PeerCacheEntry>()
  #dirty = false
  #saving: Promise<void> = Promise.resolve()

  constructor(init: PeerCacheInit = {}) {
    this.path = init.path
    this.capacity = init.capacity ?? 512
    this.maxAgeMs = init.maxAgeMs ?? 7 * 24 * 60 * 60 * 1000
    this.maxFailures = init.maxFailures ?? 5
    this.#log = init.logger ?? silentLogger
  }

  /**
   * Reads the file. A missing file is an empty cache. A file that is not a peer cache, or not
   * parsable, is renamed to `<path>.corrupt-<time>` and reported; invalid entries are skipped.
   * Returns the number of entries loaded.
   */
  async load(now: number): Promise<number> {
    const path = this.path
    if (path === undefined) return 0
    let text: string
    try {
      const st = await stat(path)
      if (st.size > MAX_FILE_BYTES) throw new Error(`file is ${st.size} bytes, more than ${MAX_FILE_BYTES}`)
      text = await readFile(path, 'utf8')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0
      return this.#quarantine(path, e instanceof Error ? e.message : String(e))
    }
    let doc: unknown
    try {
      doc = JSON.parse(text)
    } catch {
      return this.#quarantine(path, 'not valid JSON')
    }
    if (!isObj(doc) || doc.format !== PEER_CACHE_FORMAT || doc.version !== PEER_CACHE_VERSION || !Array.isArray(doc.peers)) {
      return this.#quarantine(path, `not a version ${PEER_CACHE_VERSION} ${PEER_CACHE_FORMAT} file`)
    }
    let skipped = 0
    for (const raw of doc.peers) {
      const e = parseEntry(raw)
      if (e === undefined || now - e.lastSeenMs > this.maxAgeMs) {
        skipped++
        continue
      }
      this.#entries.set(e.peer, e)
    }
    this.#trim()
    if (skipped > 0) this.#log.warn({ path, skipped }, 'peer cache: skipped invalid or expired entries')
    return this.#entries.size
  }

  async #quarantine(path: string, why: string): Promise<number> {
    const aside = `${path}.corrupt-${Date.now()}`
    try {
      await rename(path, aside)
      this.#log.warn({ path, movedTo: aside, why }, 'peer cache file unusable; moved aside, starting empty')
    } catch (e) {
      this.#log.warn({ path, why, err: (e as Error).message }, 'peer cache file unusable and could not be moved aside; starting empty')
    }
    return 0
  }

  /** Records that `peer` was reached at `addrs` (merged with what we knew, newest first). */
  upsert(peer: PeerId, addrs: readonly string[], now: number, roles?: readonly Role[]): void {
    const old = this.#entries.get(peer)
    const merged = [...new Set([...addrs, ...(old?.addrs ?? [])])].slice(0, 8)
    this.#entries.delete(peer) // re-insert: Map order = least recently seen first
    this.#entries.set(peer, { peer, addrs: merged, lastSeenMs: now, roles: roles !== undefined ? [...roles] : (old?.roles ?? []), failures: 0 })
    this.#dirty = true
    this.#trim()
  }

  /** Records a failed dial; after `maxFailures` in a row the entry is dropped. */
  recordFailure(peer: PeerId): void {
    const e = this.#entries.get(peer)
    if (e === undefined) return
    e.failures++
    if (e.failures >= this.maxFailures) this.#entries.delete(peer)
    this.#dirty = true
  }

  /** Entries for rejoining: coordinators first, then most recently seen first. */
  entries(now: number): PeerCacheEntry[] {
    for (const [p, e] of this.#entries) if (now - e.lastSeenMs > this.maxAgeMs) this.#entries.delete(p)
    return [...this.#entries.values()].reverse().sort((a, b) => Number(b.roles.includes('coordinator')) - Number(a.roles.includes('coordinator')))
  }

  get size(): number {
    return this.#entries.size
  }

  #trim(): void {
    while (this.#entries.size > this.capacity) this.#entries.delete(this.#entries.keys().next().value as PeerId)
  }

  /** Writes the file if anything changed (atomically; concurrent calls are serialised). */
  save(): Promise<void> {
    this.#saving = this.#saving.then(() => this.#save())
    return this.#saving
  }

  async #save(): Promise<void> {
    const path = this.path
    if (path === undefined || !this.#dirty) return
    this.#dirty = false
    const doc = { format: PEER_CACHE_FORMAT, version: PEER_CACHE_VERSION, peers: [...this.#entries.values()] }
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`
    await mkdir(dirname(path), { recursive: true, mode: 0o700 })
    const fh = await open(tmp, 'wx', 0o600)
    try {
      await fh.writeFile(`${JSON.stringify(doc)}\n`)
      await fh.sync()
    } catch (e) {
      await fh.close()
      await unlink(tmp).catch(() => undefined)
      this.#dirty = true
      throw e
    }
    await fh.close()
    await rename(tmp, path)
  }
}

function parseEntry(raw: unknown): PeerCacheEntry | undefined {
  if (!isObj(raw)) return undefined
  let peer: PeerId
  try {
    peer = parsePeerId(raw.peer)
  } catch {
    return undefined
  }
  const { addrs, lastSeenMs, roles } = raw
  if (!Array.isArray(addrs) || addrs.length === 0 || addrs.length > 8) return undefined
  if (!addrs.every((a): a is string => typeof a === 'string' && a.length > 0 && a.length <= 256)) return undefined
  if (typeof lastSeenMs !== 'number' || !Number.isSafeInteger(lastSeenMs) || lastSeenMs < 0) return undefined
  const rs = Array.isArray(roles) ? roles.filter((r): r is Role => ROLES.includes(r as Role)) : []
  const failures = typeof raw.failures === 'number' && Number.isSafeInteger(raw.failures) && raw.failures >= 0 ? raw.failures : 0
  return { peer, addrs, lastSeenMs, roles: rs, failures }
}
