// The one module that chooses the crypto implementation. Two backends implement the same synchronous
// interface over the same byte formats, so keys, signatures, ciphertexts and sealed frames produced by
// one are accepted by the other:
//   - 'native': Node's own node:crypto (OpenSSL 3.5: ML-DSA FIPS 204, ML-KEM FIPS 203, SLH-DSA FIPS 205,
//     X25519, ChaCha20-Poly1305 RFC 8439, scrypt RFC 7914). Needs Node >= 24.7.
//   - 'noble': @noble/post-quantum, @noble/ciphers, @noble/curves, @noble/hashes (pure JS, any runtime).
// Selection: getBackend(name) > SAORSA_CRYPTO > auto (native when node:crypto has ML-DSA-65 and ML-KEM-768).
import { CryptoBackendError } from '@saorsa-gossip/types'
import { createNativeBackend, nativeSupport } from './backend-native.js'
import { createNobleBackend } from './backend-noble.js'

/** Name of a crypto backend. */
export type BackendName = 'native' | 'noble'

/** A public/secret key pair as raw bytes. */
export interface KeyPair {
  /** Raw public key. */
  publicKey: Uint8Array
  /** Raw secret key (see the scheme for its encoding). Secret: wipe when done. */
  secretKey: Uint8Array
}

/**
 * A signature scheme. Pure signing (no pre-hash), empty context, hedged (randomised) signing.
 * `verify` never throws: malformed keys or signatures give `false`.
 */
export interface SignatureScheme {
  /** Length of the key-generation seed. */
  readonly seedLength: number
  readonly publicKeyLength: number
  readonly secretKeyLength: number
  readonly signatureLength: number
  /** Deterministic key generation from `seed` (FIPS 204 KeyGen_internal / FIPS 205 slh_keygen_internal). */
  keygen(seed: Uint8Array): KeyPair
  sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean
}

/** A key-encapsulation mechanism (here X-Wing: ML-KEM-768 + X25519). */
export interface KemScheme {
  readonly seedLength: number
  readonly publicKeyLength: number
  /** The secret (decapsulation) key is the 32-byte seed itself, as in the X-Wing draft §5.2. */
  readonly secretKeyLength: number
  readonly cipherTextLength: number
  readonly sharedSecretLength: number
  keygen(seed: Uint8Array): KeyPair
  encapsulate(publicKey: Uint8Array): { cipherText: Uint8Array; sharedSecret: Uint8Array }
  decapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array
}

/** ChaCha20-Poly1305 (RFC 8439 §2.8): 32-byte key, 12-byte nonce, 16-byte tag appended. */
export interface AeadScheme {
  readonly keyLength: 32
  readonly nonceLength: 12
  readonly tagLength: 16
  /** Returns ciphertext ‖ tag (plaintext length + 16). */
  seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array
  /** Returns the plaintext, or null when authentication fails. */
  open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Uint8Array | null
}

/** X25519 (RFC 7748). The secret key is 32 raw bytes (clamped when used). */
export interface X25519Scheme {
  keygen(seed: Uint8Array): KeyPair
  /** Throws RangeError when the result is the all-zero value (low-order public key, RFC 7748 §6.1). */
  sharedSecret(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array
}

/** scrypt cost parameters (RFC 7914 §2): N a power of two, r block size, p parallelism. */
export interface ScryptParams {
  N: number
  r: number
  p: number
}

/** Every primitive the identity, keystore and transport layers need, synchronously. */
export interface CryptoBackend {
  readonly name: BackendName
  /** ML-DSA-65 (FIPS 204): seed 32, pk 1952, sk 4032 (skEncode), signature 3309. */
  readonly mldsa65: SignatureScheme
  /** SLH-DSA-SHA2-128s (FIPS 205): seed 48 (SK.seed ‖ SK.prf ‖ PK.seed), pk 32, sk 64, signature 7856. */
  readonly slhdsa: SignatureScheme
  /** X-Wing as in @noble/post-quantum 0.7.1 `ml_kem768_x25519`: seed 32, pk 1216, ct 1120, ss 32. */
  readonly xwing: KemScheme
  readonly aead: AeadScheme
  readonly x25519: X25519Scheme
  /** scrypt (RFC 7914), blocking. */
  scrypt(password: Uint8Array, salt: Uint8Array, params: ScryptParams, dkLen: number): Uint8Array
  /** scrypt off the main thread where the backend can (native: libuv pool; noble: yields to the loop). */
  scryptAsync(password: Uint8Array, salt: Uint8Array, params: ScryptParams, dkLen: number): Promise<Uint8Array>
  /** Cryptographically secure random bytes. */
  randomBytes(length: number): Uint8Array
}

const ENV_VAR = 'SAORSA_CRYPTO'
const instances: Partial<Record<BackendName, CryptoBackend>> = {}

function readEnv(): string | undefined {
  const env = typeof process !== 'undefined' ? process.env : undefined
  const v = env?.[ENV_VAR]
  return v === undefined || v === '' ? undefined : v
}

/** Why the native backend cannot be used here, or undefined when it can. */
export function nativeUnavailableReason(): string | undefined {
  const s = nativeSupport()
  return s.ok ? undefined : s.reason
}

/** The backends usable in this runtime, preferred first (`['native', 'noble']` on Node >= 24.7). */
export function availableBackends(): BackendName[] {
  return nativeSupport().ok ? ['native', 'noble'] : ['noble']
}

/**
 * The crypto backend `name`; without a name, the one chosen by `SAORSA_CRYPTO` (`native` | `noble`;
 * unset or empty means auto), else native when node:crypto supports ML-DSA-65 and ML-KEM-768, else noble.
 * Throws CryptoBackendError for an unknown name or an unavailable native backend.
 */
export function getBackend(name?: BackendName): CryptoBackend {
  let chosen: string
  if (name !== undefined) {
    chosen = name
  } else {
    const env = readEnv()
    if (env !== undefined && env !== 'native' && env !== 'noble') {
      throw new CryptoBackendError(`${ENV_VAR}=${JSON.stringify(env)} is not a crypto backend; use 'native' or 'noble'`)
    }
    chosen = env ?? (nativeSupport().ok ? 'native' : 'noble')
  }
  if (chosen === 'noble') return (instances.noble ??= createNobleBackend())
  if (chosen === 'native') {
    const s = nativeSupport()
    if (!s.ok) throw new CryptoBackendError(`native crypto backend unavailable: ${s.reason}`)
    return (instances.native ??= createNativeBackend(s.crypto))
  }
  throw new CryptoBackendError(`unknown crypto backend ${JSON.stringify(chosen)}; use 'native' or 'noble'`)
}

/** A backend given as an instance or a name, or the default one (see getBackend) when undefined. */
export function resolveBackend(backend?: CryptoBackend | BackendName): CryptoBackend {
  if (backend === undefined || typeof backend === 'string') return getBackend(backend)
  if (typeof backend !== 'object' || backend === null) throw new TypeError('backend must be a CryptoBackend or a backend name')
  return backend
}
