#!/usr/bin/env node
// `npm run bench -- <name>`: runs bench/<name>.ts of whichever package has it, on the pinned Node,
// and passes its single JSON object through on stdout. Progress goes to stderr.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const benches = new Map()
for (const group of ['packages', 'apps']) {
  if (!existsSync(join(root, group))) continue
  for (const pkg of readdirSync(join(root, group))) {
    const dir = join(root, group, pkg, 'bench')
    if (!existsSync(dir)) continue
    for (const f of readdirSync(dir)) if (f.endsWith('.ts') && !f.startsWith('_')) benches.set(f.slice(0, -3), join(dir, f))
  }
}
const [name, ...args] = process.argv.slice(2)
if (name === undefined || !benches.has(name)) {
  console.error(`usage: npm run bench -- <name> [args]; available: ${[...benches.keys()].sort().join(', ') || '(none)'}`)
  process.exit(2)
}
const r = spawnSync(process.execPath, ['--no-warnings', benches.get(name), ...args], { stdio: 'inherit', cwd: root })
process.exit(r.status ?? 1)
