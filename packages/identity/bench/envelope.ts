// Signed-envelope benchmark (SPEC.md §2): create (sign) / open (decode + verify) / decode-only rates
// and wire sizes, per crypto backend, at 1 KiB and 64 KiB payloads. Plain script, prints ONE JSON
// object on stdout:  npm run bench -- envelope
import { blake3Implementation, blake3Ready, createEnvelope, decodeEnvelope, openEnvelope, topicIdFromName } from '@saorsa-gossip/types'
import { availableBackends, createVerifier, getBackend, Identity } from '../dist/index.js'
import { opsPerSec, progress, round, seeded } from './_util.ts'

const topic = topicIdFromName('bench')
await blake3Ready
const t0 = performance.now()
const result0 = { blake3: blake3Implementation() }
const result: Record<string, unknown> = { ...result0 }

for (const name of availableBackends()) {
  const backend = getBackend(name)
  const id = Identity.fromSeed(seeded(32, 9), { backend })
  const verifier = createVerifier(backend)
  const perSize: Record<string, unknown> = {}
  for (const [label, size] of [['1KiB', 1024], ['64KiB', 65536]] as const) {
    progress(`[${name}] envelope ${label}`)
    const payload = seeded(size, 1)
    let seq = 0
    const make = (includeSignerKey: boolean) =>
      createEnvelope({ topic, payload, seq: seq++, timestampMs: 1_800_000_000_000, includeSignerKey }, id)
    const withKey = make(true).bytes
    const withoutKey = make(false).bytes
    const keyOf = (p: string) => (p === id.peerId ? id.publicKey : undefined)
    perSize[label] = {
      createPerSec: opsPerSec(() => make(true)),
      openPerSec: opsPerSec(() => openEnvelope(withKey, verifier)),
      openWithoutKeyPerSec: opsPerSec(() => openEnvelope(withoutKey, verifier, { keyLookup: keyOf })),
      decodeOnlyPerSec: opsPerSec(() => decodeEnvelope(withKey)),
      bytesWithKey: withKey.length,
      bytesWithoutKey: withoutKey.length,
      overheadWithKey: withKey.length - size,
      overheadWithoutKey: withoutKey.length - size
    }
  }
  result[name] = perSize
  id.destroy()
}
result.totalSeconds = round((performance.now() - t0) / 1000)
console.log(JSON.stringify(result, null, 2))
