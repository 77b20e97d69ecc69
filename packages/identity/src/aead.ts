// ChaCha20-Poly1305 helpers (RFC 8439 §2.8): 32-byte key, 12-byte nonce, 16-byte tag appended to the
// ciphertext. Nonces must never repeat under one key; the transport uses per-direction keys and counters.
import { resolveBackend } from './backend.js'
import type { BackendName, CryptoBackend } from './backend.js'
import { assertAeadInputs } from './sizes.js'

/** ChaCha20-Poly1305 sizes in bytes. */
export const CHACHA20POLY1305_SIZES = { key: 32, nonce: 12, tag: 16 } as const

/** Options of sealChaCha20Poly1305 / openChaCha20Poly1305. */
export interface AeadOptions {
  /** Additional authenticated data (not encrypted, but bound to the tag). */
  aad?: Uint8Array
  /** Backend instance or name; default getBackend(). */
  backend?: CryptoBackend | BackendName
}

/** Encrypts and authenticates `plaintext`; returns ciphertext ‖ tag (plaintext.length + 16 bytes). */
export function sealChaCha20Poly1305(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, options: AeadOptions = {}): Uint8Array {
  assertAeadInputs(key, nonce, plaintext, options.aad)
  return resolveBackend(options.backend).aead.seal(key, nonce, plaintext, options.aad)
}

/**
 * Checks and decrypts `sealed` (ciphertext ‖ tag). Returns null when the tag does not verify (wrong key,
 * nonce or AAD, or tampered bytes); the unauthenticated plaintext is never returned.
 */
export function openChaCha20Poly1305(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, options: AeadOptions = {}): Uint8Array | null {
  assertAeadInputs(key, nonce, sealed, options.aad)
  return resolveBackend(options.backend).aead.open(key, nonce, sealed, options.aad)
}
