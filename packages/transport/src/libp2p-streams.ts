// Length-prefixed frames over libp2p v3 streams (and any other v3 `MessageStream`).
//
// Wire format (SPEC: transport framing): every frame is a 4-byte unsigned big-endian length L followed
// by exactly L bytes. L = 0 is a valid (empty) frame. A receiver refuses any L above its maximum
// (default MAX_FRAME_BYTES from @saorsa-gossip/types) as soon as the 4 header bytes are in, before it
// buffers or allocates the body, and the stream is then unusable (the caller should abort it).
//
// Notes on libp2p v3 streams that shaped this module (libp2p 3.3, @libp2p/utils 7.4):
// - `stream.send()` returns false once the underlying transport wants a pause; the data is queued
//   anyway, so a writer must stop and wait for the `drain` event. QUIC streams return false on
//   every send (each chunk waits for its native write), yamux when the peer's window is exhausted.
// - `stream.onDrain()` is NOT used: in @libp2p/utils 7.4.1 it caches one promise forever (it is
//   resolved on the first drain and never replaced), so after the first drain it returns an
//   already-resolved promise and the writer would spin, filling the write buffer without bound. We
//   wait on the `drain` / `close` events instead (checked in test/libp2p-node.test.ts).
// - Inbound chunks are `Uint8Array | Uint8ArrayList` with no relation to frame boundaries.
// - The stream's own async iterator buffers without limit when the consumer is slow. The reader
//   here keeps at most about `highWaterMark` bytes (plus one partial frame) and otherwise calls
//   `stream.pause()`. On yamux that stops window updates, so the sender blocks; the QUIC transport
//   ignores pause and keeps reading, and libp2p then resets a stream whose read buffer exceeds
//   `stream.maxReadBufferLength` (4 MiB by default): a slow reader is cut off, never a memory leak.

import { AbortError, InvalidMessageError, LimitExceededError, MAX_FRAME_BYTES } from '@saorsa-gossip/types'
import { Uint8ArrayList } from 'uint8arraylist'
import type { MessageStream, Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'

/** Size of the frame header: a u32 big-endian length. */
export const FRAME_HEADER_BYTES = 4
/** The largest length a u32 header can carry. */
export const MAX_U32 = 0xffff_ffff
/** What the helpers need from a stream: a libp2p v3 `Stream` (or any MessageStream with a readStatus). */
export type ReadableMessageStream = MessageStream & Pick<Stream, 'readStatus'>

/** Default `highWaterMark` of a reader: bytes kept buffered before the stream is paused. */
export const DEFAULT_READ_HIGH_WATER_MARK = 1024 * 1024
/** Default time `closeStream` waits for queued data to flush before it aborts the stream. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 5_000

/** A frame longer than the allowed maximum, refused before its body is read or allocated. */
export class FrameTooLargeError extends LimitExceededError {
  /** The length the header (or the caller) asked for. */
  readonly length: number
  /** The maximum in force. */
  readonly max: number
  constructor(length: number, max: number) {
    super(`frame of ${length} bytes exceeds the maximum of ${max} bytes`)
    this.name = 'FrameTooLargeError'
    this.length = length
    this.max = max
  }
}

/**
 * More unread bytes than a reader's `maxBufferedBytes` (an unauthenticated stream that sends ahead of
 * the protocol, SPEC.md §5.5). The reader aborts the stream when it throws this.
 */
export class BufferLimitError extends LimitExceededError {
  /** Bytes held when the limit was checked. */
  readonly held: number
  /** The limit in force. */
  readonly max: number
  constructor(held: number, max: number) {
    super(`${held} unread bytes exceed the limit of ${max} bytes`)
    this.name = 'BufferLimitError'
    this.held = held
    this.max = max
  }
}

/** True when `e`, or an error it was caused by (a few levels), is a BufferLimitError. */
export function isBufferLimitError(e: unknown): boolean {
  for (let i = 0; i < 4 && e instanceof Error; i++) {
    if (e instanceof BufferLimitError) return true
    e = e.cause
  }
  return false
}

/** The stream closed, reset or was aborted while a frame was being written or read. */
export class StreamClosedError extends Error {
  readonly code = 'ERR_STREAM_CLOSED'
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StreamClosedError'
  }
}

export interface FrameOptions {
  /** Largest frame body accepted or sent, in bytes. Default MAX_FRAME_BYTES; at most 2^32 − 1. */
  maxFrameBytes?: number
}

export interface WriteFrameOptions {
  /** Abort the wait for backpressure to clear. The frame may already be queued when this fires. */
  signal?: AbortSignal
}

/**
 * Limits of a frame reader, read afresh for every chunk and every frame, so that the owner of a stream
 * can raise them once the stream is authenticated (SPEC.md §5.5: an unauthenticated stream may make
 * us hold no more than the one message it is expected to send).
 */
export interface FrameReadLimits {
  /** Largest frame body accepted; a larger length prefix throws FrameTooLargeError at once. */
  maxFrameBytes: number
  /**
   * When set: the most bytes (headers included) the reader may hold unread once the consumer has had
   * its turn. More fails the reader with BufferLimitError, aborts the stream and drops the bytes.
   * Checked at the end of the event-loop turn that delivered them (`setImmediate`), so bytes that
   * arrive together with the frame that authenticates the stream are not counted: the consumer
   * raises (or clears) the limit in that same turn. Default: none (the stream is paused instead).
   */
  maxBufferedBytes?: number | undefined
}

export interface ReadFramesOptions extends FrameOptions {
  /** Stop reading: the iterator throws AbortError. The stream itself is left as it is. */
  signal?: AbortSignal
  /** Bytes kept buffered before the stream is paused (default 1 MiB). */
  highWaterMark?: number
  /** Live limits (see FrameReadLimits); when given they replace `maxFrameBytes`. */
  limits?: FrameReadLimits
}

function checkMax(max: number | undefined): number {
  const m = max ?? MAX_FRAME_BYTES
  if (!Number.isSafeInteger(m) || m < 0 || m > MAX_U32) {
    throw new RangeError(`maxFrameBytes must be an integer in 0..${MAX_U32}, got ${m}`)
  }
  return m
}

// A call, not a property test, so TypeScript does not narrow `aborted` across awaits.
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}

function abortErrorFrom(signal: AbortSignal | undefined): AbortError {
  return new AbortError('The operation was aborted', { cause: signal?.reason })
}

/** Encode one frame header. */
export function encodeFrameHeader(length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0 || length > MAX_U32) {
    throw new RangeError(`frame length must be an integer in 0..${MAX_U32}, got ${length}`)
  }
  const header = new Uint8Array(FRAME_HEADER_BYTES)
  new DataView(header.buffer).setUint32(0, length, false)
  return header
}

/**
 * Wait until `stream` accepts data again (its `drain` event), or reject when the stream closes or the
 * signal aborts. Resolves at once when no drain is pending. Use instead of `stream.onDrain()` (see the
 * note at the top of this file).
 */
export function waitForDrain(stream: MessageStream, signal?: AbortSignal): Promise<void> {
  if (!stream.writableNeedsDrain) return Promise.resolve()
  if (isAborted(signal)) return Promise.reject(abortErrorFrom(signal))
  if (stream.status !== 'open' && stream.status !== 'closing') {
    return Promise.reject(new StreamClosedError(`stream is ${stream.status}`))
  }
  return new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      stream.removeEventListener('drain', onDrain)
      stream.removeEventListener('close', onClose)
      signal?.removeEventListener('abort', onAbort)
    }
    const onDrain = (): void => {
      cleanup()
      resolve()
    }
    const onClose = (evt: StreamCloseEvent): void => {
      cleanup()
      reject(new StreamClosedError('stream closed while waiting for drain', { cause: evt.error }))
    }
    const onAbort = (): void => {
      cleanup()
      reject(abortErrorFrom(signal))
    }
    stream.addEventListener('drain', onDrain)
    stream.addEventListener('close', onClose)
    signal?.addEventListener('abort', onAbort)
  })
}

/**
 * Write one frame (header + body in a single `send`, so concurrent writers never interleave) and
 * resolve once the stream can take more. Waits first if a previous write left backpressure pending,
 * so frames queue here, not in the stream's unbounded write buffer.
 *
 * Throws FrameTooLargeError (nothing sent) if the body exceeds the maximum, AbortError if the signal
 * fires (the frame may or may not have been queued: abort the stream if that matters),
 * StreamClosedError if the stream closes, or libp2p's StreamStateError if its writable end is closed.
 */
export async function writeFrame(
  stream: MessageStream,
  body: Uint8Array | Uint8ArrayList,
  options: WriteFrameOptions & FrameOptions = {}
): Promise<void> {
  const max = checkMax(options.maxFrameBytes)
  if (body.byteLength > max) throw new FrameTooLargeError(body.byteLength, max)
  const { signal } = options
  if (isAborted(signal)) throw abortErrorFrom(signal)
  while (stream.writableNeedsDrain) await waitForDrain(stream, signal)
  const framed = new Uint8ArrayList(encodeFrameHeader(body.byteLength))
  framed.append(body)
  if (!stream.send(framed)) await waitForDrain(stream, signal)
}

/** A writer bound to one stream and one maximum frame size. */
export interface FrameWriter {
  /** See `writeFrame`. */
  write(body: Uint8Array | Uint8ArrayList, options?: WriteFrameOptions): Promise<void>
}

export function frameWriter(stream: MessageStream, options: FrameOptions = {}): FrameWriter {
  const maxFrameBytes = checkMax(options.maxFrameBytes)
  return {
    write: (body, opts = {}) => writeFrame(stream, body, { ...opts, maxFrameBytes })
  }
}

/**
 * Read frames from `stream` until the remote closes its writable end. Reassembles frames from chunks
 * of any alignment; a frame inside one chunk is returned as a view of it (no copy; `.slice()` it to
 * keep it long-term), a frame spread over several chunks is copied once into a buffer of exactly its
 * length.
 *
 * Throws FrameTooLargeError as soon as a header announces more than the maximum (nothing allocated),
 * InvalidMessageError (reason `frame-truncated`) if the stream ends inside a frame,
 * StreamClosedError if the stream is reset or aborted, AbortError if the signal fires,
 * BufferLimitError past `limits.maxBufferedBytes`. Breaking out of the loop or an error removes this
 * reader's listeners and leaves the stream as it is (close or abort it: `closeStream` /
 * `abortStream`), except past `maxBufferedBytes`, where the reader aborts the stream itself: its
 * consumer may be busy elsewhere (writing), and the bytes must stop now.
 */
export async function* readFrames(
  stream: ReadableMessageStream,
  options: ReadFramesOptions = {}
): AsyncGenerator<Uint8Array, void, undefined> {
  const limits: FrameReadLimits = options.limits ?? { maxFrameBytes: checkMax(options.maxFrameBytes) }
  checkMax(limits.maxFrameBytes)
  const highWaterMark = options.highWaterMark ?? DEFAULT_READ_HIGH_WATER_MARK
  const { signal } = options
  if (isAborted(signal)) throw abortErrorFrom(signal)

  const buffer = new Uint8ArrayList()
  let ended = stream.readableEnded
  let failure: Error | undefined
  let finished = false
  let overCheck = false
  let wake: (() => void) | undefined
  const notify = (): void => {
    const w = wake
    wake = undefined
    w?.()
  }

  // Length of the next frame including its header, or undefined while fewer than 4 bytes are in.
  const nextFrameLength = (): number | undefined =>
    buffer.byteLength < FRAME_HEADER_BYTES ? undefined : FRAME_HEADER_BYTES + buffer.getUint32(0, false)
  const hasCompleteFrame = (): boolean => {
    const n = nextFrameLength()
    return n !== undefined && buffer.byteLength >= n
  }

  // Past maxBufferedBytes at the end of this turn: the sender is ahead of the protocol.
  const checkBuffered = (): void => {
    overCheck = false
    const cap = limits.maxBufferedBytes
    const held = buffer.byteLength + stream.readBufferLength
    if (finished || failure !== undefined || cap === undefined || held <= cap) return
    failure = new BufferLimitError(held, cap)
    buffer.consume(buffer.byteLength)
    abortStream(stream, failure)
    notify()
  }
  const onMessage = (evt: StreamMessageEvent): void => {
    buffer.append(evt.data)
    const cap = limits.maxBufferedBytes
    if (cap !== undefined && !overCheck && buffer.byteLength > cap) {
      overCheck = true
      setImmediate(checkBuffered)
    }
    // Pause only with a whole frame waiting: a partial frame must keep flowing or we would deadlock.
    if (buffer.byteLength >= highWaterMark && stream.readStatus === 'readable' && hasCompleteFrame()) {
      stream.pause()
    }
    notify()
  }
  const onEnd = (): void => {
    ended = true
    notify()
  }
  const onClose = (evt: StreamCloseEvent): void => {
    if (evt.error != null && failure === undefined) {
      failure = new StreamClosedError(`stream closed with an error: ${evt.error.message}`, { cause: evt.error })
    }
    ended = true
    notify()
  }
  const onAbort = (): void => {
    failure = abortErrorFrom(signal)
    notify()
  }
  const resume = (): void => {
    if (stream.readStatus === 'paused') stream.resume()
  }

  stream.addEventListener('message', onMessage)
  stream.addEventListener('end', onEnd)
  stream.addEventListener('close', onClose)
  signal?.addEventListener('abort', onAbort)
  try {
    while (true) {
      if (isAborted(signal)) throw abortErrorFrom(signal)
      if (failure instanceof BufferLimitError) throw failure
      if (buffer.byteLength >= FRAME_HEADER_BYTES) {
        const length = buffer.getUint32(0, false)
        const max = limits.maxFrameBytes
        if (length > max) throw new FrameTooLargeError(length, max)
        const total = FRAME_HEADER_BYTES + length
        if (buffer.byteLength >= total) {
          const frame = buffer.subarray(FRAME_HEADER_BYTES, total)
          buffer.consume(total)
          yield frame
          continue
        }
      }
      if (failure !== undefined) throw failure
      if (stream.status === 'reset' || stream.status === 'aborted') {
        throw new StreamClosedError(`stream was ${stream.status === 'reset' ? 'reset by the remote' : 'aborted'}`)
      }
      // Bytes still held by the stream (we paused it) come before the end.
      const streamDone = ended || (stream.status !== 'open' && stream.status !== 'closing')
      if (streamDone && stream.readBufferLength === 0) {
        if (buffer.byteLength > 0) {
          throw new InvalidMessageError(
            `stream ended inside a frame (${buffer.byteLength} bytes left over)`,
            'frame-truncated'
          )
        }
        return
      }
      // Need more bytes: make sure they can arrive.
      resume()
      await new Promise<void>((resolve) => {
        wake = resolve
      })
    }
  } finally {
    finished = true
    wake = undefined
    stream.removeEventListener('message', onMessage)
    stream.removeEventListener('end', onEnd)
    stream.removeEventListener('close', onClose)
    signal?.removeEventListener('abort', onAbort)
  }
}

export interface CloseStreamOptions {
  /** Give up on a graceful close when this fires (then the stream is aborted). */
  signal?: AbortSignal
  /** Give up after this many ms (default 5000) when no signal is given. */
  timeoutMs?: number
}

/**
 * Close our writable end gracefully: wait until queued frames are handed to the transport, then send
 * FIN. If that does not finish in time (a stalled peer never opens its window) or fails, abort the
 * stream instead. Never throws. Returns true for a graceful close, false when the stream was aborted.
 * The readable end stays open until the remote closes too; `readFrames` ends then.
 */
export async function closeStream(stream: MessageStream, options: CloseStreamOptions = {}): Promise<boolean> {
  const signal = options.signal ?? AbortSignal.timeout(options.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS)
  try {
    await stream.close({ signal })
    return true
  } catch (err: unknown) {
    abortStream(stream, err instanceof Error ? err : new StreamClosedError('graceful close failed', { cause: err }))
    return false
  }
}

/** Drop queued data in both directions and reset the stream. Idempotent, never throws. */
export function abortStream(stream: MessageStream, reason?: Error): void {
  try {
    stream.abort(reason ?? new StreamClosedError('stream aborted locally'))
  } catch {
    // already closed or reset: nothing to do
  }
}
