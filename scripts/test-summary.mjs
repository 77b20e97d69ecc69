#!/usr/bin/env node
// Prints vitest's own counts from its JSON report as the plain line `N passed, N failed`.
// With no report (vitest never ran, e.g. install or typecheck failed) it prints `0 passed, 1 failed`.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const file = join(dirname(fileURLToPath(import.meta.url)), '..', '.test-results', 'vitest.json')
if (!existsSync(file)) {
  console.log('0 passed, 1 failed')
} else {
  const r = JSON.parse(readFileSync(file, 'utf8'))
  // A test file that fails to load has no failed tests of its own: count each such file as one failure.
  const brokenFiles = (r.testResults ?? []).filter((f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed')).length
  const failed = (r.numFailedTests ?? 0) + brokenFiles
  console.log(`${r.numPassedTests ?? 0} passed, ${failed} failed`)
}
