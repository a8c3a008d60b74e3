/**
 * Start the client from the cascade: a SOCKS5 port for apps, an NK link to the entry.
 */
import { linkPrologue, type CascadeSource } from '../directory/cascade.js'
import { dialNext } from '../link/predecessor.js'
import type { HostPort } from '../node/address.js'
import type { Logger } from '../node/logger.js'
import { ClientNode, type ClientOptions } from './client-node.js'

export interface RunClientOptions {
  /** The cascade: each new circuit takes the onion keys of the epoch current when it is built. */
  readonly cascade: CascadeSource
  readonly logger: Logger
  readonly socks: HostPort
  readonly auth?: { readonly none: boolean, readonly userPass: boolean }
  readonly safeSocks?: boolean
  readonly streamTimeoutMs?: number
  readonly failTimeoutMs?: number
  readonly circuitDirtinessMs?: number
  readonly maxCircuits?: number
}

export interface RunningClient {
  readonly node: ClientNode
  readonly socks: { host: string, port: number }
  stop (): Promise<void>
}

export async function runClient (options: RunClientOptions): Promise<RunningClient> {
  const source = options.cascade
  const extra: Partial<ClientOptions> = {}
  if (options.streamTimeoutMs !== undefined) Object.assign(extra, { streamTimeoutMs: options.streamTimeoutMs })
  if (options.failTimeoutMs !== undefined) Object.assign(extra, { failTimeoutMs: options.failTimeoutMs })
  if (options.circuitDirtinessMs !== undefined) Object.assign(extra, { circuitDirtinessMs: options.circuitDirtinessMs })
  if (options.maxCircuits !== undefined) Object.assign(extra, { maxCircuits: options.maxCircuits })
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
      }, handlers)
    },
    socks: { host: options.socks.host, port: options.socks.port, auth: options.auth ?? { none: true, userPass: true }, safeSocks: options.safeSocks ?? false },
    logger: options.logger,
  })
  const socks = await node.start()
  return { node, socks, stop: () => node.stop() }
}
