// X-Wing hybrid KEM helpers (ML-KEM-768 FIPS 203 + X25519 RFC 7748, draft-connolly-cfrg-xwing-kem),
// byte-compatible with @noble/post-quantum 0.7.1 `ml_kem768_x25519` in both backends. The transport
// handshake uses these to agree a key that stays secret unless both ML-KEM-768 and X25519 are broken.
import { resolveBackend } from './backend.js'
import type { BackendName, CryptoBackend, KeyPair } from './backend.js'
import { assertLen, SIZES } from './sizes.js'

/** X-Wing sizes in bytes: seed 32, publicKey 1216, secretKey 32 (the seed), cipherText 1120, sharedSecret 32. */
export const XWING_SIZES = {
  seed: SIZES.xwing.seedLength,
  publicKey: SIZES.xwing.publicKeyLength,
  secretKey: SIZES.xwing.secretKeyLength,
  cipherText: SIZES.xwing.cipherTextLength,
  sharedSecret: SIZES.xwing.sharedSecretLength
} as const

/** Result of xwingEncapsulate. */
export interface XWingEncapsulation {
  /** Send this to the key owner (1120 bytes). */
  cipherText: Uint8Array
  /** The agreed 32-byte secret. Secret: wipe when done. */
  sharedSecret: Uint8Array
}

/**
 * An X-Wing key pair from `seed` (32 bytes; random when omitted). The secret key is the seed itself
 * (X-Wing draft §5.2): wipe it when done.
 */
export function xwingKeygen(seed?: Uint8Array, backend?: CryptoBackend | BackendName): KeyPair {
  const b = resolveBackend(backend)
  if (seed === undefined) {
    const s = b.randomBytes(XWING_SIZES.seed)
    try {
      return b.xwing.keygen(s)
    } finally {
      s.fill(0)
    }
  }
  assertLen(seed, 'seed', XWING_SIZES.seed)
  return b.xwing.keygen(seed)
}

/** Encapsulates a fresh shared secret to `publicKey` (1216 bytes); RangeError for an invalid key (FIPS 203 §7.2). */
export function xwingEncapsulate(publicKey: Uint8Array, backend?: CryptoBackend | BackendName): XWingEncapsulation {
  assertLen(publicKey, 'publicKey', XWING_SIZES.publicKey)
  return resolveBackend(backend).xwing.encapsulate(publicKey)
}

/**
 * Recovers the shared secret from `cipherText` (1120 bytes) with `secretKey` (32 bytes). A tampered
 * ML-KEM part yields an unrelated secret (implicit rejection, FIPS 203 §6.3), not an error, so the
 * handshake must confirm the key (e.g. by an AEAD tag or a transcript signature). Throws RangeError
 * when the X25519 part is a low-order point (the X25519 result would be all zeros).
 */
export function xwingDecapsulate(cipherText: Uint8Array, secretKey: Uint8Array, backend?: CryptoBackend | BackendName): Uint8Array {
  assertLen(cipherText, 'cipherText', XWING_SIZES.cipherText)
  assertLen(secretKey, 'secretKey', XWING_SIZES.secretKey)
  return resolveBackend(backend).xwing.decapsulate(cipherText, secretKey)
}
