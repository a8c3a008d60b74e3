/**
 * What bin/mixgate's #! line sets for the node it starts (issue #17): the environment before
 * `node` and node's own flags after it. The bench starts `up` as `node [flags] bin/mixgate`
 * (to add --cpu-prof, or prlimit before node), and node reads no #! line; so it reads the line
 * here and gives the same settings, and measures what a user runs.
 */
import { readFileSync } from 'node:fs'

export interface LauncherSettings {
  readonly env: Readonly<Record<string, string>>
  readonly nodeFlags: readonly string[]
}

/** The settings of `script`'s `#!/usr/bin/env -S NAME=V… node FLAG…` line; none for another line. */
export function launcherSettings (script: string): LauncherSettings {
  const first = readFileSync(script, 'utf8').split('\n', 1)[0]!
  const words = first.replace(/^#!/, '').trim().split(/\s+/)
  const nodeAt = words.indexOf('node')
  if (words[0] !== '/usr/bin/env' || words[1] !== '-S' || nodeAt < 0) return { env: {}, nodeFlags: [] }
  const env: Record<string, string> = {}
  for (const word of words.slice(2, nodeAt)) {
    const eq = word.indexOf('=')
    if (eq > 0) env[word.slice(0, eq)] = word.slice(eq + 1)
  }
  return { env, nodeFlags: words.slice(nodeAt + 1) }
}
