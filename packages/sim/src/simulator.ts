// A deterministic discrete-event simulator for sans-IO protocol cores (HouseStyle §1, after
// iroh-gossip's proto/sim.rs): virtual time, one event queue ordered by (time, sequence), a per-link
// latency model, message loss, partitions, silent crashes and restarts. It drives the very same
// cores the real driver runs. Same seed ⇒ same event order ⇒ same output, byte for byte.
import { createSeededRng } from '@saorsa-gossip/types'
import type { PeerId, Rng } from '@saorsa-gossip/types'
import type { InputEvent, MembershipEvent, PeerInfo } from '@saorsa-gossip/membership'
import { EventQueue } from './event-queue.js'

/** A command of a simulated core (the membership cores' `Command`, with any event type `E`). */
export type SimCommand<M, T, E> =
  | { readonly type: 'send'; readonly to: PeerInfo; readonly msg: M }
  | { readonly type: 'schedule'; readonly after: number; readonly timer: T }
  | { readonly type: 'disconnect'; readonly peer: PeerId }
  | { readonly type: 'emit'; readonly event: E }

/** What the simulator needs from a protocol core. `X` are extra, core-specific inputs (join, start…). */
export interface SimProtocol<M, T, X, E = MembershipEvent> {
  handle(event: InputEvent<M, T> | X, now: number): Array<SimCommand<M, T, E>>
}

type SimEvent<M, T, X> =
  | { kind: 'deliver'; to: number; from: number; epoch: number; msg: M }
  | { kind: 'timer'; node: number; epoch: number; timer: T }
  | { kind: 'input'; node: number; epoch: number; input: InputEvent<M, T> | X }
  | { kind: 'call'; fn: () => void }

/** Network model and seed. */
export interface SimOptions {
  seed: number
  /** One-way latency per link, uniform in [min, max] ms, fixed per ordered pair (default [10, 100]). */
  latencyMs?: readonly [number, number]
  /** Probability that a message is lost (default 0). */
  loss?: number
}

/** Counters of one run. */
export interface SimStats {
  events: number
  sent: number
  delivered: number
  lost: number
  /** Sent to a crashed or partitioned node: vanished silently. */
  vanished: number
}

function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d)
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b)
  return (x ^ (x >>> 16)) >>> 0
}

export class Simulator<M, T, X, E = MembershipEvent> {
  readonly rng: Rng
  readonly infos: PeerInfo[] = []
  readonly #nodes: Array<SimProtocol<M, T, X, E>> = []
  readonly #alive: boolean[] = []
  readonly #epoch: number[] = []
  readonly #group: number[] = []
  readonly #index = new Map<PeerId, number>()
  readonly #queue = new EventQueue<SimEvent<M, T, X>>()
  readonly #factory: (info: PeerInfo, rng: Rng, index: number) => SimProtocol<M, T, X, E>
  readonly #latMin: number
  readonly #latSpan: number
  readonly #seed: number
  #loss: number
  now = 0
  readonly stats: SimStats = { events: 0, sent: 0, delivered: 0, lost: 0, vanished: 0 }
  /** Called for every event a core emits (metrics, invariants). */
  onEmit: (node: number, event: E, now: number) => void = () => {}
  /** Called for every message delivered to a live node, before its core handles it. */
  onDeliver: (to: number, from: number, msg: M, now: number) => void = () => {}

  constructor(opts: SimOptions, factory: (info: PeerInfo, rng: Rng, index: number) => SimProtocol<M, T, X, E>) {
    this.#seed = opts.seed >>> 0
    this.rng = createSeededRng(this.#seed)
    const [min, max] = opts.latencyMs ?? [10, 100]
    this.#latMin = min
    this.#latSpan = Math.max(0, max - min)
    this.#loss = opts.loss ?? 0
    this.#factory = factory
  }

  get size(): number {
    return this.#nodes.length
  }

  /** Sets the loss rate from now on. */
  setLoss(loss: number): void {
    this.#loss = loss
  }

  /** Adds a node with a fresh pseudo-random id; returns its index. */
  addNode(): number {
    const i = this.#nodes.length
    const id = Array.from(this.rng.bytes(32), (b) => b.toString(16).padStart(2, '0')).join('') as PeerId
    const info: PeerInfo = { id, addrs: [`sim://${i}`] }
    this.infos.push(info)
    this.#index.set(id, i)
    this.#alive.push(true)
    this.#epoch.push(0)
    this.#group.push(0)
    this.#nodes.push(this.#factory(info, createSeededRng(mix32(this.#seed ^ mix32(i + 1))), i))
    return i
  }

  indexOf(id: PeerId): number | undefined {
    return this.#index.get(id)
  }

  isAlive(i: number): boolean {
    return this.#alive[i] === true
  }

  /** The core of node `i` (for inspection: views, states). */
  node(i: number): SimProtocol<M, T, X, E> {
    return this.#nodes[i] as SimProtocol<M, T, X, E>
  }

  /** Feeds `input` to node `i` at virtual time `at` (default now). */
  input(i: number, input: InputEvent<M, T> | X, at = this.now): void {
    this.#queue.push(at, { kind: 'input', node: i, epoch: this.#epoch[i] as number, input })
  }

  /** Runs `fn` at virtual time `at`. */
  at(at: number, fn: () => void): void {
    this.#queue.push(at, { kind: 'call', fn })
  }

  /** Silent crash: the node stops; messages to it vanish; its pending timers never fire. */
  crash(i: number): void {
    this.#alive[i] = false
    this.#epoch[i] = (this.#epoch[i] as number) + 1
  }

  /** Restarts a crashed node with fresh state (same id and address). */
  restart(i: number): void {
    this.#alive[i] = true
    this.#epoch[i] = (this.#epoch[i] as number) + 1
    this.#nodes[i] = this.#factory(this.infos[i] as PeerInfo, createSeededRng(mix32(this.#seed ^ mix32(i + 1) ^ (this.#epoch[i] as number))), i)
  }

  /** Splits the network: nodes can only reach nodes with the same group number. */
  partition(groupOf: (i: number) => number): void {
    for (let i = 0; i < this.#nodes.length; i++) this.#group[i] = groupOf(i)
  }

  /** Heals every partition. */
  heal(): void {
    this.#group.fill(0)
  }

  #latency(from: number, to: number): number {
    if (this.#latSpan === 0) return this.#latMin
    return this.#latMin + (mix32(this.#seed ^ mix32(from * 0x10001 + to)) % (this.#latSpan + 1))
  }

  #apply(i: number, cmds: Array<SimCommand<M, T, E>>): void {
    const epoch = this.#epoch[i] as number
    for (const c of cmds) {
      switch (c.type) {
        case 'send': {
          this.stats.sent++
          const to = this.#index.get(c.to.id)
          if (to === undefined) {
            this.stats.vanished++
            break
          }
          if (this.#loss > 0 && this.rng.next() < this.#loss) {
            this.stats.lost++
            break
          }
          this.#queue.push(this.now + this.#latency(i, to), { kind: 'deliver', to, from: i, epoch: this.#epoch[to] as number, msg: c.msg })
          break
        }
        case 'schedule':
          this.#queue.push(this.now + c.after, { kind: 'timer', node: i, epoch, timer: c.timer })
          break
        case 'disconnect':
          // Links are implicit here; protocols tell peers with their own messages.
          break
        case 'emit':
          this.onEmit(i, c.event, this.now)
          break
      }
    }
  }

  /** Processes every event up to and including virtual time `until`. */
  runUntil(until: number): void {
    for (;;) {
      if (this.#queue.peekTime() > until) break
      const item = this.#queue.pop()
      if (item === undefined) break
      this.now = item.time
      this.stats.events++
      const e = item.event
      switch (e.kind) {
        case 'call':
          e.fn()
          break
        case 'timer':
          if (this.#alive[e.node] === true && this.#epoch[e.node] === e.epoch) {
            this.#apply(e.node, this.#nodes[e.node]!.handle({ type: 'timer', timer: e.timer }, this.now))
          }
          break
        case 'input':
          if (this.#alive[e.node] === true && this.#epoch[e.node] === e.epoch) {
            this.#apply(e.node, this.#nodes[e.node]!.handle(e.input, this.now))
          }
          break
        case 'deliver': {
          // A crashed (or since restarted) receiver, or a partition between them: the message vanishes.
          if (this.#alive[e.to] !== true || this.#epoch[e.to] !== e.epoch || this.#group[e.to] !== this.#group[e.from]) {
            this.stats.vanished++
            break
          }
          this.stats.delivered++
          this.onDeliver(e.to, e.from, e.msg, this.now)
          this.#apply(e.to, this.#nodes[e.to]!.handle({ type: 'message', from: this.infos[e.from] as PeerInfo, msg: e.msg }, this.now))
          break
        }
      }
    }
    if (this.now < until) this.now = until
  }
}
