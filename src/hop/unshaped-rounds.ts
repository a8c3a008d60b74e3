/**
 * Rounds with shaping off (docs/PROTOCOL.md §11.1): every `roundMs`, on absolute deadlines
 * at the hop's phase for each direction, whatever arrived since the last release leaves in a uniform random interleaving that keeps
 * each circuit's order, one write per link (R9, R17). Backward cells are sealed as they
 * arrive; a circuit awaiting its tag keeps its own, in order, until the tag is durable.
 */
import { CellCommand, writeCellHeader } from '../protocol/cell.js'
import { CELL_HEADER_BYTES } from '../protocol/geometry.js'
import type { CellLink } from '../link/cell-link.js'
import type { QueuedCell } from './forward-output.js'
import type { HopCircuit } from './hop-circuit.js'
import type { HopRounds, RoundsHost } from './rounds.js'
import { RoundStrategy, type MixStrategy } from './strategy.js'

export class UnshapedRounds implements HopRounds {
  readonly lastRound = -1
  readonly holdsCreates = false
  private readonly core: RoundsHost
  /** Backward cells sealed since the last round, released by the strategy. */
  private readonly backward: MixStrategy<QueuedCell>
  private readonly backwardOut: QueuedCell[] = []

  constructor (core: RoundsHost) {
    this.core = core
    this.backward = new RoundStrategy<QueuedCell>((queued) => queued.circuit.slot, core.interleaver)
  }

  /**
   * Everything queued leaves now, on the deadline (circuits awaiting their tag have put
   * nothing in the queues); then the core opens carried CREATEs and appends tags, after the
   * release so that neither delays it. The hop's clocks call the two directions at their own
   * phases (hop-clocks.ts).
   */
  runForward (): void {
    const core = this.core
    core.stats.rounds++
    core.output.sendRound()
    core.afterRelease()
  }

  runBackward (): void {
    const out = this.backwardOut
    this.core.stats.lastBackwardBatch = this.backward.pending
    if (this.backward.pending > 0) this.backward.flush(out)
    this.sendBackward(out)
    out.length = 0
  }

  shapeCircuit (): void {}
  accepted (): void {}
  hold (): boolean { return false }
  silence (): boolean { return false }
  // Unshaped rounds release whatever has arrived at their phase: nothing waits for a write.
  forwardArrived (): void {}
  backwardArrived (): void {}
  linkGone (): void {}

  /**
   * Seal now; the cell leaves with the next round (or, awaiting its tag, waits in order).
   * With `cell` (ours alone, `inner` lying in it: a successor's cell and its body, or the
   * exit's cell with the payload built at BACKWARD_INNER_OFFSET) it is sealed in place and
   * becomes the outgoing cell; else a new one is made.
   */
  queueBackward (circuit: HopCircuit, inner: Uint8Array | null, cell?: Uint8Array): void {
    const core = this.core
    const reuse = cell !== undefined && inner !== null
    const out = reuse ? cell : new Uint8Array(core.geometry.cellSize)
    // An inner as long as a body is the cell's body: no second view of it.
    circuit.sealer.seal(inner, reuse && inner.length === core.geometry.bodyBytes ? inner : out.subarray(CELL_HEADER_BYTES))
    if (inner === null) core.roundObserver?.countPadding(1, 'backward')
    writeCellHeader(out, circuit.inId, CellCommand.RELAY)
    circuit.lastActivity = Date.now()
    if (!circuit.awaitingLog) this.backward.add({ cell: out, circuit })
    else if ((circuit.heldBackward ??= []).push(out) > core.maxQueuedCells) core.overQueue(circuit)
  }

  releaseBackward (circuit: HopCircuit, cells: readonly Uint8Array[]): void {
    for (const cell of cells) this.backward.add({ cell, circuit })
  }

  private sendBackward (order: readonly QueuedCell[]): void {
    const observer = this.core.roundObserver
    if (order.length === 0) {
      observer?.observeBatch(0, 'backward')
      return
    }
    // One batch per link, in the round's shuffled order; one write each.
    const batches = new Map<CellLink, Uint8Array[]>()
    for (const { cell, circuit } of order) {
      if (circuit.ended) continue
      let batch = batches.get(circuit.inLink)
      if (batch === undefined) { batch = []; batches.set(circuit.inLink, batch) }
      batch.push(cell)
    }
    let sent = 0
    const recycle = this.core.output.recycleBackward
    for (const [link, batch] of batches) {
      if (!link.isOpen) continue
      this.core.sendBackward(link, batch)
      sent += batch.length
      recycle?.(batch)
    }
    observer?.observeBatch(sent, 'backward')
  }
}
