/**
 * `mixgate mix|exit|client --config FILE`: run one node of a cascade from its config file
 * until SIGINT or SIGTERM.
 */
import { createLogger } from '../../node/logger.js'
import { UsageError } from '../usage-error.js'
import { parseCommandArgs, stringOption } from '../args.js'
import { loadConfigOfRole, type Role } from '../config/role-config.js'
import { setUpNode } from '../node-setup.js'
import { serveUntilSignal } from '../serve.js'
import { startNode } from '../start-node.js'
import type { CommandContext } from './context.js'

export async function nodeCommand (role: Role, argv: readonly string[], context: CommandContext): Promise<number> {
  const args = parseCommandArgs(role, argv, { config: { type: 'string', short: 'c' } })
  if (args.help) return context.showHelp(role)
  const file = stringOption(args, 'config')
  if (file === undefined) throw new UsageError(`mixgate ${role}: --config FILE is required`, role)
  const config = await loadConfigOfRole(file, role)
  const setup = await setUpNode(config, file)
  const logger = createLogger({ role: setup.label, level: setup.log.level, format: setup.log.format })
  const node = await startNode(setup, logger)
  return serveUntilSignal([node], logger)
}
