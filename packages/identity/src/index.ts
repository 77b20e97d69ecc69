// @saorsa-gossip/identity — the only barrel of the package: ML-DSA-65 / SLH-DSA identities, X-Wing KEM,
// ChaCha20-Poly1305, the crypto backend choice (node:crypto or noble) and the encrypted file keystore.

/** Crypto backends: the interface both implementations share, and the one place that chooses between them. */
export { availableBackends, getBackend, nativeUnavailableReason, resolveBackend } from './backend.js'
/** Types of the crypto backend interface. */
export type {
  AeadScheme,
  BackendName,
  CryptoBackend,
  KemScheme,
  KeyPair,
  ScryptParams,
  SignatureScheme,
  X25519Scheme
} from './backend.js'

/** Signing identities and signature verification. */
export { Identity, createVerifier, verify } from './identity.js'
/** Options of Identity.generate and Identity.fromSeed. */
export type { IdentityOptions } from './identity.js'

/** X-Wing (ML-KEM-768 + X25519) key encapsulation. */
export { XWING_SIZES, xwingDecapsulate, xwingEncapsulate, xwingKeygen } from './kem.js'
/** Result of xwingEncapsulate. */
export type { XWingEncapsulation } from './kem.js'

/** ChaCha20-Poly1305 (RFC 8439) sealing and opening. */
export { CHACHA20POLY1305_SIZES, openChaCha20Poly1305, sealChaCha20Poly1305 } from './aead.js'
/** Options of the AEAD helpers. */
export type { AeadOptions } from './aead.js'

/** The file keystore. */
export { ALIAS_PATTERN, DEFAULT_KDF, FileKeystore, assertAlias, createKeystore } from './keystore.js'
/** Types of the keystore. */
export type {
  AbortOptions,
  BrokenKeystoreEntry,
  CreateIdentityOptions,
  Keystore,
  KeystoreEntry,
  KeystoreInit,
  LoadIdentityOptions
} from './keystore.js'
/** Keystore file format constants and the bounds enforced on a file's KDF parameters. */
export { KDF_BOUNDS, KEYSTORE_FORMAT, KEYSTORE_VERSION } from './keystore-format.js'
/** The strict parser and the writer of one identity file's bytes (what the keystore reads and writes; used by the fuzz harness). */
export { encodeFile as encodeKeystoreFile, parseFile as parseKeystoreFile } from './keystore-format.js'
export type { ParsedFile as ParsedKeystoreFile } from './keystore-format.js'
