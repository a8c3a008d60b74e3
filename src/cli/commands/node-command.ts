/**
 * `mixgate mix|exit|client --config FILE`: run one node of a cascade from its config file
 * until SIGINT or SIGTERM; SIGHUP re-reads the file (reload.ts).
 */
import { UsageError } from '../../base/usage-error.js'
import { createAdjustableLogger } from '../../base/adjustable-logger.js'
import { parseCommandArgs, stringOption } from '../args.js'
import { loadConfigOfRole, type Role, type RoleConfig } from '../config/role-config.js'
import { disposeSetup, setUpNode } from '../../node/start/node-setup.js'
import { reloadNode } from '../reload.js'
import { serveUntilSignal } from '../../node/start/serve.js'
import { startNode } from '../../node/start/start-node.js'
import type { CommandContext } from './context.js'

export async function nodeCommand (role: Role, argv: readonly string[], context: CommandContext): Promise<number> {
  const args = parseCommandArgs(role, argv, { config: { type: 'string', short: 'c' } })
  if (args.help) return context.showHelp(role)
  const file = stringOption(args, 'config')
  if (file === undefined) throw new UsageError(`mixgate ${role}: --config FILE is required`, role)
  let running: RoleConfig = await loadConfigOfRole(file, role)
  const setup = await setUpNode(running, file)
  const logger = createAdjustableLogger({ role: setup.label, level: setup.log.level, format: setup.log.format })
  let node
  try {
    node = await startNode(setup, logger)
  } catch (err) {
    disposeSetup(setup)
    throw err
  }
  const started = node
  return serveUntilSignal([started], logger, {
    onReload: async () => { running = await reloadNode(file, role, running, started, logger) },
    hardExit: { log: { role: setup.label, format: setup.log.format } },
  })
}
