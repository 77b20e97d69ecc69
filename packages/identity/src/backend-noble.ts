// The pure-JavaScript backend: @noble/post-quantum (FIPS 203/204/205, X-Wing), @noble/ciphers
// (ChaCha20-Poly1305, RFC 8439), @noble/curves (X25519, RFC 7748), @noble/hashes (scrypt, RFC 7914).
// Works in any JavaScript runtime; also the reference the native backend is tested against.
import { chacha20poly1305 } from '@noble/ciphers/chacha.js'
import { x25519 } from '@noble/curves/ed25519.js'
import { scrypt, scryptAsync } from '@noble/hashes/scrypt.js'
import { randomBytes } from '@noble/hashes/utils.js'
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js'
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js'
import { slh_dsa_sha2_128s } from '@noble/post-quantum/slh-dsa.js'
import type { AeadScheme, CryptoBackend, KemScheme, ScryptParams, SignatureScheme, X25519Scheme } from './backend.js'
import { assertAeadInputs, assertLen, isLen, scryptMaxmem, SIZES } from './sizes.js'

interface NobleSigner {
  keygen(seed?: Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array }
  sign(msg: Uint8Array, secretKey: Uint8Array): Uint8Array
  verify(sig: Uint8Array, msg: Uint8Array, publicKey: Uint8Array): boolean
}

function nobleSigner(impl: NobleSigner, sizes: (typeof SIZES)['mldsa65'] | (typeof SIZES)['slhdsa']): SignatureScheme {
  return {
    ...sizes,
    keygen(seed) {
      assertLen(seed, 'seed', sizes.seedLength)
      return impl.keygen(seed)
    },
    // No options: pure signature, empty context (FIPS 204 §5.2 / FIPS 205 §10.2), and noble's default
    // hedged mode (fresh rnd / opt_rand from the system RNG on every call).
    sign(secretKey, message) {
      assertLen(secretKey, 'secretKey', sizes.secretKeyLength)
      if (!(message instanceof Uint8Array)) throw new TypeError('message must be a Uint8Array')
      return impl.sign(message, secretKey)
    },
    verify(publicKey, message, signature) {
      if (!isLen(publicKey, sizes.publicKeyLength) || !isLen(signature, sizes.signatureLength)) return false
      if (!(message instanceof Uint8Array)) return false
      try {
        return impl.verify(signature, message, publicKey) === true
      } catch {
        return false
      }
    }
  }
}

const xwing: KemScheme = {
  ...SIZES.xwing,
  keygen(seed) {
    assertLen(seed, 'seed', SIZES.xwing.seedLength)
    return ml_kem768_x25519.keygen(seed)
  },
  encapsulate(publicKey) {
    assertLen(publicKey, 'publicKey', SIZES.xwing.publicKeyLength)
    try {
      return ml_kem768_x25519.encapsulate(publicKey)
    } catch (e) {
      // FIPS 203 §7.2 encapsulation-key check, or an X25519 low-order point
      throw new RangeError('invalid X-Wing public key', { cause: e })
    }
  },
  decapsulate(cipherText, secretKey) {
    assertLen(cipherText, 'cipherText', SIZES.xwing.cipherTextLength)
    assertLen(secretKey, 'secretKey', SIZES.xwing.secretKeyLength)
    try {
      return ml_kem768_x25519.decapsulate(cipherText, secretKey)
    } catch (e) {
      throw new RangeError('invalid X-Wing ciphertext: X25519 gives the all-zero value (low-order point)', { cause: e })
    }
  }
}

const aead: AeadScheme = {
  keyLength: 32,
  nonceLength: 12,
  tagLength: 16,
  seal(key, nonce, plaintext, aad) {
    assertAeadInputs(key, nonce, plaintext, aad)
    return chacha20poly1305(key, nonce, aad).encrypt(plaintext)
  },
  open(key, nonce, sealed, aad) {
    assertAeadInputs(key, nonce, sealed, aad)
    if (sealed.length < 16) return null
    try {
      return chacha20poly1305(key, nonce, aad).decrypt(sealed)
    } catch {
      return null // tag mismatch (RFC 8439 §2.8: the plaintext is not released)
    }
  }
}

const x25519Scheme: X25519Scheme = {
  keygen(seed) {
    assertLen(seed, 'seed', 32)
    return { secretKey: Uint8Array.from(seed), publicKey: x25519.getPublicKey(seed) }
  },
  sharedSecret(secretKey, publicKey) {
    assertLen(secretKey, 'secretKey', 32)
    assertLen(publicKey, 'publicKey', 32)
    try {
      return x25519.getSharedSecret(secretKey, publicKey)
    } catch (e) {
      throw new RangeError('X25519 gives the all-zero value (low-order public key)', { cause: e })
    }
  }
}

/** Builds the noble backend (stateless; one shared instance is kept by getBackend). */
export function createNobleBackend(): CryptoBackend {
  return {
    name: 'noble',
    mldsa65: nobleSigner(ml_dsa65, SIZES.mldsa65),
    slhdsa: nobleSigner(slh_dsa_sha2_128s, SIZES.slhdsa),
    xwing,
    aead,
    x25519: x25519Scheme,
    scrypt(password: Uint8Array, salt: Uint8Array, { N, r, p }: ScryptParams, dkLen: number) {
      return scrypt(password, salt, { N, r, p, dkLen, maxmem: scryptMaxmem(N, r, p) })
    },
    scryptAsync(password: Uint8Array, salt: Uint8Array, { N, r, p }: ScryptParams, dkLen: number) {
      return scryptAsync(password, salt, { N, r, p, dkLen, maxmem: scryptMaxmem(N, r, p), asyncTick: 10 })
    },
    randomBytes(length: number) {
      return randomBytes(length)
    }
  }
}
