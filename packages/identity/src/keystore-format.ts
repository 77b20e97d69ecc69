// Keystore file format v1: parsing (strict, every field checked) and encoding. Documented exactly in
// README.md, "Keystore file format v1". Passphrase protection: scrypt (RFC 7914) → ChaCha20-Poly1305
// (RFC 8439) over the seed, with the public fields bound as additional data.
import { KeystoreError, peerIdFromPublicKey, SIGNATURE_SIZES, utf8 } from '@saorsa-gossip/types'
import type { KeystoreErrorCode, PeerId, SignatureAlgorithm } from '@saorsa-gossip/types'
import type { ScryptParams } from './backend.js'
import { seedLengthOf } from './identity.js'

/** The value of the `format` field that marks our files. */
export const KEYSTORE_FORMAT = 'saorsa-gossip-identity'
/** The file format version this code writes and reads. */
export const KEYSTORE_VERSION = 1
/** Name of the encrypted secret type. */
export const ENCRYPTED_TYPE = 'scrypt-chacha20poly1305'
/** Files larger than this are not identity files (a v1 ML-DSA-65 file is about 3 KiB). */
export const MAX_FILE_BYTES = 64 * 1024

/** Bounds a file's KDF parameters must satisfy, so a hostile file cannot exhaust memory or CPU. */
export const KDF_BOUNDS = { maxN: 2 ** 22, maxR: 32, maxP: 16, maxMemory: 2 ** 30, maxWork: 2 ** 26 } as const

/** Public and secret contents of a v1 file after parsing. */
export interface ParsedFile {
  alias: string
  algorithm: SignatureAlgorithm
  createdAt: string
  peerId: PeerId
  publicKey: Uint8Array
  secret:
    | { type: 'plain'; seed: Uint8Array }
    | { type: typeof ENCRYPTED_TYPE; kdf: ScryptParams; salt: Uint8Array; nonce: Uint8Array; check: Uint8Array; ciphertext: Uint8Array }
}

/** Checks scrypt parameters against KDF_BOUNDS; returns a reason when they are out of bounds. */
export function kdfProblem(k: ScryptParams): string | undefined {
  const { N, r, p } = k
  if (![N, r, p].every((v) => Number.isSafeInteger(v) && v > 0)) return 'N, r and p must be positive integers'
  if (N < 2 || (N & (N - 1)) !== 0 || N > KDF_BOUNDS.maxN) return `N must be a power of two in [2, 2^22], got ${N}`
  if (r > KDF_BOUNDS.maxR || p > KDF_BOUNDS.maxP) return `r must be <= ${KDF_BOUNDS.maxR} and p <= ${KDF_BOUNDS.maxP}`
  if (128 * N * r > KDF_BOUNDS.maxMemory) return `128*N*r = ${128 * N * r} bytes exceeds 1 GiB`
  if (N * r * p > KDF_BOUNDS.maxWork) return `N*r*p = ${N * r * p} exceeds 2^26`
  return undefined
}

/** Strict base64 (RFC 4648 §4, padded, canonical) to bytes; undefined when malformed. */
function b64(s: unknown): Uint8Array | undefined {
  if (typeof s !== 'string' || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return undefined
  const buf = Buffer.from(s, 'base64')
  if (buf.toString('base64') !== s) return undefined
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
}

/** Bytes to padded base64. */
export function toB64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64')
}

const u32be = (n: number): Uint8Array => Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255)

/**
 * Additional data of the AEAD: for each of format, version (decimal), alias, algorithm, peerId (hex),
 * publicKey (raw bytes), in this order: u32be(length) ‖ bytes; strings as UTF-8.
 */
export function associatedData(f: { alias: string; algorithm: SignatureAlgorithm; peerId: PeerId; publicKey: Uint8Array }): Uint8Array {
  const parts = [utf8(KEYSTORE_FORMAT), utf8(String(KEYSTORE_VERSION)), utf8(f.alias), utf8(f.algorithm), utf8(f.peerId), f.publicKey]
  let n = 0
  for (const p of parts) n += 4 + p.length
  const out = new Uint8Array(n)
  let o = 0
  for (const p of parts) {
    out.set(u32be(p.length), o)
    out.set(p, o + 4)
    o += 4 + p.length
  }
  return out
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * Parses the bytes of an identity file. Throws KeystoreError naming `path`:
 * ERR_KEYSTORE_FOREIGN (not UTF-8 JSON of ours), ERR_KEYSTORE_VERSION (a version we do not read),
 * ERR_KEYSTORE_CORRUPT (ours but truncated or with a bad field).
 */
export function parseFile(bytes: Uint8Array, path: string, expectedAlias: string): ParsedFile {
  function fail(code: KeystoreErrorCode, why: string): never {
    throw new KeystoreError(`${path}: ${why}`, code, path)
  }
  function corrupt(why: string): never {
    return fail('ERR_KEYSTORE_CORRUPT', `corrupt identity file: ${why}`)
  }
  if (bytes.length === 0) corrupt('file is empty')
  if (bytes.length > MAX_FILE_BYTES) corrupt(`file is ${bytes.length} bytes, more than ${MAX_FILE_BYTES}`)
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return fail('ERR_KEYSTORE_FOREIGN', 'not a Saorsa Gossip identity file (not UTF-8 text)')
  }
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    // Our marker in unparsable text means one of our files, damaged (e.g. truncated); else foreign.
    if (text.includes(KEYSTORE_FORMAT)) corrupt('not valid JSON (truncated?)')
    return fail('ERR_KEYSTORE_FOREIGN', 'not a Saorsa Gossip identity file (not JSON)')
  }
  if (!isObj(doc) || doc.format !== KEYSTORE_FORMAT) {
    return fail('ERR_KEYSTORE_FOREIGN', `not a Saorsa Gossip identity file (no "format": "${KEYSTORE_FORMAT}")`)
  }
  if (doc.version !== KEYSTORE_VERSION) {
    if (typeof doc.version === 'number' && Number.isSafeInteger(doc.version) && doc.version > 0) {
      fail('ERR_KEYSTORE_VERSION', `identity file version ${doc.version} is not supported (this build reads version ${KEYSTORE_VERSION})`)
    }
    corrupt('bad "version"')
  }
  const { alias, algorithm, createdAt, peerId, publicKey: pkField, secret } = doc
  if (typeof alias !== 'string' || alias !== expectedAlias) corrupt(`"alias" ${JSON.stringify(alias)} does not match the file name`)
  if (algorithm !== 'ML-DSA-65' && algorithm !== 'SLH-DSA-SHA2-128s') corrupt(`unknown "algorithm" ${JSON.stringify(algorithm)}`)
  const alg = algorithm as SignatureAlgorithm
  if (typeof createdAt !== 'string' || !ISO.test(createdAt) || Number.isNaN(Date.parse(createdAt))) corrupt('bad "createdAt"')
  const publicKey = b64(pkField)
  if (publicKey === undefined || publicKey.length !== SIGNATURE_SIZES[alg].publicKey) {
    corrupt(`"publicKey" must be base64 of ${SIGNATURE_SIZES[alg].publicKey} bytes`)
  }
  const pk = publicKey as Uint8Array
  const expectedPeerId = peerIdFromPublicKey(pk, alg)
  if (peerId !== expectedPeerId) corrupt('"peerId" does not match "publicKey"')
  const seedLen = seedLengthOf(alg)
  if (!isObj(secret)) return corrupt('missing "secret"')
  const base = { alias: alias as string, algorithm: alg, createdAt: createdAt as string, peerId: expectedPeerId, publicKey: pk }
  if (secret.type === 'plain') {
    const seed = b64(secret.seed)
    if (seed === undefined || seed.length !== seedLen) corrupt(`"secret.seed" must be base64 of ${seedLen} bytes`)
    return { ...base, secret: { type: 'plain', seed: seed as Uint8Array } }
  }
  if (secret.type !== ENCRYPTED_TYPE) corrupt(`unknown "secret.type" ${JSON.stringify(secret.type)}`)
  const kdf = secret.kdf
  if (!isObj(kdf)) return corrupt('missing "secret.kdf"')
  const params = { N: kdf.N, r: kdf.r, p: kdf.p } as ScryptParams
  const problem = kdfProblem(params)
  if (problem !== undefined) corrupt(`"secret.kdf" out of bounds: ${problem}`)
  const salt = b64(kdf.salt)
  const nonce = b64(secret.nonce)
  const check = b64(secret.check)
  const ciphertext = b64(secret.ciphertext)
  if (salt === undefined || salt.length !== 16) corrupt('"secret.kdf.salt" must be base64 of 16 bytes')
  if (nonce === undefined || nonce.length !== 12) corrupt('"secret.nonce" must be base64 of 12 bytes')
  if (check === undefined || check.length !== 16) corrupt('"secret.check" must be base64 of 16 bytes')
  if (ciphertext === undefined || ciphertext.length !== seedLen + 16) corrupt(`"secret.ciphertext" must be base64 of ${seedLen + 16} bytes`)
  return {
    ...base,
    secret: {
      type: ENCRYPTED_TYPE,
      kdf: params,
      salt: salt as Uint8Array,
      nonce: nonce as Uint8Array,
      check: check as Uint8Array,
      ciphertext: ciphertext as Uint8Array
    }
  }
}

/** Serialises a v1 file (pretty JSON, trailing newline). */
export function encodeFile(f: ParsedFile): Uint8Array {
  const secret =
    f.secret.type === 'plain'
      ? { type: 'plain', seed: toB64(f.secret.seed) }
      : {
          type: ENCRYPTED_TYPE,
          kdf: { N: f.secret.kdf.N, r: f.secret.kdf.r, p: f.secret.kdf.p, salt: toB64(f.secret.salt) },
          nonce: toB64(f.secret.nonce),
          check: toB64(f.secret.check),
          ciphertext: toB64(f.secret.ciphertext)
        }
  const doc = {
    format: KEYSTORE_FORMAT,
    version: KEYSTORE_VERSION,
    alias: f.alias,
    algorithm: f.algorithm,
    createdAt: f.createdAt,
    peerId: f.peerId,
    publicKey: toB64(f.publicKey),
    secret
  }
  return utf8(JSON.stringify(doc, null, 2) + '\n')
}
