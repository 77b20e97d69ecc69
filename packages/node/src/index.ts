// @saorsa-gossip/node — the composition root.
export { createGossipNode, GossipNode, listenAddrs } from './node.js'
export type { GossipNodeEvents, GossipNodeInit, NodeStatus, PeerStatus } from './node.js'
export { toPrometheusText } from './prometheus.js'
export {
  ControlClient,
  CONTROL_IDLE_TIMEOUT_MS,
  CONTROL_PAUSE_BACKLOG_BYTES,
  isLive,
  MAX_CONTROL_BACKLOG_BYTES,
  MAX_CONTROL_CONNECTIONS,
  MAX_CONTROL_LINE_BYTES,
  MAX_CONTROL_REQUESTS_IN_FLIGHT,
  MAX_CONTROL_SUBSCRIPTIONS,
  startControlServer
} from './control.js'
export type { ControlCloseReason, ControlDelivery, ControlServer, ControlServerEvents, ControlServerInit } from './control.js'
export { acquireInstanceLock, InstanceLockedError, processAlive } from './instance-lock.js'
export type { InstanceLock, InstanceLockInit } from './instance-lock.js'
