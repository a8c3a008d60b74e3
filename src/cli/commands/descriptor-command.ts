/**
 * `mixgate descriptor --config FILE [--out FILE]`: print (or write) the signed node
 * descriptor of the mix or exit FILE describes, with the current and next epochs' onion
 * keys. The operator sends it to whoever assembles the cascade (`mixgate cascade create`).
 *
 * The cascade the config names is not needed (it does not exist yet the first time). On
 * the first use of a key dir the onion seed is created (onion-public-keys.ts). While the node
 * runs, its admin `/descriptor` serves the same, always fresh.
 */
import { DescriptorError } from '../../directory/descriptor-error.js'
import { KeysError } from '../../protocol/keys-errors.js'
import { wipeIdentity } from '../../node/keys/identity.js'
import { parseCommandArgs, stringOption } from '../args.js'
import { loadRoleConfig } from '../config/role-config.js'
import { fieldError, loadNodeKeys } from '../key-dir.js'
import { scheduleOfConfig } from '../hop-params.js'
import { describeHop } from '../node-descriptor.js'
import { writeOutput } from '../output-file.js'
import { readOnionPublicKeys } from '../onion-public-keys.js'
import { UsageError } from '../usage-error.js'
import type { CommandContext } from './context.js'

export async function descriptorCommand (argv: readonly string[], context: CommandContext): Promise<number> {
  const args = parseCommandArgs('descriptor', argv, { config: { type: 'string', short: 'c' }, out: { type: 'string', short: 'o' } })
  if (args.help) return context.showHelp('descriptor')
  const file = stringOption(args, 'config')
  if (file === undefined) throw new UsageError('mixgate descriptor: --config FILE is required', 'descriptor')
  const out = stringOption(args, 'out')
  const config = await loadRoleConfig(file)
  if (config.role === 'client') throw fieldError(file, 'role', 'a client has no descriptor: only mixes and exits publish one')
  const { dir, keys } = await loadNodeKeys(file, config.keyDir)
  try {
    let onion
    try {
      onion = await readOnionPublicKeys(dir, scheduleOfConfig(config))
    } catch (err) {
      if (err instanceof KeysError) throw fieldError(file, err.code === 'KEYS_BAD_EPOCH' ? 'genesis' : 'keyDir', err.message, err)
      throw err
    }
    if (onion.keys.length === 0) throw fieldError(file, 'keyDir', 'the onion keys of the current and next epoch were discarded; start the node or wait for the next epoch')
    let descriptor
    try {
      descriptor = describeHop({ ...config, role: config.role }, keys.identity, keys.link.publicKey, onion.keys, Date.now() / 1000)
    } catch (err) {
      if (err instanceof DescriptorError) throw fieldError(file, err.field ?? 'address', err.message, err)
      throw err
    }
    const text = JSON.stringify(descriptor, null, 2) + '\n'
    if (out === undefined) context.out(text)
    else await writeOutput('descriptor', out, text)
    return 0
  } finally {
    wipeIdentity(keys)
  }
}
