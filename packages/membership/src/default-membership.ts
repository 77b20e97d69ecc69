// DefaultMembership: drives MembershipCore (HyParView + SWIM) over a Transport with real timers.
// The driver knows nothing of the protocols: it decodes frames on the `membership` channel, hands
// them to the core with the current time, and carries out the commands that come back.
import { InvalidMessageError, MemoryMetrics, silentLogger, TimerSet, TypedEventEmitter } from '@saorsa-gossip/types'
import type { Clock, Logger, Metrics, PeerId, Rng } from '@saorsa-gossip/types'
import { createSeededRng, systemClock } from '@saorsa-gossip/types'
import type { Transport } from '@saorsa-gossip/transport'
import { decodeMembershipMessage, encodeMembershipMessage, FOREIGN_PROTO, MEMBERSHIP_LIMITS } from './codec.js'
import { DialLimiter, ownScopes, plausibleAddrs } from './dial-policy.js'
import type { AddressScope, DialPolicyConfig } from './dial-policy.js'
import type { Membership, MembershipEvents } from './membership.js'
import { MembershipCore } from './proto/membership.js'
import type { MembershipCommand, MembershipConfig, MembershipInput } from './proto/membership.js'
import type { PeerInfo } from './proto/types.js'

/** What DefaultMembership needs. */
export interface DefaultMembershipComponents {
  transport: Transport
  clock?: Clock
  logger?: Logger
  metrics?: Metrics
}

/** Settings (all optional). */
export interface DefaultMembershipInit {
  /** Protocol settings (see MembershipCore). */
  config?: MembershipConfig
  /** Seed of the protocol RNG (default: random). Protocol decisions only, never keys. */
  seed?: number
  /** Limits on dials to peers we are not connected to (SPEC.md §6.2; defaults DIAL_POLICY_DEFAULTS). */
  dialPolicy?: Partial<DialPolicyConfig>
}

/**
 * `v` with every PeerInfo's addresses (`{ id, addrs }` anywhere in a decoded message) reduced to the
 * plausible ones (dial-policy.ts): what one peer says about where another is, is a claim.
 */
function sanitize<T>(v: T, scopes: ReadonlySet<AddressScope>, depth = 0): T {
  if (depth > 4 || v === null || typeof v !== 'object' || v instanceof Uint8Array) return v
  if (Array.isArray(v)) return v.map((x: unknown) => sanitize(x, scopes, depth + 1)) as T
  const o = v as Record<string, unknown>
  const out: Record<string, unknown> = {}
  for (const [k, x] of Object.entries(o)) {
    out[k] = k === 'addrs' && Array.isArray(x) ? plausibleAddrs(x as string[], scopes) : sanitize(x, scopes, depth + 1)
  }
  return out as T
}

/** Time allowed for one dial to one address of a peer. */
const DIAL_TIMEOUT_MS = 5_000
/** Time allowed for one dial over all of a peer's addresses. */
const DIAL_DEADLINE_MS = 10_000
/** Addresses of a peer tried in one dial (a peer may list 8; a made-up one must not hold a dial slot for 40 s). */
const MAX_ADDRS_PER_DIAL = 4
/** How long a dial the limits hold back waits for its turn before it counts as failed. */
const DIAL_ADMIT_WAIT_MS = 10_000

export class DefaultMembership extends TypedEventEmitter<MembershipEvents> implements Membership {
  readonly #transport: Transport
  readonly #clock: Clock
  readonly #log: Logger
  readonly #metrics: Metrics
  readonly #init: DefaultMembershipInit
  #core: MembershipCore | undefined
  readonly #timers = new TimerSet()
  #offs: Array<() => void> = []
  #dials: DialLimiter | undefined
  /** The address scopes of our own listen addresses (dial-policy.ts), cached until they change. */
  #scopes: Set<AddressScope> | undefined
  /** Dials in progress, by peer: a second send to the same peer waits for the same dial. */
  readonly #dialing = new Map<PeerId, Promise<void>>()
  /** Dials waiting for a slot, woken when any dial ends. */
  readonly #dialEnded = new Set<() => void>()

  constructor(components: DefaultMembershipComponents, init: DefaultMembershipInit = {}) {
    super()
    this.#transport = components.transport
    this.#clock = components.clock ?? systemClock
    this.#log = (components.logger ?? silentLogger).child({ component: 'saorsa:membership' })
    this.#metrics = components.metrics ?? new MemoryMetrics()
    this.#init = init
  }

  activeView(): PeerInfo[] {
    return this.#core?.activeView() ?? []
  }

  passiveView(): PeerInfo[] {
    return this.#core?.passiveView() ?? []
  }

  async start(): Promise<void> {
    if (this.#core !== undefined) return
    const t = this.#transport
    const me: PeerInfo = { id: t.peerId, addrs: t.listenAddrs().slice(0, MEMBERSHIP_LIMITS.addrsPerPeer) }
    const rng: Rng = createSeededRng(this.#init.seed ?? globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!)
    this.#core = new MembershipCore(me, this.#init.config ?? {}, rng)
    this.#dials = new DialLimiter(this.#clock.now(), this.#init.dialPolicy)
    this.#offs.push(
      t.on('message', ({ peer, channel, bytes }) => {
        if (channel !== 'membership') return
        let msg
        try {
          msg = sanitize(decodeMembershipMessage(bytes), (this.#scopes ??= ownScopes(t.listenAddrs())))
        } catch (e) {
          if (!(e instanceof InvalidMessageError)) throw e
          if (e.reason === FOREIGN_PROTO) return
          this.#metrics.increment('saorsa_membership_invalid_total', 1, { reason: e.reason })
          this.#log.debug({ peer, reason: e.reason }, 'invalid membership message')
          return
        }
        // The transport authenticated `peer`. JOIN and NEIGHBOR carry the sender's own addresses (how
        // others can dial it: an inbound link shows only its ephemeral source port); otherwise its
        // addresses are what the core already knows, if any.
        const declared = msg.p === 'hv' && (msg.m.type === 'join' || msg.m.type === 'neighbor') ? msg.m.addrs : undefined
        const from = declared !== undefined && declared.length > 0 ? { id: peer, addrs: [...declared] } : this.#infoOf(peer)
        this.#input({ type: 'message', from, msg })
      }),
      t.on('peer:disconnect', ({ peer }) => this.#input({ type: 'link-down', peer })),
      // Our scopes follow our own addresses (recomputed on the next message).
      t.on('addresses', () => (this.#scopes = undefined))
    )
    this.#input({ type: 'start' })
  }

  async stop(): Promise<void> {
    const core = this.#core
    if (core === undefined) return
    this.#input({ type: 'leave' })
    this.#core = undefined
    for (const off of this.#offs) off()
    this.#offs = []
    this.#timers.clear()
  }

  async join(bootstrapAddrs: readonly string[], options: { signal?: AbortSignal } = {}): Promise<PeerId[]> {
    if (this.#core === undefined) throw new Error('membership not started')
    const reached: PeerId[] = []
    const errors: string[] = []
    for (const addr of bootstrapAddrs) {
      try {
        const peer = await this.#transport.dial(addr, options.signal === undefined ? {} : { signal: options.signal })
        this.#input({ type: 'join', contact: { id: peer, addrs: [addr] } })
        reached.push(peer)
        break
      } catch (e) {
        errors.push(`${addr}: ${e instanceof Error ? e.message : String(e)}`)
      }
    }
    if (reached.length === 0) throw new Error(`could not reach any bootstrap address (${errors.join('; ') || 'none given'})`)
    return reached
  }

  #infoOf(id: PeerId): PeerInfo {
    const core = this.#core
    if (core !== undefined) {
      for (const p of core.activeView()) if (p.id === id) return p
      for (const p of core.passiveView()) if (p.id === id) return p
    }
    return { id, addrs: [] }
  }

  #input(event: MembershipInput): void {
    const core = this.#core
    if (core === undefined) return
    this.#apply(core.handle(event, this.#clock.now()))
  }

  #apply(cmds: MembershipCommand[]): void {
    for (const c of cmds) {
      switch (c.type) {
        case 'send': {
          // Introductions carry our own addresses (see the receive path).
          const m = c.msg
          // The transport's current addresses: a relay reservation may have added one since start.
          const own = this.#transport.listenAddrs().slice(0, MEMBERSHIP_LIMITS.addrsPerPeer)
          const msg = m.p === 'hv' && (m.m.type === 'join' || m.m.type === 'neighbor') ? { ...m, m: { ...m.m, addrs: own } } : m
          void this.#send(c.to, encodeMembershipMessage(msg))
          break
        }
          break
        case 'schedule':
          this.#timers.schedule(c.after, () => this.#input({ type: 'timer', timer: c.timer }))
          break
        case 'disconnect':
          // SWIM still probes passive peers: keep their links; close the rest.
          if (!this.passiveView().some((p) => p.id === c.peer)) void this.#transport.disconnect(c.peer)
          break
        case 'emit': {
          const e = c.event
          if (e.type === 'neighbor:up') this.emit('neighbor:up', { peer: e.peer })
          else if (e.type === 'neighbor:down') this.emit('neighbor:down', { peer: e.peer })
          else this.emit(e.type, { peer: e.peer, incarnation: e.incarnation })
          break
        }
      }
    }
  }

  async #send(to: PeerInfo, bytes: Uint8Array): Promise<void> {
    const t = this.#transport
    try {
      if (!t.peers().includes(to.id)) {
        let dialing = this.#dialing.get(to.id)
        if (dialing === undefined) {
          dialing = this.#dial(to).finally(() => this.#dialing.delete(to.id))
          this.#dialing.set(to.id, dialing)
        }
        await dialing
      }
      await t.send(to.id, 'membership', bytes)
    } catch (e) {
      this.#log.debug({ peer: to.id, err: e instanceof Error ? e.message : String(e) }, 'send failed')
      this.#input({ type: 'send-failed', peer: to.id })
    }
  }

  /**
   * Dials `to` at its addresses in turn (direct ones first, relay circuits last, as the peer lists
   * them; at most MAX_ADDRS_PER_DIAL of them, DIAL_DEADLINE_MS in all), within the dial limits. A dial
   * the limits hold back waits for its turn (up to DIAL_ADMIT_WAIT_MS) rather than fail: a local
   * limit says nothing about the peer.
   */
  async #dial(to: PeerInfo): Promise<void> {
    const limiter = this.#dials
    if (limiter === undefined) throw new Error('membership stopped')
    const addrs = to.addrs.filter((a) => !limiter.coolingDown(to.id, a, this.#clock.now())).slice(0, MAX_ADDRS_PER_DIAL)
    if (addrs.length === 0) throw new Error(to.addrs.length === 0 ? 'no address' : 'every address failed recently')
    const waitUntil = this.#clock.now() + DIAL_ADMIT_WAIT_MS
    for (;;) {
      const refused = limiter.admit(to.id, this.#clock.now())
      if (refused === undefined) break
      this.#metrics.increment('saorsa_membership_dials_deferred_total', 1, { reason: refused })
      if (this.#clock.now() >= waitUntil || this.#core === undefined) throw new Error(`dial not admitted within ${DIAL_ADMIT_WAIT_MS} ms (${refused})`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, refused === 'rate' ? Math.max(1, limiter.retryInMs(this.#clock.now())) : 250)
        this.#dialEnded.add(done)
        function done(): void {
          clearTimeout(t)
          resolve()
        }
      })
    }
    this.#metrics.increment('saorsa_membership_dials_total')
    const deadline = AbortSignal.timeout(DIAL_DEADLINE_MS)
    try {
      let last: unknown
      for (const addr of addrs) {
        try {
          await this.#transport.dial(addr, { expectedPeer: to.id, signal: AbortSignal.any([deadline, AbortSignal.timeout(DIAL_TIMEOUT_MS)]) })
          limiter.result(to.id, addr, true, this.#clock.now())
          return
        } catch (e) {
          limiter.result(to.id, addr, false, this.#clock.now())
          last = e
          if (deadline.aborted) break
        }
      }
      throw last
    } finally {
      limiter.done(to.id)
      const waiters = [...this.#dialEnded]
      this.#dialEnded.clear()
      for (const w of waiters) w()
    }
  }
}
