// BLAKE3-256 for ids and payload hashes. Two implementations with identical output:
//   - hash-wasm's WebAssembly BLAKE3: 7× (64 B) to 13× (64 KiB and up) faster than pure JS here
//     (`npm run bench -- hash`); it needs an asynchronous instantiation, and
//   - @noble/hashes' pure-JS BLAKE3, used until the WASM one is ready and wherever WebAssembly is
//     unavailable.
// Without it, BLAKE3 (~37 MB/s in JS) was ~60 % of the cost of decoding a 64 KiB envelope.
// `blake3Ready` resolves once the fast path is in place (or is known to be unavailable).
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'
import { createBLAKE3 } from 'hash-wasm'

interface WasmHasher {
  init(): unknown
  update(data: Uint8Array): unknown
  digest(outputType: 'binary'): Uint8Array
}

let wasm: WasmHasher | undefined
/** Resolves when the WebAssembly BLAKE3 is usable (true) or known to be unavailable (false). */
export const blake3Ready: Promise<boolean> = createBLAKE3(256).then(
  (h) => {
    wasm = h as unknown as WasmHasher
    return true
  },
  () => false
)

/** BLAKE3-256 of `data` (32 bytes). */
export function blake3(data: Uint8Array): Uint8Array {
  if (wasm !== undefined) {
    wasm.init()
    wasm.update(data)
    return wasm.digest('binary')
  }
  return nobleBlake3(data)
}

/** Which implementation `blake3` uses for large inputs right now. */
export function blake3Implementation(): 'wasm' | 'js' {
  return wasm === undefined ? 'js' : 'wasm'
}

/** SHA-256 of `data` (FIPS 180-4). */
export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data)
}

/** HKDF-SHA-256 (RFC 5869): extract with `salt`, expand with `info` to `length` bytes. */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return hkdf(nobleSha256, ikm, salt, info, length)
}
