/**
 * Where the lab runs the hops of its cascade, and the handles it talks to them through:
 *
 *   - `process` (default): a child process per hop (hop-process.ts, forked from dist/ with an
 *     IPC channel). Every hop has its own event loop and heap, apart from each other and from
 *     the clients and the observer in the lab process, and the hops spread over every core:
 *     at k = 20 under `strict` the four hops together need about a core, more than one
 *     process can have. Each process costs a fixed share of CPU for its own timers and
 *     wake-ups (5–10 % of a core each on a two-core VM, measured at k = 4).
 *   - `cascade`: all hops in one child process: cheaper (its hops share wake-ups), and enough
 *     for a few clients, but never more than one core for the whole cascade.
 *   - `inline`: in the lab's own process, one event loop for everything (how the lab began:
 *     the cheapest in CPU, but one core for clients, observer and cascade together).
 *
 * (Worker threads were tried too: they cost what child processes cost and share a process.)
 *
 * Every layout answers the same requests (lab-hop.ts). `close()` stops every hop and ends the
 * processes or threads: a child is disconnected (it stops its hops and exits when its channel
 * closes, also if the lab dies) and killed if it has not gone within a few seconds.
 */
import { fork, type ChildProcess } from 'node:child_process'
import type { HopEnvelope, HopReply } from './hop-process.js'
import { serveHop, type HopRequest } from './lab-hop.js'

export const HOP_LAYOUTS = ['process', 'cascade', 'inline'] as const
export type HopLayout = typeof HOP_LAYOUTS[number]

export interface HopHost {
  call (request: HopRequest): Promise<unknown>
}

export interface HopHosts {
  /** One handle per hop, in the order asked for. */
  readonly hops: HopHost[]
  /** Stop every hop and end its process or thread (never throws). */
  close (): Promise<void>
}

const HOP_SCRIPT = new URL('./hop-process.js', import.meta.url)
const EXIT_GRACE_MS = 5000

/** A place hops run in: it passes requests to hop `hop` and ends when closed. */
interface Runner {
  call (hop: number, request: HopRequest): Promise<unknown>
  close (): Promise<void>
}

export function startHopHosts (layout: HopLayout, count: number): HopHosts {
  const indices = Array.from({ length: count }, (_, i) => i)
  const runners: Runner[] = layout === 'inline'
    ? [inlineRunner()]
    : layout === 'cascade'
      ? [childRunner()]
      : indices.map(() => childRunner())
  const runnerOf = (i: number): { runner: Runner, hop: number } => runners.length === 1 ? { runner: runners[0]!, hop: i } : { runner: runners[i]!, hop: 0 }
  return {
    hops: indices.map((i) => {
      const { runner, hop } = runnerOf(i)
      return { call: async (request) => await runner.call(hop, request) }
    }),
    async close () {
      await Promise.all(indices.map(async (i) => {
        const { runner, hop } = runnerOf(i)
        await runner.call(hop, { op: 'stop' }).catch(() => {})
      }))
      await Promise.all(runners.map(async (runner) => await runner.close()))
    },
  }
}

function inlineRunner (): Runner {
  const hops = new Map<number, ReturnType<typeof serveHop>>()
  return {
    call: async (hop, request) => await (hops.get(hop) ?? hops.set(hop, serveHop()).get(hop)!)(request),
    close: async () => {},
  }
}

/** Request/answer bookkeeping over a message channel; `gone` rejects every open request and every later one. */
function channel (send: (envelope: HopEnvelope) => void): { call: Runner['call'], reply (reply: HopReply): void, gone (why: string): void } {
  const pending = new Map<number, { resolve: (value: unknown) => void, reject: (err: Error) => void }>()
  let nextId = 0
  let goneWhy: string | undefined
  return {
    call: async (hop, request) => await new Promise((resolve, reject) => {
      if (goneWhy !== undefined) { reject(new Error(`lab hop ${goneWhy}`)); return }
      const id = nextId++
      pending.set(id, { resolve, reject })
      send({ id, hop, request })
    }),
    reply (reply) {
      const waiting = pending.get(reply.id)
      pending.delete(reply.id)
      if (reply.error !== undefined) waiting?.reject(new Error(`lab hop: ${reply.error}`))
      else waiting?.resolve(reply.value)
    },
    gone (why) {
      goneWhy = why
      for (const { reject } of pending.values()) reject(new Error(`lab hop ${why}`))
      pending.clear()
    },
  }
}

function childRunner (): Runner {
  // No inherited execArgv: a test runner's loaders and hooks are no business of a hop.
  const child: ChildProcess = fork(HOP_SCRIPT, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const rpc = channel((envelope) => child.send(envelope))
  child.on('message', (reply: HopReply) => rpc.reply(reply))
  child.once('exit', (code, signal) => rpc.gone(`process exited (${signal ?? `code ${String(code)}`})`))
  child.on('error', () => {}) // a failed send: the exit that follows rejects the request
  return {
    call: rpc.call,
    async close () {
      if (child.exitCode !== null || child.signalCode !== null) return
      if (child.connected) child.disconnect()
      const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_GRACE_MS)
      await exited
      clearTimeout(timer)
    },
  }
}
