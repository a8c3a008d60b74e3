/**
 * One round's output order: a uniform random interleaving of the round's cells that keeps
 * every circuit's cells in the order they arrived (DESIGN "Mixing", DESIGN-REVIEW R9).
 *
 * Method: write one slot per cell holding its circuit's label, Fisher–Yates those slots with
 * the CSPRNG, then hand each circuit its slots in FIFO order. Why this is uniform: Fisher–Yates
 * makes all n! orderings of the slots equally likely; each distinct label sequence is reached by
 * exactly ∏ n_c! of them (swapping equal labels changes nothing), so every label sequence, and
 * hence every order-preserving interleaving, has the same probability ∏ n_c! / n!.
 *
 * Nothing here follows arrival order beyond each circuit's own FIFO: no Map/Set iteration and
 * no Math.random (V8's xorshift128+ can be predicted from its outputs) — R9.
 *
 * This runs on every round (every 10 ms, possibly thousands of cells), so an `Interleaver`
 * keeps its working arrays between rounds and grows them only when a round is larger than any
 * before: a round allocates nothing once the arrays are big enough. The shuffle needs n − 1
 * bounded random draws; with the default source each is a libsodium.js call costing ~8 µs under
 * Node (bench/mix-round.ts), so large rounds want a `UniformPool` source.
 */
import { randomUniform } from '../crypto/index.js'
import { MixError, MixErrorCode } from './errors.js'

/** A uniform integer in [0, upperBound), from a CSPRNG. */
export type UniformSource = (upperBound: number) => number

export interface InterleaverOptions {
  /**
   * Where the shuffle's randomness comes from. Default: `randomUniform` (libsodium's CSPRNG).
   * Only a CSPRNG is acceptable in a node (see `UniformPool` for a faster one built on bulk
   * CSPRNG output); tests inject deterministic or deliberately biased sources.
   */
  uniform?: UniformSource
  /**
   * Circuit labels must be integers in [0, labelLimit). The per-label array is as long as the
   * largest label seen, so labels should be dense (a slot in the node's circuit table), never
   * wire circuit IDs. Default 2^20.
   */
  labelLimit?: number
}

const DEFAULT_LABEL_LIMIT = 1 << 20
const INITIAL_CELLS = 64
const INITIAL_LABELS = 64

export class Interleaver {
  private readonly uniform: UniformSource
  private readonly labelLimit: number
  /** Per output position: the label of the circuit whose next cell goes there. */
  private labels = new Int32Array(INITIAL_CELLS)
  /** Per input index: the input index of the same circuit's next cell, or -1. */
  private next = new Int32Array(INITIAL_CELLS)
  /** Per label: the input index of that circuit's next cell still to place, or -1. */
  private head = new Int32Array(INITIAL_LABELS)

  constructor (options: InterleaverOptions = {}) {
    this.uniform = options.uniform ?? randomUniform
    const limit = options.labelLimit ?? DEFAULT_LABEL_LIMIT
    if (!Number.isInteger(limit) || limit < 1 || limit > 2 ** 31) {
      throw new MixError(MixErrorCode.BAD_OPTION, 'labelLimit must be an integer in [1, 2^31]')
    }
    this.labelLimit = limit
  }

  /**
   * Write `cells` to `out` in a uniform random order that keeps each circuit's cells in their
   * order in `cells`. `out` is overwritten (its old contents are dropped) and must not be
   * `cells` itself. `circuitOf` is called exactly once per cell and must return the cell's
   * circuit label: an integer in [0, labelLimit), equal for cells of the same circuit.
   *
   * Throws `MixError` `MIX_BAD_LABEL` (before touching `out`) for a label out of range, and
   * `MIX_BAD_ARGUMENT` if `out === cells`.
   */
  permute<T> (cells: readonly T[], circuitOf: (cell: T) => number, out: T[]): void {
    if ((out as readonly T[]) === cells) {
      throw new MixError(MixErrorCode.BAD_ARGUMENT, 'permute needs an output array distinct from its input')
    }
    const n = cells.length
    this.reserveCells(n)
    const labels = this.labels
    const next = this.next

    // Pass 1: one label per cell; mark each label's list empty.
    for (let i = 0; i < n; i++) {
      const label = circuitOf(cells[i]!)
      if (!Number.isInteger(label) || label < 0 || label >= this.labelLimit) {
        throw new MixError(MixErrorCode.BAD_LABEL, `circuit label must be an integer in [0, ${this.labelLimit})`)
      }
      if (label >= this.head.length) this.reserveLabels(label + 1)
      labels[i] = label
      this.head[label] = -1
    }
    const head = this.head

    // Pass 2, backwards: link each circuit's cells in arrival order; head[c] ends on the first.
    for (let i = n - 1; i >= 0; i--) {
      const label = labels[i]!
      next[i] = head[label]!
      head[label] = i
    }

    // Pass 3: Fisher–Yates over the label slots (uniform over all n! slot orders).
    const uniform = this.uniform
    for (let j = n - 1; j > 0; j--) {
      const k = uniform(j + 1)
      const held = labels[j]!
      labels[j] = labels[k]!
      labels[k] = held
    }

    // Pass 4: each slot takes its circuit's next cell in FIFO order.
    out.length = 0
    for (let j = 0; j < n; j++) {
      const label = labels[j]!
      const i = head[label]!
      out.push(cells[i]!)
      head[label] = next[i]!
    }
  }

  private reserveCells (n: number): void {
    if (n <= this.labels.length) return
    let size = this.labels.length
    while (size < n) size *= 2
    this.labels = new Int32Array(size)
    this.next = new Int32Array(size)
  }

  private reserveLabels (needed: number): void {
    let size = this.head.length
    while (size < needed) size *= 2
    // Keep the old contents: pass 1 may grow the array after marking some labels.
    const grown = new Int32Array(Math.min(size, this.labelLimit))
    grown.set(this.head)
    this.head = grown
  }
}
