#!/usr/bin/env node
// Entry point of the `saorsa-gossip` binary.
import { ExitCode } from './errors.js'
import { runCli } from './program.js'

// One-shot commands write files atomically (temp file + link), so an interrupt can stop them at once.
process.once('SIGINT', () => process.exit(ExitCode.interrupted))

process.exitCode = await runCli(process.argv.slice(2))
