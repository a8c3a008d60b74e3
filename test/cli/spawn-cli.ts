/**
 * Test helper: run `node bin/mixgate …` as a child process, read what it prints, and make
 * sure it is gone when the test ends (killed in t.teardown if it is still running).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

/**
 * The runtime dir every mixgate this test process starts shares (running-up.ts): a `mixgate
 * up` records itself there, and `mixgate status` looks there, never in the user's own, where
 * another up (another test, another person's) may be recorded. Removed when the process exits.
 */
export const TEST_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'mixgate-runtime-'))
process.once('exit', () => { rmSync(TEST_RUNTIME_DIR, { recursive: true, force: true }) })
const CHILD_ENV = { ...process.env, MIXGATE_RUNTIME_DIR: TEST_RUNTIME_DIR }

/** bin/mixgate, from dist/test/cli/ where this file runs. */
export const BIN = fileURLToPath(new URL('../../../bin/mixgate', import.meta.url))

interface Teardown {
  teardown (fn: () => unknown): void
}

export interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export interface CliProcess {
  readonly child: ChildProcess
  stdout (): string
  stderr (): string
  /** Resolves when the process has exited. */
  readonly exited: Promise<Exit>
  /** Resolves with the first match of `pattern` in standard output (or error), or rejects after `timeoutMs`. */
  waitForStdout (pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>
  waitForStderr (pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>
  /** Send `signal` and wait for the exit, at most `timeoutMs` (then SIGKILL and reject). */
  stop (signal: NodeJS.Signals, timeoutMs?: number): Promise<Exit>
}

export interface CliOptions {
  readonly cwd?: string
  /** The mixgate to run (an installed copy's command); default: this checkout's bin/mixgate under this node. */
  readonly command?: string
  /** Variables to add to (or, undefined, remove from) the child's environment. */
  readonly env?: Readonly<Record<string, string | undefined>>
}

function childEnv (options: CliOptions): NodeJS.ProcessEnv {
  if (options.env === undefined) return CHILD_ENV
  const env: NodeJS.ProcessEnv = { ...CHILD_ENV }
  for (const [name, value] of Object.entries(options.env)) {
    if (value === undefined) delete env[name]
    else env[name] = value
  }
  return env
}

/** The program and leading arguments that run mixgate `args`. */
function commandLine (options: CliOptions, args: readonly string[]): [string, string[]] {
  return options.command === undefined ? [process.execPath, [BIN, ...args]] : [options.command, [...args]]
}

/** Start `mixgate args…`; it is killed at teardown if still running. */
export function startCli (t: Teardown, args: readonly string[], options: CliOptions = {}): CliProcess {
  const child = spawn(...commandLine(options, args), { cwd: options.cwd, env: childEnv(options), stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  const waiters: Array<() => void> = []
  const wake = (): void => { for (const w of [...waiters]) w() }
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => { out += chunk; wake() })
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { err += chunk; wake() })
  let done = false
  const exited = new Promise<Exit>((resolve) => {
    child.on('exit', (code, signal) => { done = true; wake(); resolve({ code, signal }) })
  })
  t.teardown(async () => {
    if (!done) {
      child.kill('SIGKILL')
      await exited
    }
  })

  const waitFor = (read: () => string, what: string) => (pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const match = read().match(pattern)
        if (match !== null) finish(() => resolve(match))
        else if (done) finish(() => reject(new Error(`mixgate exited before its ${what} matched ${pattern}; stderr:\n${err}`)))
      }
      const timer = setTimeout(() => finish(() => reject(new Error(`timed out waiting for ${pattern} on ${what}; stderr:\n${err}`))), timeoutMs)
      const finish = (settle: () => void): void => {
        clearTimeout(timer)
        const i = waiters.indexOf(check)
        if (i >= 0) waiters.splice(i, 1)
        settle()
      }
      waiters.push(check)
      check()
    })

  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForStdout: waitFor(() => out, 'standard output'),
    waitForStderr: waitFor(() => err, 'standard error'),
    async stop (signal, timeoutMs = 10_000) {
      if (!done) child.kill(signal)
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL')
          reject(new Error(`mixgate did not exit within ${timeoutMs} ms of ${signal}`))
        }, timeoutMs)
      })
      try {
        return await Promise.race([exited, timeout])
      } finally {
        clearTimeout(timer)
      }
    },
  }
}

export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Run a short mixgate command to its end (at most `timeoutMs`). */
export async function runCli (args: readonly string[], options: CliOptions & { timeoutMs?: number } = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(...commandLine(options, args), { cwd: options.cwd, env: childEnv(options), timeout: options.timeoutMs ?? 15_000 })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code?: unknown, stdout?: string, stderr?: string, killed?: boolean }
    if (typeof e.code !== 'number') throw err
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
  }
}

/** Fetch `url` with curl through the SOCKS5 proxy at `socks` (HOST:PORT), hostname resolved remotely. */
export async function curlThrough (socks: string, url: string): Promise<Buffer> {
  const { stdout } = await promisify(execFile)('curl', ['-sS', '--fail', '--max-time', '20', '--socks5-hostname', socks, url],
    { encoding: 'buffer', maxBuffer: 16 * 1024 * 1024 })
  return stdout
}
