// @saorsa-gossip/fuzz — the only barrel of the package (private: the project's own fuzz harness).

/** The fuzz loop and its report. */
export { emptyReport, runFuzz, SLOW_MS } from './harness.js'
export type { FuzzCrash, FuzzOptions, FuzzReport } from './harness.js'

/** Every target (one per decoder that takes bytes from a peer, a socket or a file). */
export { InvariantError, TARGETS } from './targets.js'
export type { FuzzTarget } from './targets.js'

/** Input generation: random, random CBOR, byte-level and structure-aware mutations. */
export { mutateBytes, mutateStructure, nextInput, randomBytes, randomCbor } from './mutate.js'
export type { InputKind } from './mutate.js'

/** Hand-built hostile CBOR: the value-sharing bomb and its family. */
export { cat, head, hostileFamily, sharingBomb } from './hostile.js'
export type { HostileItem } from './hostile.js'
