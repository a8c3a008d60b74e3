/**
 * A mix: the same code at every position of the cascade but the last. It is a hop core
 * (src/hop/hop-core.ts: CREATEs, replay, circuits, rounds, the backward direction) whose
 * forward output is the link to the successor (successor-output.ts). A mix takes no
 * predecessor link while it has no successor: nothing could be carried.
 */
import type { CellLink, CellLinkHandlers } from '../link/cell-link.js'
import { HopCore } from '../hop/hop-core.js'
import type { HopOptions } from '../hop/hop-options.js'
import { exposeHopView, type HopView } from '../hop/hop-view.js'
import { SuccessorOutput, type SuccessorOptions } from './successor-output.js'

export interface MixOptions extends HopOptions, SuccessorOptions {
  /**
   * Test-only: build the forward output (default `new SuccessorOutput`), e.g. a subclass that
   * misbehaves on purpose. Never set by configs or the CLI.
   */
  readonly testOutput?: (core: HopCore, options: MixOptions) => SuccessorOutput
}

/** The hop's counters and state (src/hop/hop-view.ts), read from its core. */
export interface MixNode extends HopView {}

export class MixNode {
  static {
    exposeHopView(MixNode.prototype, (node) => node.core)
  }

  private readonly core: HopCore<SuccessorOutput>
  private readonly output: SuccessorOutput

  constructor (options: MixOptions) {
    this.core = new HopCore(options, (core) => options.testOutput?.(core, options) ?? new SuccessorOutput(core, options))
    this.output = this.core.output
  }

  get successorUp (): boolean { return this.output.isUp }
  get successorConnects (): number { return this.output.successorConnects }
  get successorFailures (): number { return this.output.successorFailures }

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
