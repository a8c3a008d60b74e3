/**
 * What a mix and the exit show of their hop core to status, metrics and tests (counters,
 * round numbers, replay tables), defined once for both roles instead of a getter list in each
 * (issue #11). Composition, not a base class: a node keeps its core private, declares
 * `export interface MixNode extends HopView {}` next to its class, and in a static block
 * calls `exposeHopView(MixNode.prototype, (node) => node.core)`, which puts one getter per
 * member on the prototype, each reading that node's core.
 */
import type { RoundObserver } from './hop-metrics.js'
import type { ForwardOutput } from './forward-output.js'
import type { HopCore } from './hop-core.js'
import type { HopStats } from './hop-stats.js'

export interface HopView {
  readonly stats: HopStats
  /** Circuits open at this hop now. */
  readonly circuits: number
  /** The number of the last round run (shaped: counted from the Unix epoch; −1 before the first). */
  readonly lastRound: number
  /** Rounds the clock skipped because the process stalled a whole round or more (cumulative). */
  readonly missedRounds: number
  /** Whether this hop shapes (profile strict or elastic). */
  readonly isShaped: boolean
  readonly predecessorLinks: number
  /** Epochs whose keys this hop holds a replay table for, oldest first. */
  readonly keyEpochs: number[]
  /** Tags in the replay table of `epoch`'s key (for tests and metrics). */
  replayTags (epoch: number): number
  /** Report each round's size and padding to `observer` (undefined: stop reporting). */
  observeRounds (observer: RoundObserver | undefined): void
}

/** Define the HopView members on `prototype`, each reading the core `coreOf` gives for the node. */
export function exposeHopView<N extends object> (prototype: N, coreOf: (node: N) => HopCore<ForwardOutput>): void {
  // Typed by HopView's keys, so a member added there and not here fails to compile.
  const members: { readonly [K in keyof HopView]: PropertyDescriptor & ThisType<N> } = {
    stats: { get () { return coreOf(this).stats } },
    circuits: { get () { return coreOf(this).circuits } },
    lastRound: { get () { return coreOf(this).lastRound } },
    missedRounds: { get () { return coreOf(this).missedRounds } },
    isShaped: { get () { return coreOf(this).shaping !== null } },
    predecessorLinks: { get () { return coreOf(this).predecessorLinks } },
    keyEpochs: { get () { return coreOf(this).keyEpochs } },
    replayTags: { value (this: N, epoch: number): number { return coreOf(this).replayTags(epoch) } },
    observeRounds: { value (this: N, observer: RoundObserver | undefined): void { coreOf(this).roundObserver = observer } },
  }
  Object.defineProperties(prototype, members)
}
