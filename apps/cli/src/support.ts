// What the `saorsa-coordinator` binary shares with this CLI: log formatting, exit codes, error
// reporting, role parsing, start-failure reasons and signal handling (exported as `saorsa-gossip/support`).
export { createContext, prettyLogLine, processIo } from './context.js'
export type { CliContext, CliIo, GlobalOptions } from './context.js'
export { CliError, describeError, ExitCode } from './errors.js'
export { asLogger, parseRoles, startFailure, untilSignal } from './commands/network.js'
