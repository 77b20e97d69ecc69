import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const BIN = join(import.meta.dirname, '..', 'bin', 'saorsa-sim.js')
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' })

describe('saorsa-sim CLI', () => {
  it('prints one JSON object, identical for the same seed except wallMs', () => {
    const a = run('membership', '--nodes', '60', '--seed', '5', '--json')
    const b = run('membership', '--nodes', '60', '--seed', '5', '--json')
    expect(a.status).toBe(0)
    const strip = (s: string) => s.replace(/"wallMs":\d+/, '')
    expect(a.stdout.trim().split('\n')).toHaveLength(1)
    expect(strip(a.stdout)).toBe(strip(b.stdout))
    const r = JSON.parse(a.stdout) as Record<string, unknown>
    for (const k of ['nodes', 'seed', 'connected', 'invariantViolations', 'activeViewMin', 'activeViewMax', 'wallMs']) expect(r).toHaveProperty(k)
  })
  it.each([
    [['nope'], /unknown scenario/],
    [['membership', '--nodes', 'x'], /--nodes must be/],
    [['failure', '--fail', '1.5'], /--fail must be/],
    [['membership', '--bogus'], /Unknown option/]
  ])('rejects %j with exit 2 and a clear message', (args, re) => {
    const r = run(...args)
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(re)
  })
})
