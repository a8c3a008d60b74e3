/**
 * Start a mix from its keys and the cascade: listen for the predecessor, dial the successor.
 */
import type { KeyPair } from '../crypto/index.js'
import type { OnionKeySource } from '../hop/onion-keys.js'
import type { Cascade } from '../directory/cascade.js'
import { linkPrologue } from '../directory/cascade.js'
import type { LinkLimits } from '../link/limits.js'
import type { LinkListener } from '../link/listen.js'
import { dialNext } from '../link/predecessor.js'
import type { HostPort } from '../base/address.js'
import type { Logger } from '../base/logger.js'
import { MixNode, type MixOptions } from './mix-node.js'
import type { CreateBudget, HopTestFaults } from '../hop/hop-options.js'
import { listenForPredecessor } from '../hop/listen-for-predecessor.js'

export interface RunMixOptions {
  readonly cascade: Cascade
  readonly position: number
  readonly linkKey: KeyPair
  /** The mix's onion keys over time (the caller closes the source after `stop()`). */
  readonly onionKeys: OnionKeySource
  readonly logger: Logger
  /** Where to listen (default: this hop's address in the cascade). */
  readonly listen?: HostPort
  readonly minBatch?: number
  readonly replayCapacity?: number
  readonly circuitIdleMs?: number
  /** Close a predecessor link that carries no circuit for this long. */
  readonly linkIdleMs?: number
  /** CREATE budgets (defaults in src/hop/hop-options.ts). */
  readonly createBudget?: CreateBudget
  /** Bounds on the predecessors' (at the entry: clients') handshakes and links. */
  readonly linkLimits?: Partial<LinkLimits>
  /** Test-only faults (never from configs or the CLI). */
  readonly testFaults?: HopTestFaults
}

export interface RunningMix {
  readonly node: MixNode
  readonly listener: LinkListener
  stop (): Promise<void>
}

/**
 * `makeNode` builds the node from the options (default `new MixNode`): tests build one with
 * test-only options (a fault, a misbehaving `testOutput`), to start it exactly as a real mix starts.
 */
export async function runMix (options: RunMixOptions, makeNode: (options: MixOptions) => MixNode = (o) => new MixNode(o)): Promise<RunningMix> {
  const { cascade, position } = options
  const hop = cascade.hops[position - 1]
  const next = cascade.hops[position]
  if (hop === undefined || hop.role !== 'mix' || next === undefined) throw new TypeError(`position ${position} is not a mix of this cascade`)
  const node = makeNode({
    geometry: cascade.geometry,
    position,
    cascadeId: cascade.id,
    onionKeys: options.onionKeys,
    roundMs: cascade.params.roundMs,
    logger: options.logger,
    shaping: cascade.params.shaping,
    ...(options.testFaults === undefined ? {} : { testFaults: options.testFaults }),
    ...(options.minBatch === undefined ? {} : { minBatch: options.minBatch }),
    ...(options.replayCapacity === undefined ? {} : { replayCapacity: options.replayCapacity }),
    ...(options.circuitIdleMs === undefined ? {} : { circuitIdleMs: options.circuitIdleMs }),
    ...(options.linkIdleMs === undefined ? {} : { linkIdleMs: options.linkIdleMs }),
    ...options.createBudget,
    connectSuccessor: (handlers) => dialNext({
      address: next.address,
      cellSize: cascade.geometry.cellSize,
      localStatic: options.linkKey,
      remoteStatic: next.linkKey,
      prologue: linkPrologue(cascade, position + 1),
      rekeyMs: cascade.params.epochS * 1000,
    }, handlers),
  })
  const predecessors = await listenForPredecessor(options, (link) => node.attachPredecessor(link))
  node.start()
  return {
    node,
    listener: predecessors.listener,
    async stop () {
      await node.stop()
      await predecessors.close()
    },
  }
}
