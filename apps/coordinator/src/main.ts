#!/usr/bin/env node
// `saorsa-coordinator`: a bootstrap node. Loads or creates its identity (same PeerId after a
// restart), listens on --bind (QUIC and TCP), publishes signed coordinator adverts every
// --publish-interval, reflects addresses (reflector role), relays (relay role, circuit relay v2),
// optionally serves Prometheus metrics, and stops cleanly on SIGINT / SIGTERM.
import { createServer } from 'node:http'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { ROLES } from '@saorsa-gossip/coordinator'
import type { NatClass, Role } from '@saorsa-gossip/coordinator'
import { FileKeystore } from '@saorsa-gossip/identity'
import { createGossipNode } from '@saorsa-gossip/node'
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { pino } from 'pino'
import { asLogger, CliError, describeError, ExitCode, parseRoles, prettyLogLine, startFailure, untilSignal } from 'saorsa-gossip/support'

const VERSION = '0.1.0'

interface Options {
  bind: string
  roles: Role[]
  publishInterval: number
  identityPath?: string
  home?: string
  coordinator?: string[]
  natClass: NatClass
  metrics?: string
  verbose?: boolean
}

function positiveSeconds(v: string): number {
  const n = Number(v)
  if (!Number.isFinite(n) || n <= 0 || n > 86_400) throw new InvalidArgumentError('expected seconds, 0 < s ≤ 86400')
  return n
}

function hostPortOf(v: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(v)
  const port = Number(m?.[3])
  if (m === null || port > 65_535) throw new CliError(`invalid --metrics address ${JSON.stringify(v)}: expected HOST:PORT`, ExitCode.usage)
  return { host: m[1] ?? (m[2] as string), port }
}

async function run(o: Options): Promise<void> {
  const home = o.home ?? process.env.SAORSA_GOSSIP_HOME ?? join(homedir(), '.saorsa-gossip')
  const rootLog = pino(
    { name: 'saorsa-coordinator', level: o.verbose === true ? 'debug' : 'info', base: {} },
    { write: (s: string) => process.stderr.write(process.stderr.isTTY ? prettyLogLine(s) : s) }
  )
  const log = rootLog.child({ component: 'saorsa:coordinator-bin' })
  log.info('Starting Saorsa Gossip Coordinator')
  log.info(`Bind address: ${o.bind}`)
  log.info(`Roles: ${o.roles.join(',')}`)
  const identityPath = o.identityPath ?? join(home, 'coordinator.identity')
  const ks = new FileKeystore({ home })
  const passphrase = process.env.SAORSA_GOSSIP_PASSPHRASE
  const opts = passphrase === undefined || passphrase === '' ? {} : { passphrase }
  let identity
  try {
    identity = await ks.loadFile(identityPath, opts)
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_IDENTITY_NOT_FOUND') throw e
    const entry = await ks.createFile(identityPath, opts)
    log.info(`Created identity ${entry.peerId} in ${entry.path}`)
    identity = await ks.loadFile(identityPath, opts)
  }
  log.info(`Loaded identity: ${identity.peerId}`)
  const node = createGossipNode({
    identity,
    bind: o.bind,
    roles: o.roles,
    coordinators: o.coordinator ?? [],
    publishIntervalMs: Math.round(o.publishInterval * 1000),
    peerCachePath: join(dirname(identityPath), `${identity.peerId.slice(0, 16)}.peers.json`),
    coordinator: { natClass: o.natClass },
    logger: asLogger(rootLog)
  })
  node.on('peer:up', ({ peer }) => log.debug({ peer: peer.id }, 'peer up'))
  node.on('peer:down', ({ peer }) => log.debug({ peer }, 'peer down'))
  const stopped = untilSignal()
  try {
    await node.start()
  } catch (e) {
    throw startFailure(e, o.bind)
  }
  log.info(`Listening on ${node.transport.listenAddrs().join(', ')}`)
  let metricsServer: ReturnType<typeof createServer> | undefined
  if (o.metrics !== undefined) {
    const { host, port } = hostPortOf(o.metrics)
    const server = createServer((req, res) => {
      if (req.method === 'GET' && (req.url === '/metrics' || req.url === '/')) {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' })
        res.end(node.prometheus())
      } else {
        res.writeHead(404).end('not found: try /metrics\n')
      }
    })
    metricsServer = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => resolve())
    }).catch(async (e: unknown) => {
      await node.stop()
      throw startFailure(e, `metrics ${o.metrics}`)
    })
    log.info(`Metrics at http://${o.metrics}/metrics`)
  }
  const sig = await stopped
  log.info(`Received ${sig}, stopping`)
  metricsServer?.close()
  await node.stop()
  identity.destroy()
  log.info('Stopped')
}

async function main(argv: string[]): Promise<number> {
  const program = new Command('saorsa-coordinator')
  let verbose = false
  program
    .description('Saorsa Gossip coordinator: bootstrap, signed adverts, address reflection, relay')
    .version(VERSION)
    .option('--bind <addr>', 'HOST:PORT to listen on (QUIC and TCP)', '0.0.0.0:7000')
    .option('--roles <list>', `comma-separated roles: ${ROLES.join(', ')}`, parseRoles, ['coordinator', 'reflector'] as Role[])
    .option('--publish-interval <secs>', 'advert publication interval in seconds', positiveSeconds, 300)
    .option('--identity-path <path>', 'identity file, created when missing (default: <home>/coordinator.identity)')
    .option('--home <dir>', 'state directory (default: $SAORSA_GOSSIP_HOME or ~/.saorsa-gossip)')
    .option('--coordinator <addr>', 'another coordinator to join through (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .addOption(new Option('--nat-class <class>', 'NAT class stated in adverts').choices(['unknown', 'eim', 'edm', 'symmetric']).default('unknown'))
    .option('--metrics <addr>', 'serve Prometheus metrics on HOST:PORT (/metrics)')
    .option('-v, --verbose', 'debug logs (advert publications, peers)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
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

process.exitCode = await main(process.argv.slice(2))
