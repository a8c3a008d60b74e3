/**
 * The `mixgate` command: picks the subcommand, runs it, and turns what went wrong into a
 * message on standard error and an exit status.
 *
 *   0  done (for the long-running commands: stopped by SIGINT/SIGTERM, cleanly)
 *   1  could not start or stop cleanly (a port in use, a stop step that failed)
 *   2  the command line, a config file, a key dir or a descriptor is wrong (`UsageError`,
 *      `ConfigError`, `DescriptorError`, and the `KeysError`s an operator must fix)
 *
 * Nothing but results and the `up` ready lines goes to standard output; logs, warnings and
 * errors go to standard error. A config problem prints only its message: no stack trace,
 * no log lines.
 */
import { MixgateError } from '../errors.js'
import { cryptoReady } from '../crypto/index.js'
import { DescriptorError } from '../directory/descriptor-error.js'
import { ConfigError, CONFIG_EXIT_CODE } from '../base/config-error.js'
import { KeysError, KeysErrorCode } from '../protocol/keys-errors.js'
import { suggest } from '../base/suggest.js'
import { cascadeCommand } from './commands/cascade-command.js'
import { checkConfigCommand } from './commands/check-config-command.js'
import type { CommandContext } from './commands/context.js'
import { descriptorCommand } from './commands/descriptor-command.js'
import { keygenCommand } from './commands/keygen-command.js'
import { nodeCommand } from './commands/node-command.js'
import { statusCommand } from './commands/status-command.js'
import { upCommand } from './commands/up-command.js'
import { COMMAND_HELP, commandHelp, overviewHelp } from './help.js'
import { UsageError } from './usage-error.js'
import { packageVersion } from './version.js'

type Command = (argv: readonly string[], context: CommandContext) => Promise<number>

const COMMANDS: Readonly<Record<string, Command>> = {
  up: upCommand,
  mix: (argv, context) => nodeCommand('mix', argv, context),
  exit: (argv, context) => nodeCommand('exit', argv, context),
  client: (argv, context) => nodeCommand('client', argv, context),
  'check-config': checkConfigCommand,
  keygen: keygenCommand,
  descriptor: descriptorCommand,
  cascade: cascadeCommand,
  status: (argv, context) => statusCommand([...argv], context),
  help: helpCommand,
}

export interface MainIo {
  readonly out?: (text: string) => void
  readonly err?: (text: string) => void
}

/** Run `mixgate` with `argv` (the words after `mixgate`); resolves with the exit status. */
export async function main (argv: readonly string[], io: MainIo = {}): Promise<number> {
  const out = io.out ?? ((text: string) => { process.stdout.write(text) })
  const err = io.err ?? ((text: string) => { process.stderr.write(text) })
  const context: CommandContext = {
    out,
    err,
    showHelp: (command) => {
      out(commandHelp(command))
      return 0
    },
  }
  const [first, ...rest] = argv
  try {
    if (first === undefined || first === '--help' || first === '-h') {
      out(overviewHelp())
      return 0
    }
    if (first === '--version' || first === '-v') {
      out(`mixgate ${packageVersion()}\n`)
      return 0
    }
    if (first.startsWith('-')) throw new UsageError(`mixgate: unknown option ${first}; options come after the command (mixgate COMMAND [OPTIONS])`)
    const command = COMMANDS[first]
    if (command === undefined) {
      const near = suggest(first, Object.keys(COMMANDS))
      throw new UsageError(`mixgate: unknown command ${JSON.stringify(first)}${near === undefined ? '' : ` (did you mean ${JSON.stringify(near)}?)`}`)
    }
    await cryptoReady()
    return await command(rest, context)
  } catch (error) {
    return report(error, err)
  }
}

async function helpCommand (argv: readonly string[], context: CommandContext): Promise<number> {
  const [name, ...extra] = argv
  if (name === undefined || name === '--help' || name === '-h') {
    context.out(overviewHelp())
    return 0
  }
  if (extra.length > 0) throw new UsageError(`mixgate help: unexpected argument ${JSON.stringify(extra[0])}`, 'help')
  if (COMMAND_HELP[name] === undefined) {
    const near = suggest(name, Object.keys(COMMAND_HELP))
    throw new UsageError(`mixgate help: unknown command ${JSON.stringify(name)}${near === undefined ? '' : ` (did you mean ${JSON.stringify(near)}?)`}`)
  }
  return context.showHelp(name)
}

/** Key problems that are the operator's to fix (a file's mode, a corrupt seed), not runtime failures. */
const OPERATOR_KEYS_ERRORS: ReadonlySet<string> = new Set([KeysErrorCode.EXISTS, KeysErrorCode.BAD_MODE, KeysErrorCode.CORRUPT, KeysErrorCode.BAD_OPTION, KeysErrorCode.BAD_EPOCH])

/** The message and status for an error that ended a command. */
function report (error: unknown, err: (text: string) => void): number {
  if (error instanceof UsageError) {
    const help = error.command === undefined ? 'mixgate --help' : `mixgate help ${error.command}`
    err(`${error.message}\nRun '${help}' for usage.\n`)
    return error.exitCode
  }
  if (error instanceof ConfigError || error instanceof DescriptorError || (error instanceof KeysError && OPERATOR_KEYS_ERRORS.has(error.code))) {
    err(`mixgate: ${error.message}\n`)
    return CONFIG_EXIT_CODE
  }
  if (error instanceof MixgateError) {
    err(`mixgate: ${error.message}\n`)
    return 1
  }
  // Not one of ours: a bug or an OS failure we did not foresee. The stack helps a report.
  err(`mixgate: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  return 1
}
