// What every command needs: where the keystore lives, how to read a passphrase, how to print.
import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { getBackend } from '@saorsa-gossip/identity'
import { pino } from 'pino'
import type { Logger as PinoLogger } from 'pino'
import { CliError } from './errors.js'

/** Options every command accepts (declared on the root program). */
export interface GlobalOptions {
  home?: string
  verbose?: boolean
}

/** Runtime context handed to command actions. */
export interface CliContext {
  /** Keystore home: --home, else SAORSA_GOSSIP_HOME, else ~/.saorsa-gossip. */
  home: string
  log: PinoLogger
  /** The logger without a component, for the libraries (each adds its own `component`). */
  rootLog: PinoLogger
  /** Writes one line of data (stdout). */
  out(line: string): void
  /** Writes one line of diagnostics (stderr). */
  err(line: string): void
}

/** Sink for output, replaceable in tests. */
export interface CliIo {
  stdout: (s: string) => void
  stderr: (s: string) => void
  env: NodeJS.ProcessEnv
  /** True when stderr is a terminal: logs are then pretty-printed instead of JSON lines. */
  stderrIsTTY?: boolean
}

export const processIo: CliIo = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  env: process.env,
  stderrIsTTY: process.stderr.isTTY === true
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' }

/** One pino JSON record as a human line: `12:00:01.234 DEBUG saorsa:cli creating identity alias=Z`. */
export function prettyLogLine(line: string): string {
  let rec: Record<string, unknown>
  try {
    rec = JSON.parse(line) as Record<string, unknown>
  } catch {
    return line
  }
  const { level, time, msg, component, name: _name, pid: _pid, hostname: _host, ...rest } = rec
  const t = typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : ''
  const fields = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ')
  return `${t} ${LEVELS[level as number] ?? String(level)} ${String(component ?? '')} ${String(msg ?? '')}${fields ? ` ${fields}` : ''}\n`
}

export function createContext(opts: GlobalOptions, io: CliIo): CliContext {
  const home = opts.home ?? io.env.SAORSA_GOSSIP_HOME ?? join(homedir(), '.saorsa-gossip')
  const rootLog = pino(
    { name: 'saorsa-gossip', level: opts.verbose === true ? 'debug' : 'warn', base: {} },
    // Logs are diagnostics: always stderr, never mixed with data on stdout. JSON lines, pretty on a TTY.
    { write: (s: string) => io.stderr(io.stderrIsTTY === true ? prettyLogLine(s) : s) }
  )
  const log = rootLog.child({ component: 'saorsa:cli' })
  log.debug({ node: process.version, crypto: getBackend().name, home }, 'cli context')
  return { home, log, rootLog, out: (l) => io.stdout(`${l}\n`), err: (l) => io.stderr(`${l}\n`) }
}

/**
 * The passphrase for encrypting or unlocking a keystore file: --passphrase-file wins, then
 * SAORSA_GOSSIP_PASSPHRASE; undefined means no encryption. A trailing newline in the file is dropped.
 */
export async function readPassphrase(file: string | undefined, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (file !== undefined) {
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (e) {
      throw new CliError(`cannot read passphrase file ${file}: ${(e as Error).message}`)
    }
    const p = text.replace(/\r?\n$/, '')
    if (p.length === 0) throw new CliError(`passphrase file ${file} is empty`)
    return p
  }
  const fromEnv = env.SAORSA_GOSSIP_PASSPHRASE
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv
}
