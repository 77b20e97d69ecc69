// Byte sizes of every primitive (from the standards) and the tiny boundary checks shared by both backends.

/** Sizes in bytes of the primitives, per backend-neutral encoding. */
export const SIZES = {
  /** FIPS 204 Table 2 (ML-DSA-65): ξ 32, pk 1952, sk 4032, σ 3309. */
  mldsa65: { seedLength: 32, publicKeyLength: 1952, secretKeyLength: 4032, signatureLength: 3309 },
  /** FIPS 205 Table 2 (SLH-DSA-SHA2-128s, n = 16): seed 3n, pk 2n, sk 4n, σ 7856. */
  slhdsa: { seedLength: 48, publicKeyLength: 32, secretKeyLength: 64, signatureLength: 7856 },
  /** X-Wing (draft-connolly-cfrg-xwing-kem §5) as in noble 0.7.1: ML-KEM-768 pk 1184 + X25519 32, ct 1088 + 32. */
  xwing: { seedLength: 32, publicKeyLength: 1216, secretKeyLength: 32, cipherTextLength: 1120, sharedSecretLength: 32 },
  /** RFC 8439 §2.8. */
  aead: { keyLength: 32, nonceLength: 12, tagLength: 16 }
} as const

/** Throws TypeError unless `v` is a Uint8Array, RangeError unless it has `len` bytes. */
export function assertLen(v: unknown, name: string, len: number): asserts v is Uint8Array {
  if (!(v instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`)
  if (v.length !== len) throw new RangeError(`${name} must be ${len} bytes, got ${v.length}`)
}

/** Throws TypeError unless `v` is a Uint8Array. */
export function assertU8(v: unknown, name: string): asserts v is Uint8Array {
  if (!(v instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`)
}

/** True when `v` is a Uint8Array of `len` bytes. */
export function isLen(v: unknown, len: number): v is Uint8Array {
  return v instanceof Uint8Array && v.length === len
}

/** Checks the AEAD key / nonce / optional AAD at the boundary. */
export function assertAeadInputs(key: unknown, nonce: unknown, data: unknown, aad: unknown): void {
  assertLen(key, 'key', 32)
  assertLen(nonce, 'nonce', 12)
  assertU8(data, 'data')
  if (aad !== undefined) assertU8(aad, 'aad')
}

/** Memory scrypt needs (RFC 7914 §2: V is 128·r·N bytes, B is 128·r·p), plus slack for the allocator. */
export function scryptMaxmem(N: number, r: number, p: number): number {
  return 128 * r * (N + p + 2) + 16 * 1024 * 1024
}
