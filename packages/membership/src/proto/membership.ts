// MembershipCore: HyParView and SWIM composed into one sans-IO state machine — the unit the driver
// (DefaultMembership) and the simulator run. HyParView keeps the views; SWIM watches the peers in
// them; SWIM's confirmed failure of a peer is HyParView's failure signal, which triggers its repair.
// Neither core knows the other: this file routes their messages, timers and events.
import type { PeerId, Rng } from '@saorsa-gossip/types'
import { HyParView } from './hyparview.js'
import type { HyParViewConfig, HyParViewMessage, HyParViewTimer } from './hyparview.js'
import { Swim } from './swim.js'
import type { SwimConfig, SwimMessage, SwimTimer } from './swim.js'
import type { Command, InputEvent, MembershipEvent, PeerInfo } from './types.js'

/** A membership message on the wire: which protocol, and its message. */
export type MembershipMessage =
  | { readonly p: 'hv'; readonly m: HyParViewMessage }
  /** `active` (on pings): the sender holds the receiver in its active view — the receiver uses it to
   *  repair asymmetric views (e.g. after a silent crash and restart, see #checkSymmetry). */
  | { readonly p: 'swim'; readonly m: SwimMessage; readonly active?: boolean }
/** A membership timer. */
export type MembershipTimer = { readonly p: 'hv'; readonly t: HyParViewTimer } | { readonly p: 'swim'; readonly t: SwimTimer }
/** Inputs beyond the common ones: start the timers, or join through a contact. */
export type MembershipControl = { readonly type: 'start' } | { readonly type: 'join'; readonly contact: PeerInfo } | { readonly type: 'leave' }
export type MembershipInput = InputEvent<MembershipMessage, MembershipTimer> | MembershipControl
export type MembershipCommand = Command<MembershipMessage, MembershipTimer>

/** Settings of both protocols (every field optional; see each core for defaults and sources). */
export interface MembershipConfig {
  hyparview?: Partial<HyParViewConfig>
  swim?: Partial<SwimConfig>
}

export class MembershipCore {
  readonly me: PeerInfo
  readonly hv: HyParView
  readonly swim: Swim
  #passive = new Set<PeerId>()

  constructor(me: PeerInfo, config: MembershipConfig, rng: Rng) {
    this.me = me
    this.hv = new HyParView(me, config.hyparview ?? {}, rng)
    this.swim = new Swim(me, config.swim ?? {}, rng)
  }

  activeView(): PeerInfo[] {
    return this.hv.activeView()
  }

  passiveView(): PeerInfo[] {
    return this.hv.passiveView()
  }

  handle(event: MembershipInput, now: number): MembershipCommand[] {
    const out: MembershipCommand[] = []
    switch (event.type) {
      case 'start':
        this.#hv({ type: 'start' }, now, out)
        this.#swim({ type: 'start' }, now, out)
        break
      case 'join':
        this.#hv({ type: 'join', contact: event.contact }, now, out)
        break
      case 'leave':
        this.#hv({ type: 'leave' }, now, out)
        break
      case 'message':
        if (event.msg.p === 'hv') this.#hv({ type: 'message', from: event.from, msg: event.msg.m }, now, out)
        else if (event.msg.p === 'swim') {
          this.#checkSymmetry(event.from, event.msg, now, out)
          this.#swim({ type: 'message', from: event.from, msg: event.msg.m }, now, out)
        }
        break
      case 'timer':
        if (event.timer.p === 'hv') this.#hv({ type: 'timer', timer: event.timer.t }, now, out)
        else if (event.timer.p === 'swim') this.#swim({ type: 'timer', timer: event.timer.t }, now, out)
        break
      case 'send-failed':
      case 'link-down':
        this.#hv(event, now, out)
        this.#swim(event, now, out)
        break
    }
    return out
  }

  #hv(event: Parameters<HyParView['handle']>[0], now: number, out: MembershipCommand[]): void {
    const start = out.length
    const follow: Array<Parameters<Swim['handle']>[0]> = []
    for (const c of this.hv.handle(event, now)) {
      switch (c.type) {
        case 'send':
          out.push({ type: 'send', to: c.to, msg: { p: 'hv', m: c.msg } })
          break
        case 'schedule':
          out.push({ type: 'schedule', after: c.after, timer: { p: 'hv', t: c.timer } })
          break
        case 'disconnect':
          out.push(c)
          break
        case 'emit':
          out.push(c)
          if (c.event.type === 'neighbor:up') follow.push({ type: 'add-member', peer: c.event.peer, priority: 'active' })
          break
      }
    }
    // SWIM watches every peer in the views: active ones closely, passive ones round-robin.
    const passive = new Set<PeerId>()
    for (const p of this.hv.passiveView()) {
      passive.add(p.id)
      if (!this.#passive.has(p.id)) follow.push({ type: 'add-member', peer: p, priority: 'passive' })
    }
    for (const id of this.#passive) {
      if (!passive.has(id) && !this.hv.isActive(id)) follow.push({ type: 'remove-member', peer: id })
    }
    for (let k = start; k < out.length; k++) {
      const c = out[k] as MembershipCommand
      if (c.type === 'emit' && c.event.type === 'neighbor:down' && !passive.has(c.event.peer) && !this.hv.isActive(c.event.peer)) {
        follow.push({ type: 'remove-member', peer: c.event.peer })
      }
    }
    this.#passive = passive
    for (const f of follow) this.#swim(f, now, out)
  }

  /**
   * Active views must be symmetric. A peer that pings us as its active neighbour while we do not hold it
   * (it missed our DISCONNECT, or we restarted with fresh state after a silent crash, which nothing
   * reports) is told so with DISCONNECT(alive), and drops us. Unless a neighbour request with it is in
   * flight, in which case the views are about to agree.
   */
  #checkSymmetry(from: PeerInfo, msg: MembershipMessage, now: number, out: MembershipCommand[]): void {
    if (msg.p !== 'swim' || msg.m.type !== 'ping' || msg.active !== true) return
    if (this.hv.isActive(from.id) || this.hv.isPending(from.id)) return
    void now
    out.push({ type: 'send', to: from, msg: { p: 'hv', m: { type: 'disconnect', alive: true } } })
  }

  #swim(event: Parameters<Swim['handle']>[0], now: number, out: MembershipCommand[]): void {
    const failed: PeerId[] = []
    for (const c of this.swim.handle(event, now)) {
      switch (c.type) {
        case 'send':
          out.push({
            type: 'send',
            to: c.to,
            msg: c.msg.type === 'ping' ? { p: 'swim', m: c.msg, active: this.hv.isActive(c.to.id) } : { p: 'swim', m: c.msg }
          })
          break
        case 'schedule':
          out.push({ type: 'schedule', after: c.after, timer: { p: 'swim', t: c.timer } })
          break
        case 'disconnect':
          out.push(c)
          break
        case 'emit':
          out.push(c)
          if (c.event.type === 'member:failed') failed.push(c.event.peer)
          break
      }
    }
    // A confirmed failure is HyParView's cue to drop the peer and repair its active view.
    for (const peer of failed) this.#hv({ type: 'peer-failed', peer }, now, out)
  }
}

export type { MembershipEvent }
