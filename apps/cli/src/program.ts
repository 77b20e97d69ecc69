// The `saorsa-gossip` program: global options, command groups, error handling and exit codes.
// Kept apart from main.ts so tests can run it in-process with their own I/O.
import { Command, CommanderError } from 'commander'
import { identityCommand } from './commands/identity.js'
import { networkCommand } from './commands/network.js'
import { pubsubCommand } from './commands/pubsub.js'
import { processIo } from './context.js'
import type { CliIo, GlobalOptions } from './context.js'
import { CliError, describeError, ExitCode } from './errors.js'
import { parsePath } from './validate.js'

/** Version printed by --version. */
export const VERSION = '0.1.0'

/**
 * Where commander writes: help to stdout, errors to stderr as ONE line (a suggestion such as "Did
 * you mean …?" joined onto it) followed by a pointer to --help (exit 2, see runCli).
 */
export function usageOutput(io: Pick<CliIo, 'stdout' | 'stderr'>): { writeOut: (s: string) => void; writeErr: (s: string) => void; outputError: (s: string, write: (s: string) => void) => void } {
  return {
    writeOut: (s) => io.stdout(s),
    writeErr: (s) => io.stderr(s),
    outputError: (s, write) => write(`${s.trim().replace(/\s*\n\s*/g, ' ')} (see --help)\n`)
  }
}

/** Runs the CLI with `argv` (without node and script) and resolves to its exit code. Never throws. */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const program = new Command('saorsa-gossip')
  let verbose = false
  program
    .description('Saorsa Gossip: post-quantum secure gossip overlay (ML-DSA-65, ML-KEM-768, ChaCha20-Poly1305)')
    .version(VERSION)
    .option('--home <dir>', 'keystore and state directory (default: $SAORSA_GOSSIP_HOME or ~/.saorsa-gossip)', parsePath)
    .option('-v, --verbose', 'debug logs on stderr')
    .exitOverride()
    .configureOutput(usageOutput(io))
    .hook('preAction', (cmd) => {
      verbose = cmd.optsWithGlobals<GlobalOptions>().verbose === true
    })
  const globals = () => program.opts<GlobalOptions>()
  const groups = [identityCommand(io, globals), networkCommand(io, globals), pubsubCommand(io, globals)]
  for (const g of groups) program.addCommand(g)
  // Subcommands report usage errors and help through the same I/O and exit path as the root.
  for (const c of groups.flatMap((g) => [g, ...g.commands])) c.exitOverride().configureOutput(usageOutput(io))

  try {
    await program.parseAsync([...argv], { from: 'user' })
    return ExitCode.ok
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and --version "fail" with exit code 0; argument errors are usage errors (2).
      return e.exitCode === 0 ? ExitCode.ok : ExitCode.usage
    }
    io.stderr(`error: ${describeError(e)}\n`)
    if (verbose && e instanceof Error && !(e instanceof CliError)) io.stderr(`${e.stack ?? ''}\n`)
    return e instanceof CliError ? e.exitCode : ExitCode.failure
  }
}
