/**
 * The error for a command line that cannot be run as written: an unknown subcommand or
 * option, a missing or malformed option value. The CLI prints the message and a pointer to
 * the command's help, and exits with status 2, as it does for a bad config file.
 */
import { MixgateError } from '../errors.js'
import { CONFIG_EXIT_CODE } from '../base/config-error.js'

export class UsageError extends MixgateError {
  readonly exitCode = CONFIG_EXIT_CODE
  /** The subcommand whose help explains the mistake (`undefined`: the overview). */
  readonly command: string | undefined

  constructor (message: string, command?: string) {
    super('CLI_USAGE', message)
    this.command = command
  }
}
