/**
 * The hop core: what every hop of the cascade does with its predecessor, mix and exit alike
 * (docs/HOP.md). It takes links from the predecessor, dispatches their cells, keeps one
 * `HopCircuit` per accepted CREATE, ends, silences and quarantines circuits, and runs the
 * rounds that release the backward direction. What differs between a mix and the exit,
 * where forward cells go, is the `ForwardOutput` it is given (forward-output.ts).
 *
 * A cell from the predecessor: `attachPredecessor` → `fromPredecessor` → `dispatch` →
 * CREATE: `admission.admit` → `openCreate` · RELAY: `output.peel` → `output.forward` ·
 * DESTROY: `destroyed`. Failure semantics: PROTOCOL.md §11.2 (R3, R5).
 */
import { randomFill } from '../crypto/index.js'
import { CELL_HEADER_BYTES, type Geometry } from '../protocol/geometry.js'
import { CellCommand, cellCircuitId, cellCommand } from '../protocol/cell.js'
import { BackwardSealer, ForwardPeeler } from '../protocol/relay-layers.js'
import { decodeBackwardRung, decodeForwardRung, roundAt, rungRequestParity, type ShapingParams } from '../protocol/shaping.js'
import type { Logger } from '../base/logger.js'
import type { EpochSchedule } from '../protocol/epoch.js'
import type { RoundObserver } from './hop-metrics.js'
import { InputFaults } from '../base/input-faults.js'
import type { CellLink, CellLinkHandlers } from '../link/cell-link.js'
import { CreateAdmission, type AdmissionHost } from './create-admission.js'
import type { ForwardOutput } from './forward-output.js'
import { HopCircuit } from './hop-circuit.js'
import { DEFAULT_MAX_QUEUED_CELLS, QUARANTINE_ROUNDS, SHAPED_QUEUE_FACTOR, type HopOptions } from './hop-options.js'
import { HopStats } from './hop-stats.js'
import { Interleaver } from './interleave.js'
import { newLinkState, PredecessorLinks, quarantined, type LinkState } from './predecessor-link.js'
import { hopClocks, type HopClocks } from './hop-clocks.js'
import type { HopRounds, RoundsHost } from './rounds.js'
import { writeRound } from '../protocol/round-phase.js'
import { ShapedRounds } from './shaped-rounds.js'
import { UniformPool } from './uniform-pool.js'
import { UnshapedRounds } from './unshaped-rounds.js'

export class HopCore<O extends ForwardOutput = ForwardOutput> implements AdmissionHost, RoundsHost {
  readonly stats = new HopStats()
  readonly geometry: Geometry
  /** 1 = entry mix … hops = exit. */
  readonly position: number
  readonly logger: Logger
  readonly roundMs: number
  /** The cascade's shaping, or null for profile off. */
  readonly shaping: ShapingParams | null
  readonly maxQueuedCells: number
  readonly maxShapedQueuedCells: number // at least, per direction (hop-options.ts SHAPED_QUEUE_FACTOR)
  readonly maxLinkBacklogBytes: number
  /** Where forward cells go: the mix's successor, the exit's streams. */
  readonly output: O
  readonly links: PredecessorLinks
  /** The round shuffle draws from bulk CSPRNG output (per-draw libsodium calls cost ~7 µs). */
  readonly interleaver = new Interleaver({ uniform: new UniformPool(randomFill).uniform })
  /** The admin server's round reporter (metrics), while one is attached. */
  roundObserver: RoundObserver | undefined
  private readonly admission: CreateAdmission
  private readonly rounds: HopRounds
  private readonly clock: HopClocks
  private readonly keySource: HopOptions['onionKeys']
  private readonly maxCircuits: number
  private readonly maxCircuitsPerLink: number
  private readonly circuitIdleMs: number
  private readonly maxCellsPerLinkPerRound: number
  private readonly linkIdleMs: number
  private readonly dropForward: ((cell: Uint8Array) => boolean) | undefined
  /** Exceptions from handling peers' input, caught and counted (input-faults.ts). */
  private readonly faults: InputFaults
  private circuitCount = 0
  /** Free dense labels for the interleaver. */
  private readonly freeSlots: number[] = []
  private nextSlot = 0
  roundsStopped = false
  private sweepTimer: NodeJS.Timeout | undefined

  /** `makeOutput` builds the forward output from the core it serves (called once, here). */
  constructor (options: HopOptions, makeOutput: (core: HopCore) => O) {
    this.geometry = options.geometry
    this.position = options.position
    this.logger = options.logger
    this.roundMs = options.roundMs
    this.keySource = options.onionKeys
    this.maxCircuits = options.maxCircuits ?? 65536
    this.maxCircuitsPerLink = options.maxCircuitsPerLink ?? 4096
    this.circuitIdleMs = options.circuitIdleMs ?? 10 * 60_000
    this.maxCellsPerLinkPerRound = options.maxCellsPerLinkPerRound ?? 4096
    this.maxLinkBacklogBytes = options.maxLinkBacklogBytes ?? 64 * 1024 * 1024
    this.maxQueuedCells = options.maxQueuedCells ?? DEFAULT_MAX_QUEUED_CELLS
    this.maxShapedQueuedCells = SHAPED_QUEUE_FACTOR * this.maxQueuedCells
    this.linkIdleMs = options.linkIdleMs ?? 300_000
    this.dropForward = options.testFaults?.dropForward
    this.faults = new InputFaults(options.logger)
    this.links = new PredecessorLinks(options.logger, this.stats)
    const shaping = options.shaping !== undefined && options.shaping.profile !== 'off' ? options.shaping : null
    this.shaping = shaping
    this.rounds = shaping === null ? new UnshapedRounds(this) : new ShapedRounds(this, shaping)
    // A round acts on queued cells that peers chose: a bug they can trigger must not stop the clock.
    const rounds = this.rounds
    this.clock = hopClocks({
      roundMs: options.roundMs,
      position: options.position,
      ...(shaping === null ? {} : { shapedHops: options.geometry.hops }),
      runForward: (n) => { try { rounds.runForward(n) } catch (err) { this.faulted('round', err, undefined) } },
      runBackward: (n) => { try { rounds.runBackward(n) } catch (err) { this.faulted('round', err, undefined) } },
    })
    this.output = makeOutput(this)
    this.admission = new CreateAdmission(options, this.stats, this)
  }

  get circuits (): number { return this.circuitCount }
  get lastRound (): number { return this.rounds.lastRound }
  /** Rounds the clock skipped because the process stalled a whole round or more (cumulative). */
  get missedRounds (): number { return this.clock.missedRounds }
  get predecessorLinks (): number { return this.links.size }
  get keyEpochs (): number[] { return this.admission.keyEpochs }
  replayTags (epoch: number): number { return this.admission.replayTags(epoch) }
  /** The epoch schedule of the onion keys (a shaped circuit ends with its epoch at the latest). */
  get keySchedule (): EpochSchedule { return this.keySource.schedule }

  /** Start the round clock and the idle sweep. */
  start (): void {
    this.clock.start()
    const every = Math.max(1000, Math.min(30_000, this.circuitIdleMs / 4, this.linkIdleMs / 4))
    this.sweepTimer = setInterval(() => this.sweepIdle(), every)
    this.sweepTimer.unref()
  }

  /** Stop the rounds: nothing more leaves; resolves once the tags accepted since the last round are logged. */
  async stop (): Promise<void> {
    this.roundsStopped = true
    this.clock.stop()
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer)
    this.links.close()
    await this.admission.close()
  }

  // --- predecessor links ----------------------------------------------------------------

  /** Take a new link from the predecessor; returns the handlers to attach to it. */
  attachPredecessor (link: CellLink): CellLinkHandlers {
    const now = Date.now()
    const state = newLinkState(link, this.admission.linkBucket(now), now)
    this.links.add(state)
    return {
      onCell: (cell) => {
        // try/catch, not a closure per cell: this runs for every cell.
        try { this.fromPredecessor(state, cell) } catch (err) { this.faulted('predecessor', err, state.circuits.get(cellCircuitId(cell))) }
      },
      onClose: (reason) => { if (this.links.remove(state, reason)) this.predecessorClosed(state) },
      onRoundEnd: (round, span) => this.rounds.forwardArrived(state, round, span),
    }
  }

  isAttached (state: LinkState): boolean { return this.links.isAttached(state) }

  /** Close every predecessor link (this node can no longer carry their circuits). */
  closePredecessors (): void { this.links.closeAll() }

  /** The link is gone: so are its carried CREATEs and its circuits, alike. */
  private predecessorClosed (state: LinkState): void {
    this.admission.forget(state)
    this.rounds.linkGone(state)
    for (const circuit of [...state.circuits.values()]) this.endCircuit(circuit)
  }

  private fromPredecessor (state: LinkState, cell: Uint8Array): void {
    this.stats.cellsIn++
    if (this.dropForward !== undefined && this.dropForward(cell)) return
    if (++state.cellsThisRound >= this.maxCellsPerLinkPerRound && !state.paused) {
      state.paused = true
      state.link.pauseInput()
    }
    this.dispatch(state, cell)
  }

  /** Act on one cell from the predecessor (also a cell that waited behind a carried CREATE). */
  dispatch (state: LinkState, cell: Uint8Array): void {
    const command = cellCommand(cell)
    if (command === CellCommand.PADDING) return
    const circuitId = cellCircuitId(cell)
    if (circuitId === 0) { this.stats.malformedCells++; return }
    // Per cell: look the ID up only while some CREATE of this link is carried (rare).
    const carried = state.carried.size === 0 ? undefined : state.carried.get(circuitId)
    if (carried !== undefined) {
      // Its CREATE waits for a later round: so does everything after it on this ID, in order.
      carried.after.push(cell)
      if (carried.after.length > this.maxQueuedCells) {
        state.carried.delete(circuitId)
        this.stats.circuitsOverQueue++
      }
      return
    }
    const body = cell.subarray(CELL_HEADER_BYTES)
    const circuit = state.circuits.get(circuitId)
    switch (command) {
      case CellCommand.CREATE:
        if (circuit !== undefined) { this.stats.malformedCells++; return }
        this.admission.admit(state, circuitId, body)
        return
      case CellCommand.RELAY: {
        if (circuit === undefined) { this.stats.unknownCircuitCells++; return }
        if (circuit.silenced) { this.stats.cellsDroppedSilenced++; return }
        const peeled = this.output.peel(circuit, body, cell)
        if (peeled === null) { this.stats.relayAuthFailures++; return }
        circuit.lastActivity = Date.now()
        const rungs = circuit.shape?.rungs
        if (rungs != null) {
          const control = circuit.peeler.lastControl
          const sent = writeRound(state.link.roundIn, circuit.lastActivity, this.roundMs)
          const parity = rungRequestParity(control)
          rungs.forward.request(decodeForwardRung(control), sent, parity)
          rungs.backward.request(decodeBackwardRung(control), sent, parity)
        }
        if (circuit.held === null) this.output.forward(circuit, peeled)
        else if (circuit.held.push(peeled) > this.maxQueuedCells) this.overQueue(circuit)
        return
      }
      case CellCommand.DESTROY:
        this.stats.destroysIn++
        if (circuit !== undefined) this.destroyed(circuit)
        return
      default:
        this.stats.malformedCells++
    }
  }

  // --- circuits -------------------------------------------------------------------------

  /** Open a CREATE (its round's budget allows it): refused (counted) or a new circuit. */
  openCreate (state: LinkState, inId: number, body: Uint8Array): void {
    if (this.circuitCount >= this.maxCircuits || state.circuits.size >= this.maxCircuitsPerLink) {
      this.stats.createsRefusedLimit++
      return
    }
    if (state.quarantine.size > 0 && quarantined(state, inId, roundAt(Date.now(), this.roundMs))) {
      this.stats.createsRefusedQuarantine++
      return
    }
    const accepted = this.admission.open(body)
    if (accepted === null) return
    const { opened, slot: keySlot } = accepted
    const slot = this.freeSlots.pop() ?? this.nextSlot++
    const circuit = new HopCircuit(slot, state.link, inId,
      new ForwardPeeler(this.geometry, this.position, opened.keys.forward),
      new BackwardSealer(this.geometry, this.position, opened.keys.backward), Date.now())
    const round = roundAt(circuit.lastActivity, this.roundMs)
    this.rounds.shapeCircuit(circuit, round)
    // With a durable key the tag is appended at the next round, and the circuit waits for it
    // (then, shaped, for the kMin hold). Its forward items wait in `held` meanwhile — except at
    // a shaped mix, whose forward queue keeps them (its rounds skip the circuit until released).
    circuit.awaitingLog = keySlot.key.log !== undefined
    const waits = circuit.awaitingLog || (circuit.shape !== null && this.rounds.holdsCreates)
    if (waits && (circuit.shape === null || this.output.leavesAtOnce)) circuit.held = []
    if (!this.output.created(circuit, opened.next)) {
      this.freeSlots.push(slot)
      circuit.peeler.wipe(); circuit.sealer.wipe()
      this.stats.createsRefusedLimit++
      return
    }
    circuit.epoch = keySlot.key.epoch
    if (circuit.awaitingLog) this.admission.awaitLog(keySlot, opened.replayTag, circuit)
    this.rounds.accepted(circuit, round)
    state.circuits.set(inId, circuit)
    this.circuitCount++
    this.stats.createsAccepted++
    this.stats.lastCreateEpoch = keySlot.key.epoch
    if (!circuit.awaitingLog) this.admit(circuit, round)
  }

  /** Their tags are durable: whatever they queued goes on from the next round, in order. */
  tagsDurable (circuits: readonly HopCircuit[]): void {
    const round = roundAt(Date.now(), this.roundMs)
    for (const circuit of circuits) {
      circuit.awaitingLog = false
      if (circuit.ended) continue
      // Releasing what the circuit held acts on a peer's cells (the exit reads its payloads):
      // an exception here would otherwise reject the append's promise, unhandled.
      try { this.admit(circuit, round) } catch (err) { this.faulted('tag-log', err, circuit) }
    }
  }

  /** The tag is durable (or its key keeps none): kMin may hold it, else it is released now. */
  private admit (circuit: HopCircuit, round: number): void {
    if (this.rounds.hold(circuit, round)) return
    if (circuit.shape !== null) circuit.shape.released = true
    this.releaseHeld(circuit)
  }

  /** Pass on what a circuit held, now that nothing holds it: forward items and, unshaped, backward cells. */
  releaseHeld (circuit: HopCircuit): void {
    const held = circuit.held
    const heldBackward = circuit.heldBackward
    circuit.held = null
    circuit.heldBackward = null
    if (circuit.ended || this.roundsStopped) return
    if (heldBackward !== null) this.rounds.releaseBackward(circuit, heldBackward)
    if (held === null) return
    for (const item of held) {
      if (circuit.ended) break
      this.output.forward(circuit, item)
    }
  }

  /** End a circuit at this hop: forget it, wipe its keys, quarantine its ID. Nothing is sent anywhere. */
  endCircuit (circuit: HopCircuit): void {
    if (circuit.ended) return
    circuit.ended = true
    const state = this.links.get(circuit.inLink)
    if (state?.circuits.get(circuit.inId) === circuit) {
      state.circuits.delete(circuit.inId)
      state.quarantine.set(circuit.inId, roundAt(Date.now(), this.roundMs) + QUARANTINE_ROUNDS)
    }
    this.circuitCount--
    this.freeSlots.push(circuit.slot)
    circuit.peeler.wipe()
    circuit.sealer.wipe()
    circuit.shape?.clear()
    this.output.ended(circuit)
  }

  /**
   * A DESTROY from either side, or any other reason to stop carrying a circuit early:
   * unshaped it ends now; shaped it is silenced and keeps its schedule until its scheduled
   * end (R5). Nothing is sent to either neighbour.
   */
  destroyed (circuit: HopCircuit): void {
    if (circuit.ended || circuit.silenced) return
    if (!this.rounds.silence(circuit)) { this.endCircuit(circuit); return }
    this.output.silenced(circuit)
  }

  /** A circuit's queue is at its bound (R1): the cell is dropped, and the circuit silenced. */
  overQueue (circuit: HopCircuit, direction: 'forward' | 'backward' | 'held' = 'held', queued = this.maxQueuedCells): void {
    this.stats.circuitsOverQueue++
    this.stats.cellsDroppedOverQueue++
    this.logger.debug('circuit.queue_over_bound', { direction, queued })
    this.destroyed(circuit)
  }

  /**
   * An exception escaped while handling a peer's input at `where`: counted and logged
   * (input-faults.ts); the circuit it concerned (if known) is silenced, its state suspect.
   */
  faulted (where: string, err: unknown, circuit: HopCircuit | undefined): void {
    this.faults.record(where, err)
    this.stats.inputExceptions = this.faults.caught
    if (circuit !== undefined) this.destroyed(circuit)
  }

  /** Every few seconds: expired quarantines go, idle circuits end, the entry closes idle client links. */
  private sweepIdle (): void {
    const now = Date.now()
    this.links.sweep(roundAt(now, this.roundMs), this.position === 1 ? now - this.linkIdleMs : null, (state) => {
      for (const circuit of [...state.circuits.values()]) {
        // A silenced circuit gets no cells by design; its scheduled end ends it.
        if (circuit.lastActivity < now - this.circuitIdleMs && !circuit.silenced) {
          this.stats.circuitsExpired++
          this.endCircuit(circuit)
        }
      }
    })
  }

  // --- backward and flow ------------------------------------------------------------------

  /**
   * A backward item for `circuit` (the successor's body, the exit's relay payload, or null
   * for a PAD of this hop's own): sealed now and released with the next round, or, shaped,
   * queued for the circuit's slots. `cell`: the received cell `inner` is the body of, reused
   * (rounds.ts).
   */
  queueBackward (circuit: HopCircuit, inner: Uint8Array | null, cell?: Uint8Array): void {
    if (circuit.ended) return
    if (circuit.silenced) { this.stats.cellsDroppedSilenced++; return }
    this.rounds.queueBackward(circuit, inner, cell)
  }

  /** Shaped: a backward item (a successor's whole cell, or an exit payload) waits for its slot. */
  pushBackward (circuit: HopCircuit, item: Uint8Array): void {
    if (circuit.silenced) { this.stats.cellsDroppedSilenced++; return }
    const shape = circuit.shape!
    // LOOP echoes waiting count against the bound too (exit).
    const queued = shape.backward.length + shape.loopsWaiting
    if (queued >= this.maxShapedQueuedCells && queued >= shape.queueBound('backward', this.rounds.lastRound, this.maxShapedQueuedCells)) return this.overQueue(circuit, 'backward', queued)
    shape.backward.push(item)
  }

  /** Shaped mix: a peeled forward cell waits for its slot toward the successor. */
  pushForward (circuit: HopCircuit, cell: Uint8Array): void {
    if (circuit.silenced) { this.stats.cellsDroppedSilenced++; return }
    const shape = circuit.shape!
    const queued = shape.forward.length
    if (queued >= this.maxShapedQueuedCells && queued >= shape.queueBound('forward', this.rounds.lastRound, this.maxShapedQueuedCells)) return this.overQueue(circuit, 'forward', queued)
    shape.forward.push(cell)
  }

  /** One write of a round's backward cells (and `span` rounds before it) on an open predecessor link; a link too slow to read is closed. */
  sendBackward (link: CellLink, cells: Uint8Array[], span = 0): void {
    link.send(cells, this.rounds.lastRound, span)
    this.stats.cellsOut += cells.length
    if (link.backlogBytes > this.maxLinkBacklogBytes) {
      this.stats.linksClosedSlow++
      this.logger.warn('link.too_slow', { backlogBytes: link.backlogBytes })
      link.close()
    }
  }

  /** After a round's release: links may deliver again, carried CREATEs open, new tags are appended. */
  afterRelease (): void {
    this.links.newRound()
    this.admission.openCarried()
    this.admission.appendFreshTags()
  }

  /** The successor's write of round `round` (modulo 2^32), carrying `span` rounds before it, has all arrived. */
  backwardArrived (round: number, span: number): void { this.rounds.backwardArrived(round, span) }
  /** The successor cannot take more for now: stop reading every predecessor until it drains. */
  blockForward (): void { this.links.block() }
  unblockForward (): void { this.links.unblock() }
}
