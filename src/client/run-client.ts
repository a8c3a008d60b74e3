/**
 * Start the client from the cascade: a SOCKS port for apps (and an HTTP CONNECT port if
 * asked for), an NK link to the entry.
 *
 * With `entryMetrics` (reads the entry mix's admin /metrics; the runtime gives it for the
 * origin of `cascadeUrl`), the client asks the entry's /metrics once a minute for the anonymity set (CREATEs per creation slot,
 * clients connected) and shows it in its own status; without it, or while the entry's admin
 * port cannot be reached, the anonymity set is "unknown".
 */
import { linkPrologue, type CascadeSource } from '../directory/cascade.js'
import { dialNext } from '../link/predecessor.js'
import type { HostPort } from '../base/address.js'
import type { Logger } from '../base/logger.js'
import type { ParsedMetrics } from '../base/metrics-text.js'
import { ClientNode, type ClientOptions } from './client-node.js'
import { pollEntryReport } from './entry-report.js'

export interface RunClientOptions {
  /** The cascade: each new circuit takes the onion keys of the epoch current when it is built. */
  readonly cascade: CascadeSource
  readonly logger: Logger
  readonly socks: HostPort
  /** The HTTP CONNECT door (Tor's HTTPTunnelPort); none if undefined. */
  readonly http?: HostPort
  readonly auth?: { readonly none: boolean, readonly userPass: boolean }
  readonly safeSocks?: boolean
  /** App connections open at once, both doors together (default: what the open-file limit leaves room for; door-cap.ts). */
  readonly maxConnections?: number
  readonly streamTimeoutMs?: number
  readonly streamAttachTimeoutMs?: number
  readonly failTimeoutMs?: number
  readonly circuitDirtinessMs?: number
  readonly maxCircuits?: number
  /** Shaped profiles: loop incidents within the window before the client fails closed (default 3). */
  readonly alarmLimit?: number
  /** Shaped profiles: the rest of the fail-closed rule (fail-closed-gate.ts). */
  readonly failClosed?: ClientOptions['failClosed']
  /** Shaped profiles: slack on loop deadlines (ms), and the round clock's timers (tests). */
  readonly loopMarginMs?: number
  readonly shapingTimers?: ClientOptions['shapingTimers']
  /** How often repeated events (alarms, refused requests) are logged as counts (default 60 s). */
  readonly logIntervalMs?: number
  /** Test only: sees every write to the entry link. */
  readonly observeWrites?: ClientOptions['observeWrites']
  /** Reads the entry mix's admin /metrics, for the anonymity set in status. */
  readonly entryMetrics?: () => Promise<ParsedMetrics>
}

export interface RunningClient {
  readonly node: ClientNode
  readonly socks: { host: string, port: number }
  /** The HTTP CONNECT door's address, with the real port; undefined without one. */
  readonly http: { host: string, port: number } | undefined
  stop (): Promise<void>
}

export async function runClient (options: RunClientOptions): Promise<RunningClient> {
  const source = options.cascade
  const extra: Partial<ClientOptions> = {}
  if (options.streamTimeoutMs !== undefined) Object.assign(extra, { streamTimeoutMs: options.streamTimeoutMs })
  if (options.streamAttachTimeoutMs !== undefined) Object.assign(extra, { streamAttachTimeoutMs: options.streamAttachTimeoutMs })
  if (options.failTimeoutMs !== undefined) Object.assign(extra, { failTimeoutMs: options.failTimeoutMs })
  if (options.circuitDirtinessMs !== undefined) Object.assign(extra, { circuitDirtinessMs: options.circuitDirtinessMs })
  if (options.maxCircuits !== undefined) Object.assign(extra, { maxCircuits: options.maxCircuits })
  if (options.alarmLimit !== undefined) Object.assign(extra, { alarmLimit: options.alarmLimit })
  if (options.failClosed !== undefined) Object.assign(extra, { failClosed: options.failClosed })
  if (options.loopMarginMs !== undefined) Object.assign(extra, { loopMarginMs: options.loopMarginMs })
  if (options.shapingTimers !== undefined) Object.assign(extra, { shapingTimers: options.shapingTimers })
  if (options.logIntervalMs !== undefined) Object.assign(extra, { logIntervalMs: options.logIntervalMs })
  if (options.observeWrites !== undefined) Object.assign(extra, { observeWrites: options.observeWrites })
  const node = new ClientNode({
    ...extra,
    cascade: source,
    connectEntry: (handlers) => {
      // Each (re)dial reads the cascade afresh (the entry's address and link key come from it).
      const cascade = source.current()
      const entry = cascade.hops[0]!
      return dialNext({
        address: entry.address,
        cellSize: cascade.geometry.cellSize,
        localStatic: undefined,
        remoteStatic: entry.linkKey,
        prologue: linkPrologue(cascade, 1),
        rekeyMs: cascade.params.epochS * 1000,
      }, handlers)
    },
    socks: { host: options.socks.host, port: options.socks.port, auth: options.auth ?? { none: true, userPass: true }, safeSocks: options.safeSocks ?? false, maxConnections: options.maxConnections },
    ...(options.http === undefined ? {} : { http: options.http }),
    logger: options.logger,
  })
  const { socks, http } = await node.start()
  const poll = options.entryMetrics === undefined ? undefined : pollEntryReport(options.entryMetrics, (report) => node.setEntryReport(report))
  return {
    node,
    socks,
    http,
    stop: async () => {
      poll?.stop()
      await node.stop()
    },
  }
}
