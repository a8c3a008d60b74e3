/**
 * What the lab's users do, each through its own client's SOCKS port to its own origin:
 *
 *   - bulk: downloads of a few hundred KiB, each on a fresh connection, with pauses between;
 *   - page: page loads — a document, then a burst of 2–4 parallel resources, each on a
 *     fresh connection (as a browser opens several) — and think time between pages;
 *   - chat: one long-lived raw connection carrying a small message every fraction of a
 *     second to a second and a half (the origin echoes each, as a peer's reply);
 *   - idle: connected, and silent.
 *
 * Sizes and pauses are drawn from a seeded PRNG, so a run is reproducible up to the timing
 * of the machine. HTTP goes through undici's Socks5ProxyAgent; the chat through a raw SOCKS
 * socket. Failures (a stream refused, a timeout) are counted and the user carries on.
 */
import { Socks5ProxyAgent, request, type Dispatcher } from 'undici'
import type { Socket } from 'node:net'
import { socksConnect } from './socks-connect.js'

export const WORKLOADS = ['bulk', 'page', 'chat', 'idle'] as const
export type Workload = typeof WORKLOADS[number]

export interface WorkloadCounters {
  /** Payload bytes the app received and sent. */
  received: number
  sent: number
  requests: number
  failures: number
}

export interface WorkloadRun {
  readonly kind: Workload
  readonly counters: WorkloadCounters
  /** Stop: aborts what is in flight and resolves once the user has stopped. */
  stop (): Promise<void>
}

export interface WorkloadOptions {
  readonly socksPort: number
  readonly originPort: number
  readonly random: () => number
  /** Scale of bulk downloads (default 1: 128 KiB to 768 KiB). */
  readonly bulkScale?: number
  /** Delay before the first action (ms). */
  readonly startDelayMs?: number
}

function socksAgent (port: number): Dispatcher {
  // undici 7 warns once per process that SOCKS5 is experimental: not news for a measurement.
  const emitWarning = process.emitWarning
  process.emitWarning = (() => {}) as typeof process.emitWarning
  try {
    return new Socks5ProxyAgent(`socks5://127.0.0.1:${port}`, { headersTimeout: 30_000, bodyTimeout: 30_000 })
  } finally {
    process.emitWarning = emitWarning
  }
}

const between = (random: () => number, lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1))

/** Resolves after `ms`, or early when `signal` aborts. */
async function pause (ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms)
    function done (): void { clearTimeout(timer); signal.removeEventListener('abort', done); resolve() }
    signal.addEventListener('abort', done)
  })
}

export function startWorkload (kind: Workload, options: WorkloadOptions): WorkloadRun {
  const counters: WorkloadCounters = { received: 0, sent: 0, requests: 0, failures: 0 }
  const controller = new AbortController()
  const signal = controller.signal
  const { random } = options
  const base = `http://127.0.0.1:${options.originPort}`
  let dispatcher: Dispatcher | undefined
  let chat: Socket | undefined

  const get = async (bytes: number): Promise<void> => {
    counters.requests++
    try {
      const { statusCode, body } = await request(`${base}/bytes/${bytes}`, { dispatcher: dispatcher!, reset: true, signal })
      for await (const chunk of body as AsyncIterable<Buffer>) counters.received += chunk.length
      if (statusCode !== 200) counters.failures++
    } catch {
      if (!signal.aborted) counters.failures++
    }
  }

  const loops: Record<Workload, () => Promise<void>> = {
    bulk: async () => {
      const scale = options.bulkScale ?? 1
      while (!signal.aborted) {
        await get(Math.round(between(random, 128, 768) * 1024 * scale))
        await pause(between(random, 300, 2000), signal)
      }
    },
    page: async () => {
      while (!signal.aborted) {
        await get(between(random, 8, 48) * 1024)
        if (signal.aborted) break
        const resources = Array.from({ length: between(random, 2, 4) }, () => between(random, 2, 24) * 1024)
        await Promise.all(resources.map((bytes) => get(bytes)))
        await pause(between(random, 500, 3000), signal)
      }
    },
    chat: async () => {
      while (!signal.aborted) {
        try {
          counters.requests++
          chat = await socksConnect(options.socksPort, options.originPort)
          chat.on('data', (chunk: Buffer) => { counters.received += chunk.length })
          const closed = new Promise<void>((resolve) => chat!.once('close', () => resolve()))
          chat.on('error', () => {})
          while (!signal.aborted && !chat.destroyed) {
            await pause(between(random, 200, 1500), signal)
            if (signal.aborted || chat.destroyed) break
            const message = Buffer.alloc(between(random, 20, 300), 0x61)
            chat.write(message)
            counters.sent += message.length
          }
          chat.destroy()
          await closed
        } catch {
          if (!signal.aborted) counters.failures++
          await pause(1000, signal)
        }
      }
    },
    idle: async () => { await pause(2 ** 31 - 1, signal) },
  }

  if (kind === 'bulk' || kind === 'page') dispatcher = socksAgent(options.socksPort)
  const done = (async () => {
    await pause(options.startDelayMs ?? 0, signal)
    await loops[kind]()
  })()
  return {
    kind,
    counters,
    async stop () {
      controller.abort()
      chat?.destroy()
      await done.catch(() => {})
      await dispatcher?.destroy().catch(() => {})
    },
  }
}
