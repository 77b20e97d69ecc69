import { CryptoBackendError } from '@saorsa-gossip/types'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { availableBackends, getBackend, nativeUnavailableReason, resolveBackend } from '../src/index.js'

const saved = process.env.SAORSA_CRYPTO
afterEach(() => {
  if (saved === undefined) delete process.env.SAORSA_CRYPTO
  else process.env.SAORSA_CRYPTO = saved
})

describe('backend selection', () => {
  it('has the native backend on Node >= 24.7', () => {
    const [major, minor] = process.versions.node.split('.').map(Number) as [number, number]
    if (major > 24 || (major === 24 && minor >= 7)) {
      expect(availableBackends()).toEqual(['native', 'noble'])
      expect(nativeUnavailableReason()).toBeUndefined()
    } else {
      expect(availableBackends()).toEqual(['noble'])
    }
  })

  it('auto-selects native when available and no variable is set', () => {
    delete process.env.SAORSA_CRYPTO
    expect(getBackend().name).toBe(availableBackends()[0])
    process.env.SAORSA_CRYPTO = ''
    expect(getBackend().name).toBe(availableBackends()[0])
  })

  it('follows SAORSA_CRYPTO', () => {
    process.env.SAORSA_CRYPTO = 'noble'
    expect(getBackend().name).toBe('noble')
    process.env.SAORSA_CRYPTO = 'native'
    if (availableBackends().includes('native')) expect(getBackend().name).toBe('native')
    else expect(() => getBackend()).toThrow(CryptoBackendError)
  })

  it('rejects an invalid SAORSA_CRYPTO value, naming the variable', () => {
    process.env.SAORSA_CRYPTO = 'openssl'
    expect(() => getBackend()).toThrow(CryptoBackendError)
    expect(() => getBackend()).toThrow(/SAORSA_CRYPTO="openssl"/)
    // An explicit name wins over the variable.
    expect(getBackend('noble').name).toBe('noble')
  })

  it('rejects unknown names and returns one shared instance per name', () => {
    expect(() => getBackend('wasm' as never)).toThrow(CryptoBackendError)
    expect(getBackend('noble')).toBe(getBackend('noble'))
    expect(resolveBackend('noble')).toBe(getBackend('noble'))
    const b = getBackend('noble')
    expect(resolveBackend(b)).toBe(b)
    expect(() => resolveBackend(42 as never)).toThrow(TypeError)
  })

  it('stays importable without node:crypto and falls back to noble', async () => {
    const original = process.getBuiltinModule
    vi.resetModules()
    ;(process as { getBuiltinModule?: unknown }).getBuiltinModule = undefined
    try {
      delete process.env.SAORSA_CRYPTO
      const fresh = await import('../src/index.js')
      expect(fresh.availableBackends()).toEqual(['noble'])
      expect(fresh.getBackend().name).toBe('noble')
      expect(fresh.nativeUnavailableReason()).toMatch(/node:crypto/)
      const err = (() => {
        try {
          fresh.getBackend('native')
        } catch (e) {
          return e
        }
        return undefined
      })()
      expect((err as Error).name).toBe('CryptoBackendError')
      expect((err as Error).message).toMatch(/^native crypto backend unavailable: /)
      expect((err as Error).message).not.toMatch(/\n/)
      // The pure-JS path still signs.
      const id = fresh.Identity.fromSeed(new Uint8Array(32).fill(1))
      expect(id.verify(Uint8Array.of(1), id.sign(Uint8Array.of(1)))).toBe(true)
    } finally {
      process.getBuiltinModule = original
      vi.resetModules()
    }
  })
})
