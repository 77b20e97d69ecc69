// Child processes for the coordinator's end-to-end tests: spawn a binary, collect its output lines,
// wait on a line (never on a sleep), find free ports.
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

export const COORD = join(import.meta.dirname, '..', 'bin', 'saorsa-coordinator.js')
export const CLI = join(import.meta.dirname, '..', '..', 'cli', 'bin', 'saorsa-gossip.js')

export interface Proc {
  child: ChildProcess
  lines: string[]
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Resolves with the first line (stdout or stderr, past or future) that `match` accepts. */
  line<T>(match: (l: string) => T | undefined, ms: number): Promise<T>
}

export function start(bin: string, args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: string[] = []
  const watchers = new Set<(l: string) => void>()
  for (const s of [child.stdout, child.stderr]) {
    if (s === null) continue
    createInterface({ input: s }).on('line', (l) => {
      lines.push(l)
      for (const w of [...watchers]) w(l)
    })
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })))
  return {
    child,
    lines,
    exited,
    line: (match, ms) =>
      new Promise((resolve, reject) => {
        for (const l of lines) {
          const m = match(l)
          if (m !== undefined) return resolve(m)
        }
        const timer = setTimeout(() => {
          watchers.delete(w)
          reject(new Error(`no matching line within ${ms} ms; output:\n${lines.join('\n')}`))
        }, ms)
        const w = (l: string): void => {
          const m = match(l)
          if (m === undefined) return
          clearTimeout(timer)
          watchers.delete(w)
          resolve(m)
        }
        watchers.add(w)
        void exited.then((r) => {
          if (!watchers.delete(w)) return
          clearTimeout(timer)
          reject(new Error(`process exited (${JSON.stringify(r)}) first; output:\n${lines.join('\n')}`))
        })
      })
  }
}

/** Runs `bin` to its end. */
export async function runToEnd(bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now()
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    c.stdout.on('data', (b: Buffer) => (stdout += b.toString()))
    c.stderr.on('data', (b: Buffer) => (stderr += b.toString()))
    c.once('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - t0 }))
  })
}

/** A port free for both TCP and UDP on 127.0.0.1. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer()
      s.once('error', reject)
      s.listen(0, '127.0.0.1', () => {
        const a = s.address()
        s.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0))
      })
    })
    const udpFree = await new Promise<boolean>((resolve) => {
      const u = createSocket('udp4')
      u.once('error', () => resolve(false))
      u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)))
    })
    if (udpFree) return port
  }
}

/** The line as a JSON object, if it is one. */
export function json(l: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(l) as unknown
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}
