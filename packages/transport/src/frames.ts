// Sealed frames of the post-quantum channel (SPEC.md §5.4). Each channel stream carries, in each
// direction, frames sealed under that direction's key with an explicit 64-bit counter:
//
//   body  = counter (u64 big-endian) ‖ ChaCha20-Poly1305(key, nonce, plaintext, aad)   (tag 16 B)
//   nonce = 0x00000000 ‖ counter                                                        (12 B)
//   aad   = counter ‖ channel number (1 B)
//
// The receiver accepts only counter = the next expected value, so a replayed, dropped, reordered or
// altered frame is detected; the link is then closed (the outer stream is reliable and ordered, so
// any gap is an attack, not loss). Keys are unique per (handshake, direction, channel), so a nonce
// never repeats under one key.
import { openChaCha20Poly1305, sealChaCha20Poly1305 } from '@saorsa-gossip/identity'
import type { CryptoBackend } from '@saorsa-gossip/identity'
import { SaorsaError } from '@saorsa-gossip/types'
import { channelNumber } from './transport.js'
import type { Channel } from './transport.js'

/** Bytes a sealed frame adds to its plaintext: counter (8) + tag (16). */
export const FRAME_OVERHEAD_BYTES = 24
const MAX_COUNTER = 2n ** 64n - 1n

/** A frame the channel refuses; `reason` is the counted name (`frame:*`). The link must be closed. */
export class FrameError extends SaorsaError {
  readonly reason: string
  constructor(message: string, reason: string) {
    super(message, 'ERR_FRAME')
    this.name = 'FrameError'
    this.reason = reason
  }
}

function nonceAndAad(counter: bigint, channel: number): { nonce: Uint8Array; aad: Uint8Array } {
  const nonce = new Uint8Array(12)
  new DataView(nonce.buffer).setBigUint64(4, counter)
  const aad = new Uint8Array(9)
  aad.set(nonce.subarray(4), 0)
  aad[8] = channel
  return { nonce, aad }
}

/** Seals outgoing frames of one channel in one direction. */
export class FrameSealer {
  #counter = 0n
  readonly #key: Uint8Array
  readonly #channel: number
  readonly #backend: CryptoBackend | undefined
  constructor(key: Uint8Array, channel: Channel, backend?: CryptoBackend) {
    this.#key = key
    this.#channel = channelNumber(channel)
    this.#backend = backend
  }
  /** The sealed body of the next frame. */
  seal(plaintext: Uint8Array): Uint8Array {
    if (this.#counter === MAX_COUNTER) throw new FrameError('frame counter exhausted; reconnect', 'frame:counter-exhausted')
    const { nonce, aad } = nonceAndAad(this.#counter, this.#channel)
    const sealed = sealChaCha20Poly1305(this.#key, nonce, plaintext, this.#backend === undefined ? { aad } : { aad, backend: this.#backend })
    const out = new Uint8Array(8 + sealed.length)
    out.set(aad.subarray(0, 8), 0)
    out.set(sealed, 8)
    this.#counter++
    return out
  }
}

/** Opens incoming frames of one channel in one direction, enforcing order and size. */
export class FrameOpener {
  #next = 0n
  readonly #key: Uint8Array
  readonly #channel: number
  readonly #maxPlaintext: number
  readonly #backend: CryptoBackend | undefined
  constructor(key: Uint8Array, channel: Channel, maxPlaintext: number, backend?: CryptoBackend) {
    this.#key = key
    this.#channel = channelNumber(channel)
    this.#maxPlaintext = maxPlaintext
    this.#backend = backend
  }
  /** Largest sealed body this opener accepts (the stream reader checks length prefixes against it). */
  get maxBodyBytes(): number {
    return this.#maxPlaintext + FRAME_OVERHEAD_BYTES
  }
  /** The plaintext of `body`, or a FrameError. */
  open(body: Uint8Array): Uint8Array {
    if (body.length < FRAME_OVERHEAD_BYTES) throw new FrameError(`frame of ${body.length} bytes is shorter than its overhead`, 'frame:short')
    if (body.length > this.maxBodyBytes) throw new FrameError(`frame of ${body.length} bytes exceeds ${this.maxBodyBytes}`, 'frame:oversize')
    const counter = new DataView(body.buffer, body.byteOffset, 8).getBigUint64(0)
    if (counter < this.#next) throw new FrameError(`frame counter ${counter} already used (replay)`, 'frame:replay')
    if (counter > this.#next) throw new FrameError(`frame counter ${counter}, expected ${this.#next} (dropped or reordered)`, 'frame:reorder')
    const { nonce, aad } = nonceAndAad(counter, this.#channel)
    const pt = openChaCha20Poly1305(this.#key, nonce, body.subarray(8), this.#backend === undefined ? { aad } : { aad, backend: this.#backend })
    if (pt === null) throw new FrameError('frame failed authentication (altered or wrong key)', 'frame:auth')
    this.#next++
    return pt
  }
}
