// `saorsa-gossip network join|status|peers`: run a node in the foreground, and inspect it from
// another shell through its control socket.
import { join } from 'node:path'
import { BootstrapError, ROLES } from '@saorsa-gossip/coordinator'
import type { Role } from '@saorsa-gossip/coordinator'
import { createKeystore } from '@saorsa-gossip/identity'
import type { Identity } from '@saorsa-gossip/identity'
import { acquireInstanceLock, createGossipNode, InstanceLockedError, isLive, startControlServer } from '@saorsa-gossip/node'
import type { ControlServer, GossipNode, InstanceLock, NodeStatus, PeerStatus } from '@saorsa-gossip/node'
import type { Logger } from '@saorsa-gossip/types'
import { Command } from 'commander'
import { createContext, readPassphrase } from '../context.js'
import type { CliContext, CliIo, GlobalOptions } from '../context.js'
import { CliError, ExitCode } from '../errors.js'
import { watchSignals } from '../signals.js'
import { bindParser, parseAlias, parseContact, parsePath, parseRoles, repeatable } from '../validate.js'
import { controlSocketPath, requestNode } from './running.js'

export { parseRoles }

const short = (id: string): string => `${id.slice(0, 8)}…${id.slice(-4)}`
const time = (): string => new Date().toISOString().slice(11, 23)

/** A pino logger as the library Logger interface. */
export function asLogger(l: CliContext['log']): Logger {
  return l as unknown as Logger
}

/** One-line reason for a failed start: busy port, unreachable coordinator, anything else. */
export function startFailure(e: unknown, bind: string): CliError {
  if (e instanceof BootstrapError) return new CliError(e.message)
  const text = e instanceof Error ? `${e.message} ${String((e as NodeJS.ErrnoException).code ?? '')}` : String(e)
  if (/EADDRINUSE|address already in use|Address in use/i.test(text)) return new CliError(`cannot listen on ${bind}: the port is already in use`)
  if (/EADDRNOTAVAIL|Cannot assign requested address/i.test(text)) return new CliError(`cannot listen on ${bind}: no such local address`)
  if (/EACCES/.test(text)) return new CliError(`cannot listen on ${bind}: permission denied`)
  return new CliError(`node failed to start: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`)
}

/**
 * Waits for SIGINT or SIGTERM (replacing the exit-at-once handling of main.ts); a second signal
 * forces the exit. See signals.ts.
 */
export function untilSignal(): Promise<string> {
  return watchSignals().stopped
}

/** Takes the instance lock of an identity file (SPEC.md §4): a second instance fails at once. */
export async function lockIdentity(identityFile: string, what: string): Promise<InstanceLock> {
  try {
    return await acquireInstanceLock(`${identityFile}.lock`, { what })
  } catch (e) {
    if (e instanceof InstanceLockedError) throw new CliError(e.message)
    throw new CliError(`cannot create the lock file ${identityFile}.lock: ${e instanceof Error ? e.message : String(e)}`)
  }
}

/** What `network peers` lists by default: active neighbours that answer (suspects only with --all). */
function isLiveNeighbour(p: PeerStatus): boolean {
  return p.view === 'active' && p.state === 'alive'
}

function printPeers(ctx: CliContext, peers: PeerStatus[], all: boolean): void {
  const rows = peers.filter((p) => all || isLiveNeighbour(p))
  if (rows.length === 0) return ctx.out('No peers')
  for (const p of rows) {
    const roles = p.roles.length > 0 ? `  [${p.roles.join(',')}]` : ''
    ctx.out(`${p.peer}  ${p.view.padEnd(7)} ${p.state.padEnd(7)} ${p.addrs[0] ?? ''}${roles}`)
  }
}

function printStatus(ctx: CliContext, alias: string, s: NodeStatus): void {
  ctx.out(`Node ${alias}: ${s.running ? 'running' : 'stopped'}`)
  ctx.out(`  PeerId:       ${s.peerId}`)
  if (s.startedAt !== undefined) ctx.out(`  Up:           ${Math.round((Date.now() - s.startedAt) / 1000)} s`)
  ctx.out(`  Listening:    ${s.listenAddrs.join(', ')}`)
  if (s.observedAddr !== undefined) ctx.out(`  Observed as:  ${s.observedAddr}`)
  ctx.out(`  Joined via:   ${s.joinedVia === undefined ? '(started alone)' : `${s.joinedVia.via} (${s.joinedVia.source})`}`)
  ctx.out(`  Peers:        ${s.activePeers} active, ${s.passivePeers} passive`)
  ctx.out(`  Coordinators: ${s.coordinators.length === 0 ? 'none known' : s.coordinators.map((c) => `${short(c.peer)} [${c.roles.join(',')}] score ${c.score}`).join('; ')}`)
  ctx.out(`  Topics:       ${s.topics.length === 0 ? 'none' : s.topics.join(', ')}`)
  ctx.out(`  Traffic:      ${s.transport.framesSent} frames / ${s.transport.bytesSent} B sent, ${s.transport.framesReceived} frames / ${s.transport.bytesReceived} B received`)
}

export function networkCommand(io: CliIo, globals: () => GlobalOptions): Command {
  const cmd = new Command('network').description('join the gossip network and inspect a running node')
  const ctxOf = () => createContext(globals(), io)

  cmd
    .command('join')
    .description('run a node in the foreground (Ctrl-C to leave); other commands reach it through its control socket')
    .requiredOption('-i, --identity <alias>', 'identity to run as (see identity create)', parseAlias)
    .option('-c, --coordinator <addr>', 'coordinator HOST:PORT or multiaddr to join through (repeatable; default: the peer cache)', repeatable(parseContact))
    .option('-b, --bind <addr>', 'address to listen on, HOST:PORT (QUIC and TCP; HOST an IP address or localhost), or "none" (no direct listener)', bindParser(true), '127.0.0.1:0')
    .option('--relay', 'be reachable through a relay: reserve a slot on a relay-role coordinator and announce the circuit address')
    .option('--roles <list>', `roles to serve, comma-separated (${ROLES.join(', ')})`, parseRoles)
    .option('--passphrase-file <path>', 'passphrase of an encrypted identity (or set SAORSA_GOSSIP_PASSPHRASE)', parsePath)
    .option('--json', 'print events as JSON lines')
    .action(async (o: { identity: string; coordinator?: string[]; bind: string; relay?: boolean; roles?: Role[]; passphraseFile?: string; json?: boolean }) => {
      // Every option was checked while parsing (usage errors, exit 2): nothing is written before here.
      const ctx = ctxOf()
      const sock = controlSocketPath(ctx.home, o.identity)
      const passphrase = await readPassphrase(o.passphraseFile, io.env)
      const ks = createKeystore({ home: ctx.home })
      await ks.show(o.identity) // exists, private, not corrupt: checked before the lock is taken
      const lock = await lockIdentity(ks.pathOf(o.identity), `identity ${o.identity}`)
      const signals = watchSignals()
      let identity: Identity | undefined
      let node: GossipNode | undefined
      let server: ControlServer | undefined
      try {
        if (await isLive(sock)) throw new CliError(`a node is already running as ${o.identity} (control socket ${sock})`)
        identity = await ks.load(o.identity, passphrase === undefined ? {} : { passphrase })
        try {
          node = createGossipNode({
            identity,
            bind: o.bind,
            coordinators: o.coordinator ?? [],
            roles: o.roles ?? [],
            relayClient: o.relay === true,
            peerCachePath: join(ctx.home, 'peers', `${o.identity}.json`),
            logger: asLogger(ctx.rootLog)
          })
        } catch (e) {
          throw new CliError(e instanceof Error ? e.message : String(e))
        }
        const n = node
        try {
          await n.start({ signal: signals.signal })
        } catch (e) {
          if (signals.received !== undefined) throw new CliError(`interrupted (${signals.received}) while joining`, ExitCode.interrupted)
          throw startFailure(e, o.bind)
        }
        server = await startControlServer(n, sock).catch((e: unknown) => {
          throw new CliError(e instanceof Error ? e.message : String(e))
        })
        const s = n.status()
        const retrying = n.coordinator.retrying !== undefined
        const emit = (event: string, fields: Record<string, unknown>, human: string): void =>
          o.json === true ? ctx.out(JSON.stringify({ event, time: Date.now(), ...fields })) : ctx.out(`${time()} ${human}`)
        if (o.json === true) {
          ctx.out(JSON.stringify({ event: 'joined', alias: o.identity, peerId: s.peerId, listenAddrs: s.listenAddrs, joinedVia: s.joinedVia ?? null, retrying, control: sock }))
        } else {
          ctx.out(`✓ Joined the network as ${o.identity}`)
          ctx.out(`  PeerId:     ${s.peerId}`)
          ctx.out(`  Listening:  ${s.listenAddrs.join(', ')}`)
          const alone = retrying ? '(started alone: no contact answered; retrying in the background)' : '(no contacts: started alone)'
          ctx.out(`  Joined via: ${s.joinedVia === undefined ? alone : `${s.joinedVia.via} (${short(s.joinedVia.peer)})`}`)
          ctx.out(`  Control:    ${sock}`)
          ctx.out('  Ctrl-C to leave')
        }
        n.on('peer:up', ({ peer }) => emit('peer:up', { peer: peer.id }, `peer up      ${peer.id}`))
        n.on('peer:down', ({ peer }) => emit('peer:down', { peer }, `peer down    ${peer}`))
        n.on('member:suspect', ({ peer }) => emit('member:suspect', { peer }, `peer suspect ${peer}`))
        n.on('member:failed', ({ peer }) => emit('member:failed', { peer }, `peer failed  ${peer}`))
        n.on('advert', ({ advert, via }) => emit('advert', { peer: advert.peer, roles: advert.roles, via }, `advert       ${advert.peer} [${advert.roles.join(',')}] verified (${via})`))
        n.coordinator.on('bootstrap:joined', ({ peer, via, source, attempt }) =>
          emit('bootstrap:joined', { peer, via, source, attempt }, `joined       via ${via} (${source}, ${short(peer)}) after ${attempt} background attempt(s)`)
        )
        const sig = await signals.stopped
        emit('leaving', { signal: sig }, `leaving (${sig})`)
      } finally {
        await server?.close()
        await node?.stop()
        identity?.destroy()
        signals.dispose()
        await lock.release()
      }
    })

  cmd
    .command('status')
    .description('show the running node: identity, addresses, peers, coordinators, topics, traffic')
    .option('-i, --identity <alias>', 'which running node (default: the only one)', parseAlias)
    .option('--json', 'print JSON')
    .action(async (o: { identity?: string; json?: boolean }) => {
      const ctx = ctxOf()
      const { result: s, alias } = await requestNode<NodeStatus>(ctx.home, o.identity, 'status')
      if (o.json === true) ctx.out(JSON.stringify({ alias, ...s }))
      else printStatus(ctx, alias, s)
    })

  cmd
    .command('peers')
    .description('list the running node\'s live neighbours (--all adds suspected and passive peers)')
    .option('-i, --identity <alias>', 'which running node (default: the only one)', parseAlias)
    .option('--all', 'include suspected (not answering) and passive (backup) peers')
    .option('--json', 'print JSON')
    .action(async (o: { identity?: string; all?: boolean; json?: boolean }) => {
      const ctx = ctxOf()
      const { result: peers } = await requestNode<PeerStatus[]>(ctx.home, o.identity, 'peers')
      if (o.json === true) ctx.out(JSON.stringify(peers.filter((p) => o.all === true || isLiveNeighbour(p))))
      else printPeers(ctx, peers, o.all === true)
    })
  return cmd
}
