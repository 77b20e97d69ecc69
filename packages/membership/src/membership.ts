// The Membership interface: who our neighbours are, and who is alive. Layers above (pub/sub) learn
// neighbours only through `neighbor:up` / `neighbor:down`.
import type { PeerId, TypedEventEmitter } from '@saorsa-gossip/types'
import type { PeerInfo } from './proto/types.js'

/** Events of a Membership. */
export interface MembershipEvents {
  'neighbor:up': { peer: PeerInfo }
  'neighbor:down': { peer: PeerId }
  'member:suspect': { peer: PeerId; incarnation: number }
  'member:failed': { peer: PeerId; incarnation: number }
  'member:alive': { peer: PeerId; incarnation: number }
}

export interface Membership extends TypedEventEmitter<MembershipEvents> {
  /** Starts the protocols (the transport must be started). Idempotent. */
  start(): Promise<void>
  /** Leaves the overlay cleanly (neighbours drop us at once) and stops. Idempotent. */
  stop(): Promise<void>
  /** Joins through the first reachable bootstrap address; resolves to the contacts reached. */
  join(bootstrapAddrs: readonly string[], options?: { signal?: AbortSignal }): Promise<PeerId[]>
  activeView(): PeerInfo[]
  passiveView(): PeerInfo[]
}
