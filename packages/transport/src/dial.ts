// Helpers both transports share around a dial: one handshake per address at a time, and the error
// `send` gives for a peer without a live link.
import type { PeerId } from '@saorsa-gossip/types'
import type { DialOptions } from './transport.js'

/**
 * Runs `dial` for `addr` unless a dial to it is already in flight, in which case the caller shares
 * it; then checks the peer against `options.expectedPeer`. Used by both transports.
 */
export async function sharedDial(
  pending: Map<string, Promise<PeerId>>,
  addr: string,
  options: DialOptions,
  dial: () => Promise<PeerId>
): Promise<PeerId> {
  let p = pending.get(addr)
  if (p === undefined) {
    p = dial()
    pending.set(addr, p)
    void p.catch(() => undefined).finally(() => pending.delete(addr))
  }
  const peer = await p
  if (options.expectedPeer !== undefined && peer !== options.expectedPeer) {
    throw new Error(`peer at ${addr} is ${peer}, expected ${options.expectedPeer}`)
  }
  return peer
}

/** `send` to a peer with no live link. */
export class NotConnectedError extends Error {
  readonly peer: PeerId
  constructor(peer: PeerId) {
    super(`not connected to ${peer}`)
    this.name = 'NotConnectedError'
    this.peer = peer
  }
}
