/**
 * Lab hops outside the lab's process: the entry point of a child process forked with an IPC
 * channel by hop-host.ts, from the same compiled code (dist/). One process may run several
 * hops (layout `cascade`: all four), each its own lab-hop.ts.
 *
 * Requests come as { id, hop, request }, answers go back as { id, value } or { id, error }.
 * The child stops its hops and exits as soon as its IPC channel closes — which is how the lab
 * ends it, and also what happens when the lab's process dies without a word — so no hop
 * outlives the lab.
 */
import { cryptoReady } from '../src/crypto/index.js'
import { serveHop, type HopRequest, type HopServer } from './lab-hop.js'
import { watchEventLoop } from './loop-delay.js'

export interface HopEnvelope {
  readonly id: number
  /** Which of this process's hops (any number: a hop is made on its first request). */
  readonly hop: number
  readonly request: HopRequest
}

export interface HopReply {
  readonly id: number
  readonly value?: unknown
  readonly error?: string
}

// Listeners are added before anything is awaited, so no early request is missed.
const ready = cryptoReady()
const hops = new Map<number, HopServer>()
const loop = watchEventLoop()
const hopOf = (n: number): HopServer => hops.get(n) ?? hops.set(n, serveHop({ loop })).get(n)!

async function answer (envelope: HopEnvelope): Promise<HopReply> {
  try {
    await ready
    return { id: envelope.id, value: await hopOf(envelope.hop)(envelope.request) }
  } catch (err) {
    return { id: envelope.id, error: (err as Error).stack ?? String(err) }
  }
}

if (process.send !== undefined) {
  process.on('message', (envelope: HopEnvelope) => {
    void answer(envelope).then((reply) => { if (process.connected) process.send!(reply) })
  })
  process.once('disconnect', () => {
    void Promise.allSettled([...hops.values()].map(async (serve) => await serve({ op: 'stop' }))).finally(() => process.exit(0))
  })
} else {
  process.stderr.write('hop-process: start me from the lab (anonymity/hop-host.ts), not by hand\n')
  process.exit(2)
}
