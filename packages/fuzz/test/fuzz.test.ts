// The short seeded fuzz pass that `npm test` runs: 10,000 generated inputs (random, random CBOR,
// byte-level and structure-aware mutations of valid encodings, hostile items) into every decoder that
// takes bytes from a peer, a socket or a file. The long run is `npm run fuzz` (README figures).
// The handshake targets are in fuzz-handshake.test.ts.
import { describe } from 'vitest'
import { TARGETS } from '../src/index.js'
import { fuzzPass, INPUTS } from './pass.js'

describe(`fuzz: ${INPUTS.toLocaleString('en')} seeded inputs per target`, () => {
  for (const name of Object.keys(TARGETS).filter((n) => !n.startsWith('handshake-'))) fuzzPass(name)
})
