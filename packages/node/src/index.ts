// @saorsa-gossip/node — the composition root.
export { createGossipNode, GossipNode, listenAddrs } from './node.js'
export type { GossipNodeEvents, GossipNodeInit, NodeStatus, PeerStatus } from './node.js'
export { toPrometheusText } from './prometheus.js'
