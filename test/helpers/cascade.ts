/**
 * Test helper: a real cascade on loopback — N mixes, an exit and a client, each with fresh
 * keys and its own listening port, wired with real Noise links. Every node is stopped by
 * `stop()` (register it with t.teardown). A test may stop one mix and start it again (same
 * link key, same port), or build a mix with a test-only faulty subclass (`mixFactory`).
 *
 * Onion keys rotate per epoch. By default every hop has ephemeral keys (a random in-memory
 * seed) under a one-hour epoch; `epochS`/`graceS` make epochs short, and `keyDir` gives each
 * hop durable keys in `<keyDir>/hop<position>` (seed file and tag logs). The client's cascade
 * is a `CascadeSource` that reads every hop's current public keys, like a fresh descriptor
 * would; a restarted mix with ephemeral keys has new ones, which new circuits pick up.
 */
import type { ShapingParams } from '../../src/protocol/shaping.js'
import { join } from 'node:path'
import { x25519KeyPair, type KeyPair } from '../../src/crypto/index.js'
import { makeCascade, withOnionKeys, type Cascade, type CascadeSource } from '../../src/directory/cascade.js'
import { epochSchedule, type Clock } from '../../src/protocol/epoch.js'
import { ephemeralOnionKeys, openDurableOnionKeys, type OnionKeySource } from '../../src/node/keys/onion-key-source.js'
import { runClient, type RunningClient, type RunClientOptions } from '../../src/client/run-client.js'
import { runExit, type RunningExit } from '../../src/exit/run-exit.js'
import { type RunningMix } from '../../src/mix/run-mix.js'
import { createLogger, type Logger, type LogLevel } from '../../src/base/logger.js'
import { Writable } from 'node:stream'
import { runMixWith, type MixFactory } from './run-mix-with.js'
import { freePorts } from '../../src/cli/free-ports.js'

export interface TestCascade {
  /** The cascade with every hop's current public onion keys (read anew on each access). */
  readonly cascade: Cascade
  /** What the client builds circuits from: `current()` is `cascade`. */
  readonly source: CascadeSource
  readonly mixes: RunningMix[]
  readonly exit: RunningExit
  readonly client: RunningClient
  readonly socksPort: number
  /** Per hop (the exit last): the link key pair and the onion keys it runs with now. */
  readonly keys: { link: KeyPair, onion: OnionKeySource }[]
  /** Stop the mix at `position` (1-based): its links close, its onion keys are closed cleanly. */
  stopMix (position: number): Promise<void>
  /**
   * Start the mix at `position` again with the same link key and port (after stopMix):
   * durable keys are reopened from its directory, ephemeral ones are new.
   */
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
  /** Epoch length in seconds (default 3600) and genesis (default 0). */
  readonly epochS?: number
  readonly genesis?: number
  /** Grace window in seconds (default: the keys library's, a quarter epoch for short ones). */
  readonly graceS?: number
  /** Durable onion keys in `<keyDir>/hop<position>`; default ephemeral keys. */
  readonly keyDir?: string
  /** Replay table (and tag log) capacity per key (default 4096 with keyDir, else the hop's default). */
  readonly replayCapacity?: number
  /** The keys' clock (default the system clock). */
  readonly clock?: Clock
  /** The cascade's traffic shaping (default `off`: today's behaviour). */
  readonly shaping?: ShapingParams
}

/** A port that was free a moment ago (loopback). */
export async function freePort (): Promise<number> {
  return (await freePorts('127.0.0.1', 1))[0]!
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
  const schedule = epochSchedule({ epochS: options.epochS ?? 3600, genesisS: options.genesis ?? 0 })
  const replayCapacity = options.replayCapacity ?? (options.keyDir === undefined ? undefined : 4096)
  const openKeys = async (position: number): Promise<OnionKeySource> => {
    const common = {
      schedule,
      logger: logger.child(`keys${position}`),
      ...(options.graceS === undefined ? {} : { graceS: options.graceS }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    }
    if (options.keyDir === undefined) return ephemeralOnionKeys(common)
    return await openDurableOnionKeys({ ...common, dir: join(options.keyDir, `hop${position}`), capacity: replayCapacity! })
  }
  const links = Array.from({ length: mixCount + 1 }, () => x25519KeyPair())
  const keys: { link: KeyPair, onion: OnionKeySource }[] = []
  for (let i = 0; i <= mixCount; i++) keys.push({ link: links[i]!, onion: await openKeys(i + 1) })
  const ports = await Promise.all(links.map(() => freePort()))
  const base = makeCascade({
    cellSize: options.cellSize ?? 2048,
    roundMs: options.roundMs ?? 10,
    epochS: schedule.epochS,
    genesis: schedule.genesisS,
    ...(options.shaping === undefined ? {} : { shaping: options.shaping }),
    hops: links.map((link, i) => ({
      role: i === mixCount ? 'exit' as const : 'mix' as const,
      address: { host: '127.0.0.1', port: ports[i]! },
      linkKey: link.publicKey,
      onionKeys: keys[i]!.onion.publicKeys(),
    })),
  })
  const source: CascadeSource = {
    current: () => withOnionKeys(base, (position) => new Map(keys[position - 1]!.onion.publicKeys().map((k) => [k.epoch, k.onionKey]))),
  }
  const capacity = replayCapacity === undefined ? {} : { replayCapacity }
  const exit = await runExit({
    cascade: base,
    linkKey: links[mixCount]!,
    onionKeys: keys[mixCount]!.onion,
    logger: logger.child('exit'),
    exitPolicy: options.exitPolicy ?? ['accept 127.0.0.1:*'],
    dnsServers: options.dnsServers ?? ['127.0.0.1:9'],
    ...capacity,
    ...(options.exitConnectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.exitConnectTimeoutMs }),
  })
  // Start from the exit backwards, each mix once its successor link is up, so that no mix
  // refuses its predecessor for want of a successor (they would redial, but tests want calm).
  const mixes: RunningMix[] = []
  const stopped = new Set<number>()
  const keysClosed = new Set<number>()
  const startMix = async (position: number): Promise<RunningMix> => {
    const i = position - 1
    if (keysClosed.has(position)) {
      keys[i]!.onion = await openKeys(position)
      keysClosed.delete(position)
    }
    const mix = await runMixWith({ cascade: base, position, linkKey: links[i]!, onionKeys: keys[i]!.onion, logger: logger.child(`mix${position}`), ...capacity },
      options.mixFactory?.(position))
    mixes[i] = mix
    stopped.delete(position)
    await waitFor(() => mix.node.successorUp, 'mix to reach its successor')
    return mix
  }
  for (let i = mixCount - 1; i >= 0; i--) await startMix(i + 1)
  // Test machines are shared and busy: a wide loop margin keeps stalls from failing the
  // client closed; tests about loop alarms set their own.
  const client = await runClient({ cascade: source, logger: logger.child('client'), socks: { host: '127.0.0.1', port: 0 }, loopMarginMs: 5000, ...options.client })
  await client.node.waitForEntry()
  return {
    get cascade () { return source.current() },
    source,
    mixes,
    exit,
    client,
    socksPort: client.socks.port,
    keys,
    async stopMix (position) {
      if (stopped.has(position)) return
      stopped.add(position)
      await mixes[position - 1]!.stop()
      await keys[position - 1]!.onion.close()
      keysClosed.add(position)
    },
    startMix,
    async stop () {
      await client.stop()
      for (let i = 0; i < mixes.length; i++) {
        if (!stopped.has(i + 1)) await mixes[i]!.stop()
        stopped.add(i + 1)
      }
      await exit.stop()
      for (const { onion } of keys) await onion.close()
    },
  }
}
