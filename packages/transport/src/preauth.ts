// Reading from streams that are not authenticated yet (SPEC.md §5.5): the handshake stream until M3
// is verified, a channel stream until its session id names a live session. The limits keep what such
// a stream can make us hold to one expected message; failures map to counted reasons.
import { AbortError } from '@saorsa-gossip/types'
import { HANDSHAKE_BUFFER_BYTES, PREAMBLE_BUFFER_BYTES, SESSION_ID_BYTES } from './admission.js'
import { HandshakeError, MAX_HANDSHAKE_MESSAGE_BYTES } from './handshake.js'
import { FrameTooLargeError, isBufferLimitError } from './outer.js'
import type { FrameReadLimits } from './outer.js'

/**
 * `p` within `ms` (else `handshake:timeout`); an abort rejects with the signal's HandshakeError
 * reason (an eviction) or an AbortError. The deadline is judged after the I/O already waiting when
 * the timer fires (`setImmediate` runs after the poll phase): when our own event loop was stalled
 * past the deadline, a peer whose message was in time is not blamed for it.
 */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => setImmediate(() => reject(new HandshakeError(`${what} timed out after ${ms} ms`, 'handshake:timeout'))), ms)
    const onAbort = (): void =>
      reject(signal?.reason instanceof HandshakeError ? signal.reason : new AbortError(`${what} aborted`, { cause: signal?.reason }))
    if (signal?.aborted === true) onAbort()
    signal?.addEventListener('abort', onAbort, { once: true })
    p.then(resolve, reject).finally(() => {
      clearTimeout(t)
      signal?.removeEventListener('abort', onAbort)
    })
  })
}

/** True for a length prefix above the stream's limit. */
export function isFrameTooLarge(e: unknown): e is FrameTooLargeError {
  return e instanceof FrameTooLargeError
}

/** A handshake stream's read or write failure as a counted reason where it is the peer's doing: a
 *  length prefix above 16 KiB, or more unread bytes than one message (SPEC.md §5.5). */
export function asHandshakeError(e: unknown, what: string): unknown {
  if (isFrameTooLarge(e)) return new HandshakeError(`${what}: ${e.message}`, 'handshake:oversize', { cause: e })
  if (isBufferLimitError(e) && !(e instanceof HandshakeError)) return new HandshakeError(`${what}: peer sent ahead of the handshake`, 'handshake:overflow', { cause: e })
  return e
}

/** Why a channel stream gave no session id (SPEC.md §5.5), as a counted reason: a length prefix above
 *  32 bytes, more bytes buffered than one id, no id in time, or dropped for a newer stream. Undefined
 *  when it is nobody's fault (we are stopping, or the stream ended first). */
export function preambleFailure(e: unknown): string | undefined {
  if (isFrameTooLarge(e)) return 'channel:bad-preamble'
  if (isBufferLimitError(e)) return 'channel:overflow'
  if (e instanceof HandshakeError) return e.reason === 'handshake:timeout' ? 'channel:timeout' : e.reason
  return undefined
}

/** Read limits of a handshake stream: one message, and nothing buffered beyond it. */
export function handshakeLimits(): FrameReadLimits {
  return { maxFrameBytes: MAX_HANDSHAKE_MESSAGE_BYTES, maxBufferedBytes: HANDSHAKE_BUFFER_BYTES }
}

/** Reads exactly the next frame of `it`, or fails when the stream ends first. */
export async function nextFrame(it: AsyncIterator<Uint8Array>, what: string): Promise<Uint8Array> {
  let r: IteratorResult<Uint8Array>
  try {
    r = await it.next()
  } catch (e) {
    throw asHandshakeError(e, what)
  }
  if (r.done === true) throw new HandshakeError(`stream closed before ${what}`, 'handshake:closed')
  return r.value
}

/** Read limits of a channel stream before its session id: one 32-byte frame, nothing beyond it.
 *  Raise them (`maxFrameBodyBytes`, no buffer cap) once the stream is attached to its session. */
export function preambleLimits(): FrameReadLimits {
  return { maxFrameBytes: SESSION_ID_BYTES, maxBufferedBytes: PREAMBLE_BUFFER_BYTES }
}

/** The first frame of `frames` (a channel stream's session id), or an error when the stream ends first. */
export async function readPreamble(frames: AsyncIterator<Uint8Array>): Promise<Uint8Array> {
  const r = await frames.next()
  if (r.done === true) throw new Error('stream closed before the session id')
  return r.value
}
