/**
 * A node child process the bench owns: started with node flags of our choosing, ready when
 * its first stdout line matches, stopped with SIGINT (then SIGKILL if it lingers). Every child
 * is also killed synchronously if the bench process exits some other way, so no run leaves
 * a cascade behind.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { createInterface } from 'node:readline'

export class ChildError extends Error {
  override readonly name = 'ChildError'
}

export interface BenchChild {
  readonly pid: number
  /** The first stdout line (the ready line). */
  readonly readyLine: string
  /** Later stdout lines. */
  readonly lines: string[]
  /** The end of what the child wrote to stderr (for error messages). */
  stderrTail (): string
  /** SIGINT, wait for exit (SIGKILL after `graceMs`); resolves with the exit code or signal. */
  stop (graceMs?: number): Promise<number | string | null>
}

const live = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of live) {
    try { child.kill('SIGKILL') } catch { /* already gone */ }
  }
})

export interface StartChildOptions {
  /**
   * A command that runs node in its place by exec, keeping the pid (`prlimit --nofile=N:N --`):
   * what a child needs set that Node cannot set on itself.
   */
  readonly wrapper?: readonly string[]
  readonly nodeFlags?: readonly string[]
  readonly script: string
  readonly args: readonly string[]
  /** What the first stdout line must match. */
  readonly ready: RegExp
  readonly readyTimeoutMs?: number
  readonly cwd?: string
  /** Extra environment variables (the rest is inherited). */
  readonly env?: Readonly<Record<string, string>>
  /** A file to keep all the child writes to stderr in (its log), beside the tail kept for errors. */
  readonly stderrFile?: string
}

export async function startChild (options: StartChildOptions): Promise<BenchChild> {
  const command = [...(options.wrapper ?? []), process.execPath, ...(options.nodeFlags ?? []), options.script, ...options.args]
  const child = spawn(command[0]!, command.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.env === undefined ? {} : { env: { ...process.env, ...options.env } }),
  })
  live.add(child)
  let stderr = ''
  child.stderr!.setEncoding('utf8')
  child.stderr!.on('data', (chunk: string) => { stderr = (stderr + chunk).slice(-4000) })
  if (options.stderrFile !== undefined) child.stderr!.pipe(createWriteStream(options.stderrFile))
  const exited = new Promise<number | string | null>((resolve) => {
    child.once('close', (code, signal) => { live.delete(child); resolve(code ?? signal) })
  })
  const lines: string[] = []
  const reader = createInterface({ input: child.stdout! })
  const describe = (): string => `${options.script} ${options.args.join(' ')}`
  const readyLine = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new ChildError(`${describe()}: no ready line within ${options.readyTimeoutMs ?? 30_000} ms\n${stderr}`))
    }, options.readyTimeoutMs ?? 30_000)
    let first = true
    reader.on('line', (line) => {
      if (!first) { lines.push(line); return }
      first = false
      clearTimeout(timer)
      if (options.ready.test(line)) resolve(line)
      else { child.kill('SIGKILL'); reject(new ChildError(`${describe()}: unexpected first line: ${line}\n${stderr}`)) }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      if (first) reject(new ChildError(`${describe()}: exited (${code}) before it was ready\n${stderr}`))
    })
  })
  return {
    pid: child.pid!,
    readyLine,
    lines,
    stderrTail: () => stderr,
    async stop (graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode ?? child.signalCode
      child.kill('SIGINT')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      const code = await exited
      clearTimeout(timer)
      reader.close()
      return code
    },
  }
}
