// Finding the running node a command talks to: `<home>/run/<alias>.sock`, the control socket that
// `network join --identity <alias>` serves (SPEC.md §9).
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { assertAlias } from '@saorsa-gossip/identity'
import { ControlClient, isLive } from '@saorsa-gossip/node'
import { CliError } from '../errors.js'

/** Longest Unix socket path most systems accept (sun_path is 104–108 bytes). */
const MAX_SOCKET_PATH = 103

/** The control socket of the node running as `alias`. */
export function controlSocketPath(home: string, alias: string): string {
  assertAlias(alias)
  const p = join(home, 'run', `${alias}.sock`)
  if (Buffer.byteLength(p) > MAX_SOCKET_PATH) {
    throw new CliError(`control socket path ${p} is longer than ${MAX_SOCKET_PATH} bytes; use a shorter --home`)
  }
  return p
}

const HINT = 'start one with: saorsa-gossip network join --identity NAME --coordinator HOST:PORT'

/** Connects to the node running as `alias`, or to the only running node when `alias` is absent. */
export async function connectToNode(home: string, alias: string | undefined): Promise<{ client: ControlClient; alias: string }> {
  let target = alias
  if (target === undefined) {
    let names: string[] = []
    try {
      names = (await readdir(join(home, 'run'))).filter((n) => n.endsWith('.sock')).map((n) => n.slice(0, -5))
    } catch {
      names = []
    }
    const live: string[] = []
    for (const n of names) if (await isLive(join(home, 'run', `${n}.sock`))) live.push(n)
    if (live.length === 0) throw new CliError(`no running node in ${home}; ${HINT}`)
    if (live.length > 1) throw new CliError(`${live.length} nodes are running (${live.sort().join(', ')}); pick one with --identity NAME`)
    target = live[0] as string
  }
  const path = controlSocketPath(home, target)
  try {
    return { client: await ControlClient.connect(path), alias: target }
  } catch {
    throw new CliError(`no node is running as ${target} (no control socket at ${path}); ${HINT}`)
  }
}

/** One request to the node running as `alias` (or the only one); the connection is closed after. */
export async function requestNode<T>(home: string, alias: string | undefined, method: string, params: Record<string, unknown> = {}): Promise<{ result: T; alias: string }> {
  const { client, alias: target } = await connectToNode(home, alias)
  try {
    return { result: await client.request<T>(method, params), alias: target }
  } finally {
    client.close()
  }
}
