/**
 * What every cascade hop does with its predecessor: the common core of the mix and the exit.
 *
 * A hop accepts links from its predecessor (the entry: from clients), opens CREATE headers
 * with its onion key, refuses replays, keeps one `HopCircuit` per accepted CREATE, peels
 * forward RELAY cells, and releases its backward cells in rounds: every `roundMs`, on absolute
 * deadlines, all backward cells sealed since the last round leave in a uniform random
 * interleaving that keeps each circuit's order, one write per link (R9, R17).
 *
 * Failure semantics (DESIGN goal 3, R3, R5): a cell that fails authentication is dropped
 * silently and counted; a refused CREATE creates no state, and later cells on its ID are
 * dropped as unknown; a DESTROY ends the circuit here and is never relayed; a predecessor link
 * that fails ends every circuit on it alike, and nothing is sent downstream because of it
 * (telling the successor which circuits shared a link would link them). Circuits the
 * predecessor abandoned expire after `circuitIdleMs` without cells.
 *
 * The exit uses this too: it is the last hop, whose forward output goes to TCP instead of to
 * a successor. Subclasses say what a peeled forward cell becomes (`onForward`).
 */
import { randomFill, type KeyPair } from '../crypto/index.js'
import { CELL_HEADER_BYTES, type Geometry } from '../protocol/geometry.js'
import { CellCommand, cellCircuitId, cellCommand, writeCellHeader } from '../protocol/cell.js'
import { ProtocolError } from '../protocol/errors.js'
import { openOnion, type OnionContext } from '../protocol/onion.js'
import { BackwardSealer, ForwardPeeler } from '../protocol/relay-layers.js'
import type { Logger } from '../node/logger.js'
import type { CellLink, CellLinkHandlers } from '../link/cell-link.js'
import { HopCircuit } from './hop-circuit.js'
import { Interleaver } from './interleave.js'
import { RoundStrategy, type MixStrategy } from './strategy.js'
import { UniformPool } from './uniform-pool.js'
import { ReplayTable } from './replay-table.js'
import { RoundClock } from './round-clock.js'

export interface HopOptions {
  readonly geometry: Geometry
  /** 1 = entry mix … hops = exit. */
  readonly position: number
  readonly cascadeId: Uint8Array
  readonly epoch: number
  readonly onionKey: KeyPair
  readonly roundMs: number
  readonly logger: Logger
  /** Tags the replay table holds before it refuses new CREATEs (never evicts). */
  readonly replayCapacity?: number
  readonly maxCircuits?: number
  readonly maxCircuitsPerLink?: number
  readonly circuitIdleMs?: number
  /** Cells one link may deliver in one round before its input is paused until the next. */
  readonly maxCellsPerLinkPerRound?: number
  /**
   * A predecessor that reads so slowly that this many bytes wait for it is closed (its
   * circuits end alike): one slow reader must not make the node buffer without bound.
   */
  readonly maxLinkBacklogBytes?: number
}

/** Aggregate counters only: nothing per circuit (R19). */
export class HopStats {
  cellsIn = 0
  cellsOut = 0
  rounds = 0
  lastForwardBatch = 0
  lastBackwardBatch = 0
  createsAccepted = 0
  createsRefusedAuth = 0
  createsRefusedReplay = 0
  createsRefusedFull = 0
  createsRefusedLimit = 0
  relayAuthFailures = 0
  unknownCircuitCells = 0
  malformedCells = 0
  destroysIn = 0
  circuitsExpired = 0
  linksAccepted = 0
  linksClosed = 0
  linksClosedSlow = 0
}

/** A cell waiting for its round, with the circuit it belongs to. */
export interface QueuedCell {
  readonly cell: Uint8Array
  readonly circuit: HopCircuit
}

interface LinkState {
  readonly link: CellLink
  readonly circuits: Map<number, HopCircuit>
  cellsThisRound: number
  paused: boolean
}

export abstract class HopNode {
  readonly stats = new HopStats()
  protected readonly geometry: Geometry
  protected readonly position: number
  protected readonly logger: Logger
  protected readonly onion: OnionContext
  private readonly onionKey: KeyPair
  private readonly replay: ReplayTable
  private readonly maxCircuits: number
  private readonly maxCircuitsPerLink: number
  private readonly circuitIdleMs: number
  private readonly maxCellsPerLinkPerRound: number
  private readonly maxLinkBacklogBytes: number
  /** Set while the successor is backpressured: predecessors are not read until it drains. */
  private forwardBlocked = false
  private readonly links = new Map<CellLink, LinkState>()
  private circuitCount = 0
  /** Free dense labels for the interleaver. */
  private readonly freeSlots: number[] = []
  private nextSlot = 0
  /** The round shuffle draws from bulk CSPRNG output (per-draw libsodium calls cost ~7 µs). */
  protected readonly interleaver = new Interleaver({ uniform: new UniformPool(randomFill).uniform })
  private readonly clock: RoundClock
  private sweepTimer: NodeJS.Timeout | undefined
  /** Backward cells sealed since the last round, released by the strategy. */
  private readonly backward: MixStrategy<QueuedCell>
  private readonly backwardOut: QueuedCell[] = []

  constructor (options: HopOptions) {
    this.geometry = options.geometry
    this.position = options.position
    this.logger = options.logger
    this.onion = { geometry: options.geometry, cascadeId: options.cascadeId, epoch: options.epoch }
    this.onionKey = options.onionKey
    this.replay = new ReplayTable({ capacity: options.replayCapacity ?? (1 << 18) })
    this.maxCircuits = options.maxCircuits ?? 65536
    this.maxCircuitsPerLink = options.maxCircuitsPerLink ?? 4096
    this.circuitIdleMs = options.circuitIdleMs ?? 10 * 60_000
    this.maxCellsPerLinkPerRound = options.maxCellsPerLinkPerRound ?? 4096
    this.maxLinkBacklogBytes = options.maxLinkBacklogBytes ?? 64 * 1024 * 1024
    this.clock = new RoundClock({ periodMs: options.roundMs, onRound: () => this.round() })
    this.backward = this.newStrategy()
  }

  /** The mixing strategy for one direction: rounds over circuits (strategy.ts). */
  protected newStrategy (): MixStrategy<QueuedCell> {
    return new RoundStrategy<QueuedCell>((queued) => queued.circuit.slot, this.interleaver)
  }

  /** Start the round clock and the idle sweep. */
  protected startRounds (): void {
    this.clock.start()
    const every = Math.max(1000, Math.min(30_000, this.circuitIdleMs / 4))
    this.sweepTimer = setInterval(() => this.sweepIdle(), every)
    this.sweepTimer.unref()
  }

  protected stopRounds (): void {
    this.clock.stop()
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer)
  }

  get circuits (): number { return this.circuitCount }
  get predecessorLinks (): number { return this.links.size }

  // --- predecessor links ----------------------------------------------------------------

  /** Take a new link from the predecessor; returns the handlers to attach to it. */
  attachPredecessor (link: CellLink): CellLinkHandlers {
    const state: LinkState = { link, circuits: new Map(), cellsThisRound: 0, paused: false }
    if (this.forwardBlocked) { state.paused = true; link.pauseInput() }
    this.links.set(link, state)
    this.stats.linksAccepted++
    return {
      onCell: (cell) => this.fromPredecessor(state, cell),
      onClose: (reason) => {
        // A link that failed authentication or sent garbage is worth a warning; an ordinary
        // close is not. No address is logged (R19).
        if (reason === 'closed' || reason === 'LINK_CLOSED') this.logger.debug('link.closed', { reason })
        else this.logger.warn('link.failed', { reason })
        this.predecessorClosed(state)
      },
    }
  }

  /** Close every predecessor link (this node can no longer carry their circuits). */
  protected closePredecessors (): void {
    for (const state of [...this.links.values()]) state.link.close()
  }

  private predecessorClosed (state: LinkState): void {
    if (this.links.get(state.link) !== state) return
    this.links.delete(state.link)
    this.stats.linksClosed++
    for (const circuit of [...state.circuits.values()]) this.endCircuit(circuit)
  }

  private fromPredecessor (state: LinkState, cell: Uint8Array): void {
    this.stats.cellsIn++
    if (++state.cellsThisRound >= this.maxCellsPerLinkPerRound && !state.paused) {
      state.paused = true
      state.link.pauseInput()
    }
    const command = cellCommand(cell)
    if (command === CellCommand.PADDING) return
    const circuitId = cellCircuitId(cell)
    if (circuitId === 0) { this.stats.malformedCells++; return }
    const body = cell.subarray(CELL_HEADER_BYTES)
    const circuit = state.circuits.get(circuitId)
    switch (command) {
      case CellCommand.CREATE:
        if (circuit !== undefined) { this.stats.malformedCells++; return }
        this.create(state, circuitId, body)
        return
      case CellCommand.RELAY: {
        if (circuit === undefined) { this.stats.unknownCircuitCells++; return }
        const peeled = this.peelForward(circuit, body)
        if (peeled === null) { this.stats.relayAuthFailures++; return }
        circuit.lastActivity = Date.now()
        this.onForward(circuit, peeled)
        return
      }
      case CellCommand.DESTROY:
        this.stats.destroysIn++
        if (circuit !== undefined) this.endCircuit(circuit)
        return
      default:
        this.stats.malformedCells++
    }
  }

  /** Peel one forward layer; a mix writes the result straight into its outgoing cell. */
  protected abstract peelForward (circuit: HopCircuit, body: Uint8Array): Uint8Array | null

  private create (state: LinkState, inId: number, body: Uint8Array): void {
    if (this.circuitCount >= this.maxCircuits || state.circuits.size >= this.maxCircuitsPerLink) {
      this.stats.createsRefusedLimit++
      return
    }
    let opened
    try {
      opened = openOnion(this.onionKey, this.position, body, this.onion)
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err
      this.stats.createsRefusedAuth++
      return
    }
    const verdict = this.replay.checkAndInsert(opened.replayTag)
    if (verdict !== 'fresh') {
      opened.keys.forward.fill(0); opened.keys.backward.fill(0)
      if (verdict === 'replay') this.stats.createsRefusedReplay++
      else this.stats.createsRefusedFull++
      return
    }
    const slot = this.freeSlots.pop() ?? this.nextSlot++
    const circuit = new HopCircuit(slot, state.link, inId,
      new ForwardPeeler(this.geometry, this.position, opened.keys.forward),
      new BackwardSealer(this.geometry, this.position, opened.keys.backward), Date.now())
    if (!this.onCreated(circuit, opened.next)) {
      this.freeSlots.push(slot)
      circuit.peeler.wipe(); circuit.sealer.wipe()
      this.stats.createsRefusedLimit++
      return
    }
    state.circuits.set(inId, circuit)
    this.circuitCount++
    this.stats.createsAccepted++
  }

  /** A CREATE was accepted: set the circuit up downstream (`next` is null at the exit). */
  protected abstract onCreated (circuit: HopCircuit, next: Uint8Array | null): boolean
  /** A forward cell peeled: the body for the successor (mix) or the relay payload (exit). */
  protected abstract onForward (circuit: HopCircuit, peeled: Uint8Array): void
  /** The circuit ended here: release what the subclass holds for it. */
  protected abstract onEnded (circuit: HopCircuit): void

  /** End a circuit at this hop: forget it, wipe its keys. Nothing is sent anywhere. */
  protected endCircuit (circuit: HopCircuit): void {
    if (circuit.ended) return
    circuit.ended = true
    const state = this.links.get(circuit.inLink)
    if (state?.circuits.get(circuit.inId) === circuit) state.circuits.delete(circuit.inId)
    this.circuitCount--
    this.freeSlots.push(circuit.slot)
    circuit.peeler.wipe()
    circuit.sealer.wipe()
    this.onEnded(circuit)
  }

  private sweepIdle (): void {
    const oldest = Date.now() - this.circuitIdleMs
    for (const state of this.links.values()) {
      for (const circuit of [...state.circuits.values()]) {
        if (circuit.lastActivity < oldest) {
          this.stats.circuitsExpired++
          this.endCircuit(circuit)
        }
      }
    }
  }

  // --- backward -------------------------------------------------------------------------

  /**
   * Seal a backward cell for `circuit` now and release it with the next round. `inner` is the
   * successor's body (mix), the relay payload (exit), or null for a PAD of this hop's own.
   */
  queueBackward (circuit: HopCircuit, inner: Uint8Array | null): void {
    if (circuit.ended) return
    const cell = new Uint8Array(this.geometry.cellSize)
    circuit.sealer.seal(inner, cell.subarray(CELL_HEADER_BYTES))
    writeCellHeader(cell, circuit.inId, CellCommand.RELAY)
    circuit.lastActivity = Date.now()
    this.backward.add({ cell, circuit })
  }

  private round (): void {
    this.stats.rounds++
    this.flushForward()
    this.flushBackward()
    for (const state of this.links.values()) {
      state.cellsThisRound = 0
      if (state.paused && !this.forwardBlocked) { state.paused = false; state.link.resumeInput() }
    }
  }

  /**
   * The successor cannot take more for now: stop reading every predecessor until it drains
   * (TCP backpressure passes upstream instead of piling up here).
   */
  protected blockForward (): void {
    if (this.forwardBlocked) return
    this.forwardBlocked = true
    for (const state of this.links.values()) {
      if (!state.paused) { state.paused = true; state.link.pauseInput() }
    }
  }

  protected unblockForward (): void {
    if (!this.forwardBlocked) return
    this.forwardBlocked = false
    for (const state of this.links.values()) {
      if (state.paused) { state.paused = false; state.link.resumeInput() }
    }
  }

  /** Release this round's forward cells (the mix's successor side). */
  protected abstract flushForward (): void

  private flushBackward (): void {
    this.stats.lastBackwardBatch = this.backward.pending
    if (this.backward.pending === 0) return
    const order = this.backwardOut
    this.backward.flush(order)
    // One batch per link, in the round's shuffled order; one write each.
    const batches = new Map<CellLink, Uint8Array[]>()
    for (const { cell, circuit } of order) {
      if (circuit.ended) continue
      let batch = batches.get(circuit.inLink)
      if (batch === undefined) { batch = []; batches.set(circuit.inLink, batch) }
      batch.push(cell)
    }
    order.length = 0
    for (const [link, batch] of batches) {
      if (!link.isOpen) continue
      link.send(batch)
      this.stats.cellsOut += batch.length
      if (link.backlogBytes > this.maxLinkBacklogBytes) {
        this.stats.linksClosedSlow++
        this.logger.warn('link.too_slow', { backlogBytes: link.backlogBytes })
        link.close()
      }
    }
  }
}

