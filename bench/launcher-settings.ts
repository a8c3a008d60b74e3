/**
 * What bin/mixgate gives the node it starts (issue #17): the environment its shell lines set
 * and node's own flags. The bench and the labs start mixgate as `node [flags] bin/mixgate`
 * (to add --cpu-prof, or prlimit before node), and then neither /bin/sh nor the #! line is
 * involved; so they read the launcher here and give node the same settings, and measure what
 * a user runs.
 *
 * bin/mixgate is a file /bin/sh runs first: its lines that start `//bin/true;` are shell
 * commands (comments to node), the last of them `exec node FLAG… "$0" "$@"`. The lines before
 * it run here in a shell with this process's environment (so MIXGATE_ALLOCATOR and a
 * MALLOC_CONF of the caller's count, as they would), and what they set or change is the
 * environment to give; the flags are the exec line's words.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

export interface LauncherSettings {
  readonly env: Readonly<Record<string, string>>
  readonly nodeFlags: readonly string[]
}

const NONE: LauncherSettings = { env: {}, nodeFlags: [] }
/** How a shell line of the launcher starts: `//bin/true` runs /bin/true, and to node it is a comment. */
const SHELL_LINE = '//bin/true;'
const EXEC_NODE = /^exec node((?: [^ "]+)*) "\$0" "\$@"$/
/** Variables a shell keeps up itself, not the launcher's settings. */
const SHELL_OWN = new Set(['PWD', 'OLDPWD', 'SHLVL', '_'])

/** The settings of `script`, a launcher as described above; none for a file of another kind. */
export function launcherSettings (script: string): LauncherSettings {
  const lines = readFileSync(script, 'utf8').split('\n')
  if (lines[0] !== '#!/bin/sh') return NONE
  const shell = lines.filter((line) => line.startsWith(SHELL_LINE)).map((line) => line.slice(SHELL_LINE.length).trim())
  const exec = EXEC_NODE.exec(shell.at(-1) ?? '')
  if (exec === null) return NONE
  const run = spawnSync('/bin/sh', ['-c', `${shell.slice(0, -1).join('\n')}\nexec env -0`], { encoding: 'utf8', env: process.env })
  if (run.status !== 0) throw new Error(`${script}'s shell lines failed (exit ${String(run.status)}): ${run.stderr.trim()}`)
  const env: Record<string, string> = {}
  for (const entry of run.stdout.split('\0')) {
    const eq = entry.indexOf('=')
    if (eq <= 0) continue
    const name = entry.slice(0, eq)
    const value = entry.slice(eq + 1)
    if (!SHELL_OWN.has(name) && process.env[name] !== value) env[name] = value
  }
  return { env, nodeFlags: exec[1]!.trim().split(' ').filter((word) => word !== '') }
}
