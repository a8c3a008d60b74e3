/**
 * A mix's forward output: the link to its successor (docs/HOP.md "The mix"). Each accepted
 * CREATE is re-sent on a fresh random circuit ID (R9), each RELAY is peeled into a cell for
 * the successor, and a round's forward cells leave in one write, uniformly interleaved with
 * per-circuit order kept; unshaped, `minBatch` pads a round with PADDING (R8); shaped, every
 * released circuit carries exactly its schedule. Cells from the successor go back through
 * the hop core. If the successor link fails, every circuit ends alike, every predecessor link
 * is closed, and the mix redials with backoff (PROTOCOL.md §11.2).
 */
import { CellCommand, cellCircuitId, cellCommand, encodeCell, encodePadding, randomCircuitId, writeCellHeader } from '../protocol/cell.js'
import { CELL_HEADER_BYTES } from '../protocol/geometry.js'
import type { CellLink, CellLinkHandlers } from '../link/cell-link.js'
import type { ForwardOutput, QueuedCell } from '../hop/forward-output.js'
import type { HopCircuit } from '../hop/hop-circuit.js'
import type { HopCore } from '../hop/hop-core.js'
import type { HopOptions } from '../hop/hop-options.js'
import { RoundBatch } from '../hop/round-batch.js'
import { linkDrain, mayDrainInto } from '../hop/link-drain.js'
import { RoundStrategy, type MixStrategy } from '../hop/strategy.js'
import { Redial } from '../link/redial.js'

/** Ended circuits remembered for `endedLately` (the oldest is forgotten first). */
const ENDED_REMEMBERED = 4096
const AFTER_END_MARGIN_MS = 2000

export interface SuccessorOptions {
  /** Open the link to the successor; the handlers receive its cells and its end. */
  readonly connectSuccessor: (handlers: CellLinkHandlers) => Promise<CellLink>
  /** Pad each forward round to at least this many cells (0 = off). */
  readonly minBatch?: number
  /** Longest wait between successor redials. */
  readonly maxRedialMs?: number
}

export class SuccessorOutput implements ForwardOutput {
  readonly leavesAtOnce = false
  successorConnects = 0
  successorFailures = 0
  protected readonly core: HopCore
  private readonly connectSuccessor: SuccessorOptions['connectSuccessor']
  private readonly minBatch: number
  private successor: CellLink | null = null
  private readonly outCircuits = new Map<number, HopCircuit>()
  /**
   * Circuits ended here lately, by outgoing ID, with the time (ms) until which the successor's
   * cells for them count as after their end: shaped, the successor keeps a circuit some rounds
   * past the client's DESTROY (R5, PROTOCOL.md §12.7), and its last rounds of it are no sign of
   * a fault. In ending order; at most ENDED_REMEMBERED.
   */
  private readonly endedLately = new Map<number, number>()
  private readonly afterEndMs: number
  /** Unshaped: the forward cells since the last round, and the round's release order. */
  private readonly unshaped: MixStrategy<QueuedCell>
  private readonly forwardOut: QueuedCell[] = []
  private readonly dropped: QueuedCell[] = []
  private running = false
  private readonly redial: Redial
  /** PADDING is the same constant cell every time (the link copies it into each batch it seals). */
  private readonly padding: Uint8Array
  /** Shaped: this round's forward cells (reused every round). */
  private readonly shaped: RoundBatch
  private readonly forwardBatch: Uint8Array[] = []

  constructor (core: HopCore, options: SuccessorOptions & Pick<HopOptions, 'geometry'>) {
    this.core = core
    this.connectSuccessor = options.connectSuccessor
    this.minBatch = options.minBatch ?? 0
    this.redial = new Redial(() => this.dial(), { maxMs: options.maxRedialMs ?? 5000 })
    this.padding = encodePadding(options.geometry)
    this.unshaped = new RoundStrategy<QueuedCell>((queued) => queued.circuit.slot, core.interleaver)
    this.shaped = new RoundBatch(core.interleaver)
    // The successor's grace past an end boundary (hops + 8 rounds) and the pipeline, twice over, and a margin for a slow link.
    this.afterEndMs = 2 * (options.geometry.hops + 16) * core.roundMs + AFTER_END_MARGIN_MS
  }

  get isUp (): boolean { return this.successor !== null }

  // --- the successor link -----------------------------------------------------------------

  start (): void {
    this.running = true
    this.dial()
  }

  stop (): void {
    this.running = false
    this.redial.stop()
  }

  /** Close the link (after the core stopped and closed the predecessors). */
  close (): void {
    this.successor?.close()
    this.successor = null
  }

  private dial (): void {
    if (!this.running) return
    const core = this.core
    const handlers: CellLinkHandlers = {
      onCell: (cell) => {
        try { this.fromSuccessor(cell) } catch (err) { core.faulted('successor', err, this.outCircuits.get(cellCircuitId(cell))) }
      },
      onClose: (reason) => this.successorLost(reason),
      onDrain: () => core.unblockForward(),
      onRoundEnd: (round, span) => core.backwardArrived(round, span),
    }
    this.connectSuccessor(handlers).then((link) => {
      if (!this.running) { link.close(); return }
      this.successor = link
      this.successorConnects++
      this.redial.succeeded()
      core.logger.info('successor.connected')
    }, (err: Error) => {
      this.successorFailures++
      core.logger.warn('successor.unreachable', { code: (err as { code?: string }).code ?? 'ERROR', retryMs: this.redial.nextMs })
      if (this.running) this.redial.schedule()
    })
  }

  private successorLost (reason: string): void {
    if (this.successor === null) return
    this.successor = null
    this.successorFailures++
    this.core.logger.warn('successor.lost', { reason, circuits: this.outCircuits.size })
    // Every circuit goes through the successor: all end alike.
    for (const circuit of [...this.outCircuits.values()]) this.core.endCircuit(circuit)
    this.unshaped.flush(this.dropped) // dropped: their circuits have ended
    this.dropped.length = 0
    this.core.unblockForward()
    this.core.closePredecessors()
    if (this.running) this.redial.schedule()
  }

  private fromSuccessor (cell: Uint8Array): void {
    const core = this.core
    core.stats.cellsIn++
    const command = cellCommand(cell)
    if (command === CellCommand.PADDING) return
    const id = cellCircuitId(cell)
    const circuit = this.outCircuits.get(id)
    if (circuit === undefined) {
      if (this.endedLately.size > 0 && this.endedLatelyHas(id)) core.stats.cellsAfterEnd++
      else core.stats.unknownCircuitCells++
      return
    }
    if (command === CellCommand.RELAY) {
      // Shaped: the whole cell waits, and is sealed in place when its slot comes.
      if (circuit.shape !== null) core.pushBackward(circuit, cell)
      else core.queueBackward(circuit, cell.subarray(CELL_HEADER_BYTES), cell)
    } else if (command === CellCommand.DESTROY) {
      // Link-local, never relayed; shaped, the circuit keeps its schedule until its end (R5).
      core.stats.destroysIn++
      core.destroyed(circuit)
    } else {
      core.stats.malformedCells++
    }
  }

  // --- forward ------------------------------------------------------------------------------

  created (circuit: HopCircuit, next: Uint8Array | null): boolean {
    if (this.successor === null || next === null) return false
    const outId = randomCircuitId((id) => this.outCircuits.has(id))
    circuit.outId = outId
    this.outCircuits.set(outId, circuit)
    const create = encodeCell(this.core.geometry, outId, CellCommand.CREATE, next)
    if (circuit.shape !== null) circuit.shape.create = create
    else if (circuit.held !== null) circuit.held.push(create) // first of its held cells: its tag is not durable yet
    else this.unshaped.add({ cell: create, circuit })
    return true
  }

  /** Peeled in place: the received cell (whose body is `body`, ours alone) becomes the outgoing one. */
  peel (circuit: HopCircuit, body: Uint8Array, received: Uint8Array): Uint8Array | null {
    if (circuit.peeler.peel(body, body) === null) return null
    writeCellHeader(received, circuit.outId, CellCommand.RELAY)
    return received
  }

  forward (circuit: HopCircuit, cell: Uint8Array): void {
    if (circuit.shape !== null) this.core.pushForward(circuit, cell)
    else this.unshaped.add({ cell, circuit })
  }

  ended (circuit: HopCircuit): void {
    if (this.outCircuits.get(circuit.outId) !== circuit) return
    this.outCircuits.delete(circuit.outId)
    const ended = this.endedLately
    ended.delete(circuit.outId)
    if (ended.size >= ENDED_REMEMBERED) ended.delete(ended.keys().next().value!)
    ended.set(circuit.outId, Date.now() + this.afterEndMs)
  }

  /** Whether `outId` is a circuit ended here lately; forgets those whose time is up. */
  private endedLatelyHas (outId: number): boolean {
    const now = Date.now()
    for (const [id, until] of this.endedLately) {
      if (until > now) break
      this.endedLately.delete(id)
    }
    return this.endedLately.has(outId)
  }

  silenced (): void {}

  nextBackward (circuit: HopCircuit): Uint8Array | undefined {
    return circuit.shape!.backward.shift()
  }

  /** Unshaped: this round's forward cells, topped up to `minBatch`, in one write. */
  sendRound (quiet = false): void {
    const core = this.core
    if (quiet && this.unshaped.pending === 0) return
    core.stats.lastForwardBatch = this.unshaped.pending
    const successor = this.successor
    // Without a successor the cells stay queued (successorLost drops them with their circuits).
    const cells = this.forwardOut
    if (successor !== null && this.unshaped.pending > 0) this.unshaped.flush(cells)
    if (successor === null || (cells.length === 0 && this.minBatch === 0)) {
      cells.length = 0
      core.roundObserver?.observeBatch(0, 'forward')
      return
    }
    const batch: Uint8Array[] = []
    for (const { cell, circuit } of cells) if (!circuit.ended) batch.push(cell)
    cells.length = 0
    const real = batch.length
    while (batch.length < this.minBatch) batch.push(this.padding)
    core.roundObserver?.observeBatch(batch.length, 'forward')
    if (batch.length > real) core.roundObserver?.countPadding(batch.length - real, 'forward')
    if (batch.length === 0) return
    this.send(successor, batch)
  }

  /**
   * Shaped: each released circuit's CREATE (once) and exactly its scheduled cells, queued ones
   * first and PADDING for the rest; a backlog drains for every circuit alike (link-drain.ts,
   * R1). Pipelined (§12.1): the client's round n is round n here, released at this hop's
   * forward phase, after the predecessor's release of the same round.
   */
  sendShapedRound (from: number, round: number): void {
    const core = this.core
    const successor = this.successor
    // Without a successor the cells stay queued (successorLost ends their circuits).
    if (successor === null) {
      core.roundObserver?.observeBatch(0, 'forward')
      return
    }
    const cells = this.shaped
    cells.clear()
    let padding = 0
    const open = mayDrainInto(successor.backlogBytes)
    const drain = open ? linkDrain(this.outCircuits, round, 'forward', round - from) : 0
    core.stats.drainRoundsForward += drain
    const start = !open ? round : drain === 0 ? from : Math.min(from, round - drain)
    for (const circuit of this.outCircuits.values()) {
      const shape = circuit.shape
      if (shape === null || circuit.ended || !shape.released) continue
      if (shape.create !== null) {
        cells.add(shape.create, circuit.slot)
        shape.create = null
      }
      const due = shape.cellsFor(start, round, 'forward')
      let sent = 0
      for (; sent < due; sent++) {
        const cell = shape.forward.shift()
        if (cell === undefined) break
        cells.add(cell, circuit.slot)
      }
      padding += due - sent
    }
    const batch = this.forwardBatch
    cells.shuffleInto(batch)
    for (let i = 0; i < padding; i++) batch.push(this.padding)
    core.stats.lastForwardBatch = batch.length
    core.stats.paddingOut += padding
    core.roundObserver?.observeBatch(batch.length, 'forward')
    if (padding > 0) core.roundObserver?.countPadding(padding, 'forward')
    this.send(successor, batch, round, round - start)
  }

  /**
   * One round's write to the successor. Past `maxLinkBacklogBytes` waiting, the link fails: a
   * shaped round (and `minBatch` padding) writes whatever the successor reads, so without the
   * bound a successor that reads nothing would grow this mix's memory without end.
   */
  private send (successor: CellLink, cells: Uint8Array[], round = 0, span = 0): void {
    const core = this.core
    if (!successor.send(cells, round, span)) core.blockForward()
    core.stats.cellsOut += cells.length
    if (successor.backlogBytes <= core.maxLinkBacklogBytes) return
    core.stats.linksClosedSlow++
    core.logger.warn('successor.too_slow', { backlogBytes: successor.backlogBytes })
    successor.close()
    this.successorLost('too_slow')
  }
}
