// A simulated gossip node: the membership core (HyParView + SWIM) and the pub/sub core (Plumtree)
// composed the way the real node composes their drivers — pub/sub learns neighbours only from
// membership's neighbor:up / neighbor:down events.
import { MembershipCore } from '@saorsa-gossip/membership'
import type { InputEvent, MembershipControl, MembershipEvent, MembershipMessage, MembershipTimer, PeerInfo } from '@saorsa-gossip/membership'
import { Plumtree } from '@saorsa-gossip/pubsub'
import type { PlumtreeConfig, PubSubCommand, PubSubEvent, PubSubInput, PubSubMessage, PubSubTimer } from '@saorsa-gossip/pubsub'
import type { MessageId, Rng, TopicId } from '@saorsa-gossip/types'
import type { SimCommand, SimProtocol } from './simulator.js'

/** The body a simulated message carries in place of a signed envelope. */
export interface SimData {
  /** Index of the origin node. */
  readonly origin: number
  /** Stands in for a bad signature: every validator rejects it. */
  readonly forged?: boolean
}

export type GossipMessage = { readonly l: 'm'; readonly m: MembershipMessage } | { readonly l: 'p'; readonly m: PubSubMessage<SimData> }
export type GossipTimer = { readonly l: 'm'; readonly t: MembershipTimer } | { readonly l: 'p'; readonly t: PubSubTimer }
export type GossipControl = MembershipControl | { readonly type: 'publish'; readonly topic: TopicId; readonly id: MessageId; readonly data: SimData }
export type GossipEvent = MembershipEvent | PubSubEvent<SimData>
type Cmd = SimCommand<GossipMessage, GossipTimer, GossipEvent>

export class GossipNode implements SimProtocol<GossipMessage, GossipTimer, GossipControl, GossipEvent> {
  readonly membership: MembershipCore
  readonly pubsub: Plumtree<SimData>

  constructor(me: PeerInfo, rng: Rng, config: Partial<PlumtreeConfig> = {}) {
    this.membership = new MembershipCore(me, {}, rng)
    this.pubsub = new Plumtree<SimData>(me.id, config, rng, ({ data }) => (data.forged === true ? 'bad-signature' : undefined))
  }

  handle(event: InputEvent<GossipMessage, GossipTimer> | GossipControl, now: number): Cmd[] {
    const out: Cmd[] = []
    switch (event.type) {
      case 'start':
        this.#membership(event, now, out)
        this.#pubsub({ type: 'start' }, now, out)
        break
      case 'join':
      case 'leave':
        this.#membership(event, now, out)
        break
      case 'publish':
        this.#pubsub(event, now, out)
        break
      case 'message':
        if (event.msg.l === 'm') this.#membership({ type: 'message', from: event.from, msg: event.msg.m }, now, out)
        else this.#pubsub({ type: 'message', from: event.from.id, msg: event.msg.m }, now, out)
        break
      case 'timer':
        if (event.timer.l === 'm') this.#membership({ type: 'timer', timer: event.timer.t }, now, out)
        else this.#pubsub({ type: 'timer', timer: event.timer.t }, now, out)
        break
      case 'send-failed':
      case 'link-down':
        this.#membership(event, now, out)
        break
    }
    return out
  }

  #membership(event: Parameters<MembershipCore['handle']>[0], now: number, out: Cmd[]): void {
    const up: Array<PubSubInput<SimData>> = []
    for (const c of this.membership.handle(event, now)) {
      switch (c.type) {
        case 'send':
          out.push({ type: 'send', to: c.to, msg: { l: 'm', m: c.msg } })
          break
        case 'schedule':
          out.push({ type: 'schedule', after: c.after, timer: { l: 'm', t: c.timer } })
          break
        case 'disconnect':
          out.push(c)
          break
        case 'emit':
          out.push(c)
          if (c.event.type === 'neighbor:up') up.push({ type: 'neighbor-up', peer: c.event.peer.id })
          else if (c.event.type === 'neighbor:down') up.push({ type: 'neighbor-down', peer: c.event.peer })
          break
      }
    }
    for (const e of up) this.#pubsub(e, now, out)
  }

  #pubsub(event: PubSubInput<SimData>, now: number, out: Cmd[]): void {
    for (const c of this.pubsub.handle(event, now) as Array<PubSubCommand<SimData>>) {
      switch (c.type) {
        case 'send':
          // Pub/sub sends go to current neighbours; the simulator needs only the id to route.
          out.push({ type: 'send', to: { id: c.to, addrs: [] }, msg: { l: 'p', m: c.msg } })
          break
        case 'schedule':
          out.push({ type: 'schedule', after: c.after, timer: { l: 'p', t: c.timer } })
          break
        case 'disconnect':
          out.push(c)
          break
        case 'emit':
          out.push(c)
          break
      }
    }
  }
}
