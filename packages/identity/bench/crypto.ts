// Crypto micro-benchmark of both backends. Plain script, run by Node 24 after `pnpm build`:
//   node packages/identity/bench/crypto.ts > bench.json
// Prints ONE JSON object on stdout (progress on stderr). Fixed seeds and inputs; each measurement is a
// time-bounded loop (BENCH_MS, default 300 ms), so the whole run stays well under a minute.
import { availableBackends, getBackend } from '../dist/index.js'
import type { BackendName, CryptoBackend } from '../dist/index.js'

import { BUDGET_MS, opsPerSec, progress, round, seeded } from './_util.ts'

interface Result {
  mldsa65: { keygen: number; sign: number; verify: number }
  slhdsa_sha2_128s: { keygen: number; sign: number; verify: number }
  xwing: { keygen: number; encapsulate: number; decapsulate: number }
  chacha20poly1305_MBps: { seal_1KiB: number; open_1KiB: number; seal_64KiB: number; open_64KiB: number }
  scrypt_default_ms: number
}

function bench(b: CryptoBackend): Result {
  const msg = seeded(256, 1)
  progress(`[${b.name}] ML-DSA-65`)
  const dsaSeed = seeded(32, 2)
  const dsa = b.mldsa65.keygen(dsaSeed)
  const dsaSig = b.mldsa65.sign(dsa.secretKey, msg)
  const mldsa65 = {
    keygen: opsPerSec(() => b.mldsa65.keygen(dsaSeed)),
    sign: opsPerSec(() => b.mldsa65.sign(dsa.secretKey, msg)),
    verify: opsPerSec(() => b.mldsa65.verify(dsa.publicKey, msg, dsaSig))
  }
  progress(`[${b.name}] SLH-DSA-SHA2-128s (slow)`)
  const slhSeed = seeded(48, 3)
  const slh = b.slhdsa.keygen(slhSeed)
  const slhSig = b.slhdsa.sign(slh.secretKey, msg)
  const slhdsa_sha2_128s = {
    keygen: opsPerSec(() => b.slhdsa.keygen(slhSeed), 0, 3),
    sign: opsPerSec(() => b.slhdsa.sign(slh.secretKey, msg), 0, 2),
    verify: opsPerSec(() => b.slhdsa.verify(slh.publicKey, msg, slhSig))
  }
  progress(`[${b.name}] X-Wing`)
  const kemSeed = seeded(32, 4)
  const kem = b.xwing.keygen(kemSeed)
  const enc = b.xwing.encapsulate(kem.publicKey)
  const xwing = {
    keygen: opsPerSec(() => b.xwing.keygen(kemSeed)),
    encapsulate: opsPerSec(() => b.xwing.encapsulate(kem.publicKey)),
    decapsulate: opsPerSec(() => b.xwing.decapsulate(enc.cipherText, kem.secretKey))
  }
  progress(`[${b.name}] ChaCha20-Poly1305`)
  const key = seeded(32, 5)
  const nonce = seeded(12, 6)
  const aead: Record<string, number> = {}
  for (const [label, size] of [['1KiB', 1024], ['64KiB', 65536]] as const) {
    const pt = seeded(size, 7)
    const sealed = b.aead.seal(key, nonce, pt)
    const mb = size / 1e6
    aead[`seal_${label}`] = round(opsPerSec(() => b.aead.seal(key, nonce, pt)) * mb)
    aead[`open_${label}`] = round(opsPerSec(() => b.aead.open(key, nonce, sealed)) * mb)
  }
  progress(`[${b.name}] scrypt N=2^17 r=8 p=1`)
  const t0 = performance.now()
  b.scrypt(seeded(12, 8), seeded(16, 9), { N: 2 ** 17, r: 8, p: 1 }, 48)
  const scrypt_default_ms = round(performance.now() - t0)
  return { mldsa65, slhdsa_sha2_128s, xwing, chacha20poly1305_MBps: aead as Result['chacha20poly1305_MBps'], scrypt_default_ms }
}

function ratios(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(a)) {
    const w = b[k]
    if (typeof v === 'number' && typeof w === 'number') out[k] = k.endsWith('_ms') ? round(w / v) : round(v / w)
    else if (typeof v === 'object' && v !== null && typeof w === 'object' && w !== null) {
      out[k] = ratios(v as Record<string, unknown>, w as Record<string, unknown>)
    }
  }
  return out
}

const started = performance.now()
const names: BackendName[] = availableBackends()
const results: Partial<Record<BackendName, Result>> = {}
for (const name of names) results[name] = bench(getBackend(name))
const report = {
  node: process.versions.node,
  openssl: process.versions.openssl,
  platform: `${process.platform}-${process.arch}`,
  budgetMsPerOp: BUDGET_MS,
  units: 'ops/s unless noted; chacha20poly1305 in MB/s (10^6 bytes); scrypt in ms for one derivation',
  backends: results,
  nativeOverNoble: results.native && results.noble ? ratios({ ...results.native }, { ...results.noble }) : null,
  totalSeconds: round((performance.now() - started) / 1000)
}
process.stdout.write(JSON.stringify(report, null, 2) + '\n')
