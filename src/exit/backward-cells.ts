/**
 * The exit's backward cells, reused. Every backward cell at the exit is the exit's own (it
 * builds each relay payload in the cell it leaves in, exit-output.ts), and an unshaped round
 * is done with its cells once the link has sealed them into its write (link.send copies
 * them). Without reuse every cell was a fresh 2 KiB ArrayBuffer: a zeroed allocation, an
 * object for the collector and external memory the heap must account, per cell at tens of
 * thousands of cells a second (docs/BENCH.md "Where the whole cascade's time per cell goes").
 *
 * A cell taken from here has the bytes of a cell already sent (ciphertext); whoever takes one
 * writes all of it (the cell header, the payload with its zero padding, the layer and the
 * zeros after it). Shaped rounds keep their cells queued for their slots and never give them
 * back: then every take() is a new cell, as before.
 */
export class BackwardCells {
  private readonly cellSize: number
  private readonly maxFree: number
  private readonly free: Uint8Array[] = []

  /** `maxFree`: cells kept for reuse at most (more given back are left to the collector). */
  constructor (cellSize: number, maxFree = DEFAULT_MAX_FREE) {
    this.cellSize = cellSize
    this.maxFree = maxFree
  }

  /** Cells waiting for reuse (tests). */
  get available (): number { return this.free.length }

  /** A cell to build a backward payload in: one given back, or a new one. */
  take (): Uint8Array {
    return this.free.pop() ?? new Uint8Array(this.cellSize)
  }

  /** Cells that left in a round's write and that nothing else holds. */
  giveBack (cells: readonly Uint8Array[]): void {
    const free = this.free
    for (let i = 0; i < cells.length && free.length < this.maxFree; i++) {
      const cell = cells[i]!
      if (cell.length === this.cellSize) free.push(cell)
    }
  }
}

/**
 * About two rounds of a busy unshaped exit (40 MB/s is some 210 cells per 10 ms round): 1 MiB
 * with 2 KiB cells, kept after a burst (issue #17 counts idle memory).
 */
const DEFAULT_MAX_FREE = 512
