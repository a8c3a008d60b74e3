/**
 * The node under fuzz as the harness sees it: child.ts forked, its ready message, its memory
 * and counters on request, its death observed (an uncaught exception it reports, or its exit).
 */
import { fork, type ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Cascade } from '../../src/directory/cascade.js'
import { cascadeFromJson } from '../../src/directory/cascade-json.js'

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'child.js')

export interface Uncaught { readonly kind: string, readonly name: string, readonly message: string, readonly stack: string, readonly code?: string }

export interface NodeChild {
  readonly pid: number
  readonly cascade: Cascade
  readonly socksPort: number
  readonly echoPort: number
  /** Still running, and no uncaught exception reported. */
  alive (): boolean
  uncaught (): Uncaught | undefined
  exited (): { code: number | null, signal: string | null } | undefined
  stderrTail (): string
  maxRss: number
  maxHeap: number
  stats: { mix: Record<string, number>, exit: Record<string, number> } | undefined
  /** Ask for memory and counters (updates maxRss, maxHeap, stats); at most 2 s. */
  sample (): Promise<void>
  /** Give a crash report a moment to arrive. */
  settle (ms?: number): Promise<void>
  /** Stop cleanly ('stop', then SIGKILL after 10 s). */
  stop (): Promise<void>
}

export async function startNodeChild (cellSize = 1024): Promise<NodeChild> {
  const child: ChildProcess = fork(CHILD, [String(cellSize)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
  const killOnExit = (): void => { child.kill('SIGKILL') }
  process.once('exit', killOnExit)
  let stderr = ''
  child.stderr!.setEncoding('utf8')
  child.stderr!.on('data', (chunk: string) => { stderr = (stderr + chunk).slice(-4000) })
  let exited: { code: number | null, signal: string | null } | undefined
  const exitedPromise = new Promise<void>((resolve) => child.once('exit', (code, signal) => { exited = { code, signal }; process.off('exit', killOnExit); resolve() }))
  let uncaught: Uncaught | undefined
  let onReady: ((m: { cascade: unknown, socksPort: number, echoPort: number }) => void) | undefined
  const waiters: (() => void)[] = []
  const handle: Partial<NodeChild> & { maxRss: number, maxHeap: number, stats: NodeChild['stats'] } = { maxRss: 0, maxHeap: 0, stats: undefined }
  child.on('message', (message: Record<string, unknown>) => {
    if (message.type === 'ready') onReady?.(message as never)
    else if (message.type === 'uncaught') uncaught = message as unknown as Uncaught
    else if (message.type === 'memory') {
      const memory = message.memory as NodeJS.MemoryUsage
      handle.maxRss = Math.max(handle.maxRss, memory.rss)
      handle.maxHeap = Math.max(handle.maxHeap, memory.heapUsed)
      handle.stats = { mix: message.mix as Record<string, number>, exit: message.exit as Record<string, number> }
      waiters.splice(0).forEach((w) => w())
    }
  })
  let readyTimer: NodeJS.Timeout | undefined
  const ready = await Promise.race([
    new Promise<{ cascade: unknown, socksPort: number, echoPort: number }>((resolve) => { onReady = resolve }),
    exitedPromise.then(() => undefined),
    new Promise<undefined>((resolve) => { readyTimer = setTimeout(() => resolve(undefined), 60_000) }),
  ])
  clearTimeout(readyTimer)
  if (ready === undefined) {
    child.kill('SIGKILL')
    throw new Error(`the node under fuzz did not start: ${stderr.slice(-800)}`)
  }
  const alive = (): boolean => exited === undefined && uncaught === undefined
  return Object.assign(handle, {
    pid: child.pid!,
    cascade: cascadeFromJson(ready.cascade),
    socksPort: ready.socksPort,
    echoPort: ready.echoPort,
    alive,
    uncaught: () => uncaught,
    exited: () => exited,
    stderrTail: () => stderr,
    async sample () {
      if (!alive()) return
      await new Promise<void>((resolve) => {
        waiters.push(resolve)
        child.send({ type: 'memory' }, () => {})
        setTimeout(resolve, 2000).unref()
      })
    },
    async settle (ms = 300) {
      await Promise.race([exitedPromise, new Promise((resolve) => setTimeout(resolve, ms).unref())])
    },
    async stop () {
      if (exited !== undefined) return
      if (child.connected) child.send({ type: 'stop' }, () => {})
      const force = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exitedPromise
      clearTimeout(force)
    },
  }) as NodeChild
}
