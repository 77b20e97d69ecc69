// The node:crypto backend (OpenSSL 3.5 under Node >= 24.7). node:crypto is reached through
// process.getBuiltinModule (Node >= 22.3), never a static import, so this module stays importable in
// browsers and other runtimes, where nativeSupport() simply reports it unavailable.
//
// Keys cross into OpenSSL as DER: PKCS#8 OneAsymmetricKey (RFC 5958) and SPKI (RFC 5280), with the
// seed-only private key forms of draft-ietf-lamps-dilithium-certificates (ML-DSA: [0] IMPLICIT OCTET
// STRING (32) ξ) and draft-ietf-lamps-kyber-certificates (ML-KEM: [0] IMPLICIT OCTET STRING (64) d ‖ z).
// Both import paths exist since ML-DSA/ML-KEM landed in Node, unlike the newer 'raw-seed' key format.
import type * as NodeCrypto from 'node:crypto'
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js'
import { slh_dsa_sha2_128s } from '@noble/post-quantum/slh-dsa.js'
import { CryptoBackendError } from '@saorsa-gossip/types'
import type { AeadScheme, CryptoBackend, KemScheme, KeyPair, SignatureScheme, X25519Scheme } from './backend.js'
import { createNobleBackend } from './backend-noble.js'
import { assertAeadInputs, assertLen, assertU8, isLen, scryptMaxmem, SIZES } from './sizes.js'

type Crypto = typeof NodeCrypto
type KeyObject = NodeCrypto.KeyObject

const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16))
// DER prefixes (everything before the raw key bytes). OIDs: id-ml-dsa-65 2.16.840.1.101.3.4.3.18,
// id-slh-dsa-sha2-128s 2.16.840.1.101.3.4.3.20, id-alg-ml-kem-768 2.16.840.1.101.3.4.4.2, X25519 1.3.101.110.
const DER = {
  mldsaSeed: hex('3034020100300b060960864801650304031204228020'),
  mldsaExpanded: hex('30820fd8020100300b06096086480165030403120482' + '0fc404820fc0'),
  mldsaSpki: hex('308207b2300b0609608648016503040312038207a100'),
  slhPkcs8: hex('3052020100300b0609608648016503040314044' + '0'),
  slhSpki: hex('3030300b0609608648016503040314032100'),
  mlkemSeed: hex('3054020100300b0609608648016503040402044280' + '40'),
  mlkemSpki: hex('308204b2300b0609608648016503040402038204a100'),
  x25519Pkcs8: hex('302e020100300506032b656e04220420'),
  x25519Spki: hex('302a300506032b656e032100')
}
// The combiner label of X-Wing ("\.//^\", draft-connolly-cfrg-xwing-kem §5.3), as noble 0.7.1 uses it.
const XWING_LABEL = hex('5c2e2f2f5e5c')

const der = (prefix: Uint8Array, raw: Uint8Array): Uint8Array => {
  const out = new Uint8Array(prefix.length + raw.length)
  out.set(prefix, 0)
  out.set(raw, prefix.length)
  return out
}
/** Imports a private key from DER `prefix ‖ raw`, wiping the DER copy afterwards. */
const importPrivate = (c: Crypto, prefix: Uint8Array, raw: Uint8Array): KeyObject => {
  const d = der(prefix, raw)
  try {
    return c.createPrivateKey({ key: Buffer.from(d.buffer, d.byteOffset, d.length), format: 'der', type: 'pkcs8' })
  } finally {
    d.fill(0)
  }
}
const importPublic = (c: Crypto, prefix: Uint8Array, raw: Uint8Array): KeyObject => {
  const d = der(prefix, raw)
  return c.createPublicKey({ key: Buffer.from(d.buffer, d.byteOffset, d.length), format: 'der', type: 'spki' })
}
/** A plain Uint8Array view of a Buffer (Buffers compare unequal to Uint8Arrays in some test libraries). */
const u8 = (b: Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength)

/** Result of the one-time feature detection. */
export type NativeSupport = { ok: true; crypto: Crypto; slhdsa: boolean } | { ok: false; reason: string }
let support: NativeSupport | undefined

function loadNodeCrypto(): Crypto | undefined {
  if (typeof process === 'undefined' || typeof process.getBuiltinModule !== 'function') return undefined
  try {
    return process.getBuiltinModule('node:crypto')
  } catch {
    return undefined
  }
}

/** Detects (once) whether node:crypto can run this backend: ML-DSA-65, ML-KEM-768 and ChaCha20-Poly1305. */
export function nativeSupport(): NativeSupport {
  if (support !== undefined) return support
  const c = loadNodeCrypto()
  if (c === undefined) return (support = { ok: false, reason: 'node:crypto is not available in this runtime' })
  try {
    if (typeof c.encapsulate !== 'function') throw new Error('crypto.encapsulate is missing (ML-KEM needs Node >= 24.7)')
    const dsa = importPrivate(c, DER.mldsaSeed, new Uint8Array(32))
    if (dsa.asymmetricKeyType !== 'ml-dsa-65') throw new Error('ML-DSA-65 key import failed')
    importPrivate(c, DER.mlkemSeed, new Uint8Array(64))
    if (!c.getCiphers().includes('chacha20-poly1305')) throw new Error('chacha20-poly1305 is missing')
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e)
    return (support = { ok: false, reason: `node:crypto in Node ${process.versions.node} lacks ML-DSA-65/ML-KEM-768 (${why}); needs Node >= 24.7` })
  }
  let slhdsa = true
  try {
    importPublic(c, DER.slhSpki, new Uint8Array(32))
  } catch {
    slhdsa = false
  }
  return (support = { ok: true, crypto: c, slhdsa })
}

/** A small LRU of imported public keys: gossip verifies many messages from the same few peers. */
class KeyCache {
  readonly #map = new Map<string, KeyObject>()
  constructor(readonly max: number) {}
  get(raw: Uint8Array, make: () => KeyObject): KeyObject {
    const id = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1')
    let k = this.#map.get(id)
    if (k !== undefined) {
      this.#map.delete(id)
    } else {
      k = make()
      if (this.#map.size >= this.max) this.#map.delete(this.#map.keys().next().value as string)
    }
    this.#map.set(id, k)
    return k
  }
}

/**
 * Imported private keys per secret-key array (by identity: nothing secret becomes a Map key). Each entry
 * keeps a copy of the bytes it was made from and is rebuilt when the array was rewritten in place, so a
 * reused buffer never signs, decrypts or seals under a stale key.
 */
class SecretCache<T> {
  readonly #map = new WeakMap<Uint8Array, { bytes: Uint8Array; value: T }>()
  get(secret: Uint8Array, make: () => T): T {
    const hit = this.#map.get(secret)
    if (hit !== undefined) {
      let diff = 0
      for (let i = 0; i < secret.length; i++) diff |= (hit.bytes[i] as number) ^ (secret[i] as number)
      if (diff === 0) return hit.value
      hit.bytes.fill(0)
    }
    const value = make()
    this.#map.set(secret, { bytes: Uint8Array.from(secret), value })
    return value
  }
  set(secret: Uint8Array, value: T): void {
    this.#map.set(secret, { bytes: Uint8Array.from(secret), value })
  }
}

function spkiRaw(key: KeyObject, prefix: Uint8Array): Uint8Array {
  const d = key.export({ format: 'der', type: 'spki' })
  if (d.length <= prefix.length || !Buffer.from(prefix).equals(d.subarray(0, prefix.length))) {
    throw new CryptoBackendError('unexpected SPKI encoding from node:crypto')
  }
  return Uint8Array.from(d.subarray(prefix.length))
}

function nativeSigner(
  c: Crypto,
  sizes: (typeof SIZES)['mldsa65'] | (typeof SIZES)['slhdsa'],
  keygenRaw: (seed: Uint8Array) => KeyPair & { key?: KeyObject },
  pkcs8Prefix: Uint8Array,
  spkiPrefix: Uint8Array
): SignatureScheme {
  const priv = new SecretCache<KeyObject>()
  const pubs = new KeyCache(256)
  return {
    ...sizes,
    keygen(seed) {
      assertLen(seed, 'seed', sizes.seedLength)
      const { publicKey, secretKey, key } = keygenRaw(seed)
      if (key !== undefined) priv.set(secretKey, key)
      return { publicKey, secretKey }
    },
    sign(secretKey, message) {
      assertLen(secretKey, 'secretKey', sizes.secretKeyLength)
      assertU8(message, 'message')
      const key = priv.get(secretKey, () => importPrivate(c, pkcs8Prefix, secretKey))
      // Pure signing, empty context; OpenSSL signs hedged by default (FIPS 204 §3.4, FIPS 205 §9.2).
      return u8(c.sign(null, message, key))
    },
    verify(publicKey, message, signature) {
      if (!isLen(publicKey, sizes.publicKeyLength) || !isLen(signature, sizes.signatureLength)) return false
      if (!(message instanceof Uint8Array)) return false
      try {
        const key = pubs.get(publicKey, () => importPublic(c, spkiPrefix, publicKey))
        return c.verify(null, message, key, signature)
      } catch {
        return false
      }
    }
  }
}

function mldsaKeygen(c: Crypto, seed: Uint8Array): KeyPair & { key: KeyObject } {
  // FIPS 204 Algorithm 6 ML-DSA.KeyGen_internal(ξ) runs inside OpenSSL on the imported seed.
  const key = importPrivate(c, DER.mldsaSeed, seed)
  const publicKey = spkiRaw(c.createPublicKey(key), DER.mldsaSpki)
  // OpenSSL exports the "both" form (seed and expanded key); the expanded skEncode is its last 4032 bytes.
  const p8 = key.export({ format: 'der', type: 'pkcs8' })
  const n = SIZES.mldsa65.secretKeyLength
  let secretKey: Uint8Array
  if (p8.length > n + 4 && Buffer.from(hex('04820fc0')).equals(p8.subarray(p8.length - n - 4, p8.length - n))) {
    secretKey = Uint8Array.from(p8.subarray(p8.length - n))
  } else {
    secretKey = ml_dsa65.keygen(seed).secretKey // seed-only export configured: compute skEncode in JS
  }
  p8.fill(0)
  return { publicKey, secretKey, key }
}

function nativeXWing(c: Crypto): KemScheme {
  const S = SIZES.xwing
  interface Dk {
    mlkem: KeyObject
    x: KeyObject
    pkX: Uint8Array
  }
  const dks = new SecretCache<Dk>()
  const eks = new KeyCache(64)
  const xpubs = new KeyCache(64)
  // X-Wing key derivation as noble's combineKEMS: SHAKE256(seed, 96) = (d ‖ z) for ML-KEM-768
  // KeyGen_internal (FIPS 203 Algorithm 16) followed by the 32-byte X25519 secret key.
  const expand = (seed: Uint8Array): { dk: Dk; pkM: Uint8Array } => {
    const e = c.createHash('shake256', { outputLength: 96 }).update(seed).digest()
    const mlkem = importPrivate(c, DER.mlkemSeed, e.subarray(0, 64))
    const x = importPrivate(c, DER.x25519Pkcs8, e.subarray(64, 96))
    e.fill(0)
    const pkM = spkiRaw(c.createPublicKey(mlkem), DER.mlkemSpki)
    const pkX = spkiRaw(c.createPublicKey(x), DER.x25519Spki)
    return { dk: { mlkem, x, pkX }, pkM }
  }
  // X-Wing combiner: SHA3-256(ss_M ‖ ss_X ‖ ct_X ‖ pk_X ‖ label) (draft §5.3; noble hybrid.js).
  const combine = (ssM: Uint8Array, ssX: Uint8Array, ctX: Uint8Array, pkX: Uint8Array): Uint8Array =>
    u8(c.createHash('sha3-256').update(ssM).update(ssX).update(ctX).update(pkX).update(XWING_LABEL).digest())
  const x25519 = (privateKey: KeyObject, publicKey: KeyObject, what: string): Buffer => {
    try {
      return c.diffieHellman({ privateKey, publicKey })
    } catch (e) {
      throw new RangeError(`invalid X-Wing ${what}: X25519 gives the all-zero value (low-order point)`, { cause: e })
    }
  }
  return {
    ...S,
    keygen(seed) {
      assertLen(seed, 'seed', S.seedLength)
      const { dk, pkM } = expand(seed)
      const secretKey = Uint8Array.from(seed)
      dks.set(secretKey, dk)
      const publicKey = new Uint8Array(S.publicKeyLength)
      publicKey.set(pkM, 0)
      publicKey.set(dk.pkX, pkM.length)
      return { publicKey, secretKey }
    },
    encapsulate(publicKey) {
      assertLen(publicKey, 'publicKey', S.publicKeyLength)
      const pkM = publicKey.subarray(0, 1184)
      const pkX = publicKey.subarray(1184)
      let ek: KeyObject
      let xpub: KeyObject
      try {
        // FIPS 203 §7.2 input check (ByteEncode/ByteDecode round trip) happens on import.
        ek = eks.get(pkM, () => importPublic(c, DER.mlkemSpki, pkM))
        xpub = xpubs.get(pkX, () => importPublic(c, DER.x25519Spki, pkX))
      } catch (e) {
        throw new RangeError('invalid X-Wing public key', { cause: e })
      }
      const { sharedKey, ciphertext } = c.encapsulate(ek) // FIPS 203 Algorithm 20 ML-KEM.Encaps
      const eph = c.generateKeyPairSync('x25519')
      const ctX = spkiRaw(eph.publicKey, DER.x25519Spki)
      const ssX = x25519(eph.privateKey, xpub, 'public key')
      const cipherText = new Uint8Array(S.cipherTextLength)
      cipherText.set(ciphertext, 0)
      cipherText.set(ctX, 1088)
      const sharedSecret = combine(sharedKey, ssX, ctX, pkX)
      sharedKey.fill(0)
      ssX.fill(0)
      return { cipherText, sharedSecret }
    },
    decapsulate(cipherText, secretKey) {
      assertLen(cipherText, 'cipherText', S.cipherTextLength)
      assertLen(secretKey, 'secretKey', S.secretKeyLength)
      const dk = dks.get(secretKey, () => expand(secretKey).dk)
      const ctX = cipherText.subarray(1088)
      // FIPS 203 Algorithm 21 ML-KEM.Decaps: implicit rejection, never fails on a well-sized ciphertext.
      const ssM = c.decapsulate(dk.mlkem, cipherText.subarray(0, 1088))
      const ssX = x25519(dk.x, importPublic(c, DER.x25519Spki, ctX), 'ciphertext')
      const ss = combine(ssM, ssX, ctX, dk.pkX)
      ssM.fill(0)
      ssX.fill(0)
      return ss
    }
  }
}

function nativeAead(c: Crypto): AeadScheme {
  const opts = { authTagLength: 16 } as const
  // createCipheriv with raw key bytes costs ~3x more than with a secret KeyObject (measured: 1 KiB seal
  // 24 µs vs 7 µs), so keep one KeyObject per key array (see SecretCache).
  const keys = new SecretCache<KeyObject>()
  const keyOf = (k: Uint8Array): KeyObject => keys.get(k, () => c.createSecretKey(k))
  return {
    keyLength: 32,
    nonceLength: 12,
    tagLength: 16,
    // RFC 8439 §2.8 AEAD_CHACHA20_POLY1305. Ciphertext and tag are written into one preallocated array
    // (Buffer.concat of the two measured 4x slower on 64 KiB frames).
    seal(key, nonce, plaintext, aad) {
      assertAeadInputs(key, nonce, plaintext, aad)
      const ci = c.createCipheriv('chacha20-poly1305', keyOf(key), nonce, opts)
      if (aad !== undefined) ci.setAAD(aad, { plaintextLength: plaintext.length })
      const out = new Uint8Array(plaintext.length + 16)
      const ct = ci.update(plaintext)
      out.set(ct, 0)
      const tail = ci.final()
      if (tail.length !== 0) out.set(tail, ct.length)
      out.set(ci.getAuthTag(), plaintext.length)
      return out
    },
    open(key, nonce, sealed, aad) {
      assertAeadInputs(key, nonce, sealed, aad)
      if (sealed.length < 16) return null
      const n = sealed.length - 16
      const de = c.createDecipheriv('chacha20-poly1305', keyOf(key), nonce, opts)
      de.setAuthTag(sealed.subarray(n))
      if (aad !== undefined) de.setAAD(aad, { plaintextLength: n })
      const pt = de.update(sealed.subarray(0, n))
      try {
        de.final()
      } catch {
        pt.fill(0) // never release unauthenticated plaintext
        return null
      }
      return u8(pt)
    }
  }
}

function nativeX25519(c: Crypto): X25519Scheme {
  return {
    keygen(seed) {
      assertLen(seed, 'seed', 32)
      const k = importPrivate(c, DER.x25519Pkcs8, seed)
      return { secretKey: Uint8Array.from(seed), publicKey: spkiRaw(c.createPublicKey(k), DER.x25519Spki) }
    },
    sharedSecret(secretKey, publicKey) {
      assertLen(secretKey, 'secretKey', 32)
      assertLen(publicKey, 'publicKey', 32)
      const privateKey = importPrivate(c, DER.x25519Pkcs8, secretKey)
      const pub = importPublic(c, DER.x25519Spki, publicKey)
      try {
        return u8(c.diffieHellman({ privateKey, publicKey: pub }))
      } catch (e) {
        throw new RangeError('X25519 gives the all-zero value (low-order public key)', { cause: e })
      }
    }
  }
}

/** Builds the native backend over a node:crypto that passed nativeSupport(). */
export function createNativeBackend(c: Crypto): CryptoBackend {
  const slhSupported = support?.ok === true && support.slhdsa
  const noble = createNobleBackend()
  const scryptOpts = (N: number, r: number, p: number) => ({ N, r, p, maxmem: scryptMaxmem(N, r, p) })
  return {
    name: 'native',
    mldsa65: nativeSigner(c, SIZES.mldsa65, (seed) => mldsaKeygen(c, seed), DER.mldsaExpanded, DER.mldsaSpki),
    // SLH-DSA: OpenSSL cannot import a FIPS 205 seed (SK.seed ‖ SK.prf ‖ PK.seed) without PK.root, so key
    // generation (slh_keygen_internal, FIPS 205 Algorithm 18) runs in noble; signing and verification
    // import the 64-byte secret key (SK.seed ‖ SK.prf ‖ PK.seed ‖ PK.root) and run in OpenSSL.
    slhdsa: slhSupported
      ? nativeSigner(c, SIZES.slhdsa, (seed) => slh_dsa_sha2_128s.keygen(seed), DER.slhPkcs8, DER.slhSpki)
      : noble.slhdsa,
    xwing: nativeXWing(c),
    aead: nativeAead(c),
    x25519: nativeX25519(c),
    scrypt(password, salt, { N, r, p }, dkLen) {
      return u8(c.scryptSync(password, salt, dkLen, scryptOpts(N, r, p)))
    },
    scryptAsync(password, salt, { N, r, p }, dkLen) {
      return new Promise((resolve, reject) => {
        c.scrypt(password, salt, dkLen, scryptOpts(N, r, p), (err, key) => (err ? reject(err) : resolve(u8(key))))
      })
    },
    randomBytes(length) {
      return u8(c.randomBytes(length))
    }
  }
}
