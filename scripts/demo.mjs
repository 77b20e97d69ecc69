#!/usr/bin/env node
// `npm start`: the main job. Until the network layers land, it shows the CLI at work on a throwaway
// keystore: create identities (one encrypted), list, show, check and delete them.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = join(root, 'apps', 'cli', 'bin', 'saorsa-gossip.js')
const home = mkdtempSync(join(tmpdir(), 'saorsa-demo-'))
const env = { ...process.env, SAORSA_GOSSIP_HOME: home }

function step(title, args, extraEnv = {}) {
  process.stdout.write(`\n$ saorsa-gossip ${args.join(' ')}\n`)
  const r = spawnSync(process.execPath, [bin, ...args], { env: { ...env, ...extraEnv }, stdio: 'inherit' })
  if (r.status !== 0) {
    console.error(`demo: "${title}" failed with exit ${r.status}`)
    rmSync(home, { recursive: true, force: true })
    process.exit(1)
  }
}

console.log(`Saorsa Gossip identity demo (Node ${process.version}); throwaway keystore: ${home}`)
try {
  step('create Alice', ['identity', 'create', '--alias', 'Alice'])
  step('create Bob (encrypted)', ['identity', 'create', '--alias', 'Bob'], { SAORSA_GOSSIP_PASSPHRASE: 'demo passphrase' })
  step('list', ['identity', 'list'])
  step('show Alice', ['identity', 'show', 'Alice', '--json'])
  step('check Bob', ['identity', 'check', 'Bob'], { SAORSA_GOSSIP_PASSPHRASE: 'demo passphrase' })
  step('delete Alice', ['identity', 'delete', 'Alice'])
  step('list', ['identity', 'list'])
} finally {
  rmSync(home, { recursive: true, force: true })
}
console.log('\n✓ demo finished; the throwaway keystore was removed')
