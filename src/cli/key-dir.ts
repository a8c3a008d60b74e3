/**
 * A hop's key dir as its config names it (`keyDir`): checked and loaded with errors that
 * name the config field, so `check-config` and the node say "config field "keyDir": …"
 * rather than a bare file problem.
 *
 * The directory must exist (`mixgate keygen --dir DIR` makes it) and be writable by its
 * owner only; the key files in it must be private (loadIdentity checks them).
 */
import { stat } from 'node:fs/promises'
import { ConfigError } from '../base/config-error.js'
import { KeysError } from '../protocol/keys-errors.js'
import { loadIdentity, type NodeIdentity } from '../node/keys/identity.js'
import { resolveFrom } from './config/common-fields.js'

/** The resolved key dir, checked to exist and be private; ConfigError naming `keyDir` otherwise. */
export async function checkKeyDir (configFile: string, keyDir: string): Promise<string> {
  const dir = resolveFrom(configFile, keyDir)
  let info
  try {
    info = await stat(dir)
  } catch (err) {
    const code = (err as { code?: unknown }).code
    const why = code === 'ENOENT'
      ? `key dir ${JSON.stringify(dir)} does not exist (create the keys with: mixgate keygen --dir ${dir})`
      : `cannot read key dir ${JSON.stringify(dir)} (${String(code)})`
    throw fieldError(configFile, 'keyDir', why, err)
  }
  if (!info.isDirectory()) throw fieldError(configFile, 'keyDir', `${JSON.stringify(dir)} is not a directory`)
  if ((info.mode & 0o022) !== 0) {
    throw fieldError(configFile, 'keyDir', `key dir ${JSON.stringify(dir)} is writable by group or others (mode 0${(info.mode & 0o777).toString(8)}); run chmod 700 on it`)
  }
  return dir
}

/** The node's identity and link keys from its key dir (wipe with wipeIdentity). */
export async function loadNodeKeys (configFile: string, keyDir: string): Promise<{ dir: string, keys: NodeIdentity }> {
  const dir = await checkKeyDir(configFile, keyDir)
  try {
    return { dir, keys: await loadIdentity(dir) }
  } catch (err) {
    if (err instanceof ConfigError || err instanceof KeysError) throw fieldError(configFile, 'keyDir', err.message, err)
    throw err
  }
}

/** A ConfigError for `field` of `configFile` (exit status 2), one issue naming the field. */
export function fieldError (configFile: string, field: string, problem: string, cause?: unknown): ConfigError {
  const message = `config field ${JSON.stringify(field)}: ${problem}`
  return new ConfigError('CONFIG_INVALID', `config file ${JSON.stringify(configFile)} is invalid:\n  ${message}`,
    { file: configFile, issues: [{ path: field, message }], cause })
}
