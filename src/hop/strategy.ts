/**
 * How a mix decides which queued cells leave in a round, and in what order.
 *
 * Every strategy here is a **round/pool strategy over circuits**: cells wait for a round tick
 * and leave in an order that keeps each circuit's cells in FIFO order (the hops' layer
 * counters require it). Independent per-cell delays (Poisson/Loopix mixing) do not carry over:
 * with per-circuit order kept they reduce to per-circuit jitter, and real per-cell delays need
 * per-cell Sphinx headers and SURBs. They are out of scope for v1 (DESIGN-REVIEW R23).
 *
 * The mix node keeps one strategy per direction: it calls `add` as cells arrive and `flush`
 * on each `RoundClock` tick, then writes the flushed cells in that order.
 */
import { Interleaver } from './interleave.js'

export interface MixStrategy<T> {
  /** Queue a cell for a coming round. */
  add (cell: T): void
  /** Replace the contents of `out` with the cells to release this round, in release order. */
  flush (out: T[]): void
  /** Cells queued and not yet flushed. */
  readonly pending: number
}

/**
 * The plain round: every cell added since the last flush leaves at this flush, in a uniform
 * random interleaving that keeps per-circuit order (`Interleaver`).
 */
export class RoundStrategy<T> implements MixStrategy<T> {
  private readonly circuitOf: (cell: T) => number
  private readonly interleaver: Interleaver
  private queue: T[] = []

  /** `circuitOf` returns a cell's dense circuit label (see `Interleaver.permute`). */
  constructor (circuitOf: (cell: T) => number, interleaver: Interleaver = new Interleaver()) {
    this.circuitOf = circuitOf
    this.interleaver = interleaver
  }

  get pending (): number {
    return this.queue.length
  }

  add (cell: T): void {
    this.queue.push(cell)
  }

  flush (out: T[]): void {
    // If a label is bad, permute throws before touching anything: the round stays queued.
    this.interleaver.permute(this.queue, this.circuitOf, out)
    this.queue.length = 0
  }
}
