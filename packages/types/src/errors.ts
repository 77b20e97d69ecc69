// Error classes shared by every package. Each failure has its own class with a stable `name` and
// `code`, so callers can branch on them without string matching. Wrong type → TypeError, wrong value →
// RangeError (the built-ins); everything specific to Saorsa Gossip derives from SaorsaError.

/** Base class of every Saorsa Gossip error. */
export class SaorsaError extends Error {
  /** Stable machine-readable code, e.g. `ERR_INVALID_MESSAGE`. */
  readonly code: string
  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'SaorsaError'
    this.code = code
  }
}

/** Bytes from a peer (or a file) that do not decode to a valid message. Counted against the sender. */
export class InvalidMessageError extends SaorsaError {
  /** Which rule was broken, e.g. `field:topic`, `size`, `cbor`, `canonical`, `version`. */
  readonly reason: string
  constructor(message: string, reason: string, options?: { cause?: unknown }) {
    super(message, 'ERR_INVALID_MESSAGE', options)
    this.name = 'InvalidMessageError'
    this.reason = reason
  }
}

/** A signature that does not verify, or a signer key that does not match the claimed PeerId. */
export class InvalidSignatureError extends SaorsaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_INVALID_SIGNATURE', options)
    this.name = 'InvalidSignatureError'
  }
}

/** A message whose signer key is neither carried in it nor known locally. */
export class UnknownSignerError extends SaorsaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_UNKNOWN_SIGNER', options)
    this.name = 'UnknownSignerError'
  }
}

/** A value larger than a protocol limit (frame, payload, list length). */
export class LimitExceededError extends SaorsaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_LIMIT_EXCEEDED', options)
    this.name = 'LimitExceededError'
  }
}

/** A keystore file that is missing, unreadable, corrupt, foreign or locked with another passphrase. */
export class KeystoreError extends SaorsaError {
  /** The file concerned, when there is one. */
  readonly path: string | undefined
  constructor(message: string, code: KeystoreErrorCode, path?: string, options?: { cause?: unknown }) {
    super(message, code, options)
    this.name = 'KeystoreError'
    this.path = path
  }
}

/** The codes a KeystoreError carries. */
export type KeystoreErrorCode =
  | 'ERR_IDENTITY_EXISTS'
  | 'ERR_IDENTITY_NOT_FOUND'
  | 'ERR_KEYSTORE_CORRUPT'
  | 'ERR_KEYSTORE_FOREIGN'
  | 'ERR_KEYSTORE_VERSION'
  | 'ERR_WRONG_PASSPHRASE'
  | 'ERR_PASSPHRASE_REQUIRED'
  | 'ERR_INVALID_ALIAS'
  | 'ERR_KEYSTORE_IO'

/** A crypto backend that cannot do what was asked (e.g. `SAORSA_CRYPTO=native` on a Node without ML-DSA). */
export class CryptoBackendError extends SaorsaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_CRYPTO_BACKEND', options)
    this.name = 'CryptoBackendError'
  }
}

/** An operation cancelled through its AbortSignal. */
export class AbortError extends SaorsaError {
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, 'ABORT_ERR', options)
    this.name = 'AbortError'
  }
}
