// The post-quantum channel handshake (SPEC.md §5.2–§5.3), as two pure state machines: bytes in,
// bytes out, no I/O. It runs inside an already-established outer link (libp2p QUIC or TCP+noise, or
// memory) and gives both sides
//   - the remote's ML-DSA-65 identity (PeerId), proven by a signature over the whole transcript;
//   - per-channel, per-direction ChaCha20-Poly1305 keys from an X-Wing (ML-KEM-768 + X25519) secret.
//
//   I → R  M1 = [1, 1, ephPk(1216), nonceI(32)]
//   R → I  M2 = [1, 2, ct(1120), nonceR(32), sigAlgR, pkR, sigR]
//   I → R  M3 = [1, 3, sigAlgI, pkI, sigI]
//   R → I  M4 = [1, 4, confirm(32)]
//
// The transcript also binds both outer transport identities (for libp2p: the Ed25519 PeerIds the
// outer channel authenticated), each as seen by its signer, so a relay or man in the middle that
// splices two outer sessions makes the signatures fail.
import { xwingDecapsulate, xwingEncapsulate, xwingKeygen } from '@saorsa-gossip/identity'
import type { CryptoBackend } from '@saorsa-gossip/identity'
import {
  bytesEqual,
  concatBytes,
  decodeCbor,
  encodeCbor,
  expectArray,
  expectBytes,
  expectUint,
  hkdfSha256,
  InvalidMessageError,
  peerIdFromPublicKey,
  SaorsaError,
  sha256,
  SIGNATURE_SIZES,
  signatureAlgorithmFromWire,
  SignatureAlgorithms,
  utf8,
  wipe
} from '@saorsa-gossip/types'
import type { PeerId, SignatureAlgorithm, Signer, Verifier } from '@saorsa-gossip/types'
import { CHANNELS } from './transport.js'
import type { Channel } from './transport.js'

/** Version number carried in every handshake message. */
export const HANDSHAKE_VERSION = 1
/** Largest handshake message (an SLH-DSA M2 is ~9.3 KB). */
export const MAX_HANDSHAKE_MESSAGE_BYTES = 16 * 1024
const XWING_PK = 1216
const XWING_CT = 1120
const NONCE = 32

const LABEL = {
  transcript: utf8('saorsa-gossip/handshake/v1/transcript'),
  responder: utf8('saorsa-gossip/handshake/v1/responder\0'),
  initiator: utf8('saorsa-gossip/handshake/v1/initiator\0'),
  confirm: utf8('saorsa-gossip/pq-channel/v1 confirm'),
  key: 'saorsa-gossip/pq-channel/v1 key '
}

/** Why a handshake failed; `reason` is the counted, stable name (SPEC.md §5.5). */
export class HandshakeError extends SaorsaError {
  readonly reason: string
  constructor(message: string, reason: string, options?: { cause?: unknown }) {
    super(message, 'ERR_HANDSHAKE', options)
    this.name = 'HandshakeError'
    this.reason = reason
  }
}

/** Keys for one direction of one channel. */
export interface DirectionKeys {
  send: Uint8Array
  recv: Uint8Array
}

/** What a completed handshake yields. */
export interface Session {
  remotePeer: PeerId
  remoteAlgorithm: SignatureAlgorithm
  remotePublicKey: Uint8Array
  /** Per-channel keys, already oriented for this side. */
  keys: Record<Channel, DirectionKeys>
  /** SHA-256 transcript hash of the whole handshake (a channel binding value). */
  transcriptHash: Uint8Array
}

/** What each side brings. */
export interface HandshakeParams {
  identity: Signer
  verifier: Verifier
  /** Our outer transport identity bytes (libp2p: our PeerId multihash). */
  localTransportId: Uint8Array
  /** The remote outer transport identity as the outer channel authenticated it. */
  remoteTransportId: Uint8Array
  backend?: CryptoBackend
}

const lp = (b: Uint8Array): Uint8Array => {
  const n = new Uint8Array(4)
  new DataView(n.buffer).setUint32(0, b.length)
  return concatBytes(n, b)
}

function decode(bytes: Uint8Array, type: number, len: number, what: string): unknown[] {
  if (bytes.length > MAX_HANDSHAKE_MESSAGE_BYTES) throw new HandshakeError(`${what} is ${bytes.length} bytes`, 'handshake:oversize')
  const v = field(() => decodeCbor(bytes, what))
  if (!Array.isArray(v) || v.length < 2) throw new HandshakeError(`${what} must be a CBOR array`, 'handshake:malformed')
  if (v[0] !== HANDSHAKE_VERSION) throw new HandshakeError(`${what}: unsupported version ${String(v[0])}`, 'handshake:version')
  if (v[1] !== type) throw new HandshakeError(`${what}: unexpected message type ${String(v[1])}`, 'handshake:unexpected')
  return field(() => expectArray(v, len, what))
}

function field<T>(f: () => T): T {
  try {
    return f()
  } catch (e) {
    if (e instanceof InvalidMessageError) throw new HandshakeError(e.message, 'handshake:malformed', { cause: e })
    throw e
  }
}

function readIdentity(algV: unknown, pkV: unknown, sigV: unknown): { alg: SignatureAlgorithm; pk: Uint8Array; sig: Uint8Array } {
  return field(() => {
    const n = expectUint(algV, 'sigAlg', 255)
    const alg = signatureAlgorithmFromWire(n)
    if (alg === undefined) throw new HandshakeError(`unknown signature algorithm ${n}`, 'handshake:malformed')
    const sizes = SIGNATURE_SIZES[alg]
    return { alg, pk: expectBytes(pkV, 'publicKey', sizes.publicKey), sig: expectBytes(sigV, 'signature', sizes.signature) }
  })
}

/**
 * The structural checks of each handshake message (SPEC.md §5.2): strict CBOR, version, type, every
 * field's type and length. `HandshakeInitiator` / `HandshakeResponder` run exactly these first, before
 * any state or cryptography; exported so the fuzz harness can drive them on their own. Throw only
 * HandshakeError.
 */
export function parseHandshakeM1(bytes: Uint8Array): { ephemeralKey: Uint8Array; nonce: Uint8Array } {
  const v = decode(bytes, 1, 4, 'handshake M1')
  return { ephemeralKey: field(() => expectBytes(v[2], 'ephemeralKey', XWING_PK)), nonce: field(() => expectBytes(v[3], 'nonceI', NONCE)) }
}

/** See parseHandshakeM1. */
export function parseHandshakeM2(bytes: Uint8Array): { ct: Uint8Array; nonceR: Uint8Array; responder: { alg: SignatureAlgorithm; pk: Uint8Array; sig: Uint8Array } } {
  const v = decode(bytes, 2, 7, 'handshake M2')
  const ct = field(() => expectBytes(v[2], 'ct', XWING_CT))
  const nonceR = field(() => expectBytes(v[3], 'nonceR', NONCE))
  return { ct, nonceR, responder: readIdentity(v[4], v[5], v[6]) }
}

/** See parseHandshakeM1. */
export function parseHandshakeM3(bytes: Uint8Array): { initiator: { alg: SignatureAlgorithm; pk: Uint8Array; sig: Uint8Array } } {
  const v = decode(bytes, 3, 5, 'handshake M3')
  return { initiator: readIdentity(v[2], v[3], v[4]) }
}

/** Transcript hash after M2 (without its signature); see SPEC.md §5.3. */
function transcript2(m1: Uint8Array, m2Unsigned: Uint8Array, initiatorTid: Uint8Array, responderTid: Uint8Array): Uint8Array {
  return sha256(concatBytes(LABEL.transcript, lp(m1), lp(m2Unsigned), lp(initiatorTid), lp(responderTid)))
}

function transcript3(th2: Uint8Array, sigR: Uint8Array, m3Unsigned: Uint8Array): Uint8Array {
  return sha256(concatBytes(th2, lp(sigR), lp(m3Unsigned)))
}

/** Derives the confirmation value and the six channel keys from the X-Wing secret and transcript. */
function schedule(ss: Uint8Array, th3: Uint8Array, isInitiator: boolean): { confirm: Uint8Array; keys: Record<Channel, DirectionKeys> } {
  const confirm = hkdfSha256(ss, th3, LABEL.confirm, 32)
  const keys = {} as Record<Channel, DirectionKeys>
  for (const c of CHANNELS) {
    const i2r = hkdfSha256(ss, th3, utf8(`${LABEL.key}i2r ${c}`), 32)
    const r2i = hkdfSha256(ss, th3, utf8(`${LABEL.key}r2i ${c}`), 32)
    keys[c] = isInitiator ? { send: i2r, recv: r2i } : { send: r2i, recv: i2r }
  }
  return { confirm, keys }
}

function checkSigner(params: HandshakeParams): void {
  const id = params.identity
  if (peerIdFromPublicKey(id.publicKey, id.algorithm) !== id.peerId) throw new RangeError('identity public key does not match its PeerId')
}

/** The dialing side. Call `start()`, then `onM2()`, then `onM4()`. */
export class HandshakeInitiator {
  readonly #p: HandshakeParams
  readonly #expected: PeerId | undefined
  #state: 'new' | 'sent-m1' | 'sent-m3' | 'done' | 'failed' = 'new'
  #eph: { publicKey: Uint8Array; secretKey: Uint8Array } | undefined
  #m1: Uint8Array | undefined
  #pending: { ss: Uint8Array; th3: Uint8Array; remote: { alg: SignatureAlgorithm; pk: Uint8Array; peer: PeerId } } | undefined

  constructor(params: HandshakeParams, expectedPeer?: PeerId) {
    checkSigner(params)
    this.#p = params
    this.#expected = expectedPeer
  }

  /** M1: our ephemeral X-Wing public key and a fresh nonce. */
  start(): Uint8Array {
    if (this.#state !== 'new') throw new Error('handshake already started')
    this.#eph = xwingKeygen(undefined, this.#p.backend)
    const nonce = globalThis.crypto.getRandomValues(new Uint8Array(NONCE))
    this.#m1 = encodeCbor([HANDSHAKE_VERSION, 1, this.#eph.publicKey, nonce])
    this.#state = 'sent-m1'
    return this.#m1
  }

  /** Verifies the responder's identity and signature; returns M3. Throws HandshakeError. */
  onM2(bytes: Uint8Array): Uint8Array {
    if (this.#state !== 'sent-m1' || this.#eph === undefined || this.#m1 === undefined) throw new HandshakeError('M2 out of order', 'handshake:unexpected')
    this.#state = 'failed'
    try {
      return this.#onM2(bytes, this.#eph, this.#m1)
    } finally {
      wipe(this.#eph.secretKey) // used once, whatever the outcome
    }
  }

  #onM2(bytes: Uint8Array, eph: { publicKey: Uint8Array; secretKey: Uint8Array }, m1: Uint8Array): Uint8Array {
    const { ct, nonceR, responder: r } = parseHandshakeM2(bytes)
    const peer = peerIdFromPublicKey(r.pk, r.alg)
    if (this.#expected !== undefined && peer !== this.#expected) {
      throw new HandshakeError(`peer proved identity ${peer}, expected ${this.#expected}`, 'handshake:peer-mismatch')
    }
    const m2Unsigned = encodeCbor([HANDSHAKE_VERSION, 2, ct, nonceR, SignatureAlgorithms[r.alg], r.pk])
    const th2 = transcript2(m1, m2Unsigned, this.#p.localTransportId, this.#p.remoteTransportId)
    if (!this.#p.verifier.verify(r.alg, r.pk, concatBytes(LABEL.responder, th2), r.sig)) {
      throw new HandshakeError('responder transcript signature does not verify', 'handshake:bad-signature')
    }
    let ss: Uint8Array
    try {
      ss = xwingDecapsulate(ct, eph.secretKey, this.#p.backend)
    } catch (e) {
      throw new HandshakeError('X-Wing decapsulation failed', 'handshake:kem', { cause: e })
    }
    const me = this.#p.identity
    const m3Unsigned = encodeCbor([HANDSHAKE_VERSION, 3, SignatureAlgorithms[me.algorithm], me.publicKey])
    const th3 = transcript3(th2, r.sig, m3Unsigned)
    const sigI = me.sign(concatBytes(LABEL.initiator, th3))
    this.#pending = { ss, th3, remote: { alg: r.alg, pk: r.pk, peer } }
    this.#state = 'sent-m3'
    return encodeCbor([HANDSHAKE_VERSION, 3, SignatureAlgorithms[me.algorithm], me.publicKey, sigI])
  }

  /** Checks the responder's key confirmation; returns the session. Throws HandshakeError. */
  onM4(bytes: Uint8Array): Session {
    const p = this.#pending
    if (this.#state !== 'sent-m3' || p === undefined) throw new HandshakeError('M4 out of order', 'handshake:unexpected')
    this.#state = 'failed'
    let confirm: Uint8Array
    try {
      confirm = field(() => expectBytes(decode(bytes, 4, 3, 'handshake M4')[2], 'confirm', 32))
    } catch (e) {
      wipe(p.ss)
      throw e
    }
    const s = schedule(p.ss, p.th3, true)
    wipe(p.ss)
    if (!bytesEqual(confirm, s.confirm)) {
      for (const c of CHANNELS) {
        wipe(s.keys[c].send)
        wipe(s.keys[c].recv)
      }
      throw new HandshakeError('key confirmation mismatch', 'handshake:confirm')
    }
    this.#state = 'done'
    return { remotePeer: p.remote.peer, remoteAlgorithm: p.remote.alg, remotePublicKey: p.remote.pk, keys: s.keys, transcriptHash: p.th3 }
  }
}

/** The accepting side. Call `onM1()`, then `onM3()`. */
export class HandshakeResponder {
  readonly #p: HandshakeParams
  #state: 'new' | 'sent-m2' | 'done' | 'failed' = 'new'
  #pending: { ss: Uint8Array; th2: Uint8Array; sigR: Uint8Array } | undefined

  constructor(params: HandshakeParams) {
    checkSigner(params)
    this.#p = params
  }

  /** Encapsulates to the initiator's ephemeral key and signs the transcript; returns M2. */
  onM1(bytes: Uint8Array): Uint8Array {
    if (this.#state !== 'new') throw new HandshakeError('M1 out of order', 'handshake:unexpected')
    this.#state = 'failed'
    const { ephemeralKey: ephPk } = parseHandshakeM1(bytes)
    let enc: { cipherText: Uint8Array; sharedSecret: Uint8Array }
    try {
      enc = xwingEncapsulate(ephPk, this.#p.backend)
    } catch (e) {
      throw new HandshakeError('X-Wing encapsulation failed (bad ephemeral key)', 'handshake:kem', { cause: e })
    }
    const me = this.#p.identity
    const nonceR = globalThis.crypto.getRandomValues(new Uint8Array(NONCE))
    const m2Unsigned = encodeCbor([HANDSHAKE_VERSION, 2, enc.cipherText, nonceR, SignatureAlgorithms[me.algorithm], me.publicKey])
    // The initiator's transport id first, as in the initiator's own computation.
    const th2 = transcript2(bytes, m2Unsigned, this.#p.remoteTransportId, this.#p.localTransportId)
    const sigR = me.sign(concatBytes(LABEL.responder, th2))
    this.#pending = { ss: enc.sharedSecret, th2, sigR }
    this.#state = 'sent-m2'
    return encodeCbor([HANDSHAKE_VERSION, 2, enc.cipherText, nonceR, SignatureAlgorithms[me.algorithm], me.publicKey, sigR])
  }

  /** Verifies the initiator; returns M4 and the session. Throws HandshakeError. */
  onM3(bytes: Uint8Array): { m4: Uint8Array; session: Session } {
    const p = this.#pending
    if (this.#state !== 'sent-m2' || p === undefined) throw new HandshakeError('M3 out of order', 'handshake:unexpected')
    this.#state = 'failed'
    let th3: Uint8Array
    let i: { alg: SignatureAlgorithm; pk: Uint8Array; sig: Uint8Array }
    let s: { confirm: Uint8Array; keys: Record<Channel, DirectionKeys> }
    try {
      i = parseHandshakeM3(bytes).initiator
      const m3Unsigned = encodeCbor([HANDSHAKE_VERSION, 3, SignatureAlgorithms[i.alg], i.pk])
      th3 = transcript3(p.th2, p.sigR, m3Unsigned)
      if (!this.#p.verifier.verify(i.alg, i.pk, concatBytes(LABEL.initiator, th3), i.sig)) {
        throw new HandshakeError('initiator transcript signature does not verify', 'handshake:bad-signature')
      }
      s = schedule(p.ss, th3, false)
    } finally {
      wipe(p.ss)
    }
    this.#state = 'done'
    return {
      m4: encodeCbor([HANDSHAKE_VERSION, 4, s.confirm]),
      session: { remotePeer: peerIdFromPublicKey(i.pk, i.alg), remoteAlgorithm: i.alg, remotePublicKey: i.pk, keys: s.keys, transcriptHash: th3 }
    }
  }
}
