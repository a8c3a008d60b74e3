/**
 * The lab: one loopback cascade (three mixes and an exit, ephemeral keys) with a shaping
 * profile, and k client nodes, each with its own SOCKS port, its own observed link and its
 * own origin.
 *
 *   app ──SOCKS──▶ client i ──▶ recording relay i ──▶ mix 1 ──▶ mix 2 ──▶ mix 3 ──▶ exit ──▶ origin i
 *                              (observer: frames)                              (observer: flows)
 *
 * Processes: by default each hop runs in a child process of its own (hop-host.ts has the
 * other layouts), started from the same compiled code and told the cascade as JSON; the
 * clients, the relays and origins (the observer) and the apps stay in this process. Each hop
 * draws its own keys and reports the public halves; the cascade is built from them here and
 * handed back to every hop. Only this process takes the observer's timestamps.
 *
 * Client i's cascade is the real one except that hop 1's address is its relay. The cascade ID
 * would change with the address (cascade.ts hashes it in), and the link prologue binds the ID,
 * so the client's cascade is given the real cascade's ID: the handshake then runs end to end
 * through the relay, which the entry cannot tell from a direct connection.
 */
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import { runClient, type RunningClient } from '../src/client/run-client.js'
import { makeCascade, withOnionKeys, type Cascade, type CascadeSource } from '../src/directory/cascade.js'
import { cascadeToJson } from '../src/directory/cascade-json.js'
import type { LogLevel } from '../src/base/logger.js'
import type { ShapingParams } from '../src/protocol/shaping.js'
import { startFlowOrigin, type FlowOrigin } from './flow-origin.js'
import { startHopHosts, type HopLayout } from './hop-host.js'
import { LAB_EPOCH_S, LAB_GENESIS_S, quietLogger, type HopPublicKeys, type HopStats } from './lab-hop.js'
import { startRecordingRelay, type RecordingRelay } from './recording-relay.js'

export interface LabOptions {
  readonly clients: number
  readonly shaping: ShapingParams
  readonly roundMs: number
  readonly cellSize?: number
  readonly mixes?: number
  /** Where the hops run (default `process`: a child process each; hop-host.ts). */
  readonly hops?: HopLayout
  /** The observer's clock (Unix ms with sub-ms resolution). */
  readonly now: () => number
  /** Log level of the nodes (default 'error': a lab run is not a log). */
  readonly logLevel?: LogLevel
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
  readonly clients: LabClient[]
  /** Every hop's round counters, entry first; `reset` restarts their event-loop histograms. */
  hopStats (reset: boolean): Promise<HopStats[]>
  /** Rounds each client's shaping clock skipped (cumulative; 0 under `off`, which has none). */
  clientMissedRounds (): number[]
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

const fromHex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'hex'))

/** Start the cascade, then the k clients (each once its link is up); `stop()` undoes all, also after a failure midway. */
export async function startLab (options: LabOptions): Promise<Lab> {
  const mixCount = options.mixes ?? 3
  const logLevel = options.logLevel ?? 'error'
  const logger = quietLogger('lab', logLevel)
  const stops: Array<() => Promise<void>> = []
  const stop = async (): Promise<void> => {
    for (const fn of stops.splice(0).reverse()) await fn().catch(() => {})
  }
  try {
    const cascadeHosts = startHopHosts(options.hops ?? 'process', mixCount + 1)
    stops.push(() => cascadeHosts.close())
    const hosts = cascadeHosts.hops
    const keys = await Promise.all(hosts.map(async (host) => await host.call({ op: 'keys' }) as HopPublicKeys))
    const ports = await Promise.all(hosts.map(() => freePort()))
    const onionKeys = keys.map((k) => new Map(k.onionKeys.map(({ epoch, onionKey }) => [epoch, fromHex(onionKey)])))
    const hopsAt = (entryPort: number): Parameters<typeof makeCascade>[0]['hops'] => keys.map((k, i) => ({
      role: i === mixCount ? 'exit' as const : 'mix' as const,
      address: { host: '127.0.0.1', port: i === 0 ? entryPort : ports[i]! },
      linkKey: fromHex(k.linkKey),
      onionKeys: onionKeys[i]!,
    }))
    const common = { cellSize: options.cellSize ?? 2048, roundMs: options.roundMs, epochS: LAB_EPOCH_S, genesis: LAB_GENESIS_S, shaping: options.shaping }
    const cascade = makeCascade({ ...common, hops: hopsAt(ports[0]!) })
    const description = { cascade: cascadeToJson(cascade), cascadeId: Buffer.from(cascade.id).toString('hex'), shaping: options.shaping }
    // Exit first, then each mix once its successor listens (it dials it at start).
    for (let position = mixCount + 1; position >= 1; position--) {
      await hosts[position - 1]!.call({ op: 'start', start: { ...description, position } })
    }

    const body = randomBytes(256 * 1024)
    const clients: LabClient[] = []
    for (let index = 0; index < options.clients; index++) {
      const origin = await startFlowOrigin(index, body, options.now)
      stops.push(() => origin.close())
      const relay = await startRecordingRelay({ entryPort: ports[0]!, now: options.now })
      stops.push(() => relay.close())
      const seen = makeCascade({ ...common, id: cascade.id, hops: hopsAt(relay.port) })
      const source: CascadeSource = { current: () => withOnionKeys(seen, (position) => onionKeys[position - 1]!) }
      const client = await runClient({ cascade: source, logger: logger.child(`client${index}`), socks: { host: '127.0.0.1', port: 0 } })
      stops.push(() => client.stop())
      await client.node.waitForEntry()
      clients.push({ index, client, relay, origin, socksPort: client.socks.port })
    }
    return {
      cascade,
      clients,
      hopStats: async (reset) => await Promise.all(hosts.map(async (host) => await host.call({ op: 'stats', reset }) as HopStats)),
      clientMissedRounds: () => clients.map((c) => c.client.node.shaperState?.missedRounds ?? 0),
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
