// The small shared interfaces every layer receives through its constructor: signing, time,
// randomness, logging and metrics. Implementations live elsewhere (identity, drivers, tests, sim).
import type { PeerId, SignatureAlgorithm } from './ids.js'

/** Something that signs with one identity's secret key. Implemented by `@saorsa-gossip/identity`. */
export interface Signer {
  readonly algorithm: SignatureAlgorithm
  /** The raw public key (1952 bytes for ML-DSA-65). */
  readonly publicKey: Uint8Array
  /** SHA-256(domain ‖ publicKey), see `peerIdFromPublicKey`. */
  readonly peerId: PeerId
  /** Signs `message` as is (pure signature, empty context). */
  sign(message: Uint8Array): Uint8Array
}

/** Checks signatures of any supported algorithm. Implemented by `@saorsa-gossip/identity`. */
export interface Verifier {
  /** True when `signature` is valid for `message` under `publicKey`; false for any malformed input. */
  verify(algorithm: SignatureAlgorithm, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean
}

/** Wall-clock time source; the sans-IO cores take `now` as a parameter instead. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number
}

/** The system clock. */
export const systemClock: Clock = { now: () => Date.now() }

/** A seeded, reproducible source of randomness for protocol decisions (never for keys). */
export interface Rng {
  /** Uniform 32-bit unsigned integer. */
  nextU32(): number
  /** Uniform float in [0, 1). */
  next(): number
  /** Uniform integer in [0, n) for 1 ≤ n ≤ 2^32. */
  int(n: number): number
  /** `n` pseudo-random bytes. */
  bytes(n: number): Uint8Array
  /** Fisher–Yates shuffle of a copy of `items`. */
  shuffle<T>(items: readonly T[]): T[]
}

/** Structured logger in the pino style: optional fields object first, then the message. */
export interface Logger {
  debug(obj: Record<string, unknown> | string, msg?: string): void
  info(obj: Record<string, unknown> | string, msg?: string): void
  warn(obj: Record<string, unknown> | string, msg?: string): void
  error(obj: Record<string, unknown> | string, msg?: string): void
  /** A logger whose records carry `bindings` (e.g. `{ component: 'saorsa:pubsub' }`). */
  child(bindings: Record<string, unknown>): Logger
}

/** A logger that drops everything. */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger
}

/** Label set of a metric sample. */
export type MetricLabels = Readonly<Record<string, string>>

/** Counters, gauges and histograms, named `saorsa_<component>_<what>`. */
export interface Metrics {
  /** Adds `by` (default 1) to a monotonically increasing counter. */
  increment(name: string, by?: number, labels?: MetricLabels): void
  /** Sets a gauge to `value`. */
  gauge(name: string, value: number, labels?: MetricLabels): void
  /** Records one observation of a distribution (latencies, sizes). */
  observe(name: string, value: number, labels?: MetricLabels): void
}
