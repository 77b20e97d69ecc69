// Simulation scenarios for membership (HyParView + SWIM). Each returns one flat object of figures;
// the same options (seed included) give the same figures, byte for byte (wallMs aside).
import { MembershipCore } from '@saorsa-gossip/membership'
import type { MembershipControl, MembershipMessage, MembershipTimer } from '@saorsa-gossip/membership'
import type { PeerId } from '@saorsa-gossip/types'
import { Simulator } from './simulator.js'

/** Options every scenario takes. */
export interface ScenarioOptions {
  nodes: number
  seed: number
  /** Fraction of nodes to crash (`failure`), default 0.5. */
  fail?: number
  /** Message loss probability, default 0 (`detection` uses it during its measurement). */
  loss?: number
  /** Virtual warm-up before measuring, ms (default: the join phase, ≤ 10 s, plus 40 s). */
  warmupMs?: number
  /** `detection`: silent crashes, one every `crashSpacingMs` (default 30). */
  crashes?: number
  /** `detection`: virtual time between crashes, ms (default 20,000: 30 crashes in 10 virtual minutes). */
  crashSpacingMs?: number
}

export type MembershipSim = Simulator<MembershipMessage, MembershipTimer, MembershipControl>

/**
 * Starts `n` nodes (already added to `sim`) that join one after another through random earlier nodes.
 * Joins arrive one every 20 ms, and at least 1,000 per virtual second for large networks (all in ≤ 10 s).
 * Returns the virtual time of the last join.
 */
export function scheduleJoins<M, T, X, E>(sim: Simulator<M, T, X | MembershipControl, E>, n: number): number {
  const stepMs = Math.min(20, 10_000 / n)
  for (let i = 0; i < n; i++) {
    const at = Math.floor(i * stepMs)
    sim.input(i, { type: 'start' }, at)
    if (i > 0) {
      const contact = sim.infos[sim.rng.int(i)]!
      sim.input(i, { type: 'join', contact }, at)
    }
  }
  return Math.ceil(n * stepMs)
}

/** Builds a network of `n` membership cores joined by `scheduleJoins`. */
export function buildNetwork(opts: ScenarioOptions): { sim: MembershipSim; joinedBy: number } {
  const sim: MembershipSim = new Simulator({ seed: opts.seed, loss: 0 }, (info, rng) => new MembershipCore(info, {}, rng))
  for (let i = 0; i < opts.nodes; i++) sim.addNode()
  return { sim, joinedBy: scheduleJoins(sim, opts.nodes) }
}

/** Virtual time after the last join before figures are taken (views converge into [target, max]). */
export const WARMUP_AFTER_JOINS_MS = 40_000

/** Graph figures over the live nodes' active views. */
export function measure<M, T, X, E>(
  sim: Simulator<M, T, X, E>,
  core: (i: number) => MembershipCore = (i) => sim.node(i) as unknown as MembershipCore
): {
  live: number
  connected: number
  components: number
  isolated: number
  activeViewMin: number
  activeViewMax: number
  activeViewMean: number
  passiveViewMin: number
  passiveViewMax: number
  inDegreeMin: number
  inDegreeMax: number
  invariantViolations: number
  violations: string[]
} {
  const n = sim.size
  const live: number[] = []
  for (let i = 0; i < n; i++) if (sim.isAlive(i)) live.push(i)
  const adj = new Map<number, number[]>()
  const inDegree = new Map<number, number>()
  const violations: string[] = []
  let aMin = Infinity
  let aMax = 0
  let aSum = 0
  let pMin = Infinity
  let pMax = 0
  const cfgMax = 12
  const passiveMax = 64
  for (const i of live) {
    const c = core(i)
    const act = c.activeView()
    const pas = c.passiveView()
    const liveNeighbours: number[] = []
    const seen = new Set<PeerId>()
    for (const p of act) {
      if (p.id === c.me.id) violations.push(`node ${i}: itself in its active view`)
      if (seen.has(p.id)) violations.push(`node ${i}: duplicate in active view`)
      seen.add(p.id)
      const j = sim.indexOf(p.id)
      if (j === undefined || !sim.isAlive(j)) continue
      liveNeighbours.push(j)
      // Active views are symmetric among live nodes.
      if (!core(j).activeView().some((q) => q.id === c.me.id)) violations.push(`asymmetric active link ${i}→${j}`)
    }
    for (const p of pas) if (seen.has(p.id)) violations.push(`node ${i}: peer both active and passive`)
    if (act.length > cfgMax) violations.push(`node ${i}: active view ${act.length} > ${cfgMax}`)
    if (pas.length > passiveMax) violations.push(`node ${i}: passive view ${pas.length} > ${passiveMax}`)
    adj.set(i, liveNeighbours)
    for (const p of pas) {
      const j = sim.indexOf(p.id)
      if (j !== undefined) inDegree.set(j, (inDegree.get(j) ?? 0) + 1)
    }
    aMin = Math.min(aMin, liveNeighbours.length)
    aMax = Math.max(aMax, liveNeighbours.length)
    aSum += liveNeighbours.length
    pMin = Math.min(pMin, pas.length)
    pMax = Math.max(pMax, pas.length)
  }
  // Components (BFS over live active links).
  const comp = new Map<number, number>()
  let components = 0
  let largest = 0
  for (const s of live) {
    if (comp.has(s)) continue
    components++
    let size = 0
    const queue = [s]
    comp.set(s, components)
    while (queue.length > 0) {
      const x = queue.pop() as number
      size++
      for (const y of adj.get(x) ?? []) {
        if (!comp.has(y)) {
          comp.set(y, components)
          queue.push(y)
        }
      }
    }
    largest = Math.max(largest, size)
  }
  let inMin = Infinity
  let inMax = 0
  for (const i of live) {
    const d = inDegree.get(i) ?? 0
    inMin = Math.min(inMin, d)
    inMax = Math.max(inMax, d)
  }
  const isolated = live.filter((i) => (adj.get(i) ?? []).length === 0).length
  return {
    live: live.length,
    connected: live.length === 0 ? 0 : round4(largest / live.length),
    components,
    isolated,
    activeViewMin: live.length === 0 ? 0 : aMin,
    activeViewMax: aMax,
    activeViewMean: live.length === 0 ? 0 : round4(aSum / live.length),
    passiveViewMin: live.length === 0 ? 0 : pMin,
    passiveViewMax: pMax,
    inDegreeMin: live.length === 0 ? 0 : inMin,
    inDegreeMax: inMax,
    invariantViolations: violations.length,
    violations: violations.slice(0, 10)
  }
}

export const round4 = (x: number): number => Math.round(x * 10_000) / 10_000

export function pct(xs: number[], p: number): number {
  if (xs.length === 0) return 0
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number
}

/** `membership`: join N nodes, run, report connectivity, view sizes, in-degree spread, invariants. */
export function membershipScenario(opts: ScenarioOptions): Record<string, unknown> {
  const t0 = performance.now()
  const { sim, joinedBy } = buildNetwork(opts)
  const warm = opts.warmupMs ?? joinedBy + WARMUP_AFTER_JOINS_MS
  sim.runUntil(warm)
  const m = measure(sim)
  return {
    scenario: 'membership',
    nodes: opts.nodes,
    seed: opts.seed,
    virtualSeconds: warm / 1000,
    ...m,
    messages: sim.stats.delivered,
    events: sim.stats.events,
    wallMs: Math.round(performance.now() - t0)
  }
}

/** `failure`: crash a fraction F at once; time until the survivors form one connected overlay. */
export function failureScenario(opts: ScenarioOptions): Record<string, unknown> {
  const t0 = performance.now()
  const { sim, joinedBy } = buildNetwork(opts)
  const warm = opts.warmupMs ?? joinedBy + WARMUP_AFTER_JOINS_MS
  sim.runUntil(warm)
  const fail = opts.fail ?? 0.5
  const order = sim.rng.shuffle(Array.from({ length: sim.size }, (_, i) => i))
  const crashed = order.slice(0, Math.floor(fail * sim.size))
  for (const i of crashed) sim.crash(i)
  let reconnectSeconds: number | null = null
  const limitMs = 120_000
  for (let t = 1000; t <= limitMs; t += 1000) {
    sim.runUntil(warm + t)
    const m = measure(sim)
    if (m.components === 1 && m.isolated === 0) {
      reconnectSeconds = t / 1000
      break
    }
  }
  const m = measure(sim)
  return {
    scenario: 'failure',
    nodes: opts.nodes,
    seed: opts.seed,
    fail,
    crashed: crashed.length,
    reconnectSeconds,
    ...m,
    wallMs: Math.round(performance.now() - t0)
  }
}

/**
 * `detection`: crash nodes one at a time (silently); per crash, the time until the first live member
 * suspects it and until one declares it failed; false positives = live nodes declared failed, under
 * loss L, over the whole measurement (10 virtual minutes by default). `falseSuspicions` counts the
 * suspicions of live nodes (each must be refuted in time), `sentPerNodePerSecond` the message cost.
 */
export function detectionScenario(opts: ScenarioOptions): Record<string, unknown> {
  const t0 = performance.now()
  const { sim, joinedBy } = buildNetwork(opts)
  const warm = opts.warmupMs ?? joinedBy + WARMUP_AFTER_JOINS_MS
  sim.runUntil(warm)
  sim.setLoss(opts.loss ?? 0)
  const crashes = opts.crashes ?? 30
  const spacingMs = opts.crashSpacingMs ?? 20_000 // 30 crashes over 10 virtual minutes
  const crashAt = new Map<number, number>()
  const suspectedAt = new Map<number, number>()
  const failedAt = new Map<number, number>()
  let falsePositives = 0
  let falseSuspicions = 0
  const fpPeers = new Set<number>()
  const sentBefore = sim.stats.sent
  sim.onEmit = (_node, ev, now) => {
    if (ev.type !== 'member:suspect' && ev.type !== 'member:failed') return
    const j = sim.indexOf(ev.peer)
    if (j === undefined) return
    if (sim.isAlive(j)) {
      if (ev.type === 'member:suspect') falseSuspicions++
      if (ev.type === 'member:failed') {
        falsePositives++
        fpPeers.add(j)
      }
      return
    }
    const at = crashAt.get(j)
    if (at === undefined) return
    if (ev.type === 'member:suspect' && !suspectedAt.has(j)) suspectedAt.set(j, now - at)
    if (ev.type === 'member:failed' && !failedAt.has(j)) failedAt.set(j, now - at)
  }
  const order = sim.rng.shuffle(Array.from({ length: sim.size }, (_, i) => i))
  for (let k = 0; k < crashes && k < order.length; k++) {
    const victim = order[k] as number
    sim.at(warm + k * spacingMs, () => {
      crashAt.set(victim, sim.now)
      sim.crash(victim)
    })
  }
  const end = warm + crashes * spacingMs
  sim.runUntil(end)
  const det = [...failedAt.values()]
  const sus = [...suspectedAt.values()]
  return {
    scenario: 'detection',
    nodes: opts.nodes,
    seed: opts.seed,
    loss: opts.loss ?? 0,
    crashes: crashAt.size,
    detected: det.length,
    detectionP50Ms: pct(det, 50),
    detectionP95Ms: pct(det, 95),
    detectionMaxMs: det.length === 0 ? 0 : Math.max(...det),
    suspicionP50Ms: pct(sus, 50),
    suspicionP95Ms: pct(sus, 95),
    falsePositives,
    falsePositivePeers: fpPeers.size,
    falseSuspicions,
    sentPerNodePerSecond: Math.round(((sim.stats.sent - sentBefore) / sim.size / ((end - warm) / 1000)) * 10) / 10,
    measuredVirtualSeconds: (end - warm) / 1000,
    ...measure(sim),
    wallMs: Math.round(performance.now() - t0)
  }
}

/**
 * `churn`: after warm-up, every virtual second one random live node crashes silently and one crashed
 * node restarts with fresh state and rejoins through a random live node, for 120 virtual seconds;
 * then 30 s to settle. Reports the worst connectivity seen each second and the final figures.
 */
export function churnScenario(opts: ScenarioOptions): Record<string, unknown> {
  const t0 = performance.now()
  const { sim, joinedBy } = buildNetwork(opts)
  const warm = opts.warmupMs ?? joinedBy + WARMUP_AFTER_JOINS_MS
  sim.runUntil(warm)
  sim.setLoss(opts.loss ?? 0)
  const crashed: number[] = []
  let worstConnected = 1
  let worstIsolated = 0
  const churnSeconds = 120
  for (let t = 1; t <= churnSeconds; t++) {
    const liveNodes = Array.from({ length: sim.size }, (_, i) => i).filter((i) => sim.isAlive(i))
    const victim = liveNodes[sim.rng.int(liveNodes.length)] as number
    sim.crash(victim)
    crashed.push(victim)
    if (crashed.length > 1) {
      const back = crashed.splice(sim.rng.int(crashed.length - 1), 1)[0] as number
      sim.restart(back)
      const contacts = liveNodes.filter((i) => i !== victim && i !== back)
      sim.input(back, { type: 'start' })
      sim.input(back, { type: 'join', contact: sim.infos[contacts[sim.rng.int(contacts.length)] as number]! })
    }
    sim.runUntil(warm + t * 1000)
    const m = measure(sim)
    worstConnected = Math.min(worstConnected, m.connected)
    worstIsolated = Math.max(worstIsolated, m.isolated)
  }
  sim.runUntil(warm + (churnSeconds + 30) * 1000)
  return {
    scenario: 'churn',
    nodes: opts.nodes,
    seed: opts.seed,
    loss: opts.loss ?? 0,
    churnSeconds,
    worstConnected,
    worstIsolated,
    ...measure(sim),
    wallMs: Math.round(performance.now() - t0)
  }
}

export const SCENARIOS = {
  churn: churnScenario,
  membership: membershipScenario,
  failure: failureScenario,
  detection: detectionScenario
} as const
