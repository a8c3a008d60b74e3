/**
 * What every subcommand gets from `main`: where to write, and how to show its help.
 */
export interface CommandContext {
  /** Standard output: results and the lines tests parse (logs go to standard error). */
  readonly out: (text: string) => void
  /** Standard error: problems. */
  readonly err: (text: string) => void
  /** Print the help of `command` to standard output; returns the exit status 0. */
  readonly showHelp: (command: string) => number
}
