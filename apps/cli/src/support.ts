// What the `saorsa-coordinator` binary shares with this CLI: log formatting, exit codes, error
// reporting, option parsers, start-failure reasons, the instance lock and signal handling (exported
// as `saorsa-gossip/support`).
export { createContext, prettyLogLine, processIo } from './context.js'
export type { CliContext, CliIo, GlobalOptions } from './context.js'
export { CliError, describeError, ExitCode } from './errors.js'
export { asLogger, lockIdentity, startFailure, untilSignal } from './commands/network.js'
export { usageOutput } from './program.js'
export { exitOnSignals, watchSignals } from './signals.js'
export type { SignalWatch } from './signals.js'
export { bindParser, parseAlias, parseContact, parseIdentityPath, parseMetricsAddr, parsePath, parseRoles, repeatable } from './validate.js'
