/**
 * The one error a node throws when its configuration or key material cannot be used.
 *
 * Every `ConfigError` means "the operator must fix a file": the CLI prints the message and
 * exits with status 2 (`CONFIG_EXIT_CODE`, the usual "usage/config error" status), never
 * with a stack trace. Codes:
 *   - `CONFIG_INVALID`     the value does not fit the schema (`issues` lists every problem)
 *   - `CONFIG_SYNTAX`      the file is not JSON (the message gives line and column)
 *   - `CONFIG_UNREADABLE`  the file cannot be read (the message gives the OS reason)
 *   - `CONFIG_KEY_FILE`    a key file is unreadable or holds the wrong number of bytes
 * Messages name fields and files, never key bytes.
 */
import { MixgateError } from '../errors.js'

export const CONFIG_EXIT_CODE = 2

/** One thing wrong with a config value. */
export interface ConfigIssue {
  /** Where: `successor.address`, `mixes[2].linkKey`; `''` for the whole value. */
  readonly path: string
  /** The whole human-readable line, field path included. */
  readonly message: string
}

export interface ConfigErrorOptions {
  readonly issues?: readonly ConfigIssue[]
  /** The file the problem is in, when there is one. */
  readonly file?: string
  readonly cause?: unknown
}

export class ConfigError extends MixgateError {
  readonly exitCode = CONFIG_EXIT_CODE
  readonly issues: readonly ConfigIssue[]
  readonly file: string | undefined

  constructor (code: string, message: string, options: ConfigErrorOptions = {}) {
    super(code, message, { cause: options.cause })
    this.issues = options.issues ?? []
    this.file = options.file
  }

  /** `CONFIG_INVALID` listing every issue, one per line. */
  static fromIssues (issues: readonly ConfigIssue[], file?: string): ConfigError {
    const lines = issues.map((issue) => issue.message)
    const message = file === undefined
      ? lines.join('\n')
      : [`config file ${JSON.stringify(file)} is invalid:`, ...lines.map((line) => '  ' + line)].join('\n')
    return new ConfigError('CONFIG_INVALID', message, { issues, file })
  }
}
