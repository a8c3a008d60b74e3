/**
 * Test helper: start a mix exactly as `runMix` does, but with a node built by the test — a
 * test-only subclass of MixNode that misbehaves on purpose (a fault the cascade must survive).
 */
import { MixNode, type MixOptions } from '../../src/mix/mix-node.js'
import { runMix, type RunMixOptions, type RunningMix } from '../../src/mix/run-mix.js'

/** Builds the node from the options runMix would pass to `new MixNode`. */
export type MixFactory = (options: MixOptions) => MixNode

export async function runMixWith (options: RunMixOptions, make: MixFactory = (o) => new MixNode(o)): Promise<RunningMix> {
  return await runMix(options, make)
}
