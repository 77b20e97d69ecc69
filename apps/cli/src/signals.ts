// Signals in both binaries (HOUSE-STYLE §5). One-shot commands exit at once on SIGINT / SIGTERM with
// 130 ("interrupted") through process.exit, so 'exit' handlers still run: the keystore removes a temp
// file holding key material, an instance lock is released. Long-running commands take the signals
// over: the first asks for a clean stop, a second forces the exit (130).
import { ExitCode } from './errors.js'

const SIGNALS = ['SIGINT', 'SIGTERM'] as const

function exitInterrupted(): void {
  process.exit(ExitCode.interrupted)
}

/** One-shot commands: SIGINT and SIGTERM exit at once with 130 ('exit' handlers run). */
export function exitOnSignals(): void {
  for (const s of SIGNALS) process.on(s, exitInterrupted)
}

/** A long-running command's hold on SIGINT / SIGTERM. */
export interface SignalWatch {
  /** Resolves with the first signal's name. */
  readonly stopped: Promise<string>
  /** Aborted by the first signal (pass it to a start that may take a while). */
  readonly signal: AbortSignal
  /** The first signal received, if any. */
  readonly received: string | undefined
  /** Gives the signals back to their default handling. */
  dispose(): void
}

/**
 * Takes over SIGINT / SIGTERM (replacing exitOnSignals): the first resolves `stopped` and aborts
 * `signal`; a second forces the exit with 130.
 */
export function watchSignals(): SignalWatch {
  for (const s of SIGNALS) process.off(s, exitInterrupted)
  const ctl = new AbortController()
  let received: string | undefined
  let resolve: (sig: string) => void = () => {}
  const stopped = new Promise<string>((r) => {
    resolve = r
  })
  const on = (sig: string): void => {
    if (received !== undefined) return exitInterrupted() // a second signal: stop waiting for a clean stop
    received = sig
    ctl.abort(new Error(`interrupted by ${sig}`))
    resolve(sig)
  }
  for (const s of SIGNALS) process.on(s, on)
  return {
    stopped,
    signal: ctl.signal,
    get received() {
      return received
    },
    dispose() {
      for (const s of SIGNALS) process.off(s, on)
    }
  }
}
