#!/usr/bin/env node
// Entry point of the `saorsa-gossip` binary.
import { runCli } from './program.js'
import { exitOnSignals } from './signals.js'

// One-shot commands exit at once on SIGINT / SIGTERM (130); 'exit' handlers still remove a keystore
// temp file or an instance lock. `network join` and `pubsub subscribe` take the signals over.
exitOnSignals()

const code = await runCli(process.argv.slice(2))
process.exitCode = code
// The command is done: should a handle still keep the event loop alive, do not hang on it.
setTimeout(() => process.exit(code), 2_000).unref()
