// @saorsa-gossip/node — the composition root.
export { createGossipNode, GossipNode, listenAddrs } from './node.js'
export type { GossipNodeEvents, GossipNodeInit, NodeStatus, PeerStatus } from './node.js'
export { toPrometheusText } from './prometheus.js'
export { ControlClient, isLive, MAX_CONTROL_BACKLOG_BYTES, MAX_CONTROL_CONNECTIONS, MAX_CONTROL_LINE_BYTES, MAX_CONTROL_SUBSCRIPTIONS, startControlServer } from './control.js'
export type { ControlDelivery, ControlServer } from './control.js'
export { acquireInstanceLock, InstanceLockedError, processAlive } from './instance-lock.js'
export type { InstanceLock, InstanceLockInit } from './instance-lock.js'
