/**
 * Rounds with shaping off (docs/PROTOCOL.md §11.1): every `roundMs`, on absolute deadlines
 * at the hop's phase for each direction, whatever arrived since the last release leaves in a uniform random interleaving that keeps
 * each circuit's order, one write per link (R9, R17). Backward cells are sealed as they
 * arrive; a circuit awaiting its tag keeps its own, in order, until the tag is durable.
 *
 * Release on arrival where a direction has one neighbour: a mix after the entry forward (its
 * one predecessor, the mix before it), every mix backward (its one successor). There a round's
 * batch is the neighbour's round write, whole, whether it leaves when that write has all
 * arrived or at the phase after; waiting for the phase only added time, and a whole round
 * whenever the write came a little after it (a loaded host, a large batch). So such a
 * direction leaves when the neighbour's write has all arrived, and its deadline sends what
 * came otherwise. The entry forward (many clients' links) and the exit backward (its TCP
 * streams) are where cells of different sources meet: they keep their deadlines. The release
 * time follows the neighbour's write, which the link shows anyway, never content (R17).
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
  /** Whether each direction releases when its one neighbour's write has all arrived. */
  private readonly forwardOnArrival: boolean
  private readonly backwardOnArrival: boolean
  /** A release on arrival happened since the last deadline of that direction. */
  private forwardArrivedSinceDeadline = false
  private backwardArrivedSinceDeadline = false

  constructor (core: RoundsHost) {
    this.core = core
    this.backward = new RoundStrategy<QueuedCell>((queued) => queued.circuit.slot, core.interleaver)
    this.forwardOnArrival = core.position > 1 && core.position < core.geometry.hops
    this.backwardOnArrival = core.position < core.geometry.hops
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
    // After a release on arrival, the deadline sends only what came since (and reports no empty round).
    const quiet = this.forwardArrivedSinceDeadline
    this.forwardArrivedSinceDeadline = false
    if (!quiet) core.stats.releasesAtDeadlineForward++
    core.output.sendRound(quiet)
    core.afterRelease()
  }

  runBackward (): void {
    const quiet = this.backwardArrivedSinceDeadline
    this.backwardArrivedSinceDeadline = false
    if (!quiet) this.core.stats.releasesAtDeadlineBackward++
    else if (this.backward.pending === 0) return
    this.releaseBackwardRound()
  }

  /** The predecessor's round write has all arrived: a mix after the entry sends it on now. */
  forwardArrived (): void {
    if (!this.forwardOnArrival || this.core.roundsStopped) return
    const core = this.core
    core.stats.releasesOnArrivalForward++
    this.forwardArrivedSinceDeadline = true
    try { core.output.sendRound() } catch (err) { core.faulted('round', err, undefined) }
  }

  /** The successor's round write has all arrived: a mix sends it on now. */
  backwardArrived (): void {
    if (!this.backwardOnArrival || this.core.roundsStopped) return
    const core = this.core
    core.stats.releasesOnArrivalBackward++
    this.backwardArrivedSinceDeadline = true
    try { this.releaseBackwardRound() } catch (err) { core.faulted('round', err, undefined) }
  }

  private releaseBackwardRound (): void {
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
