// Shared vocabulary of the membership protocol cores (HouseStyle §1, after iroh-gossip's proto/):
// pure state machines that take input events plus the current time and return commands. They never
// touch sockets, timers, clocks or global randomness; `now` and a seeded Rng come in from the driver
// (DefaultMembership over a Transport) or from the simulator (packages/sim, virtual time).
import type { PeerId } from '@saorsa-gossip/types'

/** A peer as the protocols know it: its id and the addresses it can be dialed at (opaque here). */
export interface PeerInfo {
  readonly id: PeerId
  readonly addrs: readonly string[]
}

/** A command a core asks its driver to carry out. `M` is the core's message type, `T` its timer type. */
export type Command<M, T> =
  /** Deliver `msg` to `to` (the driver connects first when needed; failure comes back as `send-failed`). */
  | { readonly type: 'send'; readonly to: PeerInfo; readonly msg: M }
  /** Call back with `{ type: 'timer', timer }` after `after` ms. Timers cannot be cancelled: cores ignore stale ones. */
  | { readonly type: 'schedule'; readonly after: number; readonly timer: T }
  /** Close the link to `peer` (after any sends issued before this command). */
  | { readonly type: 'disconnect'; readonly peer: PeerId }
  /** Tell the layers above. */
  | { readonly type: 'emit'; readonly event: MembershipEvent }

/** Events membership reports to the layers above (pub/sub learns neighbours only from these). */
export type MembershipEvent =
  /** `peer` entered our HyParView active view: broadcast layers use it as a neighbour. */
  | { readonly type: 'neighbor:up'; readonly peer: PeerInfo }
  /** `peer` left our active view (failure, disconnect or replacement). */
  | { readonly type: 'neighbor:down'; readonly peer: PeerId }
  /** SWIM suspects `peer` (not yet declared failed). */
  | { readonly type: 'member:suspect'; readonly peer: PeerId; readonly incarnation: number }
  /** SWIM declared `peer` failed (suspicion timed out without refutation). */
  | { readonly type: 'member:failed'; readonly peer: PeerId; readonly incarnation: number }
  /** SWIM learned `peer` is alive (new member, or refuted suspicion). */
  | { readonly type: 'member:alive'; readonly peer: PeerId; readonly incarnation: number }

/** Input events common to both cores. Each core adds its own message and timer payloads. */
export type InputEvent<M, T> =
  /** A protocol message from `from` (the transport authenticated `from.id`). */
  | { readonly type: 'message'; readonly from: PeerInfo; readonly msg: M }
  /** A timer the core scheduled has fired. */
  | { readonly type: 'timer'; readonly timer: T }
  /** The driver could not deliver to `peer` (dial failed, link refused or closed mid-send). */
  | { readonly type: 'send-failed'; readonly peer: PeerId }
  /** The transport link to `peer` closed (not a failure verdict by itself; see SWIM). */
  | { readonly type: 'link-down'; readonly peer: PeerId }
