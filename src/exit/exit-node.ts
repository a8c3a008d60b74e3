/**
 * The exit gateway: the last hop of the cascade. It is a hop core (src/hop/hop-core.ts:
 * CREATEs, replay, circuits, rounds, the backward direction) whose forward output is TCP
 * (exit-output.ts: BEGIN, streams, LOOP echoes).
 */
import type { CellLink, CellLinkHandlers } from '../link/cell-link.js'
import { HopCore } from '../hop/hop-core.js'
import type { HopOptions } from '../hop/hop-options.js'
import { exposeHopView, type HopView } from '../hop/hop-view.js'
import { ExitOutput, type ExitOutputOptions } from './exit-output.js'
import type { ExitStats } from './exit-stats.js'
import type { ExitPolicyCheck } from './exit-output.js'

export { ExitStats } from './exit-stats.js'

export interface ExitOptions extends HopOptions, ExitOutputOptions {
  /** Builds the whole policy from operator rules (for `setExitPolicy`; runExit adds the cascade's own rules). */
  readonly policyFor?: (operatorRules: readonly string[]) => ExitPolicyCheck
}

/** The hop's counters and state (src/hop/hop-view.ts), read from its core. */
export interface ExitNode extends HopView {}

export class ExitNode {
  static {
    exposeHopView(ExitNode.prototype, (node) => node.core)
  }

  readonly exitStats: ExitStats
  private readonly core: HopCore<ExitOutput>
  private readonly output: ExitOutput
  private readonly policyFor: ExitOptions['policyFor']

  constructor (options: ExitOptions) {
    this.core = new HopCore(options, (core) => new ExitOutput(core, options))
    this.output = this.core.output
    this.exitStats = this.output.stats
    this.policyFor = options.policyFor
  }

  /**
   * Stream bytes the exit holds in memory across all circuits (read from hosts and not yet
   * sent, or written toward hosts and not yet flushed): bounded by the flow-control windows.
   * Computed on demand, O(streams): for tests and metrics, not the data path.
   */
  get bufferedBytes (): number { return this.output.bufferedBytes }

  /** Open streams of each circuit that has any (tests: which streams share a circuit). */
  openStreamsPerCircuit (): number[] { return this.output.openStreamsPerCircuit() }

  /** Backward cells waiting for reuse after an unshaped round's write (backward-cells.ts), for tests. */
  get reusableBackwardCells (): number { return this.output.reusableBackwardCells }

  start (): void { this.core.start() }

  async stop (): Promise<void> {
    await this.core.stop()
    this.core.closePredecessors()
  }

  /** Take a new link from the predecessor; returns the handlers to attach to it. */
  attachPredecessor (link: CellLink): CellLinkHandlers {
    return this.core.attachPredecessor(link)
  }

  /**
   * Replace the operator's rules (SIGHUP reload): streams opened from now on are checked
   * against the new policy; streams already open are not cut. Throws `PolicyError` for a bad
   * rule, leaving the old policy in force.
   */
  setExitPolicy (rules: readonly string[]): void {
    if (this.policyFor === undefined) throw new TypeError('this exit was built without policyFor: it cannot reload its policy')
    this.output.policy = this.policyFor(rules)
  }
}
