// `saorsa-gossip identity create|list|show|delete`: manage ML-DSA-65 identities in the keystore.
import { createKeystore, verify } from '@saorsa-gossip/identity'
import type { KeystoreEntry } from '@saorsa-gossip/identity'
import type { SignatureAlgorithm } from '@saorsa-gossip/types'
import { Command, InvalidArgumentError, Option } from 'commander'
import { createContext, readPassphrase } from '../context.js'
import type { CliContext, CliIo, GlobalOptions } from '../context.js'
import { CliError } from '../errors.js'
import { parseAlias, parsePath } from '../validate.js'

const ALGORITHMS: Record<string, SignatureAlgorithm> = {
  'ml-dsa-65': 'ML-DSA-65',
  'slh-dsa-sha2-128s': 'SLH-DSA-SHA2-128s'
}

function parseAlgorithm(v: string): SignatureAlgorithm {
  const a = ALGORITHMS[v.toLowerCase()]
  if (a === undefined) throw new InvalidArgumentError(`expected one of ${Object.values(ALGORITHMS).join(', ')}`)
  return a
}

interface JsonOption {
  json?: boolean
}

/** The public view of an entry printed by `show --json` and `list --json`. */
function entryJson(e: KeystoreEntry): Record<string, unknown> {
  return {
    alias: e.alias,
    peerId: e.peerId,
    algorithm: e.algorithm,
    publicKeySize: e.publicKeySize,
    createdAt: e.createdAt,
    path: e.path,
    encrypted: e.encrypted
  }
}

function printEntry(ctx: CliContext, e: KeystoreEntry): void {
  ctx.out(`Identity: ${e.alias}`)
  ctx.out(`  PeerId:     ${e.peerId}`)
  ctx.out(`  Algorithm:  ${e.algorithm} (public key ${e.publicKeySize} bytes)`)
  ctx.out(`  Created:    ${e.createdAt}`)
  ctx.out(`  Encrypted:  ${e.encrypted ? 'yes' : 'no'}`)
  ctx.out(`  Key check:  ${e.encrypted ? 'checked when unlocked (identity check, network join)' : 'the seed produces the public key'}`)
  ctx.out(`  File:       ${e.path}`)
}

/** Builds the `identity` command group. */
export function identityCommand(io: CliIo, globals: () => GlobalOptions): Command {
  const cmd = new Command('identity').description('create, list, show and delete identities (ML-DSA-65 keys)')
  const ctxOf = () => createContext(globals(), io)

  cmd
    .command('create')
    .description('generate a new identity and save it in the keystore')
    .requiredOption('-a, --alias <alias>', 'name of the identity (letters, digits, . _ -; up to 64)', parseAlias)
    .addOption(new Option('--algorithm <name>', 'signature algorithm').argParser(parseAlgorithm).default('ML-DSA-65'))
    .option('--passphrase-file <path>', 'encrypt the key at rest with the passphrase in this file (or set SAORSA_GOSSIP_PASSPHRASE)', parsePath)
    .option('--json', 'print JSON')
    .action(async (o: JsonOption & { alias: string; algorithm: SignatureAlgorithm; passphraseFile?: string }) => {
      const ctx = ctxOf()
      const passphrase = await readPassphrase(o.passphraseFile, io.env)
      const ks = createKeystore({ home: ctx.home })
      ctx.log.debug({ alias: o.alias, algorithm: o.algorithm, encrypted: passphrase !== undefined, home: ctx.home }, 'creating identity')
      const e = await ks.create(o.alias, passphrase === undefined ? { algorithm: o.algorithm } : { algorithm: o.algorithm, passphrase })
      if (o.json === true) return ctx.out(JSON.stringify(entryJson(e)))
      ctx.out(`✓ Created identity: ${e.alias}`)
      ctx.out(`  PeerId: ${e.peerId}`)
      ctx.out(`  Saved to: ${e.path}${e.encrypted ? ' (encrypted)' : ''}`)
    })

  cmd
    .command('list')
    .description('list the identities in the keystore')
    .option('--json', 'print JSON')
    .action(async (o: JsonOption) => {
      const ctx = ctxOf()
      const entries = await createKeystore({ home: ctx.home }).list()
      const broken = entries.filter((e) => e.error !== undefined)
      if (o.json === true) {
        ctx.out(JSON.stringify(entries.map((e) => (e.error === undefined ? { ...entryJson(e), valid: true } : { alias: e.alias, path: e.path, valid: false, error: e.error }))))
      } else if (entries.length === 0) {
        ctx.out(`No identities in ${ctx.home}`)
      } else {
        // Every file, in alias order; one that cannot be used is marked INVALID with its reason.
        for (const e of entries) {
          if (e.error === undefined) ctx.out(`${e.alias.padEnd(16)} ${e.peerId}  ${e.algorithm}${e.encrypted ? '  encrypted' : ''}`)
          else ctx.out(`${e.alias.padEnd(16)} INVALID  ${e.error.message.startsWith(`${e.path}: `) ? e.error.message.slice(e.path.length + 2) : e.error.message}`)
        }
      }
      if (broken.length === 1) throw new CliError(broken[0]?.error?.message ?? 'an identity file is invalid')
      if (broken.length > 1) throw new CliError(`${broken.length} identity files are invalid: ${broken.map((e) => e.alias).join(', ')} (reasons in the list)`)
    })

  cmd
    .command('show')
    .description('show one identity (public information only)')
    .argument('<alias>', 'name of the identity', parseAlias)
    .option('--json', 'print JSON')
    .action(async (alias: string, o: JsonOption) => {
      const ctx = ctxOf()
      const e = await createKeystore({ home: ctx.home }).show(alias)
      if (o.json === true) return ctx.out(JSON.stringify(entryJson(e)))
      printEntry(ctx, e)
    })

  cmd
    .command('check')
    .description('unlock the secret key (asks for the passphrase if encrypted) and check it matches the public key')
    .argument('<alias>', 'name of the identity', parseAlias)
    .option('--passphrase-file <path>', 'read the passphrase from this file (or set SAORSA_GOSSIP_PASSPHRASE)', parsePath)
    .option('--json', 'print JSON')
    .action(async (alias: string, o: JsonOption & { passphraseFile?: string }) => {
      const ctx = ctxOf()
      const passphrase = await readPassphrase(o.passphraseFile, io.env)
      const ks = createKeystore({ home: ctx.home })
      const id = await ks.load(alias, passphrase === undefined ? {} : { passphrase })
      // A fresh signature over a fixed challenge must verify under the stored public key.
      const challenge = new TextEncoder().encode(`saorsa-gossip identity check ${alias}`)
      const ok = verify(id.algorithm, id.publicKey, challenge, id.sign(challenge))
      id.destroy()
      if (!ok) throw new CliError(`identity ${alias}: the unlocked key does not produce valid signatures`)
      if (o.json === true) return ctx.out(JSON.stringify({ alias, peerId: id.peerId, ok: true }))
      ctx.out(`✓ Identity ${alias} unlocked; its key signs and verifies (PeerId ${id.peerId})`)
    })

  cmd
    .command('delete')
    .description('delete an identity from the keystore (irreversible)')
    .argument('<alias>', 'name of the identity', parseAlias)
    .option('--json', 'print JSON')
    .action(async (alias: string, o: JsonOption) => {
      const ctx = ctxOf()
      const ks = createKeystore({ home: ctx.home })
      const path = ks.pathOf(alias)
      await ks.delete(alias)
      if (o.json === true) return ctx.out(JSON.stringify({ deleted: alias, path }))
      ctx.out(`✓ Deleted identity: ${alias} (${path})`)
    })

  return cmd
}
