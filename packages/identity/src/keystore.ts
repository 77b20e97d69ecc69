// The file keystore: one JSON file per alias under <home>/identities/, mode 0600, created atomically and
// never overwritten (see keystore-fs.ts). A file that is not a valid v1 identity is an error naming it,
// and is never modified; so is a file group or others can access (fix: chmod 600), and a plain file
// whose seed does not produce its public key (checked by show, list and load alike). Passphrase
// protection: scrypt (RFC 7914) + ChaCha20-Poly1305 (RFC 8439).
import { bytesEqual, KeystoreError, toHex, utf8, wipe } from '@saorsa-gossip/types'
import type { KeystoreErrorCode, PeerId, SignatureAlgorithm } from '@saorsa-gossip/types'
import { resolveBackend } from './backend.js'
import type { BackendName, CryptoBackend, ScryptParams } from './backend.js'
import { Identity, seedLengthOf } from './identity.js'
import { associatedData, ENCRYPTED_TYPE, encodeFile, kdfProblem, MAX_FILE_BYTES, parseFile } from './keystore-format.js'
import type { ParsedFile } from './keystore-format.js'
import { checkAbort, ensureDir, errno, ioError, loadNode, readLimited, sweepStaleTemps, syncDir, tempName, writeExclusive } from './keystore-fs.js'
import type { NodeModules } from './keystore-fs.js'

/** Default KDF: scrypt N = 2^17, r = 8, p = 1 (128 MiB of memory, about 0.3-0.5 s per derivation). */
export const DEFAULT_KDF: Readonly<ScryptParams> = Object.freeze({ N: 2 ** 17, r: 8, p: 1 })
/** Alias rule: 1-64 characters of [A-Za-z0-9._-], the first a letter or digit. */
export const ALIAS_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

/** Public facts about a stored identity (no secret, no passphrase needed). */
export interface KeystoreEntry {
  alias: string
  peerId: PeerId
  algorithm: SignatureAlgorithm
  /** Length of the public key in bytes (1952 for ML-DSA-65). */
  publicKeySize: number
  /** When the identity was created, ISO 8601 UTC. */
  createdAt: string
  /** The identity's file. */
  path: string
  /** True when the seed is passphrase-protected. */
  encrypted: boolean
  /** Absent on a readable entry (see BrokenKeystoreEntry). */
  error?: undefined
}

/** A file in the keystore directory that list() could not read; it is left as it is. */
export interface BrokenKeystoreEntry {
  alias: string
  path: string
  error: { code: KeystoreErrorCode; message: string }
}

/** Options every keystore call accepts. */
export interface AbortOptions {
  signal?: AbortSignal
}

/** Options of Keystore.create. */
export interface CreateIdentityOptions extends AbortOptions {
  /** Encrypt the seed under this passphrase (UTF-8 of its NFC form); plain when omitted. */
  passphrase?: string
  /** Default 'ML-DSA-65'. */
  algorithm?: SignatureAlgorithm
  /** Import this seed instead of generating one (32 bytes for ML-DSA-65, 48 for SLH-DSA). Copied. */
  seed?: Uint8Array
}

/** Options of Keystore.load. */
export interface LoadIdentityOptions extends AbortOptions {
  /** Required for an encrypted identity. */
  passphrase?: string
}

/** A store of named identities. */
export interface Keystore {
  /** The keystore home directory. */
  readonly home: string
  /** The directory holding the identity files (`<home>/identities`). */
  readonly dir: string
  /** Creates a new identity; ERR_IDENTITY_EXISTS when `alias` is taken (never overwrites). */
  create(alias: string, options?: CreateIdentityOptions): Promise<KeystoreEntry>
  /** Every identity, sorted by alias; unreadable files are reported as BrokenKeystoreEntry. */
  list(options?: AbortOptions): Promise<Array<KeystoreEntry | BrokenKeystoreEntry>>
  /** Public information about `alias`. */
  show(alias: string, options?: AbortOptions): Promise<KeystoreEntry>
  /** Decrypts and checks `alias` and returns its Identity. */
  load(alias: string, options?: LoadIdentityOptions): Promise<Identity>
  /** Removes `alias`'s file; ERR_IDENTITY_NOT_FOUND when there is none. */
  delete(alias: string, options?: AbortOptions): Promise<void>
  /** Whether a file exists for `alias` (readable or not). */
  has(alias: string, options?: AbortOptions): Promise<boolean>
  /** The file of `alias` (whether or not it exists). */
  pathOf(alias: string): string
}

/** Options of createKeystore; every field is optional. */
export interface KeystoreInit {
  /** Default: `$SAORSA_GOSSIP_HOME`, else `~/.saorsa-gossip`. */
  home?: string
  /** Backend instance or name for keys, scrypt and AEAD; default getBackend(). */
  backend?: CryptoBackend | BackendName
  /** scrypt parameters for new encrypted files; default DEFAULT_KDF. Must be within KDF_BOUNDS. */
  kdf?: ScryptParams
}

/** Throws ERR_INVALID_ALIAS unless `alias` follows ALIAS_PATTERN. */
export function assertAlias(alias: unknown): asserts alias is string {
  if (typeof alias !== 'string' || !ALIAS_PATTERN.test(alias)) {
    throw new KeystoreError(
      `invalid identity alias ${JSON.stringify(alias)}: use 1-64 characters A-Z a-z 0-9 . _ -, starting with a letter or digit`,
      'ERR_INVALID_ALIAS'
    )
  }
}

const passBytes = (passphrase: string): Uint8Array => utf8(passphrase.normalize('NFC'))
const KDF_OUT = 48 // 32-byte AEAD key ‖ 16-byte passphrase check value

/** The default keystore implementation over the file system. */
export class FileKeystore implements Keystore {
  readonly home: string
  readonly dir: string
  readonly #node: NodeModules
  readonly #backend: CryptoBackend
  readonly #kdf: ScryptParams
  /** Directories already swept of stale temp files by this instance. */
  readonly #swept = new Set<string>()

  constructor(init: KeystoreInit = {}) {
    this.#node = loadNode()
    const { path, os } = this.#node
    const envHome = typeof process !== 'undefined' ? process.env.SAORSA_GOSSIP_HOME : undefined
    this.home = path.resolve(init.home ?? (envHome !== undefined && envHome !== '' ? envHome : path.join(os.homedir(), '.saorsa-gossip')))
    this.dir = path.join(this.home, 'identities')
    this.#backend = resolveBackend(init.backend)
    const kdf = init.kdf ?? DEFAULT_KDF
    const problem = kdfProblem(kdf)
    if (problem !== undefined) throw new RangeError(`invalid kdf parameters: ${problem}`)
    this.#kdf = { N: kdf.N, r: kdf.r, p: kdf.p }
  }

  /** Once per directory and instance: removes temp files a crashed writer left there (keystore-fs.ts). */
  async #sweep(dir: string): Promise<void> {
    if (this.#swept.has(dir)) return
    this.#swept.add(dir)
    await sweepStaleTemps(this.#node, dir)
  }

  pathOf(alias: string): string {
    assertAlias(alias)
    return this.#node.path.join(this.dir, `${alias}.json`)
  }

  async has(alias: string, options: AbortOptions = {}): Promise<boolean> {
    const path = this.pathOf(alias)
    checkAbort(options.signal)
    return this.#present(path)
  }

  async #present(path: string): Promise<boolean> {
    try {
      await this.#node.fs.lstat(path)
      return true
    } catch (e) {
      if (errno(e) === 'ENOENT') return false
      throw ioError(`cannot access ${path}`, path, e)
    }
  }

  async create(alias: string, options: CreateIdentityOptions = {}): Promise<KeystoreEntry> {
    return this.#createAt(this.pathOf(alias), alias, options)
  }

  /**
   * Creates an identity file at an explicit `path` (e.g. a coordinator's `--identity-path`), outside
   * the identities directory. Its alias is the file name without its last extension. Never overwrites.
   */
  async createFile(path: string, options: CreateIdentityOptions = {}): Promise<KeystoreEntry> {
    const abs = this.#node.path.resolve(path)
    return this.#createAt(abs, aliasOfFile(this.#node, abs), options)
  }

  /** Loads the identity file at an explicit `path` (see createFile). */
  async loadFile(path: string, options: LoadIdentityOptions = {}): Promise<Identity> {
    const abs = this.#node.path.resolve(path)
    const notFound = (): KeystoreError => new KeystoreError(`no identity file at ${abs}`, 'ERR_IDENTITY_NOT_FOUND', abs)
    return this.#loadAt(abs, aliasOfFile(this.#node, abs), notFound, options)
  }

  async #createAt(path: string, alias: string, options: CreateIdentityOptions): Promise<KeystoreEntry> {
    const dir = this.#node.path.dirname(path)
    const { signal, passphrase } = options
    const algorithm = options.algorithm ?? 'ML-DSA-65'
    const seedLen = seedLengthOf(algorithm)
    if (passphrase !== undefined && (typeof passphrase !== 'string' || passphrase.length === 0)) {
      throw new RangeError('passphrase must be a non-empty string (omit it for an unencrypted identity)')
    }
    checkAbort(signal)
    await ensureDir(this.#node, dir)
    await this.#sweep(dir)
    if (await this.#present(path)) throw this.#exists(alias, path)
    const b = this.#backend
    const seed = options.seed !== undefined ? Uint8Array.from(options.seed) : b.randomBytes(seedLen)
    let identity: Identity | undefined
    let bytes: Uint8Array | undefined
    try {
      identity = Identity.fromSeed(seed, { algorithm, backend: b })
      const pub = { alias, algorithm, createdAt: new Date().toISOString(), peerId: identity.peerId, publicKey: identity.publicKey }
      let file: ParsedFile
      if (passphrase === undefined) {
        file = { ...pub, secret: { type: 'plain', seed } }
      } else {
        const salt = b.randomBytes(16)
        const nonce = b.randomBytes(12)
        const dk = await b.scryptAsync(passBytes(passphrase), salt, this.#kdf, KDF_OUT)
        try {
          checkAbort(signal)
          const ciphertext = b.aead.seal(dk.subarray(0, 32), nonce, seed, associatedData(pub))
          file = { ...pub, secret: { type: ENCRYPTED_TYPE, kdf: this.#kdf, salt, nonce, check: dk.slice(32, KDF_OUT), ciphertext } }
        } finally {
          wipe(dk)
        }
      }
      bytes = encodeFile(file)
      await writeExclusive(this.#node, {
        dir,
        tmpName: tempName(alias, toHex(b.randomBytes(6))),
        path,
        bytes,
        signal,
        exists: () => this.#exists(alias, path)
      })
      return entryOf(file, path)
    } finally {
      wipe(seed)
      if (bytes !== undefined) wipe(bytes)
      identity?.destroy()
    }
  }

  async list(options: AbortOptions = {}): Promise<Array<KeystoreEntry | BrokenKeystoreEntry>> {
    checkAbort(options.signal)
    let names: string[]
    try {
      names = await this.#node.fs.readdir(this.dir)
    } catch (e) {
      if (errno(e) === 'ENOENT') return []
      throw ioError(`cannot read keystore directory ${this.dir}`, this.dir, e)
    }
    await this.#sweep(this.dir)
    const aliases = names
      .filter((n) => n.endsWith('.json'))
      .map((n) => n.slice(0, -5))
      .filter((a) => ALIAS_PATTERN.test(a))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    const out: Array<KeystoreEntry | BrokenKeystoreEntry> = []
    for (const alias of aliases) {
      checkAbort(options.signal)
      try {
        out.push(await this.show(alias))
      } catch (e) {
        if (!(e instanceof KeystoreError)) throw e
        if (e.code === 'ERR_IDENTITY_NOT_FOUND') continue // deleted meanwhile
        out.push({ alias, path: this.pathOf(alias), error: { code: e.code as KeystoreErrorCode, message: e.message } })
      }
    }
    return out
  }

  /**
   * Public information about `alias`. The file must be private (mode 0600 or stricter) and, when its
   * seed is stored plain, the seed must produce the stored public key (key generation from the seed,
   * FIPS 204 ML-DSA.KeyGen_internal / FIPS 205 slh_keygen_internal); an encrypted seed is checked when
   * it is unlocked (load), where the AEAD also authenticates it.
   */
  async show(alias: string, options: AbortOptions = {}): Promise<KeystoreEntry> {
    const path = this.pathOf(alias)
    checkAbort(options.signal)
    await this.#sweep(this.dir)
    const f = parseFile(await readLimited(this.#node, path, MAX_FILE_BYTES, () => this.#notFound(alias)), path, alias)
    if (f.secret.type === 'plain') {
      try {
        this.#identityOf(f, f.secret.seed, path).destroy()
      } finally {
        wipe(f.secret.seed)
      }
    }
    return entryOf(f, path)
  }

  /** The identity of `seed`, checked against the file's public key (ERR_KEYSTORE_CORRUPT if not). */
  #identityOf(f: ParsedFile, seed: Uint8Array, path: string): Identity {
    const identity = Identity.fromSeed(seed, { algorithm: f.algorithm, backend: this.#backend })
    if (!bytesEqual(identity.publicKey, f.publicKey)) {
      identity.destroy()
      throw new KeystoreError(
        `${path}: corrupt identity file: the secret seed does not produce "publicKey" (the seed or the public key was altered)`,
        'ERR_KEYSTORE_CORRUPT',
        path
      )
    }
    return identity
  }

  async load(alias: string, options: LoadIdentityOptions = {}): Promise<Identity> {
    return this.#loadAt(this.pathOf(alias), alias, () => this.#notFound(alias), options)
  }

  async #loadAt(path: string, alias: string, notFound: () => KeystoreError, options: LoadIdentityOptions): Promise<Identity> {
    const { signal, passphrase } = options
    checkAbort(signal)
    await this.#sweep(this.#node.path.dirname(path))
    const f = parseFile(await readLimited(this.#node, path, MAX_FILE_BYTES, notFound), path, alias)
    const b = this.#backend
    let seed: Uint8Array
    if (f.secret.type === 'plain') {
      seed = f.secret.seed
    } else {
      const s = f.secret
      if (passphrase === undefined) {
        throw new KeystoreError(`identity ${alias} is encrypted (${path}): a passphrase is required`, 'ERR_PASSPHRASE_REQUIRED', path)
      }
      if (typeof passphrase !== 'string') throw new TypeError('passphrase must be a string')
      const dk = await b.scryptAsync(passBytes(passphrase), s.salt, s.kdf, KDF_OUT)
      try {
        checkAbort(signal)
        if (!bytesEqual(dk.subarray(32, KDF_OUT), s.check)) {
          throw new KeystoreError(`wrong passphrase for identity ${alias} (${path})`, 'ERR_WRONG_PASSPHRASE', path)
        }
        const opened = b.aead.open(dk.subarray(0, 32), s.nonce, s.ciphertext, associatedData(f))
        if (opened === null) {
          throw new KeystoreError(
            `${path}: corrupt identity file: the passphrase is right but the encrypted seed or a public field was modified`,
            'ERR_KEYSTORE_CORRUPT',
            path
          )
        }
        seed = opened
      } finally {
        wipe(dk)
      }
    }
    try {
      return this.#identityOf(f, seed, path)
    } finally {
      wipe(seed)
    }
  }

  async delete(alias: string, options: AbortOptions = {}): Promise<void> {
    const path = this.pathOf(alias)
    checkAbort(options.signal)
    try {
      await this.#node.fs.unlink(path)
    } catch (e) {
      if (errno(e) === 'ENOENT') throw this.#notFound(alias)
      throw ioError(`cannot delete ${path}`, path, e)
    }
    await syncDir(this.#node, this.dir)
  }

  #exists(alias: string, path: string): KeystoreError {
    return new KeystoreError(`an identity named ${alias} already exists (${path}); it was not modified`, 'ERR_IDENTITY_EXISTS', path)
  }

  #notFound(alias: string): KeystoreError {
    return new KeystoreError(`no identity named ${alias} in ${this.dir}`, 'ERR_IDENTITY_NOT_FOUND', this.pathOf(alias))
  }
}

/** The alias of an identity file outside the keystore: its name without the last extension. */
function aliasOfFile(node: NodeModules, path: string): string {
  const base = node.path.basename(path)
  const dot = base.lastIndexOf('.')
  const alias = dot > 0 ? base.slice(0, dot) : base
  assertAlias(alias)
  return alias
}

function entryOf(f: ParsedFile, path: string): KeystoreEntry {
  return {
    alias: f.alias,
    peerId: f.peerId,
    algorithm: f.algorithm,
    publicKeySize: f.publicKey.length,
    createdAt: f.createdAt,
    path,
    encrypted: f.secret.type !== 'plain'
  }
}

/** Creates the default file keystore (see KeystoreInit for the defaults). */
export function createKeystore(init: KeystoreInit = {}): Keystore {
  return new FileKeystore(init)
}
