#!/usr/bin/env node
// `saorsa-coordinator`: a bootstrap node. Loads or creates its identity (same PeerId after a
// restart), listens on --bind (QUIC and TCP), publishes signed coordinator adverts every
// --publish-interval, reflects addresses (reflector role), relays (relay role, circuit relay v2),
// optionally serves Prometheus metrics, and stops cleanly on SIGINT / SIGTERM.
//
// Order of work, so that a mistake costs nothing: every option is checked while parsing (usage
// error, exit 2, one line: no file written, nothing bound); then the identity directory and the
// instance lock (a second coordinator on the same identity exits 1 at once, naming the pid); then
// the identity; then the metrics listener; then the node. When no contact answers, the coordinator
// starts alone and keeps retrying them in the background (SPEC.md §8.2).
import { mkdir } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { ROLES } from '@saorsa-gossip/coordinator'
import type { NatClass, Role } from '@saorsa-gossip/coordinator'
import { FileKeystore } from '@saorsa-gossip/identity'
import type { Identity } from '@saorsa-gossip/identity'
import { createGossipNode } from '@saorsa-gossip/node'
import type { GossipNode } from '@saorsa-gossip/node'
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { pino } from 'pino'
import {
  asLogger,
  bindParser,
  CliError,
  describeError,
  exitOnSignals,
  ExitCode,
  lockIdentity,
  parseContact,
  parseIdentityPath,
  parseMetricsAddr,
  parsePath,
  parseRoles,
  prettyLogLine,
  repeatable,
  startFailure,
  usageOutput,
  watchSignals
} from 'saorsa-gossip/support'

const VERSION = '0.1.0'

interface Options {
  bind: string
  roles: Role[]
  publishInterval: number
  identityPath?: string
  home?: string
  coordinator?: string[]
  natClass: NatClass
  metrics?: { host: string; port: number; text: string }
  verbose?: boolean
}

function positiveSeconds(v: string): number {
  const n = Number(v)
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 86_400) throw new InvalidArgumentError('expected seconds, 0 < s ≤ 86400')
  return n
}

/** Listens on `port`/`host`, serving the node's metrics once it exists (503 before). */
async function serveMetrics(m: NonNullable<Options['metrics']>, node: () => GossipNode | undefined): Promise<Server> {
  const server = createServer((req, res) => {
    const n = node()
    if (req.method === 'GET' && (req.url === '/metrics' || req.url === '/')) {
      if (n === undefined) return void res.writeHead(503).end('starting\n')
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' })
      res.end(n.prometheus())
    } else {
      res.writeHead(404).end('not found: try /metrics\n')
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(m.port, m.host, () => {
      server.off('error', reject)
      resolve()
    })
  }).catch((e: unknown) => {
    throw startFailure(e, `metrics ${m.text}`)
  })
  return server
}

async function run(o: Options): Promise<void> {
  const home = resolve(o.home ?? (process.env.SAORSA_GOSSIP_HOME || join(homedir(), '.saorsa-gossip')))
  const rootLog = pino(
    { name: 'saorsa-coordinator', level: o.verbose === true ? 'debug' : 'info', base: {} },
    { write: (s: string) => process.stderr.write(process.stderr.isTTY ? prettyLogLine(s) : s) }
  )
  const log = rootLog.child({ component: 'saorsa:coordinator-bin' })
  log.info('Starting Saorsa Gossip Coordinator')
  log.info(`Bind address: ${o.bind}`)
  log.info(`Roles: ${o.roles.join(',')}`)
  const identityPath = resolve(o.identityPath ?? join(home, 'coordinator.identity'))
  const passphrase = process.env.SAORSA_GOSSIP_PASSPHRASE
  const opts = passphrase === undefined || passphrase === '' ? {} : { passphrase }
  try {
    await mkdir(dirname(identityPath), { recursive: true, mode: 0o700 })
  } catch (e) {
    throw new CliError(`cannot create ${dirname(identityPath)}: ${describeError(e)}`)
  }
  const lock = await lockIdentity(identityPath, `identity file ${identityPath}`)
  const signals = watchSignals()
  let identity: Identity | undefined
  let node: GossipNode | undefined
  let metricsServer: Server | undefined
  try {
    const ks = new FileKeystore({ home })
    try {
      identity = await ks.loadFile(identityPath, opts)
    } catch (e) {
      if ((e as { code?: string }).code !== 'ERR_IDENTITY_NOT_FOUND') throw e
      const entry = await ks.createFile(identityPath, opts)
      log.info(`Created identity ${entry.peerId} in ${entry.path}`)
      identity = await ks.loadFile(identityPath, opts)
    }
    log.info(`Loaded identity: ${identity.peerId}`)
    if (o.metrics !== undefined) metricsServer = await serveMetrics(o.metrics, () => (node?.running === true ? node : undefined))
    const n = createGossipNode({
      identity,
      bind: o.bind,
      roles: o.roles,
      coordinators: o.coordinator ?? [],
      publishIntervalMs: Math.round(o.publishInterval * 1000),
      peerCachePath: join(dirname(identityPath), `${identity.peerId.slice(0, 16)}.peers.json`),
      // A coordinator never refuses to start because others are down: it starts alone and retries.
      coordinator: { natClass: o.natClass, whenUnreachable: 'start-alone' },
      logger: asLogger(rootLog)
    })
    node = n
    n.on('peer:up', ({ peer }) => log.debug({ peer: peer.id }, 'peer up'))
    n.on('peer:down', ({ peer }) => log.debug({ peer }, 'peer down'))
    try {
      await n.start({ signal: signals.signal })
    } catch (e) {
      if (signals.received !== undefined) throw new CliError(`interrupted (${signals.received}) while starting`, ExitCode.interrupted)
      throw startFailure(e, o.bind)
    }
    log.info(`Listening on ${n.transport.listenAddrs().join(', ')}`)
    const retry = n.coordinator.retrying
    if (retry !== undefined) log.info('No contact answered: running alone, retrying them in the background (1 s doubling to 60 s)')
    if (o.metrics !== undefined) log.info(`Metrics at http://${o.metrics.text}/metrics`)
    const sig = await signals.stopped
    log.info(`Received ${sig}, stopping`)
  } finally {
    if (metricsServer !== undefined) {
      const s = metricsServer
      await new Promise<void>((r) => s.close(() => r()))
    }
    await node?.stop()
    identity?.destroy()
    signals.dispose()
    await lock.release()
  }
  log.info('Stopped')
}

async function main(argv: string[]): Promise<number> {
  const program = new Command('saorsa-coordinator')
  let verbose = false
  program
    .description('Saorsa Gossip coordinator: bootstrap, signed adverts, address reflection, relay')
    .version(VERSION)
    .option('--bind <addr>', 'HOST:PORT to listen on (QUIC and TCP; HOST an IP address or localhost)', bindParser(false), '0.0.0.0:7000')
    .option('--roles <list>', `comma-separated roles: ${ROLES.join(', ')}`, parseRoles, ['coordinator', 'reflector'] as Role[])
    .option('--publish-interval <secs>', 'advert publication interval in seconds', positiveSeconds, 300)
    .option('--identity-path <path>', 'identity file, created when missing (default: <home>/coordinator.identity)', parseIdentityPath)
    .option('--home <dir>', 'state directory (default: $SAORSA_GOSSIP_HOME or ~/.saorsa-gossip)', parsePath)
    .option('--coordinator <addr>', 'another coordinator to join through, HOST:PORT or multiaddr (repeatable)', repeatable(parseContact))
    .addOption(new Option('--nat-class <class>', 'NAT class stated in adverts').choices(['unknown', 'eim', 'edm', 'symmetric']).default('unknown'))
    .option('--metrics <addr>', 'serve Prometheus metrics on HOST:PORT (/metrics; HOST an IP address or localhost, PORT 1-65535)', parseMetricsAddr)
    .option('-v, --verbose', 'debug logs (advert publications, peers)')
    .exitOverride()
    .configureOutput(usageOutput({ stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) }))
    .action(async (o: Options) => {
      verbose = o.verbose === true
      await run(o)
    })
  try {
    await program.parseAsync(argv, { from: 'user' })
    return ExitCode.ok
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? ExitCode.ok : ExitCode.usage
    process.stderr.write(`error: ${describeError(e)}\n`)
    if (verbose && e instanceof Error && !(e instanceof CliError)) process.stderr.write(`${e.stack ?? ''}\n`)
    return e instanceof CliError ? e.exitCode : ExitCode.failure
  }
}

exitOnSignals()
const code = await main(process.argv.slice(2))
process.exitCode = code
// Stopped: should a handle still keep the event loop alive, do not hang on it.
setTimeout(() => process.exit(code), 2_000).unref()
