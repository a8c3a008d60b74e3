/**
 * One round's cells on one link and the circuit label of each, released in a uniform random
 * interleaving that keeps each circuit's order (R9, interleave.ts). Its arrays are reused
 * every round, so a round allocates nothing once they have grown.
 */
import type { Interleaver } from './interleave.js'

export class RoundBatch {
  private readonly interleaver: Interleaver
  private readonly cells: Uint8Array[] = []
  private readonly labels: number[] = []
  private readonly index: number[] = []
  private readonly order: number[] = []
  private readonly labelOf = (k: number): number => this.labels[k]!

  constructor (interleaver: Interleaver) {
    this.interleaver = interleaver
  }

  /** Start a new batch. */
  clear (): void {
    this.cells.length = 0
    this.labels.length = 0
  }

  /** Add `cell` of the circuit labelled `label` (its dense slot). */
  add (cell: Uint8Array, label: number): void {
    this.cells.push(cell)
    this.labels.push(label)
  }

  /** Replace the contents of `out` with the batch, interleaved. */
  shuffleInto (out: Uint8Array[]): void {
    const n = this.cells.length
    const index = this.index
    index.length = n
    for (let i = 0; i < n; i++) index[i] = i
    this.interleaver.permute(index, this.labelOf, this.order)
    out.length = 0
    for (let i = 0; i < n; i++) out.push(this.cells[this.order[i]!]!)
  }
}
