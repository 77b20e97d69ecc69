// Every ```ts block in a package README is a runnable example: this test extracts each one, runs it
// with the pinned Node (type stripping) from a folder that resolves the workspace packages, and fails
// if it throws or prints `false`.
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const repo = join(import.meta.dirname, '..', '..', '..')
const readmes = ['packages/types/README.md', 'packages/identity/README.md', 'packages/transport/README.md', 'packages/membership/README.md', 'packages/pubsub/README.md', 'packages/coordinator/README.md', 'packages/node/README.md']
const workDir = join(import.meta.dirname, '..', '.readme-examples')
const home = mkdtempSync(join(tmpdir(), 'saorsa-readme-'))
mkdirSync(workDir, { recursive: true })
afterAll(() => {
  rmSync(workDir, { recursive: true, force: true })
  rmSync(home, { recursive: true, force: true })
})

const examples = readmes.flatMap((rel) => {
  const text = readFileSync(join(repo, rel), 'utf8')
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m, i) => ({ name: `${rel} example ${i + 1}`, code: m[1] ?? '' }))
})

describe('README examples run', () => {
  it('finds at least one example per README', () => {
    for (const rel of readmes) expect(examples.some((e) => e.name.startsWith(rel)), rel).toBe(true)
  })
  it.each(examples)('$name', ({ name, code }) => {
    const file = join(workDir, `${name.replace(/[^a-z0-9]+/gi, '-')}.mts`)
    writeFileSync(file, code)
    const r = spawnSync(process.execPath, ['--no-warnings', file], {
      encoding: 'utf8',
      env: { ...process.env, SAORSA_GOSSIP_HOME: home },
      timeout: 60_000
    })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    expect(r.stdout).not.toMatch(/\bfalse\b/)
  })
})
