// @saorsa-gossip/membership — the only barrel of the package.
export type { Command, InputEvent, MembershipEvent, PeerInfo } from './proto/types.js'
export { MembershipCore } from './proto/membership.js'
export type { MembershipCommand, MembershipConfig, MembershipControl, MembershipInput, MembershipMessage, MembershipTimer } from './proto/membership.js'
export { HyParView } from './proto/hyparview.js'
export type { HyParViewConfig, HyParViewMessage, HyParViewTimer } from './proto/hyparview.js'
export { Swim } from './proto/swim.js'
export type { SwimConfig, SwimMessage, SwimTimer } from './proto/swim.js'
