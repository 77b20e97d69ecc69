// @saorsa-gossip/sim — the only barrel of the (private) simulator package.
export { EventQueue } from './event-queue.js'
export { Simulator } from './simulator.js'
export type { SimOptions, SimProtocol, SimStats } from './simulator.js'
export { buildNetwork, churnScenario, detectionScenario, failureScenario, measure, membershipScenario, SCENARIOS } from './scenarios.js'
export type { MembershipSim, ScenarioOptions } from './scenarios.js'
