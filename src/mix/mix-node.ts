/**
 * A mix: the same code at every position of the cascade but the last.
 *
 * Forward: each accepted CREATE is re-sent to the successor on a fresh random circuit ID
 * (R9), each RELAY is peeled into a new cell, and all of a round's forward cells leave in one
 * write, uniformly interleaved with per-circuit order kept. Backward: cells from the successor
 * are sealed with this hop's layer and released with the next round (hop-node.ts).
 * Optional `minBatch` link padding tops a forward round up with PADDING cells: it hides round
 * sizes from passive observers of the link, and is no defence against an n−1 attack (R8).
 *
 * A CREATE whose replay tag is not yet durable (durable keys) waits with the cells behind it,
 * and leaves in the first round after its tag log append resolved (hop-node.ts); the rounds
 * themselves never wait.
 *
 * Shaped cascades (docs/PROTOCOL.md §12): a CREATE leaves when the kMin hold releases it
 * (which takes it only once its tag is durable), and from then on each round carries exactly
 * the circuit's scheduled number of cells toward the successor: its queued cells, and
 * PADDING for any shortfall, so that the successor link's frames per round are fixed by the
 * profile and the circuits on it.
 *
 * If the successor link fails, every circuit ends alike: the mix closes all predecessor links
 * (so clients notice at once and uniformly), refuses new ones, and redials with backoff. A
 * successor that stops reading fails it too, once more than `maxLinkBacklogBytes` wait to be
 * written to it: a shaped round (and `minBatch` padding) goes on writing its schedule whatever
 * the successor does, and pausing our predecessors does not stop that, so without the bound a
 * successor that reads nothing would grow this mix's memory without end.
 */
import { CellCommand, cellCircuitId, cellCommand, encodeCell, encodePadding, randomCircuitId, writeCellHeader } from '../protocol/cell.js'
import { CELL_HEADER_BYTES } from '../protocol/geometry.js'
import type { CellLink, CellLinkHandlers } from '../link/cell-link.js'
import type { HopCircuit } from './hop-circuit.js'
import { drainRounds, excessRounds, HopNode, type HopOptions, type QueuedCell } from './hop-node.js'
import type { MixStrategy } from './strategy.js'

export interface MixOptions extends HopOptions {
  /** Open the link to the successor; the handlers receive its cells and its end. */
  readonly connectSuccessor: (handlers: CellLinkHandlers) => Promise<CellLink>
  /** Pad each forward round to at least this many cells (0 = off). */
  readonly minBatch?: number
  /** Longest wait between successor redials. */
  readonly maxRedialMs?: number
}

export class MixNode extends HopNode {
  private readonly connectSuccessor: MixOptions['connectSuccessor']
  private readonly minBatch: number
  private readonly maxRedialMs: number
  private successor: CellLink | null = null
  private readonly outCircuits = new Map<number, HopCircuit>()
  private readonly forward: MixStrategy<QueuedCell>
  private readonly dropped: QueuedCell[] = []
  private running = false
  private redialTimer: NodeJS.Timeout | undefined
  private redialMs = 100
  private readonly padding: Uint8Array
  /** Shaped: this round's forward cells (reused every round). */
  private readonly forwardBatch: Uint8Array[] = []
  private lastPadding = 0
  successorConnects = 0
  successorFailures = 0

  constructor (options: MixOptions) {
    super(options)
    this.connectSuccessor = options.connectSuccessor
    this.minBatch = options.minBatch ?? 0
    this.maxRedialMs = options.maxRedialMs ?? 5000
    this.padding = encodePadding(this.geometry)
    this.forward = this.newStrategy()
  }

  get successorUp (): boolean { return this.successor !== null }

  start (): void {
    this.running = true
    this.startRounds()
    this.dial()
  }

  async stop (): Promise<void> {
    this.running = false
    if (this.redialTimer !== undefined) clearTimeout(this.redialTimer)
    await this.stopRounds()
    this.closePredecessors()
    this.successor?.close()
    this.successor = null
  }

  override attachPredecessor (link: CellLink): CellLinkHandlers {
    if (this.successor === null) {
      // Nothing could be carried: refuse rather than accept circuits that would vanish.
      link.close()
      return { onCell: () => {}, onClose: () => {} }
    }
    return super.attachPredecessor(link)
  }

  // --- successor link -------------------------------------------------------------------

  private dial (): void {
    if (!this.running) return
    const handlers: CellLinkHandlers = {
      onCell: (cell) => {
        if (!this.guarded('successor', () => this.fromSuccessor(cell))) this.faulted(this.outCircuits.get(cellCircuitId(cell)))
      },
      onClose: (reason) => this.successorLost(reason),
      onDrain: () => this.unblockForward(),
    }
    this.connectSuccessor(handlers).then((link) => {
      if (!this.running) { link.close(); return }
      this.successor = link
      this.successorConnects++
      this.redialMs = 100
      this.logger.info('successor.connected')
    }, (err: Error) => {
      this.successorFailures++
      this.logger.warn('successor.unreachable', { code: (err as { code?: string }).code ?? 'ERROR', retryMs: this.redialMs })
      this.scheduleRedial()
    })
  }

  private scheduleRedial (): void {
    if (!this.running) return
    this.redialTimer = setTimeout(() => this.dial(), this.redialMs)
    this.redialTimer.unref()
    this.redialMs = Math.min(this.maxRedialMs, this.redialMs * 2)
  }

  private successorLost (reason: string): void {
    if (this.successor === null) return
    this.successor = null
    this.successorFailures++
    this.logger.warn('successor.lost', { reason, circuits: this.outCircuits.size })
    // Every circuit goes through the successor: all end alike.
    for (const circuit of [...this.outCircuits.values()]) this.endCircuit(circuit)
    this.forward.flush(this.dropped) // dropped: their circuits have ended
    this.dropped.length = 0
    this.unblockForward()
    this.closePredecessors()
    this.scheduleRedial()
  }

  private fromSuccessor (cell: Uint8Array): void {
    this.stats.cellsIn++
    const command = cellCommand(cell)
    if (command === CellCommand.PADDING) return
    const circuit = this.outCircuits.get(cellCircuitId(cell))
    if (circuit === undefined) { this.stats.unknownCircuitCells++; return }
    if (command === CellCommand.RELAY) {
      // Shaped: the whole cell waits, and is sealed in place when its slot comes.
      if (circuit.shape !== null) this.pushBackward(circuit, cell)
      else this.queueBackward(circuit, cell.subarray(CELL_HEADER_BYTES))
    } else if (command === CellCommand.DESTROY) {
      // Link-local, never relayed; shaped, the circuit keeps its schedule until its end (R5).
      this.stats.destroysIn++
      this.destroyed(circuit)
    } else {
      this.stats.malformedCells++
    }
  }

  // --- forward --------------------------------------------------------------------------

  protected onCreated (circuit: HopCircuit, next: Uint8Array | null): boolean {
    if (this.successor === null || next === null) return false
    const outId = randomCircuitId((id) => this.outCircuits.has(id))
    circuit.outId = outId
    this.outCircuits.set(outId, circuit)
    const create = encodeCell(this.geometry, outId, CellCommand.CREATE, next)
    if (circuit.shape !== null) circuit.shape.create = create
    else if (circuit.held !== null) circuit.held.push(create) // first of its held cells: its tag is not durable yet
    else this.forward.add({ cell: create, circuit })
    return true
  }

  protected peelForward (circuit: HopCircuit, body: Uint8Array, received?: Uint8Array): Uint8Array | null {
    if (circuit.shape !== null && received !== undefined) {
      // Peel in place: the received cell (whose body is `body`) becomes the outgoing one.
      if (circuit.peeler.peel(body, body) === null) return null
      writeCellHeader(received, circuit.outId, CellCommand.RELAY)
      return received
    }
    const cell = new Uint8Array(this.geometry.cellSize)
    if (circuit.peeler.peel(body, cell.subarray(CELL_HEADER_BYTES)) === null) return null
    writeCellHeader(cell, circuit.outId, CellCommand.RELAY)
    return cell
  }

  protected onForward (circuit: HopCircuit, cell: Uint8Array): void {
    if (circuit.shape !== null) this.pushForward(circuit, cell)
    else this.forward.add({ cell, circuit })
  }

  /**
   * Shaped round `round`: each released circuit's (tag durable, out of the kMin hold) CREATE
   * (once) and exactly its scheduled cells, queued ones first and PADDING for the rest; a
   * backlog drains for all circuits alike, so a predecessor's burst never shows as its circuit's (R1).
   * Each hop delays a cell by one round, so the client's round n is round n + position here.
   */
  protected override shapeForward (from: number, round: number): Uint8Array[] | null {
    // Without a successor the cells stay queued (successorLost ends their circuits).
    if (this.successor === null) return null
    const lag = this.position
    const cells = this.roundCells
    const labels = this.roundLabels
    cells.length = 0
    labels.length = 0
    let padding = 0
    // A backlog drains for every circuit of the link alike (hop-node.ts MAX_DRAIN_ROUNDS, R1).
    let excess = 0
    for (const circuit of this.outCircuits.values()) {
      const shape = circuit.shape
      if (shape === null || circuit.ended || !shape.released || shape.forward.length === 0) continue
      const rounds = excessRounds(shape.forward.length, shape.rateAt(round - lag))
      if (rounds > excess) excess = rounds
    }
    const drain = drainRounds(excess)
    this.stats.drainRoundsForward += drain
    const start = drain === 0 ? from : Math.min(from, round - drain)
    for (const circuit of this.outCircuits.values()) {
      const shape = circuit.shape
      if (shape === null || circuit.ended || !shape.released) continue
      if (shape.create !== null) {
        cells.push(shape.create)
        labels.push(circuit.slot)
        shape.create = null
      }
      const due = shape.cellsFor(start - lag, round - lag)
      let sent = 0
      for (; sent < due; sent++) {
        const cell = shape.forward.shift()
        if (cell === undefined) break
        cells.push(cell)
        labels.push(circuit.slot)
      }
      padding += due - sent
    }
    const batch = this.forwardBatch
    this.interleave(batch)
    // PADDING is the same constant cell every time (the link seals a copy of it per frame).
    for (let i = 0; i < padding; i++) batch.push(this.padding)
    this.lastPadding = padding
    this.stats.lastForwardBatch = batch.length
    this.stats.paddingOut += padding
    return batch
  }

  protected override sendShapedForward (cells: Uint8Array[] | null): void {
    const successor = this.successor
    if (successor === null || cells === null) {
      this.roundObserver?.observeBatch(0, 'forward')
      return
    }
    this.roundObserver?.observeBatch(cells.length, 'forward')
    if (this.lastPadding > 0) this.roundObserver?.countPadding(this.lastPadding, 'forward')
    this.sendToSuccessor(successor, cells)
  }

  protected onEnded (circuit: HopCircuit): void {
    if (this.outCircuits.get(circuit.outId) === circuit) this.outCircuits.delete(circuit.outId)
  }

  protected takeForward (out: QueuedCell[]): void {
    this.stats.lastForwardBatch = this.forward.pending
    // Without a successor the cells stay queued (successorLost drops them with their circuits).
    if (this.successor === null || this.forward.pending === 0) return
    this.forward.flush(out)
  }

  protected sendForward (cells: readonly QueuedCell[]): void {
    const successor = this.successor
    if (successor === null || (cells.length === 0 && this.minBatch === 0)) {
      this.roundObserver?.observeBatch(0, 'forward')
      return
    }
    const batch: Uint8Array[] = []
    for (const { cell, circuit } of cells) if (!circuit.ended) batch.push(cell)
    const real = batch.length
    while (batch.length < this.minBatch) batch.push(this.padding)
    this.roundObserver?.observeBatch(batch.length, 'forward')
    if (batch.length > real) this.roundObserver?.countPadding(batch.length - real, 'forward')
    if (batch.length === 0) return
    this.sendToSuccessor(successor, batch)
  }

  /** One round's write to the successor; past the backlog bound the link fails (top comment). */
  private sendToSuccessor (successor: CellLink, cells: Uint8Array[]): void {
    if (!successor.send(cells)) this.blockForward()
    this.stats.cellsOut += cells.length
    if (successor.backlogBytes <= this.maxLinkBacklogBytes) return
    this.stats.linksClosedSlow++
    this.logger.warn('successor.too_slow', { backlogBytes: successor.backlogBytes })
    successor.close()
    this.successorLost('too_slow')
  }
}
