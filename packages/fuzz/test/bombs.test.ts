// The value-sharing bomb (a ~160-byte CBOR item that cbor-x expanded into gigabytes and a V8
// out-of-memory abort) and its family of nested, wide, tagged and oversized items, fed to every entry
// point that takes bytes from a peer, a socket or a file. Each must be rejected with the entry
// point's own error, in under 10 ms and with under 10 MB of extra memory.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { decodeAdvert, decodeCoordinatorMessage } from '@saorsa-gossip/coordinator'
import { createVerifier, Identity, parseKeystoreFile } from '@saorsa-gossip/identity'
import { decodeMembershipMessage } from '@saorsa-gossip/membership'
import { decodePubSubMessage } from '@saorsa-gossip/pubsub'
import { HandshakeError, HandshakeInitiator, HandshakeResponder } from '@saorsa-gossip/transport'
import type { HandshakeParams } from '@saorsa-gossip/transport'
import { decodeCbor, decodeEnvelope, encodeCbor, InvalidMessageError, KeystoreError, MAX_FRAME_BYTES, utf8 } from '@saorsa-gossip/types'
import { describe, expect, it } from 'vitest'
import { cat, head, hostileFamily, sharingBomb } from '../src/index.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const alice = Identity.fromSeed(new Uint8Array(32).fill(1))
const bob = Identity.fromSeed(new Uint8Array(32).fill(2))
const verifier = createVerifier()
const params = (identity: Identity, local: string, remote: string): HandshakeParams => ({ identity, verifier, localTransportId: utf8(local), remoteTransportId: utf8(remote) })
// A bulk-channel frame may carry up to 4 MiB; the family goes up to that.
const FRAME_LIMIT = 4 * 1024 * 1024

/** Wraps a hostile item where a real message of each entry point has a field. */
interface EntryPoint {
  name: string
  wrap: (bomb: Uint8Array) => Uint8Array
  /** Feeds one input. `prepare`, when given, runs untimed first and its result is passed along. */
  feed: (b: Uint8Array, prepared?: unknown) => unknown
  prepare?: () => unknown
  errors: Array<new (...a: never[]) => Error>
}
const ENTRY_POINTS: EntryPoint[] = [
  {
    name: 'handshake M1 (before authentication)',
    // [version 1, type 1, ephemeral key, nonce]: the bomb in the key's place.
    wrap: (b) => cat(Uint8Array.of(0x84, 0x01, 0x01), b, head(2, 32), new Uint8Array(32)),
    feed: (b) => new HandshakeResponder(params(bob, 'r', 'i')).onM1(b),
    errors: [HandshakeError]
  },
  {
    name: 'handshake M2',
    wrap: (b) => cat(Uint8Array.of(0x87, 0x01, 0x02), b, Uint8Array.of(0x00, 0x00, 0x00, 0x00, 0x00)),
    // The initiator has sent its M1 (an X-Wing key generation, untimed) and waits for M2.
    prepare: () => {
      const i = new HandshakeInitiator(params(alice, 'i', 'r'))
      i.start()
      return i
    },
    feed: (b, i) => (i as HandshakeInitiator).onM2(b),
    errors: [HandshakeError]
  },
  {
    name: 'membership message',
    // [version 1, proto 0 (HyParView), type 0 (JOIN), addrs]
    wrap: (b) => cat(Uint8Array.of(0x84, 0x01, 0x00, 0x00), b),
    feed: decodeMembershipMessage,
    errors: [InvalidMessageError]
  },
  {
    name: 'pub/sub frame',
    // [version 1, type 1 (IHAVE), topic, entries]
    wrap: (b) => cat(Uint8Array.of(0x84, 0x01, 0x01), head(2, 32), new Uint8Array(32), b),
    feed: decodePubSubMessage,
    errors: [InvalidMessageError]
  },
  {
    name: 'coordinator control message',
    // [version 1, proto 2, type 1 (FOUND), queryId, adverts]
    wrap: (b) => cat(Uint8Array.of(0x85, 0x01, 0x02, 0x01), head(2, 16), new Uint8Array(16), b),
    feed: decodeCoordinatorMessage,
    errors: [InvalidMessageError]
  },
  {
    name: 'coordinator advert',
    wrap: (b) => cat(Uint8Array.of(0x82), b, head(2, 4), new Uint8Array(4)),
    feed: (b) => decodeAdvert(b, verifier, { now: Date.now() }),
    errors: [InvalidMessageError]
  },
  {
    name: 'envelope',
    // [version 1, header, payload, signature, key] with the bomb as the whole header.
    wrap: (b) => cat(Uint8Array.of(0x85, 0x01), b, Uint8Array.of(0x40, 0x40, 0xf6)),
    feed: decodeEnvelope,
    errors: [InvalidMessageError]
  },
  {
    name: 'envelope header (inside a byte string)',
    wrap: (b) => cat(Uint8Array.of(0x85, 0x01), head(2, b.length), b, Uint8Array.of(0x40, 0x40, 0xf6)),
    feed: decodeEnvelope,
    errors: [InvalidMessageError]
  },
  {
    name: 'strict CBOR inside an array (any other caller)',
    // The family's byte and text strings are valid CBOR on their own; one trailing byte makes every item invalid.
    wrap: (b) => cat(Uint8Array.of(0x81), b, Uint8Array.of(0x00)),
    feed: (b) => decodeCbor(b),
    errors: [InvalidMessageError]
  }
]

const MAX_MS = 10
const MAX_BYTES = 10 * 1024 * 1024

/** Extra memory in use right after `f` ran (heap + array buffers), in bytes, and its time. */
function measure(f: () => void): { ms: number; bytes: number } {
  gc()
  const m0 = process.memoryUsage()
  const t = performance.now()
  f()
  const ms = performance.now() - t
  const m1 = process.memoryUsage()
  return { ms, bytes: m1.heapUsed + m1.arrayBuffers - (m0.heapUsed + m0.arrayBuffers) }
}

/** Runs `feed(input)` expecting one of `errors`; returns the time and memory it cost (re-run up to 3 times while over the bounds, so a GC pause or a busy core does not count). */
function rejectCost(ep: Pick<EntryPoint, 'feed' | 'prepare' | 'errors'>, input: Uint8Array): { ms: number; bytes: number } {
  const { feed, prepare, errors } = ep
  let best = { ms: Infinity, bytes: Infinity }
  for (let k = 0; k < 3; k++) {
    let thrown: unknown
    const prepared = prepare?.()
    const cost = measure(() => {
      try {
        feed(input, prepared)
      } catch (e) {
        thrown = e
      }
    })
    expect(thrown, 'the entry point must reject the input').toBeDefined()
    expect(errors.some((E) => thrown instanceof E), `unexpected ${String(thrown)}`).toBe(true)
    best = { ms: Math.min(best.ms, cost.ms), bytes: Math.min(best.bytes, cost.bytes) }
    if (best.ms < MAX_MS && best.bytes < MAX_BYTES) break
  }
  return best
}

describe('the value-sharing bomb', () => {
  it('is the real thing: a small item whose references expand 2^depth-fold', () => {
    const b = sharingBomb(26)
    expect(b.length).toBeLessThan(240)
    // Count the sharedref tags: one per level, each doubling the paths through the graph.
    let refs = 0
    for (let i = 0; i + 1 < b.length; i++) if (b[i] === 0xd8 && b[i + 1] === 29) refs++
    expect(refs).toBe(26)
  })

  it('is rejected by the strict decoder as a tag, before anything expands', () => {
    const e = (() => {
      try {
        decodeCbor(sharingBomb(40))
      } catch (err) {
        return err as InvalidMessageError
      }
      throw new Error('accepted')
    })()
    expect(e).toBeInstanceOf(InvalidMessageError)
    expect(e.reason).toBe('cbor-tag')
  })
})

describe('hostile items at every entry point', () => {
  const family = hostileFamily(FRAME_LIMIT - 64)
  for (const ep of ENTRY_POINTS) {
    it(`${ep.name}: every item of the family is rejected in < 10 ms with < 10 MB extra memory`, () => {
      const worst = { ms: 0, bytes: 0, msItem: '', bytesItem: '' }
      for (const item of family) {
        const input = ep.wrap(item.bytes)
        const c = rejectCost(ep, input)
        if (c.ms > worst.ms) Object.assign(worst, { ms: c.ms, msItem: item.name })
        if (c.bytes > worst.bytes) Object.assign(worst, { bytes: c.bytes, bytesItem: item.name })
      }
      expect(worst.ms, `slowest: ${worst.msItem}`).toBeLessThan(MAX_MS)
      expect(worst.bytes, `most memory: ${worst.bytesItem}`).toBeLessThan(MAX_BYTES)
    })
  }

  it('the family is not trivially small: it reaches the frame limit and the old failure modes', () => {
    const sizes = family.map((f) => f.bytes.length)
    expect(Math.max(...sizes)).toBeGreaterThan(MAX_FRAME_BYTES)
    expect(family.map((f) => f.name)).toEqual(expect.arrayContaining(['sharing bomb, depth 26', 'nested arrays to the size limit', 'wide array of empty arrays']))
  })
})

describe('hostile local files and control lines', () => {
  const deepJson = (n: number): Uint8Array => utf8('['.repeat(n) + ']'.repeat(n))
  it('an identity file of deeply nested JSON is a KeystoreError, not a crash', () => {
    for (const n of [10_000, 32_000]) {
      const c = rejectCost({ feed: (b) => parseKeystoreFile(b, '/x/a.identity', 'a'), errors: [KeystoreError] }, deepJson(n))
      expect(c.ms).toBeLessThan(MAX_MS)
    }
  })
  it('a strict-CBOR encoding of a deep value is refused on encode too (no unbounded recursion)', () => {
    let v: unknown = 1
    for (let i = 0; i < 100; i++) v = [v]
    expect(() => encodeCbor(v as never)).toThrow(RangeError)
  })
})
