/**
 * Test helper for the packaging tests: run a tool to its end and keep what it printed and
 * its exit status (a failing tool is a result to check, not an exception). A tool that is
 * not installed rejects with `missing`, so the test says which package to install.
 */
import { execFile } from 'node:child_process'

export interface Ran {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

export interface RunOptions {
  readonly cwd?: string
  readonly env?: NodeJS.ProcessEnv
  /** Killed after this long (default 120 s): every step of these tests is bounded. */
  readonly timeoutMs?: number
  /** Said when the tool is not installed (e.g. "apt-get install -y lintian"). */
  readonly missing?: string
}

export function run (command: string, args: readonly string[], options: RunOptions = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd: options.cwd, env: options.env ?? process.env, timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        if (err !== null && (err as NodeJS.ErrnoException).code === 'ENOENT') {
          return reject(new Error(`${command} is not installed${options.missing === undefined ? '' : `: ${options.missing}`}`))
        }
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
        resolve({ code, stdout, stderr })
      })
  })
}

/** This environment without npm's npm_* variables (the test runs under `npm test`; an npm
 * it starts must read its own configuration, not inherit the outer run's). */
export function cleanNpmEnv (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) if (!/^npm_/i.test(name)) env[name] = value
  return { ...env, ...extra }
}

/** Fail `check` with the command's output when it did not exit 0. */
export function described (ran: Ran): string {
  return `exit ${ran.code}; stdout: ${ran.stdout.trim().slice(-2000) || 'empty'}; stderr: ${ran.stderr.trim().slice(-2000) || 'empty'}`
}
