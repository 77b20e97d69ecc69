// The short seeded fuzz pass over the handshake messages (see fuzz.test.ts). Feeding M3 needs a
// responder that has answered an M1 (an X-Wing encapsulation and an ML-DSA signature each), so these
// targets cost the most.
import { describe } from 'vitest'
import { TARGETS } from '../src/index.js'
import { fuzzPass, INPUTS } from './pass.js'

describe(`fuzz: ${INPUTS.toLocaleString('en')} seeded inputs per handshake target`, () => {
  for (const name of Object.keys(TARGETS).filter((n) => n.startsWith('handshake-'))) fuzzPass(name)
})
