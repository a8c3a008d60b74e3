/**
 * Test helper: start a mix exactly as `runMix` does, but with a node built by the test — a
 * test-only subclass of MixNode that misbehaves on purpose (a fault the cascade must survive).
 * Faults live in test files only; src/ carries no fault hooks.
 */
import { linkPrologue } from '../../src/directory/cascade.js'
import { acceptPredecessors, dialNext } from '../../src/link/predecessor.js'
import { MixNode, type MixOptions } from '../../src/mix/mix-node.js'
import type { RunMixOptions, RunningMix } from '../../src/mix/run-mix.js'

/** Builds the node from the options runMix would pass to `new MixNode`. */
export type MixFactory = (options: MixOptions) => MixNode

export async function runMixWith (options: RunMixOptions, make: MixFactory = (o) => new MixNode(o)): Promise<RunningMix> {
  const { cascade, position } = options
  const hop = cascade.hops[position - 1]
  const next = cascade.hops[position]
  if (hop === undefined || hop.role !== 'mix' || next === undefined) throw new TypeError(`position ${position} is not a mix of this cascade`)
  const node = make({
    geometry: cascade.geometry,
    position,
    cascadeId: cascade.id,
    onionKeys: options.onionKeys,
    roundMs: cascade.roundMs,
    logger: options.logger,
    shaping: cascade.shaping,
    ...(options.testFaults === undefined ? {} : { testFaults: options.testFaults }),
    ...(options.replayCapacity === undefined ? {} : { replayCapacity: options.replayCapacity }),
    ...(options.circuitIdleMs === undefined ? {} : { circuitIdleMs: options.circuitIdleMs }),
    connectSuccessor: (handlers) => dialNext({
      address: next.address,
      cellSize: cascade.geometry.cellSize,
      localStatic: options.linkKey,
      remoteStatic: next.linkKey,
      prologue: linkPrologue(cascade, position + 1),
    }, handlers),
  })
  const listener = await acceptPredecessors({
    listen: options.listen ?? hop.address,
    cellSize: cascade.geometry.cellSize,
    localStatic: options.linkKey,
    predecessorKey: position === 1 ? undefined : cascade.hops[position - 2]!.linkKey,
    prologue: linkPrologue(cascade, position),
    attach: (link) => node.attachPredecessor(link),
    onReject: (err) => options.logger.info('link.rejected', { code: err.code }),
  })
  node.start()
  return {
    node,
    listener,
    async stop () {
      await node.stop()
      await listener.close()
    },
  }
}
