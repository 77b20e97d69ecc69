// Coordinator adverts (SPEC.md §8.1): a coordinator's signed statement of who it is (its public key,
// so anyone can verify it without a prior key exchange), which roles it serves, where to dial it, its
// NAT class and a validity window. The signature covers a domain tag and the exact body bytes; a
// receiver checks it over the bytes it received, never over a re-encoding. The local score a receiver
// keeps for an advert is not part of it (see AdvertCache).
import {
  concatBytes,
  decodeCbor,
  encodeCbor,
  expectArray,
  expectBytes,
  expectList,
  expectText,
  expectUint,
  InvalidMessageError,
  peerIdFromPublicKey,
  SIGNATURE_SIZES,
  SignatureAlgorithms,
  signatureAlgorithmFromWire,
  utf8
} from '@saorsa-gossip/types'
import type { PeerId, SignatureAlgorithm, Signer, Verifier } from '@saorsa-gossip/types'

/** Wire version of the advert body. */
export const ADVERT_VERSION = 1
/** Domain-separation tag prefixed to the body before signing. */
export const ADVERT_SIGNING_DOMAIN = 'saorsa-gossip/coordinator-advert/v1'
/** Pub/sub topic (name) on which coordinators publish their adverts. */
export const COORDINATOR_TOPIC = 'saorsa:coordinator-adverts'

/** Services a coordinator offers; bit i of the wire `roles` field is ROLES[i]. */
export type Role = 'coordinator' | 'reflector' | 'relay' | 'rendezvous'
export const ROLES: readonly Role[] = ['coordinator', 'reflector', 'relay', 'rendezvous']

/** NAT behaviour of the coordinator: endpoint-independent / -dependent mapping, symmetric, unknown. */
export type NatClass = 'unknown' | 'eim' | 'edm' | 'symmetric'
export const NAT_CLASSES: readonly NatClass[] = ['unknown', 'eim', 'edm', 'symmetric']

/** Bounds a decoder enforces. */
export const ADVERT_LIMITS = {
  /** Address hints per advert. */
  addrs: 8,
  /** UTF-8 bytes per address hint. */
  addrBytes: 256,
  /** Longest validity window accepted (24 h). */
  maxValidityMs: 24 * 60 * 60 * 1000,
  /** Largest encoded advert (ML-DSA-65 key and signature plus 8 long addresses fit). */
  maxBytes: 16 * 1024
} as const

/** A decoded, verified advert. */
export interface CoordinatorAdvert {
  /** PeerId of `publicKey` (computed, never taken from the wire). */
  peer: PeerId
  algorithm: SignatureAlgorithm
  publicKey: Uint8Array
  roles: Role[]
  /** Address hints, e.g. multiaddrs `/ip4/203.0.113.7/udp/7000/quic-v1/p2p/12D3…`. */
  addrs: string[]
  natClass: NatClass
  /** Validity window, Unix ms. */
  notBefore: number
  notAfter: number
}

/** An advert together with its exact wire bytes (what is published, cached and forwarded). */
export interface SignedAdvert {
  advert: CoordinatorAdvert
  bytes: Uint8Array
}

/** What a coordinator states about itself. */
export interface AdvertInput {
  roles: readonly Role[]
  addrs: readonly string[]
  natClass?: NatClass
  /** Start of validity (Unix ms), normally now. */
  now: number
  /** Length of validity in ms (default 1 h, at most 24 h). */
  validityMs?: number
}

/** Default validity of an advert: one hour. */
export const DEFAULT_ADVERT_VALIDITY_MS = 60 * 60 * 1000

function rolesMask(roles: readonly Role[]): number {
  let m = 0
  for (const r of roles) {
    const i = ROLES.indexOf(r)
    if (i < 0) throw new RangeError(`unknown role ${JSON.stringify(r)}; expected one of ${ROLES.join(', ')}`)
    m |= 1 << i
  }
  return m
}

function signedBytes(body: Uint8Array): Uint8Array {
  return concatBytes(utf8(ADVERT_SIGNING_DOMAIN), body)
}

/** Builds and signs an advert. Throws RangeError on input a decoder would reject. */
export function createAdvert(input: AdvertInput, signer: Signer): SignedAdvert {
  const validity = input.validityMs ?? DEFAULT_ADVERT_VALIDITY_MS
  if (!Number.isSafeInteger(validity) || validity <= 0 || validity > ADVERT_LIMITS.maxValidityMs) {
    throw new RangeError(`advert validity must be 1..${ADVERT_LIMITS.maxValidityMs} ms, got ${validity}`)
  }
  if (input.addrs.length > ADVERT_LIMITS.addrs) throw new RangeError(`at most ${ADVERT_LIMITS.addrs} address hints, got ${input.addrs.length}`)
  for (const a of input.addrs) {
    if (utf8(a).length > ADVERT_LIMITS.addrBytes) throw new RangeError(`address hint longer than ${ADVERT_LIMITS.addrBytes} bytes: ${a}`)
  }
  const natClass = input.natClass ?? 'unknown'
  const nat = NAT_CLASSES.indexOf(natClass)
  if (nat < 0) throw new RangeError(`unknown NAT class ${JSON.stringify(natClass)}`)
  const notBefore = Math.floor(input.now)
  const notAfter = notBefore + validity
  const roles = [...new Set(input.roles)]
  const body = encodeCbor([
    ADVERT_VERSION,
    SignatureAlgorithms[signer.algorithm],
    signer.publicKey,
    rolesMask(roles),
    [...input.addrs],
    nat,
    notBefore,
    notAfter
  ])
  const bytes = encodeCbor([body, signer.sign(signedBytes(body))])
  const advert: CoordinatorAdvert = {
    peer: signer.peerId,
    algorithm: signer.algorithm,
    publicKey: Uint8Array.from(signer.publicKey),
    roles: ROLES.filter((r) => roles.includes(r)),
    addrs: [...input.addrs],
    natClass,
    notBefore,
    notAfter
  }
  return { advert, bytes }
}

/** Options of decodeAdvert. */
export interface DecodeAdvertOptions {
  /** Current time, Unix ms: the advert must be valid now (± `maxSkewMs`). */
  now: number
  /** Tolerated clock difference for `notBefore` (default 5 minutes). */
  maxSkewMs?: number
}

/**
 * Decodes an advert, checks every field, verifies the signature over the received body bytes and
 * the validity window. Throws only InvalidMessageError, whose `reason` is stable: `field:*`,
 * `version`, `algorithm`, `signature`, `not-yet-valid`, `expired`, `validity`, `size`.
 */
export function decodeAdvert(bytes: Uint8Array, verifier: Verifier, options: DecodeAdvertOptions): SignedAdvert {
  if (bytes.length > ADVERT_LIMITS.maxBytes) throw new InvalidMessageError(`advert of ${bytes.length} bytes exceeds ${ADVERT_LIMITS.maxBytes}`, 'size')
  const outer = expectArray(decodeCbor(bytes, 'coordinator advert'), 2, 'advert')
  const body = expectBytes(outer[0], 'advert.body', { max: ADVERT_LIMITS.maxBytes })
  const f = expectArray(decodeCbor(body, 'advert body'), 8, 'advert.body')
  if (f[0] !== ADVERT_VERSION) throw new InvalidMessageError(`unsupported advert version ${String(f[0])}`, 'version')
  const algorithm = signatureAlgorithmFromWire(expectUint(f[1], 'advert.algorithm', 255))
  if (algorithm === undefined) throw new InvalidMessageError('unknown advert signature algorithm', 'algorithm')
  const sizes = SIGNATURE_SIZES[algorithm]
  const publicKey = expectBytes(f[2], 'advert.publicKey', sizes.publicKey)
  const mask = expectUint(f[3], 'advert.roles', (1 << ROLES.length) - 1)
  const addrs = expectList(f[4], ADVERT_LIMITS.addrs, 'advert.addrs').map((a, i) => expectText(a, `advert.addrs[${i}]`, ADVERT_LIMITS.addrBytes))
  const natClass = NAT_CLASSES[expectUint(f[5], 'advert.natClass', NAT_CLASSES.length - 1)] as NatClass
  const notBefore = expectUint(f[6], 'advert.notBefore')
  const notAfter = expectUint(f[7], 'advert.notAfter')
  const signature = expectBytes(outer[1], 'advert.signature', sizes.signature)
  if (notAfter <= notBefore || notAfter - notBefore > ADVERT_LIMITS.maxValidityMs) {
    throw new InvalidMessageError(`advert validity window ${notBefore}..${notAfter} is empty or longer than 24 h`, 'validity')
  }
  if (!verifier.verify(algorithm, publicKey, signedBytes(body), signature)) {
    throw new InvalidMessageError('advert signature does not verify', 'signature')
  }
  const skew = options.maxSkewMs ?? 5 * 60 * 1000
  if (notBefore > options.now + skew) throw new InvalidMessageError('advert is not valid yet', 'not-yet-valid')
  if (notAfter <= options.now) throw new InvalidMessageError('advert has expired', 'expired')
  const advert: CoordinatorAdvert = {
    peer: peerIdFromPublicKey(publicKey, algorithm),
    algorithm,
    publicKey,
    roles: ROLES.filter((_, i) => (mask & (1 << i)) !== 0),
    addrs,
    natClass,
    notBefore,
    notAfter
  }
  return { advert, bytes }
}
