#!/usr/bin/env node
// Entry point behind `npm start`, `npm test`, `npm run bench`, `npm run fuzz` and `npm run build`.
// Runs on whatever Node the machine has (20 or newer): it installs the pinned pnpm (through npx),
// installs the workspace from the frozen lockfile (which brings the pinned Node 24 binary into
// node_modules/.bin), builds every package, and then runs the requested job with node_modules/.bin
// first on PATH, so the job itself runs on Node 24.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const PNPM = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager
const [job, ...rest] = process.argv.slice(2)

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts })
  if (r.error) {
    console.error(`saorsa: could not run ${cmd}: ${r.error.message}`)
    return 1
  }
  return r.status ?? 1
}
function step(label, cmd, args) {
  process.stderr.write(`\n▶ ${label}\n`)
  const code = run(cmd, args)
  if (code !== 0) {
    console.error(`saorsa: ${label} failed (exit ${code})`)
    process.exit(code)
  }
}
const pnpm = (...args) => ['-y', PNPM, ...args]

function setup() {
  if (process.env.SAORSA_SKIP_SETUP === '1') return
  step(`install (${PNPM}, frozen lockfile)`, 'npx', pnpm('install', '--frozen-lockfile', '--reporter=append-only'))
  step('build packages', 'npx', pnpm('-r', '--reporter=append-only', 'run', 'build'))
}

switch (job) {
  case 'build':
    setup()
    break
  case 'start':
    setup()
    process.exit(run('npx', pnpm('exec', 'node', 'scripts/demo.mjs', ...rest)))
    break
  case 'fuzz':
    setup()
    process.exit(run('npx', pnpm('exec', 'node', 'packages/fuzz/bin/saorsa-fuzz.js', ...rest)))
    break
  case 'bench':
    setup()
    process.exit(run('npx', pnpm('exec', 'node', 'scripts/bench.mjs', ...rest)))
    break
  case 'test': {
    setup()
    const results = join(root, '.test-results', 'vitest.json')
    rmSync(results, { force: true })
    step('typecheck (tsc --noEmit, strict)', 'npx', pnpm('exec', 'tsc', '--noEmit', '-p', 'tsconfig.json'))
    process.stderr.write('\n▶ vitest\n')
    const code = run('npx', pnpm('exec', 'vitest', 'run', '--reporter=default', '--reporter=json',
      `--outputFile.json=${results}`, ...rest))
    run(process.execPath, [join(root, 'scripts', 'test-summary.mjs')])
    process.exit(existsSync(results) ? code : code || 1)
  }
  default:
    console.error('usage: node scripts/run.mjs <start|test|bench|fuzz|build> [args…]')
    process.exit(2)
}
