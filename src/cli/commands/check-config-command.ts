/**
 * `mixgate check-config FILE`: load a node config of any role exactly as the node would at
 * start (key dir, signed cascade, keys and parameters against the cascade), without opening
 * any port or writing any file. Prints "ok"; problems are thrown as ConfigErrors, which
 * `main` prints with status 2.
 */
import { UsageError } from '../../base/usage-error.js'
import { parseCommandArgs } from '../args.js'
import { loadRoleConfig } from '../config/role-config.js'
import { disposeSetup, setUpNode } from '../../node/start/node-setup.js'
import type { CommandContext } from './context.js'

export async function checkConfigCommand (argv: readonly string[], context: CommandContext): Promise<number> {
  const args = parseCommandArgs('check-config', argv, {}, 1)
  if (args.help) return context.showHelp('check-config')
  const file = args.positionals[0]
  if (file === undefined) throw new UsageError('mixgate check-config: name the config file to check', 'check-config')
  const config = await loadRoleConfig(file)
  disposeSetup(await setUpNode(config, file))
  context.out('ok\n')
  return 0
}
