/**
 * A mix: the same code at every position of the cascade but the last. It is a hop core
 * (src/hop/hop-core.ts: CREATEs, replay, circuits, rounds, the backward direction) whose
 * forward output is the link to the successor (successor-output.ts). A mix takes no
 * predecessor link while it has no successor: nothing could be carried.
 */
import type { CellLink, CellLinkHandlers } from '../link/cell-link.js'
import type { RoundObserver } from '../hop/hop-metrics.js'
import { HopCore } from '../hop/hop-core.js'
import type { HopOptions } from '../hop/hop-options.js'
import type { HopStats } from '../hop/hop-stats.js'
import { SuccessorOutput, type SuccessorOptions } from './successor-output.js'

export interface MixOptions extends HopOptions, SuccessorOptions {
  /**
   * Test-only: build the forward output (default `new SuccessorOutput`), e.g. a subclass that
   * misbehaves on purpose. Never set by configs or the CLI.
   */
  readonly testOutput?: (core: HopCore, options: MixOptions) => SuccessorOutput
}

export class MixNode {
  readonly stats: HopStats
  private readonly core: HopCore<SuccessorOutput>
  private readonly output: SuccessorOutput

  constructor (options: MixOptions) {
    this.core = new HopCore(options, (core) => options.testOutput?.(core, options) ?? new SuccessorOutput(core, options))
    this.output = this.core.output
    this.stats = this.core.stats
  }

  get successorUp (): boolean { return this.output.isUp }
  get successorConnects (): number { return this.output.successorConnects }
  get successorFailures (): number { return this.output.successorFailures }
  get circuits (): number { return this.core.circuits }
  /** The number of the last round run (shaped: counted from the Unix epoch; −1 before the first). */
  get lastRound (): number { return this.core.lastRound }
  /** Rounds the clock skipped because the process stalled a whole round or more (cumulative). */
  get missedRounds (): number { return this.core.missedRounds }
  /** Whether this hop shapes (profile strict or elastic). */
  get isShaped (): boolean { return this.core.shaping !== null }
  get predecessorLinks (): number { return this.core.predecessorLinks }
  /** Epochs whose keys this hop holds a replay table for, oldest first. */
  get keyEpochs (): number[] { return this.core.keyEpochs }
  /** Tags in the replay table of `epoch`'s key (for tests and metrics). */
  replayTags (epoch: number): number { return this.core.replayTags(epoch) }
  /** Report each round's size and padding to `observer` (undefined: stop reporting). */
  observeRounds (observer: RoundObserver | undefined): void { this.core.roundObserver = observer }

  start (): void {
    this.core.start()
    this.output.start()
  }

  async stop (): Promise<void> {
    this.output.stop()
    await this.core.stop()
    this.core.closePredecessors()
    this.output.close()
  }

  /** Take a new link from the predecessor; returns the handlers to attach to it. */
  attachPredecessor (link: CellLink): CellLinkHandlers {
    if (!this.output.isUp) {
      // Nothing could be carried: refuse rather than accept circuits that would vanish.
      link.close()
      return { onCell: () => {}, onClose: () => {} }
    }
    return this.core.attachPredecessor(link)
  }
}
