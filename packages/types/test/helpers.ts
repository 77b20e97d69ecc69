// Test-only signer and verifier over noble's ML-DSA-65, so the types package is tested without
// depending on @saorsa-gossip/identity (which depends on it).
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js'
import { peerIdFromPublicKey } from '../src/index.js'
import type { Signer, Verifier } from '../src/index.js'

export function testSigner(seedByte = 7): Signer {
  const { publicKey, secretKey } = ml_dsa65.keygen(new Uint8Array(32).fill(seedByte))
  return {
    algorithm: 'ML-DSA-65',
    publicKey,
    peerId: peerIdFromPublicKey(publicKey),
    sign: (m) => ml_dsa65.sign(m, secretKey)
  }
}

export const testVerifier: Verifier = {
  verify: (alg, pk, msg, sig) => {
    if (alg !== 'ML-DSA-65') return false
    try {
      return ml_dsa65.verify(sig, msg, pk)
    } catch {
      return false
    }
  }
}
