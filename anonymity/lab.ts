/**
 * The lab: one loopback cascade (three mixes and an exit, in this process, ephemeral keys)
 * with a shaping profile, and k client nodes, each with its own SOCKS port, its own observed
 * link and its own origin.
 *
 *   app ──SOCKS──▶ client i ──▶ recording relay i ──▶ mix 1 ──▶ mix 2 ──▶ mix 3 ──▶ exit ──▶ origin i
 *                              (observer: frames)                              (observer: flows)
 *
 * Client i's cascade is the real one except that hop 1's address is its relay. The cascade ID
 * would change with the address (cascade.ts hashes it in), and the link prologue binds the ID,
 * so the client's cascade is given the real cascade's ID: the handshake then runs end to end
 * through the relay, which the entry cannot tell from a direct connection.
 */
import { x25519KeyPair, type KeyPair } from '../src/crypto/index.js'
import { makeCascade, withOnionKeys, type Cascade, type CascadeSource } from '../src/directory/cascade.js'
import { runClient, type RunningClient } from '../src/client/run-client.js'
import { runExit, type RunningExit } from '../src/exit/run-exit.js'
import { runMix, type RunningMix } from '../src/mix/run-mix.js'
import { epochSchedule } from '../src/node/keys/epoch.js'
import { ephemeralOnionKeys, type OnionKeySource } from '../src/node/keys/onion-key-source.js'
import { createLogger, type Logger } from '../src/node/logger.js'
import type { ShapingParams } from '../src/protocol/shaping.js'
import { Writable } from 'node:stream'
import { createServer } from 'node:net'
import { randomBytes } from 'node:crypto'
import { startFlowOrigin, type FlowOrigin } from './flow-origin.js'
import { startRecordingRelay, type RecordingRelay } from './recording-relay.js'

export interface LabOptions {
  readonly clients: number
  readonly shaping: ShapingParams
  readonly roundMs: number
  readonly cellSize?: number
  readonly mixes?: number
  /** The observer's clock (Unix ms with sub-ms resolution). */
  readonly now: () => number
  /** Log level of the nodes (default 'error': a lab run is not a log). */
  readonly logLevel?: 'error' | 'warn' | 'info' | 'debug'
}

export interface LabClient {
  readonly index: number
  readonly client: RunningClient
  readonly relay: RecordingRelay
  readonly origin: FlowOrigin
  readonly socksPort: number
}

export interface Lab {
  readonly cascade: Cascade
  readonly mixes: RunningMix[]
  readonly exit: RunningExit
  readonly clients: LabClient[]
  stopRecording (): void
  stop (): Promise<void>
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

function quietLogger (level: 'error' | 'warn' | 'info' | 'debug'): Logger {
  const stream = new Writable({ write (chunk, _enc, done) { if (level !== 'error') process.stderr.write(chunk); done() } })
  return createLogger({ role: 'lab', level, stream })
}

async function waitUntil (condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`lab: timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** Start the cascade, then the k clients (each once its link is up); `stop()` undoes all, also after a failure midway. */
export async function startLab (options: LabOptions): Promise<Lab> {
  const mixCount = options.mixes ?? 3
  const logger = quietLogger(options.logLevel ?? 'error')
  const schedule = epochSchedule({ epochS: 3600, genesisS: 0 })
  const stops: Array<() => Promise<void>> = []
  const stop = async (): Promise<void> => {
    for (const fn of stops.splice(0).reverse()) await fn().catch(() => {})
  }
  try {
    const links: KeyPair[] = Array.from({ length: mixCount + 1 }, () => x25519KeyPair())
    const onion: OnionKeySource[] = []
    for (let i = 0; i <= mixCount; i++) {
      const keys = ephemeralOnionKeys({ schedule, logger: logger.child(`keys${i + 1}`) })
      onion.push(keys)
      stops.push(() => keys.close())
    }
    const ports = await Promise.all(links.map(() => freePort()))
    const hopsAt = (entryPort: number): Parameters<typeof makeCascade>[0]['hops'] => links.map((link, i) => ({
      role: i === mixCount ? 'exit' as const : 'mix' as const,
      address: { host: '127.0.0.1', port: i === 0 ? entryPort : ports[i]! },
      linkKey: link.publicKey,
      onionKeys: onion[i]!.publicKeys(),
    }))
    const common = { cellSize: options.cellSize ?? 2048, roundMs: options.roundMs, epochS: schedule.epochS, genesis: schedule.genesisS, shaping: options.shaping }
    const cascade = makeCascade({ ...common, hops: hopsAt(ports[0]!) })
    const currentKeys = (position: number): Map<number, Uint8Array> => new Map(onion[position - 1]!.publicKeys().map((k) => [k.epoch, k.onionKey]))

    const exit = await runExit({
      cascade,
      linkKey: links[mixCount]!,
      onionKeys: onion[mixCount]!,
      logger: logger.child('exit'),
      exitPolicy: ['accept 127.0.0.1:*'],
      dnsServers: ['127.0.0.1:9'],
    })
    stops.push(() => exit.stop())
    const mixes: RunningMix[] = []
    for (let position = mixCount; position >= 1; position--) {
      const mix = await runMix({ cascade, position, linkKey: links[position - 1]!, onionKeys: onion[position - 1]!, logger: logger.child(`mix${position}`) })
      stops.push(() => mix.stop())
      mixes.unshift(mix)
      await waitUntil(() => mix.node.successorUp, `mix ${position} to reach its successor`)
    }

    const body = randomBytes(256 * 1024)
    const clients: LabClient[] = []
    for (let index = 0; index < options.clients; index++) {
      const origin = await startFlowOrigin(index, body, options.now)
      stops.push(() => origin.close())
      const relay = await startRecordingRelay({ entryPort: ports[0]!, cellSize: common.cellSize, now: options.now })
      stops.push(() => relay.close())
      const seen = makeCascade({ ...common, id: cascade.id, hops: hopsAt(relay.port) })
      const source: CascadeSource = { current: () => withOnionKeys(seen, currentKeys) }
      const client = await runClient({ cascade: source, logger: logger.child(`client${index}`), socks: { host: '127.0.0.1', port: 0 } })
      stops.push(() => client.stop())
      await client.node.waitForEntry()
      clients.push({ index, client, relay, origin, socksPort: client.socks.port })
    }
    return {
      cascade,
      mixes,
      exit,
      clients,
      stopRecording () {
        for (const c of clients) { c.relay.stopRecording(); c.origin.stopRecording() }
      },
      stop,
    }
  } catch (err) {
    await stop()
    throw err
  }
}
