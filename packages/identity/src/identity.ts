// A node's signing identity: ML-DSA-65 (FIPS 204) by default, SLH-DSA-SHA2-128s (FIPS 205) for
// long-term keys. The identity is fully determined by its seed (ML-DSA: ξ, 32 bytes; SLH-DSA:
// SK.seed ‖ SK.prf ‖ PK.seed, 48 bytes), which is the only secret the keystore stores.
import { peerIdFromPublicKey, SIGNATURE_SIZES, wipe } from '@saorsa-gossip/types'
import type { PeerId, SignatureAlgorithm, Signer, Verifier } from '@saorsa-gossip/types'
import { resolveBackend } from './backend.js'
import type { BackendName, CryptoBackend, SignatureScheme } from './backend.js'

/** Options of Identity.generate / Identity.fromSeed. */
export interface IdentityOptions {
  /** Signature algorithm; default 'ML-DSA-65'. */
  algorithm?: SignatureAlgorithm
  /** Backend instance or name; default getBackend(). */
  backend?: CryptoBackend | BackendName
}

/** The signature scheme of `algorithm` in `backend`. */
export function schemeOf(backend: CryptoBackend, algorithm: SignatureAlgorithm): SignatureScheme {
  if (algorithm === 'ML-DSA-65') return backend.mldsa65
  if (algorithm === 'SLH-DSA-SHA2-128s') return backend.slhdsa
  throw new RangeError(`unknown signature algorithm ${JSON.stringify(algorithm)}`)
}

/** Seed length in bytes of `algorithm` (32 for ML-DSA-65, 48 for SLH-DSA-SHA2-128s). */
export function seedLengthOf(algorithm: SignatureAlgorithm): number {
  if (algorithm === 'ML-DSA-65') return 32
  if (algorithm === 'SLH-DSA-SHA2-128s') return 48
  throw new RangeError(`unknown signature algorithm ${JSON.stringify(algorithm)}`)
}

/** A signing identity. Implements the `Signer` interface of @saorsa-gossip/types. */
export class Identity implements Signer {
  /** Signature algorithm of this identity. */
  readonly algorithm: SignatureAlgorithm
  /** SHA-256(domain ‖ publicKey), see peerIdFromPublicKey. */
  readonly peerId: PeerId
  readonly #publicKey: Uint8Array
  readonly #seed: Uint8Array
  readonly #secretKey: Uint8Array
  readonly #scheme: SignatureScheme
  #destroyed = false

  private constructor(algorithm: SignatureAlgorithm, scheme: SignatureScheme, seed: Uint8Array) {
    const { publicKey, secretKey } = scheme.keygen(seed)
    this.algorithm = algorithm
    this.#scheme = scheme
    this.#seed = seed
    this.#secretKey = secretKey
    this.#publicKey = publicKey
    this.peerId = peerIdFromPublicKey(publicKey, algorithm)
  }

  /** A new identity from a fresh random seed. */
  static generate(options: IdentityOptions = {}): Identity {
    const algorithm = options.algorithm ?? 'ML-DSA-65'
    const backend = resolveBackend(options.backend)
    return new Identity(algorithm, schemeOf(backend, algorithm), backend.randomBytes(seedLengthOf(algorithm)))
  }

  /** The identity determined by `seed` (copied; the caller may wipe its own array). */
  static fromSeed(seed: Uint8Array, options: IdentityOptions = {}): Identity {
    const algorithm = options.algorithm ?? 'ML-DSA-65'
    const len = seedLengthOf(algorithm)
    if (!(seed instanceof Uint8Array)) throw new TypeError('seed must be a Uint8Array')
    if (seed.length !== len) throw new RangeError(`${algorithm} seed must be ${len} bytes, got ${seed.length}`)
    const backend = resolveBackend(options.backend)
    return new Identity(algorithm, schemeOf(backend, algorithm), Uint8Array.from(seed))
  }

  /** The raw public key (a copy: 1952 bytes for ML-DSA-65, 32 for SLH-DSA-SHA2-128s). */
  get publicKey(): Uint8Array {
    return Uint8Array.from(this.#publicKey)
  }

  /** True once destroy() has run. */
  get destroyed(): boolean {
    return this.#destroyed
  }

  /** Signs `message` as is: pure signature, empty context, hedged. Throws after destroy(). */
  sign(message: Uint8Array): Uint8Array {
    this.#alive()
    if (!(message instanceof Uint8Array)) throw new TypeError('message must be a Uint8Array')
    return this.#scheme.sign(this.#secretKey, message)
  }

  /** True when `signature` over `message` is valid under this identity's key. */
  verify(message: Uint8Array, signature: Uint8Array): boolean {
    return this.#scheme.verify(this.#publicKey, message, signature)
  }

  /**
   * SECRET: a copy of the seed that determines this identity. Anyone holding it can sign as this
   * identity. Meant for the keystore and explicit export only; wipe the copy when done.
   */
  exportSeed(): Uint8Array {
    this.#alive()
    return Uint8Array.from(this.#seed)
  }

  /** Overwrites the seed and secret key held here (best effort); sign() and exportSeed() then throw. */
  destroy(): void {
    if (this.#destroyed) return
    this.#destroyed = true
    wipe(this.#seed)
    wipe(this.#secretKey)
  }

  /** Never prints secrets. */
  toJSON(): { algorithm: SignatureAlgorithm; peerId: PeerId } {
    return { algorithm: this.algorithm, peerId: this.peerId }
  }

  #alive(): void {
    if (this.#destroyed) throw new Error(`identity ${this.peerId} has been destroyed`)
  }
}

/**
 * A Verifier over `backend` (default getBackend()). It checks the algorithm name and key and signature
 * lengths first and answers false, never throws, for anything malformed.
 */
export function createVerifier(backend?: CryptoBackend | BackendName): Verifier {
  const b = resolveBackend(backend)
  return {
    verify(algorithm, publicKey, message, signature) {
      const sizes = (SIGNATURE_SIZES as Readonly<Record<string, { publicKey: number; signature: number } | undefined>>)[algorithm]
      if (sizes === undefined || !Object.hasOwn(SIGNATURE_SIZES, algorithm)) return false
      if (!(publicKey instanceof Uint8Array) || publicKey.length !== sizes.publicKey) return false
      if (!(signature instanceof Uint8Array) || signature.length !== sizes.signature) return false
      if (!(message instanceof Uint8Array)) return false
      try {
        return schemeOf(b, algorithm).verify(publicKey, message, signature)
      } catch {
        return false
      }
    }
  }
}

/** Verifies one signature with the default backend; false for anything malformed. */
export function verify(algorithm: SignatureAlgorithm, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  return createVerifier().verify(algorithm, publicKey, message, signature)
}
