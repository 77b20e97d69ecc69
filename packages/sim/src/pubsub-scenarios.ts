// Simulation scenarios for pub/sub (Plumtree over HyParView + SWIM): broadcast, broadcast-failure and
// partition. Figures follow the Plumtree paper:
//   reliability — fraction of the nodes alive when a message was sent that delivered it by eager push
//                 or GRAFT (anti-entropy deliveries do not count; `partition` measures those);
//   RMR         — relative message redundancy, payload copies received / (receivers) − 1;
//   LDH         — last delivery hop, the hop count of the last node reached (mean over broadcasts);
//   maxHops     — the largest hop count of any delivery.
// The same options (seed included) give the same figures, byte for byte (wallMs aside).
import type { PlumtreeConfig } from '@saorsa-gossip/pubsub'
import type { MessageId, TopicId } from '@saorsa-gossip/types'
import { topicIdFromName } from '@saorsa-gossip/types'
import { GossipNode } from './gossip-node.js'
import type { GossipControl, GossipEvent, GossipMessage, GossipTimer } from './gossip-node.js'
import { measure, round4, scheduleJoins, WARMUP_AFTER_JOINS_MS } from './scenarios.js'
import type { ScenarioOptions } from './scenarios.js'
import { Simulator } from './simulator.js'

export type GossipSim = Simulator<GossipMessage, GossipTimer, GossipControl, GossipEvent>

/** Options of the pub/sub scenarios (beyond ScenarioOptions). */
export interface BroadcastOptions extends ScenarioOptions {
  /** Measured broadcasts (default 100). */
  broadcasts?: number
  /** Virtual time between broadcasts, ms (default 200). */
  intervalMs?: number
  /** Plumtree settings to override (default: the library defaults). */
  plumtree?: Partial<PlumtreeConfig>
}

const TOPIC: TopicId = topicIdFromName('sim')

interface Track {
  readonly origin: number
  readonly sentAt: number
  /** Nodes alive when it was sent (the origin excluded). */
  readonly expected: number
  /** Node → [hops, via] of its delivery. */
  readonly delivered: Map<number, { hops: number; via: string }>
  /** Payload copies received by eager push or GRAFT answers (duplicates included). */
  copies: number
}

/** A network of gossip nodes with delivery tracking. */
class Harness {
  readonly sim: GossipSim
  readonly joinedBy: number
  readonly tracks = new Map<MessageId, Track>()
  graylisted = 0

  constructor(opts: BroadcastOptions) {
    this.sim = new Simulator({ seed: opts.seed, loss: 0 }, (info, rng) => new GossipNode(info, rng, opts.plumtree))
    for (let i = 0; i < opts.nodes; i++) this.sim.addNode()
    this.joinedBy = scheduleJoins(this.sim, opts.nodes)
    this.sim.onEmit = (node, ev) => {
      if (ev.type === 'deliver') this.tracks.get(ev.id)?.delivered.set(node, { hops: ev.hops, via: ev.via })
      else if (ev.type === 'graylisted') this.graylisted++
    }
    this.sim.onDeliver = (_to, _from, msg) => {
      if (msg.l === 'p' && msg.m.type === 'gossip' && msg.m.mode !== 'sync') {
        const t = this.tracks.get(msg.m.id)
        if (t !== undefined) t.copies++
      }
    }
  }

  live(): number[] {
    const out: number[] = []
    for (let i = 0; i < this.sim.size; i++) if (this.sim.isAlive(i)) out.push(i)
    return out
  }

  /** Live nodes joined to `start` by live active-view links (BFS). */
  component(start: number): Set<number> {
    const seen = new Set([start])
    const queue = [start]
    while (queue.length > 0) {
      const i = queue.pop() as number
      for (const p of this.node(i).membership.activeView()) {
        const j = this.sim.indexOf(p.id)
        if (j !== undefined && this.sim.isAlive(j) && !seen.has(j)) {
          seen.add(j)
          queue.push(j)
        }
      }
    }
    return seen
  }

  node(i: number): GossipNode {
    return this.sim.node(i) as GossipNode
  }

  /** Publishes one message from `origin` now; returns its id. */
  broadcast(origin: number, liveCount: number): MessageId {
    const id = Array.from(this.sim.rng.bytes(32), (b) => b.toString(16).padStart(2, '0')).join('') as MessageId
    this.tracks.set(id, { origin, sentAt: this.sim.now, expected: liveCount - 1, delivered: new Map(), copies: 0 })
    this.sim.input(origin, { type: 'publish', topic: TOPIC, id, data: { origin } })
    return id
  }

  /** Schedules `count` broadcasts from random live origins, `intervalMs` apart, from `start`. */
  schedule(count: number, start: number, intervalMs: number, into: MessageId[]): void {
    for (let k = 0; k < count; k++) {
      this.sim.at(start + k * intervalMs, () => {
        const live = this.live()
        into.push(this.broadcast(live[this.sim.rng.int(live.length)] as number, live.length))
      })
    }
  }

  /** Figures of the given broadcasts, counting eager and GRAFT deliveries only. */
  figures(ids: readonly MessageId[]): { reliability: number; reliabilityMin: number; rmr: number; ldh: number; maxHops: number; graftDeliveries: number } {
    const rel: number[] = []
    const rmr: number[] = []
    const ldh: number[] = []
    let grafts = 0
    for (const id of ids) {
      const t = this.tracks.get(id)
      if (t === undefined) continue
      let reached = 0
      let last = 0
      for (const [node, d] of t.delivered) {
        if (node === t.origin || d.via === 'sync') continue
        reached++
        if (d.via === 'graft') grafts++
        last = Math.max(last, d.hops)
      }
      rel.push(t.expected === 0 ? 1 : reached / t.expected)
      if (reached > 0) rmr.push(t.copies / reached - 1)
      ldh.push(last)
    }
    const mean = (xs: number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length)
    return {
      reliability: round4(mean(rel)),
      reliabilityMin: round4(rel.length === 0 ? 0 : Math.min(...rel)),
      rmr: round4(mean(rmr)),
      ldh: round4(mean(ldh)),
      maxHops: ldh.length === 0 ? 0 : Math.max(...ldh),
      graftDeliveries: grafts
    }
  }
}

/**
 * Broadcasts issued before measuring, one a second, so the tree has formed: Plumtree floods the first
 * ones and prunes on their duplicates, then the optimisation rule shortens the tree.
 */
const TREE_WARMUP_BROADCASTS = 30
const TREE_WARMUP_INTERVAL_MS = 1000

function warmUp(h: Harness, opts: ScenarioOptions): number {
  const warm = opts.warmupMs ?? h.joinedBy + WARMUP_AFTER_JOINS_MS
  const tree: MessageId[] = []
  h.schedule(TREE_WARMUP_BROADCASTS, warm, TREE_WARMUP_INTERVAL_MS, tree)
  const end = warm + TREE_WARMUP_BROADCASTS * TREE_WARMUP_INTERVAL_MS + 5_000
  h.sim.runUntil(end)
  return end
}

/** `broadcast`: after warm-up, B broadcasts from random origins; reliability, RMR, LDH, max hops. */
export function broadcastScenario(opts: BroadcastOptions): Record<string, unknown> {
  const t0 = performance.now()
  const h = new Harness(opts)
  const start = warmUp(h, opts)
  const count = opts.broadcasts ?? 100
  const interval = opts.intervalMs ?? 200
  const ids: MessageId[] = []
  h.schedule(count, start, interval, ids)
  h.sim.runUntil(start + count * interval + 10_000)
  return {
    scenario: 'broadcast',
    nodes: opts.nodes,
    seed: opts.seed,
    broadcasts: ids.length,
    ...h.figures(ids),
    ...pick(measure(h.sim, (i) => h.node(i).membership), ['connected', 'components', 'activeViewMin', 'activeViewMax', 'invariantViolations']),
    graylisted: h.graylisted,
    messages: h.sim.stats.delivered,
    wallMs: Math.round(performance.now() - t0)
  }
}

/**
 * `broadcast-failure`: after warm-up, crash a fraction F at once (silently); one broadcast at that
 * instant (`firstReliability`), then one every second for 30 s. Broadcasts sent ≥ 10 s after the crash
 * are summarised in `laterReliabilityMin`.
 */
export function broadcastFailureScenario(opts: BroadcastOptions): Record<string, unknown> {
  const t0 = performance.now()
  const h = new Harness(opts)
  const start = warmUp(h, opts)
  const fail = opts.fail ?? 0.5
  const order = h.sim.rng.shuffle(Array.from({ length: h.sim.size }, (_, i) => i))
  const crashed = order.slice(0, Math.floor(fail * h.sim.size))
  for (const i of crashed) h.sim.crash(i)
  const live = h.live()
  const origin = live[h.sim.rng.int(live.length)] as number
  // The most any broadcast could reach at that instant: the survivors joined to the origin by live links.
  const reachable = h.component(origin).size
  const first = h.broadcast(origin, live.length)
  const early: MessageId[] = []
  const later: MessageId[] = []
  h.schedule(9, start + 1000, 1000, early)
  h.schedule(21, start + 10_000, 1000, later)
  h.sim.runUntil(start + 45_000)
  const f = h.figures([first])
  const e = h.figures(early)
  const l = h.figures(later)
  return {
    scenario: 'broadcast-failure',
    nodes: opts.nodes,
    seed: opts.seed,
    fail,
    crashed: crashed.length,
    firstReliability: f.reliability,
    firstReachable: round4((reachable - 1) / Math.max(1, live.length - 1)),
    firstGraftDeliveries: f.graftDeliveries,
    earlyReliabilityMin: e.reliabilityMin,
    laterBroadcasts: later.length,
    laterReliability: l.reliability,
    laterReliabilityMin: l.reliabilityMin,
    laterRmr: l.rmr,
    laterLdh: l.ldh,
    maxHops: Math.max(f.maxHops, e.maxHops, l.maxHops),
    ...pick(measure(h.sim, (i) => h.node(i).membership), ['live', 'connected', 'components', 'isolated']),
    wallMs: Math.round(performance.now() - t0)
  }
}

/**
 * `partition`: after warm-up, split the network into two random halves for `partitionMs` (default
 * 20 s); broadcast 10 messages on each side during it; heal; report how long until every live node
 * holds every message (any delivery path, anti-entropy included) — `healSeconds`.
 */
export function partitionScenario(opts: BroadcastOptions & { partitionMs?: number }): Record<string, unknown> {
  const t0 = performance.now()
  const h = new Harness(opts)
  const start = warmUp(h, opts)
  const side = Array.from({ length: h.sim.size }, () => h.sim.rng.int(2))
  h.sim.partition((i) => side[i] as number)
  const partitionMs = opts.partitionMs ?? 20_000
  const ids: MessageId[] = []
  for (let k = 0; k < 20; k++) {
    h.sim.at(start + 2_000 + k * 500, () => {
      const mine = h.live().filter((i) => side[i] === k % 2)
      const origin = mine[h.sim.rng.int(mine.length)] as number
      ids.push(h.broadcast(origin, mine.length))
    })
  }
  const healAt = start + partitionMs
  h.sim.runUntil(healAt)
  const sameSide = (id: MessageId): number => {
    const t = h.tracks.get(id) as Track
    return t.delivered.size / Math.max(1, t.expected)
  }
  const duringPartition = round4(Math.min(...ids.map(sameSide)))
  const holds = (): number => {
    let have = 0
    const live = h.live()
    for (const id of ids) {
      const t = h.tracks.get(id) as Track
      for (const i of live) if (i === t.origin || t.delivered.has(i)) have++
    }
    return have / (live.length * ids.length)
  }
  const atHeal = round4(holds())
  h.sim.heal()
  let healSeconds: number | null = null
  const limitMs = 180_000
  for (let t = 1000; t <= limitMs; t += 1000) {
    h.sim.runUntil(healAt + t)
    if (holds() === 1) {
      healSeconds = t / 1000
      break
    }
  }
  let viaSync = 0
  for (const id of ids) for (const d of (h.tracks.get(id) as Track).delivered.values()) if (d.via === 'sync') viaSync++
  return {
    scenario: 'partition',
    nodes: opts.nodes,
    seed: opts.seed,
    partitionSeconds: partitionMs / 1000,
    messages: ids.length,
    sameSideReliabilityMin: duringPartition,
    heldAtHeal: atHeal,
    healSeconds,
    antiEntropyPeriods: healSeconds === null ? null : round4(healSeconds / 30),
    heldAtEnd: round4(holds()),
    deliveriesViaSync: viaSync,
    ...pick(measure(h.sim, (i) => h.node(i).membership), ['connected', 'components']),
    wallMs: Math.round(performance.now() - t0)
  }
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Pick<T, K> {
  const out = {} as Pick<T, K>
  for (const k of keys) out[k] = o[k]
  return out
}

export const PUBSUB_SCENARIOS = {
  broadcast: broadcastScenario,
  'broadcast-failure': broadcastFailureScenario,
  partition: partitionScenario
} as const

