/**
 * `mixgate keygen --dir DIR [--force]`: make a node's identity key and link key in DIR
 * (docs/KEYS.md §1) and print the public halves.
 *
 *   identity 3f…(64 hex digits)
 *   link     9a…
 *
 * An existing key is never replaced without --force: a new identity invalidates every
 * descriptor naming the node. The refusal exits 2, like every other usage mistake.
 */
import { toHex } from '../../directory/descriptor-json.js'
import { KeysError } from '../../protocol/keys-errors.js'
import { keygen } from '../../node/keys/identity.js'
import { parseCommandArgs, stringOption } from '../args.js'
import { UsageError } from '../usage-error.js'
import type { CommandContext } from './context.js'

export async function keygenCommand (argv: readonly string[], context: CommandContext): Promise<number> {
  const args = parseCommandArgs('keygen', argv, { dir: { type: 'string', short: 'd' }, force: { type: 'boolean' } })
  if (args.help) return context.showHelp('keygen')
  const dir = stringOption(args, 'dir')
  if (dir === undefined || dir === '') throw new UsageError('mixgate keygen: --dir DIR is required', 'keygen')
  let keys
  try {
    keys = await keygen(dir, { force: args.values.force === true })
  } catch (err) {
    // KEYS_EXISTS, KEYS_BAD_MODE: the operator must choose (or fix) the directory.
    if (err instanceof KeysError) throw new UsageError(`mixgate keygen: ${err.message}`, 'keygen')
    throw err
  }
  context.out(`identity ${toHex(keys.identityKey)}\nlink     ${toHex(keys.linkKey)}\n`)
  return 0
}
