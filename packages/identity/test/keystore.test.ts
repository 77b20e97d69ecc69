// The file keystore: round trip, permissions, atomic never-overwrite creation, corrupt and foreign files,
// encryption at rest, files others can read, altered seeds, temp files left by a crashed writer.
import { spawnSync } from 'node:child_process'
import { chmod, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KeystoreError } from '@saorsa-gossip/types'
import type { KeystoreErrorCode } from '@saorsa-gossip/types'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createKeystore, DEFAULT_KDF, FileKeystore, getBackend, Identity, KEYSTORE_FORMAT } from '../src/index.js'
import type { Keystore } from '../src/index.js'
import { native, sha256Hex, toHexStr } from './helpers.js'

const FAST_KDF = { N: 2 ** 10, r: 8, p: 1 }
const posix = process.platform !== 'win32'
let home: string
let ks: Keystore

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'saorsa-ks-'))
  ks = createKeystore({ home, kdf: FAST_KDF })
})
afterEach(async () => {
  await rm(home, { recursive: true, force: true })
})

async function rejection(p: Promise<unknown>): Promise<KeystoreError> {
  try {
    await p
  } catch (e) {
    if (e instanceof KeystoreError) return e
    throw e
  }
  throw new Error('expected a KeystoreError, the call succeeded')
}

/** Expects `p` to fail with `code`, naming the file, and the file to be byte-for-byte unchanged. */
async function expectUntouched(alias: string, p: () => Promise<unknown>, code: KeystoreErrorCode): Promise<KeystoreError> {
  const path = ks.pathOf(alias)
  const before = sha256Hex(await readFile(path))
  const err = await rejection(p())
  expect(err.code, err.message).toBe(code)
  expect(err.message).toContain(path)
  expect(err.path).toBe(path)
  expect(sha256Hex(await readFile(path))).toBe(before)
  return err
}

describe('keystore round trip', () => {
  it('creates, lists, shows, loads and deletes', async () => {
    const e = await ks.create('alice')
    expect(e).toMatchObject({ alias: 'alice', algorithm: 'ML-DSA-65', publicKeySize: 1952, encrypted: false, path: join(home, 'identities', 'alice.json') })
    expect(Date.parse(e.createdAt)).toBeGreaterThan(Date.now() - 60_000)
    const bobEntry = await ks.create('bob', { passphrase: 'correct horse' })
    expect(await ks.has('alice')).toBe(true)
    expect(await ks.has('carol')).toBe(false)

    const list = await ks.list()
    expect(list.map((x) => x.alias)).toEqual(['alice', 'bob'])
    expect(list.map((x) => x.error)).toEqual([undefined, undefined])
    expect((await ks.show('bob')).encrypted).toBe(true)
    expect(await ks.show('alice')).toEqual(e)

    const id = await ks.load('alice')
    expect(id.peerId).toBe(e.peerId)
    const msg = Uint8Array.of(1, 2, 3)
    expect(id.verify(msg, id.sign(msg))).toBe(true)
    const bob = await ks.load('bob', { passphrase: 'correct horse' })
    expect(bob.peerId).toBe(bobEntry.peerId)
    expect(list[1]).toEqual(bobEntry)

    await ks.delete('alice')
    expect(await ks.has('alice')).toBe(false)
    expect((await rejection(ks.show('alice'))).code).toBe('ERR_IDENTITY_NOT_FOUND')
    expect((await rejection(ks.delete('alice'))).code).toBe('ERR_IDENTITY_NOT_FOUND')
    expect((await ks.list()).map((x) => x.alias)).toEqual(['bob'])
  })

  it('names the alias and directory when an identity is missing', async () => {
    const err = await rejection(ks.load('ghost'))
    expect(err.code).toBe('ERR_IDENTITY_NOT_FOUND')
    expect(err.message).toBe(`no identity named ghost in ${join(home, 'identities')}`)
    expect(await ks.list()).toEqual([])
  })

  it('writes files 0600 in a 0700 directory', async () => {
    const e = await ks.create('perm')
    if (!posix) return
    expect((await stat(e.path)).mode & 0o777).toBe(0o600)
    expect((await stat(join(home, 'identities'))).mode & 0o777).toBe(0o700)
  })

  it('imports a given seed and reproduces the identity', async () => {
    const seed = new Uint8Array(32).fill(11)
    const e = await ks.create('imported', { seed })
    expect(e.peerId).toBe(Identity.fromSeed(seed).peerId)
    expect(toHexStr((await ks.load('imported')).exportSeed())).toBe(toHexStr(seed))
  })

  it('stores SLH-DSA-SHA2-128s identities (48-byte seed)', async () => {
    const e = await ks.create('long-term', { algorithm: 'SLH-DSA-SHA2-128s', passphrase: 'pw' })
    expect(e).toMatchObject({ algorithm: 'SLH-DSA-SHA2-128s', publicKeySize: 32, encrypted: true })
    const doc = JSON.parse(await readFile(e.path, 'utf8'))
    expect(Buffer.from(doc.secret.ciphertext, 'base64').length).toBe(48 + 16)
    const id = await ks.load('long-term', { passphrase: 'pw' })
    expect(id.peerId).toBe(e.peerId)
    expect(id.exportSeed().length).toBe(48)
  })

  it('uses $SAORSA_GOSSIP_HOME when no home is given', async () => {
    const saved = process.env.SAORSA_GOSSIP_HOME
    process.env.SAORSA_GOSSIP_HOME = home
    try {
      const k = createKeystore({ kdf: FAST_KDF })
      expect(k.home).toBe(home)
      expect(k.pathOf('x')).toBe(join(home, 'identities', 'x.json'))
    } finally {
      if (saved === undefined) delete process.env.SAORSA_GOSSIP_HOME
      else process.env.SAORSA_GOSSIP_HOME = saved
    }
  })

  it('rejects invalid aliases', async () => {
    for (const bad of ['', '.hidden', '-x', 'a/b', '../x', 'a b', 'é', 'x'.repeat(65), 'a\0b']) {
      expect((await rejection(ks.create(bad))).code, JSON.stringify(bad)).toBe('ERR_INVALID_ALIAS')
      expect(() => ks.pathOf(bad)).toThrow(KeystoreError)
    }
    await ks.create('A.b_c-9')
    await ks.create('x'.repeat(64))
  })

  it('stops on an aborted signal and writes nothing', async () => {
    const ac = new AbortController()
    ac.abort()
    await expect(ks.create('aborted', { signal: ac.signal })).rejects.toThrow(/abort/)
    expect(await ks.has('aborted')).toBe(false)
  })
})

describe('never overwrites', () => {
  it('refuses a duplicate alias and leaves the file byte-identical', async () => {
    await ks.create('dup', { passphrase: 'one' })
    const err = await expectUntouched('dup', () => ks.create('dup'), 'ERR_IDENTITY_EXISTS')
    expect(err.message).toContain('dup')
    expect(await ks.load('dup', { passphrase: 'one' })).toBeDefined()
  })

  it('lets exactly one of two racing creates win and leaves no temp file', async () => {
    const results = await Promise.allSettled([ks.create('race'), ks.create('race'), ks.create('race')])
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    for (const r of results) if (r.status === 'rejected') expect((r.reason as KeystoreError).code).toBe('ERR_IDENTITY_EXISTS')
    const winner = results.find((r) => r.status === 'fulfilled')
    expect((await ks.show('race')).peerId).toBe(winner?.status === 'fulfilled' ? winner.value.peerId : '')
    expect(await readdir(join(home, 'identities'))).toEqual(['race.json'])
  })

  it('does not create over a foreign file', async () => {
    await ks.create('seed-me') // makes the directory
    await writeFile(ks.pathOf('taken'), 'not ours\n')
    await expectUntouched('taken', () => ks.create('taken'), 'ERR_IDENTITY_EXISTS')
  })
})

describe('corrupt and foreign files', () => {
  async function plainFile(alias: string): Promise<{ path: string; doc: Record<string, unknown>; text: string }> {
    const e = await ks.create(alias)
    const text = await readFile(e.path, 'utf8')
    return { path: e.path, doc: JSON.parse(text), text }
  }
  const rewrite = (path: string, doc: unknown): Promise<void> => writeFile(path, JSON.stringify(doc))

  it('reports a truncated file as corrupt', async () => {
    const { path, text } = await plainFile('trunc')
    await writeFile(path, text.slice(0, Math.floor(text.length / 2)))
    await expectUntouched('trunc', () => ks.load('trunc'), 'ERR_KEYSTORE_CORRUPT')
    await expectUntouched('trunc', () => ks.show('trunc'), 'ERR_KEYSTORE_CORRUPT')
    await writeFile(path, '')
    await expectUntouched('trunc', () => ks.load('trunc'), 'ERR_KEYSTORE_CORRUPT')
  })

  it('reports bad fields as corrupt', async () => {
    const { path, doc } = await plainFile('fields')
    const pk = Buffer.from(doc.publicKey as string, 'base64')
    const other = Identity.fromSeed(new Uint8Array(32).fill(77))
    const mutations: Array<[string, Record<string, unknown>]> = [
      ['bad base64', { ...doc, publicKey: '!!!' + (doc.publicKey as string).slice(3) }],
      ['non-canonical base64', { ...doc, secret: { type: 'plain', seed: (doc.secret as { seed: string }).seed.replace(/=$/, 'A') } }],
      ['short key', { ...doc, publicKey: pk.subarray(1).toString('base64') }],
      ['peerId of another key', { ...doc, peerId: other.peerId }],
      ['peerId and key of another identity', { ...doc, peerId: other.peerId, publicKey: Buffer.from(other.publicKey).toString('base64') }],
      ['short seed', { ...doc, secret: { type: 'plain', seed: Buffer.alloc(31).toString('base64') } }],
      ['other seed', { ...doc, secret: { type: 'plain', seed: Buffer.alloc(32, 1).toString('base64') } }],
      ['unknown algorithm', { ...doc, algorithm: 'RSA' }],
      ['renamed alias', { ...doc, alias: 'someone-else' }],
      ['bad date', { ...doc, createdAt: 'yesterday' }],
      ['unknown secret', { ...doc, secret: { type: 'rot13' } }],
      ['string version', { ...doc, version: '1' }]
    ]
    for (const [what, m] of mutations) {
      await rewrite(path, m)
      const err = await expectUntouched('fields', () => ks.load('fields'), 'ERR_KEYSTORE_CORRUPT')
      expect(err.message, what).toMatch(/corrupt identity file/)
    }
  })

  it('reports files that are not ours as foreign and a newer version as such', async () => {
    const { path, doc } = await plainFile('alien')
    for (const content of ['{"format":"ssh-key","version":1}', '[1,2,3]', 'hello world', '\u0000\u00ff\u00fe binary']) {
      await writeFile(path, content, content.includes('binary') ? 'latin1' : 'utf8')
      await expectUntouched('alien', () => ks.load('alien'), 'ERR_KEYSTORE_FOREIGN')
    }
    await writeFile(path, Buffer.from([0xff, 0xfe, 0x00, 0x41]))
    await expectUntouched('alien', () => ks.show('alien'), 'ERR_KEYSTORE_FOREIGN')
    await rewrite(path, { ...doc, version: 2 })
    const err = await expectUntouched('alien', () => ks.load('alien'), 'ERR_KEYSTORE_VERSION')
    expect(err.message).toMatch(/version 2/)
  })

  it('lists the good identities beside a corrupt one', async () => {
    await ks.create('a-good')
    await ks.create('c-good')
    const { path } = await plainFile('b-bad')
    await writeFile(path, '{"format": "saorsa-gossip-identity", "vers')
    await writeFile(join(home, 'identities', 'notes.txt'), 'ignored')
    const list = await ks.list()
    expect(list.map((e) => e.alias)).toEqual(['a-good', 'b-bad', 'c-good'])
    expect(list[0]?.error).toBeUndefined()
    expect(list[1]?.error?.code).toBe('ERR_KEYSTORE_CORRUPT')
    expect(list[1]?.error?.message).toContain(path)
    expect(list[2]?.error).toBeUndefined()
  })
})

describe('encryption at rest', () => {
  it('stores no seed or secret-key bytes in any encoding', async () => {
    const seed = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 255)
    const e = await ks.create('enc', { seed, passphrase: 'hunter2' })
    const plain = await ks.create('plain', { seed })
    const sk = native.mldsa65.keygen(seed).secretKey
    const secrets = [seed, sk.subarray(32, 64), sk.subarray(128, 160), sk.subarray(sk.length - 32)]
    const forms = (b: Uint8Array): string[] => {
      const buf = Buffer.from(b)
      return [buf.toString('base64'), buf.toString('base64').slice(4, 36), buf.toString('hex'), buf.toString('hex').toUpperCase()]
    }
    const raw = await readFile(e.path)
    const text = raw.toString('latin1')
    for (const s of secrets) {
      expect(raw.indexOf(Buffer.from(s))).toBe(-1)
      for (const f of forms(s)) expect(text.includes(f), f).toBe(false)
    }
    // The same search finds the seed in an unencrypted file, so it is a real check.
    expect((await readFile(plain.path, 'latin1')).includes(Buffer.from(seed).toString('base64'))).toBe(true)
    const doc = JSON.parse(text)
    expect(doc).toMatchObject({ format: KEYSTORE_FORMAT, version: 1, secret: { type: 'scrypt-chacha20poly1305', kdf: FAST_KDF } })
    expect(Object.keys(doc.secret).sort()).toEqual(['check', 'ciphertext', 'kdf', 'nonce', 'type'])
  })

  it('needs the passphrase and names the identity and file when it is wrong', async () => {
    const e = await ks.create('locked', { passphrase: 'right' })
    const need = await expectUntouched('locked', () => ks.load('locked'), 'ERR_PASSPHRASE_REQUIRED')
    expect(need.message).toContain('locked')
    const wrong = await expectUntouched('locked', () => ks.load('locked', { passphrase: 'wrong' }), 'ERR_WRONG_PASSPHRASE')
    expect(wrong.message).toBe(`wrong passphrase for identity locked (${e.path})`)
    expect((await ks.load('locked', { passphrase: 'right' })).peerId).toBe(e.peerId)
  })

  it('normalises the passphrase to NFC', async () => {
    await ks.create('nfc', { passphrase: 'caf\u00e9' })
    expect(await ks.load('nfc', { passphrase: 'cafe\u0301' })).toBeDefined()
  })

  it('detects edited public fields and ciphertext with the right passphrase as corruption', async () => {
    const e = await ks.create('bound', { passphrase: 'pw' })
    const doc = JSON.parse(await readFile(e.path, 'utf8'))
    const other = Identity.fromSeed(new Uint8Array(32).fill(5))
    await writeFile(e.path, JSON.stringify({ ...doc, peerId: other.peerId, publicKey: Buffer.from(other.publicKey).toString('base64') }))
    const err = await expectUntouched('bound', () => ks.load('bound', { passphrase: 'pw' }), 'ERR_KEYSTORE_CORRUPT')
    expect(err.message).toMatch(/modified/)
    const ct = Buffer.from(doc.secret.ciphertext, 'base64')
    ct[0] = (ct[0] as number) ^ 1
    await writeFile(e.path, JSON.stringify({ ...doc, secret: { ...doc.secret, ciphertext: ct.toString('base64') } }))
    await expectUntouched('bound', () => ks.load('bound', { passphrase: 'pw' }), 'ERR_KEYSTORE_CORRUPT')
  })

  it('rejects hostile KDF parameters before running scrypt', async () => {
    const e = await ks.create('hostile', { passphrase: 'pw' })
    const doc = JSON.parse(await readFile(e.path, 'utf8'))
    const t0 = performance.now()
    for (const kdf of [
      { N: 2 ** 30, r: 8, p: 1 },
      { N: 2 ** 22, r: 8, p: 1 },
      { N: 1000, r: 8, p: 1 },
      { N: 1024, r: 1000, p: 1 },
      { N: 1024, r: 8, p: 2 ** 20 },
      { N: -1024, r: 8, p: 1 },
      { N: 1024.5, r: 8, p: 1 }
    ]) {
      await writeFile(e.path, JSON.stringify({ ...doc, secret: { ...doc.secret, kdf: { ...kdf, salt: doc.secret.kdf.salt } } }))
      const err = await expectUntouched('hostile', () => ks.load('hostile', { passphrase: 'pw' }), 'ERR_KEYSTORE_CORRUPT')
      expect(err.message).toMatch(/kdf/)
    }
    expect(performance.now() - t0).toBeLessThan(2000)
  })

  it('uses scrypt N=2^17 r=8 p=1 by default', async () => {
    const k = createKeystore({ home, backend: getBackend() })
    const e = await k.create('default-kdf', { passphrase: 'pw' })
    const doc = JSON.parse(await readFile(e.path, 'utf8'))
    expect(doc.secret.kdf).toMatchObject({ ...DEFAULT_KDF })
    expect(Buffer.from(doc.secret.kdf.salt, 'base64').length).toBe(16)
    expect(Buffer.from(doc.secret.nonce, 'base64').length).toBe(12)
    // Another keystore with other defaults reads it: the parameters come from the file.
    expect((await ks.load('default-kdf', { passphrase: 'pw' })).peerId).toBe(e.peerId)
  })

  it('refuses out-of-bounds KDF settings and empty passphrases at creation', async () => {
    expect(() => createKeystore({ home, kdf: { N: 2 ** 23, r: 8, p: 1 } })).toThrow(RangeError)
    await expect(ks.create('empty', { passphrase: '' })).rejects.toThrow(RangeError)
  })
})

describe('altered seeds and loose permissions', () => {
  /** The file with one bit of its plain seed flipped (still valid base64 of 32 bytes). */
  async function alterSeed(path: string): Promise<void> {
    const doc = JSON.parse(await readFile(path, 'utf8')) as { secret: { seed: string } }
    const seed = Buffer.from(doc.secret.seed, 'base64')
    seed[5] = (seed[5] as number) ^ 1
    doc.secret.seed = seed.toString('base64')
    await writeFile(path, JSON.stringify(doc))
  }

  it('an altered seed is an error for show, list and load alike (the public key is derived again and compared)', async () => {
    await ks.create('fine')
    const { path } = await ks.create('altered')
    await alterSeed(path)
    for (const call of [() => ks.show('altered'), () => ks.load('altered')]) {
      const err = await expectUntouched('altered', call, 'ERR_KEYSTORE_CORRUPT')
      expect(err.message).toBe(`${path}: corrupt identity file: the secret seed does not produce "publicKey" (the seed or the public key was altered)`)
    }
    const list = await ks.list()
    expect(list.map((e) => [e.alias, e.error?.code])).toEqual([
      ['altered', 'ERR_KEYSTORE_CORRUPT'],
      ['fine', undefined]
    ])
    const fks = new FileKeystore({ home, kdf: FAST_KDF })
    await expect(fks.loadFile(path)).rejects.toMatchObject({ code: 'ERR_KEYSTORE_CORRUPT' })
  })

  it.skipIf(!posix)('refuses a file group or others can access, naming the file and the fix', async () => {
    const { path, peerId } = await ks.create('loose')
    for (const mode of [0o644, 0o640, 0o604, 0o660, 0o666]) {
      await chmod(path, mode)
      for (const call of [() => ks.show('loose'), () => ks.load('loose')]) {
        const err = await expectUntouched('loose', call, 'ERR_KEYSTORE_IO')
        expect(err.message).toBe(
          `${path}: permissions 0${mode.toString(8)} are too open (group or others can access the secret key); refusing to use it. Fix: chmod 600 ${path}`
        )
      }
      expect((await ks.list())[0]?.error?.message).toContain(`chmod 600 ${path}`)
      expect((await stat(path)).mode & 0o777).toBe(mode) // never changed behind the user's back
    }
    await chmod(path, 0o400) // stricter than 0600 is fine
    expect((await ks.load('loose')).peerId).toBe(peerId)
    await chmod(path, 0o600)
    expect((await ks.show('loose')).peerId).toBe(peerId)
  })

  it('checks an encrypted file\'s seed when it is unlocked', async () => {
    const { path } = await ks.create('sealed', { passphrase: 'pw' })
    expect((await ks.show('sealed')).encrypted).toBe(true)
    const doc = JSON.parse(await readFile(path, 'utf8')) as { secret: { ciphertext: string } }
    const ct = Buffer.from(doc.secret.ciphertext, 'base64')
    ct[0] = (ct[0] as number) ^ 1
    doc.secret.ciphertext = ct.toString('base64')
    await writeFile(path, JSON.stringify(doc))
    await expectUntouched('sealed', () => ks.load('sealed', { passphrase: 'pw' }), 'ERR_KEYSTORE_CORRUPT')
  })
})

describe('temp files', () => {
  /** A pid no process has: one that just exited. */
  const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid as number

  it('removes on the next use the temp files of dead writers and old ones, and leaves the rest', async () => {
    await ks.create('someone') // makes the directory
    const dir = join(home, 'identities')
    const old = new Date(Date.now() - 60_000)
    const files: Record<string, { old?: boolean; kept: boolean }> = {
      [`.alice.${deadPid()}.0123456789ab.tmp`]: { kept: false }, // writer gone
      [`.bob.${process.ppid}.0123456789ab.tmp`]: { kept: true }, // live writer, fresh: being written
      [`.carol.${process.ppid}.0123456789ab.tmp`]: { old: true, kept: false }, // live pid, but a minute old
      ['.dave.0123456789ab.tmp']: { old: true, kept: false }, // older name form without pid
      ['.erin.0123456789ab.tmp']: { kept: true }, // older name form, fresh
      ['.notes.tmp']: { old: true, kept: true }, // not a keystore temp name
      ['frank.json.tmp']: { old: true, kept: true }
    }
    for (const [name, f] of Object.entries(files)) {
      await writeFile(join(dir, name), 'seed material', { mode: 0o600 })
      if (f.old === true) await utimes(join(dir, name), old, old)
    }
    const fresh = createKeystore({ home, kdf: FAST_KDF })
    expect((await fresh.list()).map((e) => e.alias)).toEqual(['someone'])
    const left = await readdir(dir)
    for (const [name, f] of Object.entries(files)) expect(left.includes(name), name).toBe(f.kept)
  })

  it('sweeps the directory of an explicit identity path too', async () => {
    const fks = new FileKeystore({ home, kdf: FAST_KDF })
    const name = `.coordinator.${deadPid()}.00112233aabb.tmp`
    await writeFile(join(home, name), 'x', { mode: 0o600 })
    await fks.createFile(join(home, 'coordinator.identity'))
    expect((await readdir(home)).sort()).toEqual(['coordinator.identity'])
  })

  it('writes key material to a temp file named with the writer pid, mode 0600 from its creation, and removes it', async () => {
    // Watch the temp file at the moment it is linked to its final name (the keystore reaches node:fs
    // through process.getBuiltinModule, the same module object as here).
    const fsp = process.getBuiltinModule('node:fs/promises') as { link: (a: string, b: string) => Promise<void> }
    const realLink = fsp.link
    const seen: Array<{ name: string; mode: number }> = []
    fsp.link = async (a, b) => {
      seen.push({ name: a.slice(a.lastIndexOf('/') + 1), mode: (await stat(a)).mode & 0o777 })
      return realLink(a, b)
    }
    try {
      await ks.create('watched')
      await expect(ks.create('watched')).rejects.toMatchObject({ code: 'ERR_IDENTITY_EXISTS' })
    } finally {
      fsp.link = realLink
    }
    expect(seen).toHaveLength(1) // the second create stops at the existing name, before any temp file
    expect(seen[0]?.name).toMatch(new RegExp(`^\\.watched\\.${process.pid}\\.[0-9a-f]{12}\\.tmp$`))
    if (posix) expect(seen[0]?.mode).toBe(0o600)
    expect(await readdir(join(home, 'identities'))).toEqual(['watched.json'])
  })
})

describe('identity files at an explicit path (coordinator --identity-path)', () => {
  it('creates, reloads the same PeerId, never overwrites, and names the file on failure', async () => {
    const fks = new FileKeystore({ home, kdf: FAST_KDF })
    const path = join(home, 'nested', 'coordinator.identity')
    await expect(fks.loadFile(path)).rejects.toMatchObject({ code: 'ERR_IDENTITY_NOT_FOUND' })
    const entry = await fks.createFile(path)
    expect(entry.alias).toBe('coordinator')
    expect(entry.path).toBe(path)
    if (posix) expect((await stat(path)).mode & 0o777).toBe(0o600)
    const a = await fks.loadFile(path)
    const b = await fks.loadFile(path)
    expect(a.peerId).toBe(entry.peerId)
    expect(b.peerId).toBe(a.peerId)
    await expect(fks.createFile(path)).rejects.toMatchObject({ code: 'ERR_IDENTITY_EXISTS' })
    await writeFile(path, '{"format":"something-else"}')
    const err = await rejection(fks.loadFile(path))
    expect(err.code).toBe('ERR_KEYSTORE_FOREIGN')
    expect(err.message).toContain(path)
  })
})
