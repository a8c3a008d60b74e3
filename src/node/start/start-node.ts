/**
 * Start one prepared node and say where it listens, with listen failures (a port in use)
 * turned into messages an operator can act on.
 *
 * A hop opens its onion keys first (durable ones from its key dir: the keyring logs the
 * epochs it discarded after an unclean stop), warns if the cascade lists other onion keys
 * for it than it has (clients with that file would fail: they need a fresh one) or has
 * expired, starts, and then its admin server if it has one: `/descriptor` serves its fresh
 * signed node descriptor, and at the entry with `peers`, `/cascade` a fresh cascade
 * descriptor. Stopping reverses this and wipes the keys.
 */
import { cryptoBackend, equal } from '../../crypto/index.js'
import { iso } from '../../directory/unix-time.js'
import { MixgateError } from '../../errors.js'
import { formatHostPort, type HostPort } from '../../base/address.js'
import type { NodeAdmin, NodeAdminOptions } from '../admin/node-admin.js'
import { wipeIdentity } from '../keys/node-identity.js'
import type { OnionKeySource } from '../keys/onion-key-source.js'
import type { Logger } from '../../base/logger.js'
import type { HopSetup, NodeSetup } from './node-setup.js'
import { startPublishServer, type PublishServer } from '../../directory/publish-server.js'
import { watchBursts, type BurstCollector } from '../burst-collector.js'

export interface StartedNode {
  readonly role: NodeSetup['role']
  /** Where the node accepts connections (links, or SOCKS for the client), as HOST:PORT. */
  readonly listening: string
  /** The admin server's `http://HOST:PORT`, if it runs one. */
  readonly adminUrl?: string
  /** For a mix: whether its link to the next hop is up. */
  readonly successorUp?: () => boolean
  /** For a client: resolves once the entry mix accepted its link. */
  readonly waitForEntry?: (timeoutMs: number) => Promise<void>
  /** For an exit: replace the operator's policy rules (new streams only). */
  readonly setExitPolicy?: (rules: readonly string[]) => void
  /** For a client: fetch the cascade again now. */
  readonly refreshCascade?: () => Promise<void>
  /** For a client: app connections open now (what `up`'s burst watch samples). */
  readonly appConnections?: () => number
  stop (): Promise<void>
}

export class StartError extends MixgateError {}

export interface StartOptions {
  /**
   * Collect after each burst of closed streams, as a node on its own does (default true; the
   * exit always, the client unshaped only: burst-collector.ts). `up` passes false for every
   * node and watches the whole cascade itself (embedded-cascade.ts).
   */
  readonly collectAfterBursts?: boolean
}

/** Start the node `setup` describes; logs `node.started` with the role, listen address and crypto backend. */
export async function startNode (setup: NodeSetup, logger: Logger, start: StartOptions = {}): Promise<StartedNode> {
  const collects = start.collectAfterBursts ?? true
  switch (setup.role) {
    case 'mix': {
      const { hop, options } = setup
      const where = options.listen ?? options.cascade.hops[options.position - 1]!.address
      // Each role's code loaded only for that role: a mix's thread under `mixgate up` need not hold the exit's.
      const { runMix } = await import('../../mix/run-mix.js')
      return withOnionKeys(hop, options.position, logger, async (onionKeys) => {
        const mix = await listening(where, 'links', () => runMix({ ...options, onionKeys, logger }))
        const { admin, publish } = await startServers(hop, logger, (a) => startAdmin({ ...a, role: 'mix', node: mix.node, position: options.position, listener: mix.listener }), onionKeys, () => mix.stop())
        logger.info('node.started', { role: 'mix', position: options.position, hops: options.cascade.hops.length, listen: formatHostPort(where), ...adminField(admin), ...publishField(publish), crypto: cryptoBackend() })
        return {
          role: 'mix',
          listening: formatHostPort(where),
          ...(admin === undefined ? {} : { adminUrl: admin.url }),
          successorUp: () => mix.node.successorUp,
          stop: stopper(hop, onionKeys, [admin, publish], () => mix.stop()),
        }
      })
    }
    case 'exit': {
      const { hop, options } = setup
      const position = options.cascade.hops.length
      const where = options.listen ?? options.cascade.hops[position - 1]!.address
      const { runExit } = await import('../../exit/run-exit.js')
      return withOnionKeys(hop, position, logger, async (onionKeys) => {
        const exit = await listening(where, 'links', () => runExit({ ...options, onionKeys, logger }))
        const { admin, publish } = await startServers(hop, logger, (a) => startAdmin({ ...a, role: 'exit', node: exit.node, position, listener: exit.listener }), onionKeys, () => exit.stop())
        logger.info('node.started', { role: 'exit', hops: position, listen: formatHostPort(where), policyRules: options.exitPolicy.length, ...adminField(admin), ...publishField(publish), crypto: cryptoBackend() })
        // The exit holds a stream's outbound socket and buffers: its thread collects after a burst.
        const collector = collects ? watchBursts({ count: () => exit.node.exitStats.streamsActive, logger }) : undefined
        return {
          role: 'exit',
          listening: formatHostPort(where),
          ...(admin === undefined ? {} : { adminUrl: admin.url }),
          setExitPolicy: (rules) => exit.setExitPolicy(rules),
          stop: stopper(hop, onionKeys, [admin, publish], async () => { collector?.stop(); await exit.stop() }),
        }
      })
    }
    case 'client': {
      // Loaded here, not at the top: a hop's thread under `mixgate up` then loads neither the
      // client nor the HTTP client behind it (undici), which would cost each thread's start.
      const { runClient } = await import('../../client/run-client.js')
      const cascade = await setup.openCascade(logger)
      let client
      let admin: NodeAdmin | undefined
      try {
        client = await listening(setup.options.socks, 'SOCKS connections', () => runClient({ ...setup.options, cascade, logger }), setup.options.http)
        if (setup.admin !== undefined) {
          const node = client.node
          const doors = { socks: client.socks, ...(client.http === undefined ? {} : { http: client.http }) }
          admin = await startAdmin({ role: 'client', node, address: setup.admin, doors, logger }).catch(async (err: unknown) => {
            await node.stop().catch(() => {})
            throw err
          })
        }
      } catch (err) {
        cascade.close()
        throw err
      }
      const running = client
      const socks = formatHostPort(running.socks)
      const http = running.http === undefined ? {} : { http: formatHostPort(running.http) }
      logger.info('node.started', { role: 'client', hops: cascade.current().hops.length, socks, ...http, ...adminField(admin), crypto: cryptoBackend() })
      // Unshaped only: a shaped client's round clock would skip rounds in the pause (burst-collector.ts).
      // Both doors' app connections (a snapshot a second: counters() counts the handshakes).
      const appConnections = (): number => (running.node.socksCounters.open ?? 0) + (running.node.httpCounters?.open ?? 0)
      const collector: BurstCollector | undefined = collects && cascade.current().params.shaping.profile === 'off'
        ? watchBursts({ count: appConnections, logger })
        : undefined
      return {
        role: 'client',
        listening: socks,
        ...(admin === undefined ? {} : { adminUrl: admin.url }),
        waitForEntry: (ms) => running.node.waitForEntry(ms),
        refreshCascade: async () => { await cascade.refresh?.() },
        appConnections,
        async stop () {
          collector?.stop()
          try {
            await admin?.close()
            await running.stop()
          } finally {
            cascade.close()
          }
        },
      }
    }
  }
}

/**
 * The node's admin server, its code loaded only now: a hop's thread under `mixgate up` serves
 * none (without a state dir), and the metrics, status page and prom-client would cost each
 * thread's heap some 2 MB (issue #17).
 */
async function startAdmin (options: NodeAdminOptions): Promise<NodeAdmin> {
  const { startNodeAdmin } = await import('../admin/node-admin.js')
  return await startNodeAdmin(options)
}

/** Open the hop's onion keys, check them against the cascade, run `start`; close them if it fails. */
async function withOnionKeys (hop: HopSetup, position: number, logger: Logger, start: (keys: OnionKeySource) => Promise<StartedNode>): Promise<StartedNode> {
  const onionKeys = await hop.openOnionKeys(logger)
  try {
    checkNamed(hop, position, onionKeys, logger)
    return await start(onionKeys)
  } catch (err) {
    await onionKeys.close().catch(() => {})
    throw err
  }
}

/** Warn when the cascade is out of date for this hop: expired, or listing other onion keys. */
function checkNamed (hop: HopSetup, position: number, onionKeys: OnionKeySource, logger: Logger): void {
  if (hop.staleCascade) {
    logger.warn('cascade.expired', { validUntil: iso(hop.verified.validUntil), hint: 'clients need a fresh cascade descriptor: the entry\'s admin /cascade, or mixgate cascade create' })
  }
  const differ = onionKeys.publicKeys()
    .filter(({ epoch, onionKey }) => {
      const listed = hop.verified.onionKey(position, epoch)
      return listed !== undefined && !equal(listed, onionKey)
    })
    .map(({ epoch }) => epoch)
  if (differ.length > 0) {
    logger.warn('cascade.onion_keys_differ', { epochs: differ, hint: 'the cascade descriptor lists other onion keys for this node (a new seed?): clients need a fresh one' })
  }
}

/**
 * Start the hop's admin server and its publish server, each if it has an address; both serve
 * the same descriptors. On failure stop what started, and the node, and rethrow.
 */
async function startServers (
  hop: HopSetup, logger: Logger,
  startHopAdmin: (common: { address: HostPort, logger: Logger, epoch: () => number, descriptor: () => object | undefined, cascade?: () => Promise<string | undefined> }) => Promise<NodeAdmin>,
  onionKeys: OnionKeySource, stopNode: () => Promise<void>,
): Promise<{ admin: NodeAdmin | undefined, publish: PublishServer | undefined }> {
  if (hop.admin === undefined && hop.publish === undefined) return { admin: undefined, publish: undefined }
  // Loaded only here: the descriptor code holds the schemas, which a hop without these servers never needs.
  const { describeHop } = await import('./node-descriptor.js')
  const descriptor = (): ReturnType<typeof describeHop> | undefined => {
    const keys = onionKeys.publicKeys()
    return keys.length === 0 ? undefined : describeHop(hop.described, hop.keys.identity, hop.keys.link.publicKey, keys, Date.now() / 1000)
  }
  // Only the entry with peers needs it (and the HTTP client it loads): see runClient's import.
  const cascade = hop.peers === undefined
    ? undefined
    : (await import('./entry-cascade.js')).entryCascadeProvider({ own: descriptor, peers: hop.peers, pins: hop.verified.nodes.map((n) => n.identityKey), schedule: hop.schedule, logger: logger.child('admin') })
  let admin: NodeAdmin | undefined
  try {
    if (hop.admin !== undefined) {
      admin = await startHopAdmin({
        address: hop.admin,
        logger: logger.child('admin'),
        epoch: () => onionKeys.currentEpoch(),
        descriptor,
        ...(cascade === undefined ? {} : { cascade }),
      })
    }
    const publish = hop.publish === undefined
      ? undefined
      : await startPublishServer({ address: hop.publish, descriptor, ...(cascade === undefined ? {} : { cascade }), logger: logger.child('publish') })
    return { admin, publish }
  } catch (err) {
    await admin?.close().catch(() => {})
    await stopNode().catch(() => {})
    throw err
  }
}

function stopper (hop: HopSetup, onionKeys: OnionKeySource, servers: ReadonlyArray<{ close (): Promise<void> } | undefined>, stopNode: () => Promise<void>): () => Promise<void> {
  return async () => {
    try {
      for (const server of servers) await server?.close()
      await stopNode()
    } finally {
      await onionKeys.close()
      wipeIdentity(hop.keys)
    }
  }
}

function publishField (publish: PublishServer | undefined): { publish?: string } {
  return publish === undefined ? {} : { publish: formatHostPort(publish.address) }
}

function adminField (admin: NodeAdmin | undefined): { admin?: string } {
  return admin === undefined ? {} : { admin: formatHostPort(admin.address) }
}

/** Run `start`; a listen failure becomes a StartError naming the address and the OS reason. */
/** `start`, with a listen failure told as which address could not be used and why; `http`: the client's HTTP door. */
async function listening<T> (where: HostPort, what: string, start: () => Promise<T>, http?: HostPort): Promise<T> {
  try {
    return await start()
  } catch (err) {
    if (err instanceof MixgateError && (err.code === 'LINK_LISTEN_FAILED' || err.code === 'SOCKS_LISTEN_FAILED')) {
      const os = (err.cause as { code?: unknown } | undefined)?.code ?? err.detail
      throw new StartError('CLI_LISTEN_FAILED', `cannot listen for ${what} on ${formatHostPort(where)}${osReason(os)}`, { cause: err })
    }
    if (err instanceof MixgateError && err.code === 'HTTP_LISTEN_FAILED' && http !== undefined) {
      const os = (err.cause as { code?: unknown } | undefined)?.code ?? err.detail
      throw new StartError('CLI_LISTEN_FAILED', `cannot listen for HTTP CONNECT requests on ${formatHostPort(http)}${osReason(os)}`, { cause: err })
    }
    throw err
  }
}

const OS_REASONS: Record<string, string> = {
  EADDRINUSE: 'the address is already in use',
  EADDRNOTAVAIL: 'the address is not one of this host\'s',
  EACCES: 'permission denied (ports below 1024 need privileges)',
}

function osReason (code: unknown): string {
  if (typeof code !== 'string') return ''
  const known = OS_REASONS[code]
  return known === undefined ? `: ${code}` : `: ${known} (${code})`
}
