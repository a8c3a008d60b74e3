/**
 * Start the exit from its keys, the cascade and its policy: listen for the last mix.
 */
import { isIP } from 'node:net'
import type { KeyPair } from '../crypto/index.js'
import type { OnionKeySource } from '../node/keys/onion-key-source.js'
import type { Cascade } from '../directory/cascade.js'
import { linkPrologue } from '../directory/cascade.js'
import type { LinkLimits } from '../link/limits.js'
import type { LinkListener } from '../link/listen.js'
import { acceptPredecessors } from '../link/predecessor.js'
import type { HostPort } from '../node/address.js'
import type { Logger } from '../node/logger.js'
import { ExitNode } from './exit-node.js'
import type { HopTestFaults } from '../mix/hop-node.js'
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
  /** Close a predecessor link that carries no circuit for this long. */
  readonly linkIdleMs?: number
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

/**
 * The cascade's own listening ports are refused before the operator's rules: even with
 * `accept 127.0.0.1:*` for loopback testing, the exit never connects into its own cascade.
 */
export function cascadePortRules (cascade: Cascade): string[] {
  return cascade.hops
    .filter((hop) => isIP(hop.address.host) !== 0)
    .map((hop) => `reject ${isIP(hop.address.host) === 6 ? `[${hop.address.host}]` : hop.address.host}:${hop.address.port}`)
}

export async function runExit (options: RunExitOptions): Promise<RunningExit> {
  const { cascade } = options
  const position = cascade.hops.length
  const hop = cascade.hops[position - 1]!
  const policyFor = (rules: readonly string[]): ReturnType<typeof buildExitPolicy> => buildExitPolicy({
    operatorRules: [...cascadePortRules(cascade), ...rules],
    cascadeAddresses: [...new Set(cascade.hops.map((h) => h.address.host).filter((h) => isIP(h) !== 0))],
  })
  const node = new ExitNode({
    geometry: cascade.geometry,
    position,
    cascadeId: cascade.id,
    onionKeys: options.onionKeys,
    roundMs: cascade.roundMs,
    logger: options.logger,
    shaping: cascade.shaping,
    ...(options.testFaults === undefined ? {} : { testFaults: options.testFaults }),
    policy: policyFor(options.exitPolicy),
    policyFor,
    resolver: createPinnedResolver({ servers: options.dnsServers }),
    ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
    ...(options.replayCapacity === undefined ? {} : { replayCapacity: options.replayCapacity }),
    ...(options.circuitIdleMs === undefined ? {} : { circuitIdleMs: options.circuitIdleMs }),
    ...(options.linkIdleMs === undefined ? {} : { linkIdleMs: options.linkIdleMs }),
  })
  const listener = await acceptPredecessors({
    listen: options.listen ?? hop.address,
    cellSize: cascade.geometry.cellSize,
    localStatic: options.linkKey,
    predecessorKey: position === 1 ? undefined : cascade.hops[position - 2]!.linkKey,
    prologue: linkPrologue(cascade, position),
    ...(options.linkLimits === undefined ? {} : { limits: options.linkLimits }),
    attach: (link) => node.attachPredecessor(link),
    onReject: (err) => options.logger.info('link.rejected', { code: err.code }),
    onRefuse: (code) => options.logger.debug('link.refused', { code }),
  })
  node.start()
  return {
    node,
    listener,
    setExitPolicy: (rules) => node.setExitPolicy(rules),
    async stop () {
      await node.stop()
      await listener.close()
    },
  }
}
