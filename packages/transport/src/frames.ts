// Sealed frames of the post-quantum channel (SPEC.md §5.4). Each channel stream carries, in each
// direction, frames sealed under that direction's key with an explicit 64-bit counter. One sealed
// frame carries one or more messages (a burst is sealed once, like a TLS record):
//
//   body      = counter (u64 big-endian) ‖ ChaCha20-Poly1305(key, nonce, plaintext, aad)   (tag 16 B)
//   plaintext = (u32be length ‖ message)+
//   nonce     = 0x00000000 ‖ counter                                                        (12 B)
//   aad       = counter ‖ channel number (1 B)
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
/** Bytes each message adds inside a sealed frame: its u32 length. */
export const MESSAGE_OVERHEAD_BYTES = 4
/** Most messages one sealed frame may carry. */
export const MAX_MESSAGES_PER_FRAME = 64
const MAX_COUNTER = 2n ** 64n - 1n

/** Largest sealed body for a channel whose messages are at most `maxMessageBytes`. */
export function maxFrameBodyBytes(maxMessageBytes: number): number {
  return maxMessageBytes + MESSAGE_OVERHEAD_BYTES * MAX_MESSAGES_PER_FRAME + FRAME_OVERHEAD_BYTES
}

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
  /** The sealed body of the next frame, carrying `messages` (1..64) in order. */
  seal(messages: readonly Uint8Array[]): Uint8Array {
    if (this.#counter === MAX_COUNTER) throw new FrameError('frame counter exhausted; reconnect', 'frame:counter-exhausted')
    if (messages.length === 0 || messages.length > MAX_MESSAGES_PER_FRAME) {
      throw new RangeError(`a frame carries 1..${MAX_MESSAGES_PER_FRAME} messages, got ${messages.length}`)
    }
    let n = 0
    for (const m of messages) n += MESSAGE_OVERHEAD_BYTES + m.length
    const plaintext = new Uint8Array(n)
    const dv = new DataView(plaintext.buffer)
    let o = 0
    for (const m of messages) {
      dv.setUint32(o, m.length)
      plaintext.set(m, o + MESSAGE_OVERHEAD_BYTES)
      o += MESSAGE_OVERHEAD_BYTES + m.length
    }
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
  readonly #maxMessage: number
  readonly #backend: CryptoBackend | undefined
  /** `maxMessageBytes`: the channel's limit for one message; a frame may hold up to that many bytes of
   *  messages plus their length prefixes. */
  constructor(key: Uint8Array, channel: Channel, maxMessageBytes: number, backend?: CryptoBackend) {
    this.#key = key
    this.#channel = channelNumber(channel)
    this.#maxMessage = maxMessageBytes
    this.#backend = backend
  }
  /** Largest sealed body this opener accepts (the stream reader checks length prefixes against it). */
  get maxBodyBytes(): number {
    return maxFrameBodyBytes(this.#maxMessage)
  }
  /** The messages of `body`, in order, or a FrameError. */
  open(body: Uint8Array): Uint8Array[] {
    if (body.length < FRAME_OVERHEAD_BYTES) throw new FrameError(`frame of ${body.length} bytes is shorter than its overhead`, 'frame:short')
    if (body.length > this.maxBodyBytes) throw new FrameError(`frame of ${body.length} bytes exceeds ${this.maxBodyBytes}`, 'frame:oversize')
    const counter = new DataView(body.buffer, body.byteOffset, 8).getBigUint64(0)
    if (counter < this.#next) throw new FrameError(`frame counter ${counter} already used (replay)`, 'frame:replay')
    if (counter > this.#next) throw new FrameError(`frame counter ${counter}, expected ${this.#next} (dropped or reordered)`, 'frame:reorder')
    const { nonce, aad } = nonceAndAad(counter, this.#channel)
    const pt = openChaCha20Poly1305(this.#key, nonce, body.subarray(8), this.#backend === undefined ? { aad } : { aad, backend: this.#backend })
    if (pt === null) throw new FrameError('frame failed authentication (altered or wrong key)', 'frame:auth')
    this.#next++
    // Authentic, so malformed content is the peer's own bug or malice, never an attacker's edit.
    const out: Uint8Array[] = []
    const dv = new DataView(pt.buffer, pt.byteOffset, pt.byteLength)
    let o = 0
    while (o < pt.length) {
      if (pt.length - o < MESSAGE_OVERHEAD_BYTES || out.length === MAX_MESSAGES_PER_FRAME) {
        throw new FrameError('malformed message list in frame', 'frame:malformed')
      }
      const len = dv.getUint32(o)
      o += MESSAGE_OVERHEAD_BYTES
      if (len > pt.length - o) throw new FrameError('message length runs past the frame', 'frame:malformed')
      if (len > this.#maxMessage) throw new FrameError(`message of ${len} bytes exceeds ${this.#maxMessage}`, 'frame:oversize')
      out.push(pt.subarray(o, o + len))
      o += len
    }
    if (out.length === 0) throw new FrameError('frame carries no message', 'frame:malformed')
    return out
  }
}
