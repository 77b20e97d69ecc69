// How the CLI reports failures: a one-line reason on stderr and an exit code
// (0 ok, 1 failure, 2 usage, 130 interrupted), never a stack trace unless --verbose.
import { SaorsaError } from '@saorsa-gossip/types'

/** Exit codes of both binaries. */
export const ExitCode = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const

/** A failure the CLI reports as is, with its exit code. */
export class CliError extends Error {
  readonly exitCode: number
  constructor(message: string, exitCode: number = ExitCode.failure) {
    super(message)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}

/** The one-line reason for any thrown value. */
export function describeError(e: unknown): string {
  if (e instanceof SaorsaError || e instanceof CliError) return e.message
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code
    return code === undefined ? e.message : `${e.message} (${code})`
  }
  return String(e)
}
