/**
 * A FIFO of cells for one circuit and direction at a shaped hop (docs/PROTOCOL.md §12): a ring
 * buffer that grows by doubling, so pushing and taking cells allocates nothing once it is
 * large enough for the circuit's usual backlog. Once a burst beyond SHRINK_ABOVE cells has
 * drained it falls back to its first size: the array a burst grew (up to the queue bound,
 * 8192 slots or more) does not outlive the burst for the rest of the circuit's life.
 */

/** Slots a queue keeps when it empties; a larger array goes (a steady backlog stays below it). */
const SHRINK_ABOVE = 1024
const FIRST_SLOTS = 4

export class CellQueue {
  private items: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(FIRST_SLOTS)
  private head = 0
  private count = 0

  get length (): number { return this.count }

  push (cell: Uint8Array): void {
    if (this.count === this.items.length) this.grow()
    this.items[(this.head + this.count) & (this.items.length - 1)] = cell
    this.count++
  }

  /** The oldest cell, removed; undefined when empty. */
  shift (): Uint8Array | undefined {
    if (this.count === 0) return undefined
    const cell = this.items[this.head]
    this.items[this.head] = undefined
    this.head = (this.head + 1) & (this.items.length - 1)
    this.count--
    if (this.count === 0 && this.items.length > SHRINK_ABOVE) this.clear()
    return cell
  }

  /** Slots the ring holds now (tests). */
  get capacity (): number { return this.items.length }

  /** Forget every cell (the circuit ended). */
  clear (): void {
    this.items = new Array<Uint8Array | undefined>(FIRST_SLOTS)
    this.head = 0
    this.count = 0
  }

  private grow (): void {
    const old = this.items
    const items = new Array<Uint8Array | undefined>(old.length * 2)
    for (let i = 0; i < this.count; i++) items[i] = old[(this.head + i) & (old.length - 1)]
    this.items = items
    this.head = 0
  }
}
