// Shared test helpers: vector loading, byte helpers, the backends under test.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { availableBackends, getBackend } from '../src/index.js'
import type { CryptoBackend } from '../src/index.js'

/** Parsed JSON of test/vectors/<name>. */
export function loadVector<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./vectors/${name}`, import.meta.url), 'utf8')) as T
}

export const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))
export const toHexStr = (b: Uint8Array): string => Buffer.from(b).toString('hex')
export const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
export const flip = (b: Uint8Array, i: number, bit = 1): Uint8Array => {
  const c = Uint8Array.from(b)
  c[i] = (c[i] as number) ^ bit
  return c
}

/** True when the native backend runs here (Node >= 24.7). */
export const hasNative = availableBackends().includes('native')
/** Every backend available here. */
export const backends: CryptoBackend[] = availableBackends().map((n) => getBackend(n))
export const noble = getBackend('noble')
/** The native backend, or noble when native is unavailable (cross tests are skipped then). */
export const native = hasNative ? getBackend('native') : noble
