/**
 * Option parsing for every subcommand: `node:util` `parseArgs` in strict mode, with its
 * errors turned into `UsageError`s that read like the rest of mixgate's messages (and say
 * "did you mean --mixes?" for a near miss) instead of Node's generic wording.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { suggest } from '../base/suggest.js'
import { UsageError } from './usage-error.js'

export type OptionSpecs = NonNullable<ParseArgsConfig['options']>

/** Every subcommand takes `--help`/`-h`; this adds it to a command's own options. */
const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const

export type OptionValue = string | boolean | Array<string | boolean> | undefined

export interface ParsedArgs {
  readonly values: Readonly<Record<string, OptionValue>>
  readonly positionals: readonly string[]
  /** `--help` or `-h` was given. */
  readonly help: boolean
}

/**
 * Parse `argv` (the words after the subcommand) against `options`. At most `maxPositionals`
 * bare words are allowed (default none).
 */
export function parseCommandArgs (command: string, argv: readonly string[], options: OptionSpecs, maxPositionals = 0): ParsedArgs {
  const all = { ...options, ...HELP_OPTION }
  let parsed
  try {
    parsed = parseArgs({ args: [...argv], options: all, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError(describeParseError(command, err, all), command)
  }
  const help = parsed.values.help === true
  if (parsed.positionals.length > maxPositionals && !help) {
    const extra = parsed.positionals[maxPositionals]!
    throw new UsageError(`mixgate ${command}: unexpected argument ${JSON.stringify(extra)}`, command)
  }
  return { values: parsed.values, positionals: parsed.positionals, help }
}

/** The value of a string option given at most once, or undefined. */
export function stringOption (args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name]
  return typeof value === 'string' ? value : undefined
}

/** Every value of a repeatable string option, in order. */
export function stringList (args: ParsedArgs, name: string): string[] {
  const value = args.values[name]
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []
}

/** A decimal integer option in [min, max], or `fallback` when absent. */
export function integerOption (command: string, args: ParsedArgs, name: string, range: { min: number, max: number }, fallback: number): number {
  const text = stringOption(args, name)
  if (text === undefined) return fallback
  const value = /^(?:0|[1-9][0-9]{0,9})$/.test(text) ? Number(text) : NaN
  if (!(value >= range.min && value <= range.max)) {
    throw new UsageError(`mixgate ${command}: --${name} must be an integer between ${range.min} and ${range.max}, got ${JSON.stringify(text)}`, command)
  }
  return value
}

function describeParseError (command: string, err: unknown, options: OptionSpecs): string {
  const { code, message } = err as { code?: string, message?: string }
  const quoted = /'([^']*)'/.exec(message ?? '')?.[1]
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const flag = quoted ?? 'given'
      const names = Object.keys(options)
      const bare = flag.replace(/^-+/, '')
      // A typo, or the start of one option's name (`--conf` for `--config`).
      const prefixed = bare.length >= 2 ? names.filter((name) => name.startsWith(bare)) : []
      const near = suggest(bare, names) ?? (prefixed.length === 1 ? prefixed[0] : undefined)
      const hint = near === undefined ? '' : ` (did you mean --${near}?)`
      return `mixgate ${command}: unknown option ${flag}${hint}`
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      // Node names the option as `--name <value>` or `-n, --name <value>`.
      const flag = /--[a-z-]+/.exec(message ?? '')?.[0] ?? 'an option'
      const kind = options[flag.slice(2)]?.type
      return kind === 'boolean'
        ? `mixgate ${command}: option ${flag} takes no value`
        : `mixgate ${command}: option ${flag} needs a value`
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `mixgate ${command}: unexpected argument ${quoted === undefined ? '' : JSON.stringify(quoted)}`.trimEnd()
    default:
      return `mixgate ${command}: ${message ?? 'cannot parse the command line'}`
  }
}
