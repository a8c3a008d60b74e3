/**
 * Start the exit from its keys, the cascade and its policy: resolve the cascade's own
 * addresses (own-addresses.ts: fail closed), build the policy, listen for the last mix.
 */
import type { KeyPair } from '../crypto/index.js'
import type { OnionKeySource } from '../hop/onion-keys.js'
import type { Cascade } from '../directory/cascade.js'
import type { LinkLimits } from '../link/limits.js'
import type { LinkListener } from '../link/listen.js'
import type { HostPort } from '../base/address.js'
import type { Logger } from '../base/logger.js'
import { ExitNode } from './exit-node.js'
import type { CreateBudget, HopTestFaults } from '../hop/hop-options.js'
import { listenForPredecessor } from '../hop/listen-for-predecessor.js'
import type { ExitLimits, UdpLimits } from './limits.js'
import { interfaceAddresses, ownAddresses, ownServices, type OwnService } from './own-addresses.js'
import { buildExitPolicy } from './policy.js'
import { createPinnedResolver } from './resolver.js'

export interface RunExitOptions {
  readonly cascade: Cascade
  readonly linkKey: KeyPair
  /** The exit's onion keys over time (the caller closes the source after `stop()`). */
  readonly onionKeys: OnionKeySource
  readonly logger: Logger
  /** Operator rules in Tor syntax, placed in front of the safe default. */
  readonly exitPolicy: readonly string[]
  /** DNS servers the exit resolves with (IP literals, optional :port). */
  readonly dnsServers: readonly string[]
  readonly listen?: HostPort
  readonly connectTimeoutMs?: number
  readonly replayCapacity?: number
  readonly circuitIdleMs?: number
  /** Caps on DNS queries, outbound sockets and streams per circuit (default DEFAULT_EXIT_LIMITS). */
  readonly limits?: Partial<ExitLimits>
  /** UDP association bounds (tests; default UDP_LIMITS: not a config field). */
  readonly udp?: Partial<UdpLimits>
  /** The exit's other services (admin, publish): refused like the cascade's link ports. */
  readonly services?: readonly OwnService[]
  /** This host's interface addresses, all refused (default: os.networkInterfaces()). */
  readonly localAddresses?: readonly string[]
  /** Close a predecessor link that carries no circuit for this long. */
  readonly linkIdleMs?: number
  /** CREATE budgets (defaults in src/hop/hop-options.ts). */
  readonly createBudget?: CreateBudget
  /** Bounds on the predecessors' (at the entry: clients') handshakes and links. */
  readonly linkLimits?: Partial<LinkLimits>
  /** Test-only faults (never from configs or the CLI). */
  readonly testFaults?: HopTestFaults
}

export interface RunningExit {
  readonly node: ExitNode
  readonly listener: LinkListener
  /** Replace the operator's rules (new streams only; see ExitNode.setExitPolicy). */
  setExitPolicy (rules: readonly string[]): void
  stop (): Promise<void>
}

export async function runExit (options: RunExitOptions): Promise<RunningExit> {
  const { cascade } = options
  const position = cascade.hops.length
  const resolver = createPinnedResolver({ servers: options.dnsServers })
  // Resolved once: a node whose address changes needs an exit restart (SIGHUP keeps these).
  const own = await ownAddresses(
    ownServices(cascade, [...(options.listen === undefined ? [] : [{ what: 'the exit\'s listen address', address: options.listen }]), ...(options.services ?? [])]),
    options.localAddresses ?? interfaceAddresses(),
    resolver)
  const policyFor = (rules: readonly string[]): ReturnType<typeof buildExitPolicy> => buildExitPolicy({
    operatorRules: [...own.firstRules, ...rules],
    cascadeAddresses: own.addresses,
  })
  const node = new ExitNode({
    geometry: cascade.geometry,
    position,
    cascadeId: cascade.id,
    onionKeys: options.onionKeys,
    roundMs: cascade.params.roundMs,
    logger: options.logger,
    shaping: cascade.params.shaping,
    ...(options.testFaults === undefined ? {} : { testFaults: options.testFaults }),
    policy: policyFor(options.exitPolicy),
    policyFor,
    resolver,
    ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
    ...(options.replayCapacity === undefined ? {} : { replayCapacity: options.replayCapacity }),
    ...(options.circuitIdleMs === undefined ? {} : { circuitIdleMs: options.circuitIdleMs }),
    ...definedLimits(options.limits),
    ...(options.udp === undefined ? {} : { udp: options.udp }),
    ...(options.linkIdleMs === undefined ? {} : { linkIdleMs: options.linkIdleMs }),
    ...options.createBudget,
  })
  const predecessors = await listenForPredecessor({ ...options, position }, (link) => node.attachPredecessor(link))
  node.start()
  return {
    node,
    listener: predecessors.listener,
    setExitPolicy: (rules) => node.setExitPolicy(rules),
    async stop () {
      await node.stop()
      await predecessors.close()
    },
  }
}

function definedLimits (limits: Partial<ExitLimits> | undefined): Partial<ExitLimits> {
  const out: { -readonly [K in keyof ExitLimits]?: number } = {}
  for (const key of ['maxDnsQueries', 'maxOutbound', 'maxStreamsPerCircuit'] as const) {
    if (limits?.[key] !== undefined) out[key] = limits[key]
  }
  return out
}
