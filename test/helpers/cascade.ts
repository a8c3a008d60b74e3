/**
 * Test helper: a real cascade on loopback — N mixes, an exit and a client, each with fresh
 * keys and its own listening port, wired with real Noise links. Every node is stopped by
 * `stop()` (register it with t.teardown). A test may stop one mix and start it again (same
 * keys, same port), or build a mix with a test-only faulty subclass (`mixFactory`).
 */
import { createServer } from 'node:net'
import { x25519KeyPair, type KeyPair } from '../../src/crypto/index.js'
import { makeCascade, type Cascade } from '../../src/directory/cascade.js'
import { runClient, type RunningClient, type RunClientOptions } from '../../src/client/run-client.js'
import { runExit, type RunningExit } from '../../src/exit/run-exit.js'
import { type RunningMix } from '../../src/mix/run-mix.js'
import { createLogger, type Logger, type LogLevel } from '../../src/node/logger.js'
import { Writable } from 'node:stream'
import { runMixWith, type MixFactory } from './run-mix-with.js'

export interface TestCascade {
  readonly cascade: Cascade
  readonly mixes: RunningMix[]
  readonly exit: RunningExit
  readonly client: RunningClient
  readonly socksPort: number
  readonly keys: { link: KeyPair, onion: KeyPair }[]
  /** Stop the mix at `position` (1-based), as a crash would: its links close. */
  stopMix (position: number): Promise<void>
  /** Start the mix at `position` again with the same keys and port (after stopMix). */
  startMix (position: number): Promise<RunningMix>
  stop (): Promise<void>
}

export interface TestCascadeOptions {
  readonly mixes?: number
  readonly cellSize?: number
  readonly roundMs?: number
  readonly exitPolicy?: readonly string[]
  readonly client?: Partial<RunClientOptions>
  readonly logger?: Logger
  /** The exit's DNS servers (default 127.0.0.1:9: nothing answers, every name fails). */
  readonly dnsServers?: readonly string[]
  readonly exitConnectTimeoutMs?: number
  /** A test-only node for the mix at a position (a fault); undefined: the real MixNode. */
  readonly mixFactory?: (position: number) => MixFactory | undefined
}

/** A port that was free a moment ago (loopback). */
export async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** A logger that keeps its lines in memory (tests read them; nothing reaches the console). */
export function memoryLogger (role = 'test', level: LogLevel = 'debug'): { logger: Logger, lines: string[] } {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(String(chunk)); done() } })
  return { logger: createLogger({ role, level, stream }), lines }
}

/** Poll until `condition` holds (every 5 ms), or throw after `timeoutMs`. */
export async function waitFor (condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

export async function startCascade (options: TestCascadeOptions = {}): Promise<TestCascade> {
  const mixCount = options.mixes ?? 3
  const logger = options.logger ?? memoryLogger().logger
  const keys = Array.from({ length: mixCount + 1 }, () => ({ link: x25519KeyPair(), onion: x25519KeyPair() }))
  const ports = await Promise.all(keys.map(() => freePort()))
  const cascade = makeCascade({
    cellSize: options.cellSize ?? 2048,
    roundMs: options.roundMs ?? 10,
    epoch: 1,
    hops: keys.map((k, i) => ({
      role: i === mixCount ? 'exit' as const : 'mix' as const,
      address: { host: '127.0.0.1', port: ports[i]! },
      linkKey: k.link.publicKey,
      onionKey: k.onion.publicKey,
    })),
  })
  const exit = await runExit({
    cascade,
    linkKey: keys[mixCount]!.link,
    onionKey: keys[mixCount]!.onion,
    logger: logger.child('exit'),
    exitPolicy: options.exitPolicy ?? ['accept 127.0.0.1:*'],
    dnsServers: options.dnsServers ?? ['127.0.0.1:9'],
    ...(options.exitConnectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.exitConnectTimeoutMs }),
  })
  // Start from the exit backwards, each mix once its successor link is up, so that no mix
  // refuses its predecessor for want of a successor (they would redial, but tests want calm).
  const mixes: RunningMix[] = []
  const stopped = new Set<number>()
  const startMix = async (position: number): Promise<RunningMix> => {
    const i = position - 1
    const mix = await runMixWith({ cascade, position, linkKey: keys[i]!.link, onionKey: keys[i]!.onion, logger: logger.child(`mix${position}`) },
      options.mixFactory?.(position))
    mixes[i] = mix
    stopped.delete(position)
    await waitFor(() => mix.node.successorUp, 'mix to reach its successor')
    return mix
  }
  for (let i = mixCount - 1; i >= 0; i--) await startMix(i + 1)
  const client = await runClient({ cascade, logger: logger.child('client'), socks: { host: '127.0.0.1', port: 0 }, ...options.client })
  await client.node.waitForEntry()
  return {
    cascade,
    mixes,
    exit,
    client,
    socksPort: client.socks.port,
    keys,
    async stopMix (position) {
      if (stopped.has(position)) return
      stopped.add(position)
      await mixes[position - 1]!.stop()
    },
    startMix,
    async stop () {
      await client.stop()
      for (let i = 0; i < mixes.length; i++) {
        if (!stopped.has(i + 1)) await mixes[i]!.stop()
        stopped.add(i + 1)
      }
      await exit.stop()
    },
  }
}
