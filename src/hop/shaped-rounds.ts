/**
 * Rounds of a shaped hop (profile strict or elastic; docs/PROTOCOL.md §12, docs/HOP.md
 * "Shaped rounds"): round n releases forward at n·roundMs plus the hop's forward phase and
 * backward at n·roundMs plus its backward phase (round-phase.ts), the same n at every hop for
 * the cells of one client round (pipelined, §12.1), and every circuit carries exactly
 * its scheduled cells in each direction, queued ones first, then PADs backward (and, at a
 * mix, PADDING forward), so a link's frames per round depend on the circuits on it and the
 * profile only (R1, R8). A round leaves as soon as the neighbours' writes of it have arrived
 * (arrival-gate.ts), its phase being the deadline. Cells are sealed as they leave; CREATEs
 * wait in the kMin hold; circuits end at end boundaries (R5).
 */
import { CellCommand, writeCellHeader } from '../protocol/cell.js'
import { CELL_HEADER_BYTES } from '../protocol/geometry.js'
import { roundAt, type ShapingParams } from '../protocol/shaping.js'
import { epochEndS } from '../protocol/epoch.js'
import { lifetimeEndRound, scheduledEndRound } from './circuit-end.js'
import { CircuitShape } from './circuit-shape.js'
import { CreateHold, SlotCreateCounter } from './create-hold.js'
import type { HopCircuit } from './hop-circuit.js'
import { RoundBatch } from './round-batch.js'
import type { HopRounds, RoundsHost } from './rounds.js'
import { linkDrain, mayDrainInto } from './link-drain.js'
import { capClientRate, type CappedSchedule } from './client-rate-cap.js'
import type { LinkState } from './predecessor-link.js'
import { ArrivalGate, newArrivalSource, type ArrivalSource } from './arrival-gate.js'
import { clientOwes, predecessorOwes, successorOwes } from './owed-writes.js'
import { mayReleaseEarly, nearestRound } from '../protocol/round-phase.js'

/** The most missed rounds one shaped round catches up (half a second of 10 ms rounds). */
export const MAX_CATCH_UP_ROUNDS = 50
/** Scratch cells (PADs, the exit's payloads) a hop keeps however quiet its last slot was. */
const MIN_SCRATCH_CELLS = 256

export class ShapedRounds implements HopRounds {
  private readonly core: RoundsHost
  private readonly shaping: ShapingParams
  private readonly roundsPerSlot: number
  private readonly createHold: CreateHold<HopCircuit> | null
  private readonly slotCreates: SlotCreateCounter
  /** The last round each direction ran (−1 before the first). */
  private lastForward = -1
  private lastBackward = -1
  private releasing = -1
  /** Entry, elastic: the last slot whose client links were capped to the client rate, per direction. */
  private cappedForward = -Infinity
  private cappedBackward = -Infinity
  private readonly capScratch: Array<{ schedule: CappedSchedule, rung: number }> = []
  /** The earliest `endRound` of any circuit (no circuit ends before it). */
  private nextEndRound = Infinity
  // Reused every round: released CREATEs, circuits due to end, one link's cells, scratch cells.
  private readonly released: HopCircuit[] = []
  private readonly dueToEnd: HopCircuit[] = []
  private readonly batch: RoundBatch
  /** Cells for PADs and the exit's payloads, reused every round (links copy what they send). */
  private readonly scratch: Uint8Array[] = []
  private scratchUsed = 0
  /** The most scratch cells a round of the current slot used, and the slot (a burst's cells are let go after it). */
  private scratchPeak = 0
  private scratchSlot = -1
  /** Release on arrival: forward, the predecessor links' writes; backward (a mix), the successor's. */
  private readonly forwardGate = new ArrivalGate<LinkState>()
  private readonly backwardGate = new ArrivalGate<ArrivalSource>()
  private readonly successor: readonly ArrivalSource[] = [newArrivalSource()]
  private forwardReleaseQueued = false
  private backwardReleaseQueued = false
  /** Whether the successor owes a round (made once: the gate asks every round). */
  private readonly successorOwesRound = (_: ArrivalSource, round: number): boolean => successorOwes(this.core.links.values(), round)

  constructor (core: RoundsHost, shaping: ShapingParams) {
    this.core = core
    this.shaping = shaping
    this.roundsPerSlot = Math.max(1, Math.round(shaping.slotMs / core.roundMs))
    this.createHold = shaping.kMin <= 1 ? null : new CreateHold(shaping.kMin, shaping.createHoldRounds)
    this.slotCreates = new SlotCreateCounter(this.roundsPerSlot, core.stats.createsPerSlot)
    this.batch = new RoundBatch(core.interleaver)
  }

  /**
   * The round of the release running now, or of the last one to run (either direction): what
   * a link write made during a release belongs to. The two directions release at their own
   * offsets, so a late forward release of round n may follow the backward one of n + 1.
   */
  get lastRound (): number { return this.releasing }
  get holdsCreates (): boolean { return this.createHold !== null }

  /** The forward deadline of round `round` (the hop's clock): released now unless it left on arrival. */
  runForward (round: number): void {
    if (round <= this.lastForward) return
    this.core.stats.releasesAtDeadlineForward++
    this.releaseForwardRound(round)
  }

  /** The backward deadline of round `round`: released now unless it left on arrival. */
  runBackward (round: number): void {
    if (round <= this.lastBackward) return
    this.core.stats.releasesAtDeadlineBackward++
    this.releaseBackwardRound(round)
  }

  forwardArrived (state: LinkState, wireRound: number, span: number): void {
    if (this.forwardGate.arrived(state, nearestRound(wireRound, Date.now(), this.core.roundMs), span)) this.queueRelease('forward')
  }

  backwardArrived (wireRound: number, span: number): void {
    if (this.backwardGate.arrived(this.successor[0]!, nearestRound(wireRound, Date.now(), this.core.roundMs), span)) this.queueRelease('backward')
  }

  linkGone (state: LinkState): void {
    if (this.forwardGate.gone(state)) this.queueRelease('forward')
  }

  /**
   * The forward release of round `round` (from the Unix epoch): circuits due to end end, held
   * CREATEs leave, every circuit's scheduled forward cells go to the successor (at the exit:
   * nothing, its forward is TCP), then carried CREATEs and the tag log append. Rounds the
   * event loop missed are caught up, up to MAX_CATCH_UP_ROUNDS, every time: a hop that sent
   * less than its neighbours would grow its queues (docs/HOP.md). Then the gate waits for the
   * next round's writes.
   */
  private releaseForwardRound (round: number): void {
    const core = this.core
    const from = this.releaseFrom(this.forwardGate, this.lastForward, round, 'forward')
    this.lastForward = round
    this.releasing = round
    core.stats.rounds++
    this.endDueCircuits(round)
    this.slotCreates.tick(round)
    core.stats.createsLastSlot = this.slotCreates.lastSlot
    this.releaseCreates(round)
    this.capClientLinks(round, 'forward')
    core.output.sendShapedRound(from, round)
    core.afterRelease()
    if (this.forwardGate.arm(round + 1, core.links.values(), core.position === 1 ? clientOwes : predecessorOwes)) this.queueRelease('forward')
  }

  /** The backward release of round `round`: every predecessor link's scheduled cells. A mix then waits for its successor's next write. */
  private releaseBackwardRound (round: number): void {
    const core = this.core
    const from = this.releaseFrom(this.backwardGate, this.lastBackward, round, 'backward')
    this.lastBackward = round
    this.releasing = round
    this.trimScratch(Math.floor(round / this.roundsPerSlot))
    this.capClientLinks(round, 'backward')
    this.shapeBackward(from, round)
    for (const state of core.links.values()) {
      if (state.link.isOpen) core.sendBackward(state.link, state.batch, state.batchSpan)
    }
    if (core.position < core.geometry.hops && this.backwardGate.arm(round + 1, this.successor, this.successorOwesRound)) this.queueRelease('backward')
  }

  /**
   * The first schedule round the release of `round` carries: the rounds this hop missed since
   * `last`, then those the neighbours' writes carry on (arrival-gate.ts `carried`); the
   * schedule of those rounds for every circuit, up to MAX_CATCH_UP_ROUNDS in all.
   */
  private releaseFrom (gate: ArrivalGate<ArrivalSource>, last: number, round: number, direction: 'forward' | 'backward'): number {
    const own = catchUpFrom(last, round)
    const carried = Math.min(gate.carried(round, round - own), own - (round - MAX_CATCH_UP_ROUNDS + 1))
    const stats = this.core.stats
    if (direction === 'forward') stats.carriedRoundsForward += carried
    else stats.carriedRoundsBackward += carried
    stats[direction === 'forward' ? 'lateRoundsUncarriedForward' : 'lateRoundsUncarriedBackward'] = gate.lateOverBudget
    return own - carried
  }

  /**
   * Release what the gate found ready, after the current read (the rest of a chunk may hold
   * more writes): round by round, as long as each next round is ready too, never more than
   * half a round ahead of the wall clock (mayReleaseEarly).
   */
  private queueRelease (direction: 'forward' | 'backward'): void {
    if (direction === 'forward') {
      if (this.forwardReleaseQueued) return
      this.forwardReleaseQueued = true
      process.nextTick(this.releaseForwardReady)
    } else {
      if (this.backwardReleaseQueued) return
      this.backwardReleaseQueued = true
      process.nextTick(this.releaseBackwardReady)
    }
  }

  // Made once: a release is queued every round.
  private readonly releaseForwardReady = (): void => { this.forwardReleaseQueued = false; this.releaseSafely('forward') }
  private readonly releaseBackwardReady = (): void => { this.backwardReleaseQueued = false; this.releaseSafely('backward') }

  /** A round acts on queued cells that peers chose: a bug they can trigger must not stop the rounds. */
  private releaseSafely (direction: 'forward' | 'backward'): void {
    try { this.releaseReady(direction) } catch (err) { this.core.faulted('round', err, undefined) }
  }

  private releaseReady (direction: 'forward' | 'backward'): void {
    const gate = direction === 'forward' ? this.forwardGate : this.backwardGate
    const stats = this.core.stats
    for (let round = gate.round; gate.ready && round === gate.round; round++) {
      if (this.core.roundsStopped || !mayReleaseEarly(round, Date.now(), this.core.roundMs)) return
      if (direction === 'forward') {
        stats.releasesOnArrivalForward++
        this.releaseForwardRound(round)
      } else {
        stats.releasesOnArrivalBackward++
        this.releaseBackwardRound(round)
      }
    }
  }

  /**
   * The entry of an elastic cascade, at the first release of a slot in `direction`: cap each
   * client link's circuits to the tolerated client rate (client-rate-cap.ts). Later hops
   * cannot tell which circuits share a client.
   */
  private capClientLinks (round: number, direction: 'forward' | 'backward'): void {
    if (this.core.position !== 1 || this.shaping.profile !== 'elastic') return
    const slot = Math.floor(round / this.roundsPerSlot)
    if (slot <= (direction === 'forward' ? this.cappedForward : this.cappedBackward)) return
    if (direction === 'forward') this.cappedForward = slot
    else this.cappedBackward = slot
    for (const state of this.core.links.values()) {
      const cut = capClientRate(schedulesOf(state, direction), slot, this.shaping.ratesMilli, this.shaping.clientRateMilli, this.capScratch)
      if (direction === 'forward') this.core.stats.rungsCappedForward += cut
      else this.core.stats.rungsCappedBackward += cut
    }
  }

  // --- circuits ------------------------------------------------------------------------------

  shapeCircuit (circuit: HopCircuit, round: number): void {
    circuit.shape = new CircuitShape(this.shaping, this.roundsPerSlot, round, this.core.geometry.hops)
  }

  accepted (circuit: HopCircuit, round: number): void {
    this.endsAt(circuit, lifetimeEndRound(this.shaping, this.roundsPerSlot, round, this.epochEndSlot(circuit.epoch), this.endGraceRounds))
    this.slotCreates.created()
  }

  /** With kMin, a circuit whose tag is durable joins the hold. */
  hold (circuit: HopCircuit, round: number): boolean {
    if (this.createHold === null) return false
    this.createHold.add(circuit, round)
    return true
  }

  /** Real cells wait for their slots; PADs fill the schedule by themselves. */
  queueBackward (circuit: HopCircuit, inner: Uint8Array | null): void {
    if (inner !== null) this.core.pushBackward(circuit, inner)
  }

  /** Shaped circuits never seal ahead of their slots (`queueBackward`): nothing to release. */
  releaseBackward (): void {}

  /** It keeps its schedule (PADs, PADDING) until its scheduled end, so no link shows the end (R5). */
  silence (circuit: HopCircuit): boolean {
    const shape = circuit.shape
    if (shape === null) return false
    circuit.silenced = true
    this.core.stats.circuitsSilenced++
    circuit.held = null
    circuit.heldBackward = null
    shape.clearQueues()
    const round = roundAt(Date.now(), this.core.roundMs)
    this.endsAt(circuit, scheduledEndRound(this.shaping, this.roundsPerSlot, round, this.epochEndSlot(circuit.epoch), this.endGraceRounds))
    return true
  }

  // --- ends (R5, PROTOCOL.md §12.7) -----------------------------------------------------------

  /** Set `circuit`'s end round (only ever earlier). */
  private endsAt (circuit: HopCircuit, round: number): void {
    if (round >= circuit.endRound) return
    circuit.endRound = round
    if (round < this.nextEndRound) this.nextEndRound = round
  }

  /** Rounds after an end boundary in which a DESTROY still counts as on time (it takes some rounds to get here). */
  private get endGraceRounds (): number { return this.core.geometry.hops + 8 }

  /** The slot in which the epoch `epoch` ends (circuits of its key end there at the latest). */
  private epochEndSlot (epoch: number): number {
    return Math.floor(epochEndS(this.core.keySchedule, epoch) * 1000 / this.shaping.slotMs)
  }

  /** End every circuit whose scheduled end came by `round`. */
  private endDueCircuits (round: number): void {
    if (round < this.nextEndRound) return
    let next = Infinity
    const due = this.dueToEnd
    for (const state of this.core.links.values()) {
      for (const circuit of state.circuits.values()) {
        if (circuit.endRound <= round) due.push(circuit)
        else if (circuit.endRound < next) next = circuit.endRound
      }
    }
    this.nextEndRound = next
    for (const circuit of due) this.core.endCircuit(circuit)
    due.length = 0
  }

  /** kMin: release the held CREATEs if kMin are waiting or the first waited long enough. */
  private releaseCreates (round: number): void {
    if (this.createHold === null) return
    const out = this.released
    out.length = 0
    const why = this.createHold.due(round, (circuit) => !circuit.ended, out)
    if (why === 'none') return
    if (why === 'kmin') this.core.stats.holdReleasesKmin++
    else this.core.stats.holdReleasesTimeout++
    // Only circuits whose tags are durable enter the hold (`hold`).
    for (const circuit of out) {
      circuit.shape!.released = true
      this.core.releaseHeld(circuit)
    }
    out.length = 0
  }

  // --- backward --------------------------------------------------------------------------------

  /**
   * Fill every predecessor link's batch with its circuits' scheduled backward cells of round
   * `round` (pipelined: the successor's cells of round n arrive before this hop's backward
   * phase of round n, §12.1), and the schedule leaves, whatever waits: a successor's burst
   * must not reappear on the predecessor link as its circuit's (R1). A mix drains a backlog
   * for the whole link alike (link-drain.ts); the exit never does: its queue is the hosts' data.
   */
  private shapeBackward (from: number, round: number): void {
    const core = this.core
    const output = core.output
    const drains = core.position < core.geometry.hops
    let total = 0
    let pads = 0
    for (const state of core.links.values()) {
      const batch = this.batch
      batch.clear()
      const open = mayDrainInto(state.link.backlogBytes)
      const drain = drains && open ? linkDrain(state.circuits, round, 'backward', round - from) : 0
      core.stats.drainRoundsBackward += drain
      const start = !open ? round : drain === 0 ? from : Math.min(from, round - drain)
      state.batchSpan = round - start
      for (const circuit of state.circuits.values()) {
        if (circuit.ended || circuit.shape === null) continue
        const due = circuit.shape.cellsFor(start, round, 'backward')
        // Awaiting its tag, a circuit fills its slots with PADs only (docs/HOP.md).
        const waiting = circuit.awaitingLog
        for (let j = 0; j < due; j++) {
          const item = waiting ? undefined : output.nextBackward(circuit, round)
          if (item === undefined) pads++
          batch.add(this.seal(circuit, item), circuit.slot)
        }
      }
      batch.shuffleInto(state.batch)
      total += state.batch.length
    }
    core.stats.lastBackwardBatch = total
    core.stats.padsOut += pads
    core.roundObserver?.observeBatch(total, 'backward')
    if (pads > 0) core.roundObserver?.countPadding(pads, 'backward')
  }

  /** Seal a backward item as it leaves: a successor's whole cell in place, a payload (exit) or a PAD (undefined) into a scratch cell. */
  private seal (circuit: HopCircuit, item: Uint8Array | undefined): Uint8Array {
    let cell: Uint8Array
    if (item !== undefined && item.length === this.core.geometry.cellSize) {
      cell = item
      const body = cell.subarray(CELL_HEADER_BYTES)
      circuit.sealer.seal(body, body)
    } else {
      cell = this.scratchCell()
      circuit.sealer.seal(item ?? null, cell.subarray(CELL_HEADER_BYTES))
    }
    writeCellHeader(cell, circuit.inId, CellCommand.RELAY)
    return cell
  }

  /**
   * Start a round's scratch cells; at a new slot, keep no more than the last slot's peak (at
   * least MIN_SCRATCH_CELLS): a burst's cells would otherwise stay for the hop's life. Links
   * copy what they send, so a cell let go is no longer in use.
   */
  private trimScratch (slot: number): void {
    if (this.scratchUsed > this.scratchPeak) this.scratchPeak = this.scratchUsed
    this.scratchUsed = 0
    if (slot === this.scratchSlot) return
    this.scratchSlot = slot
    const keep = Math.max(MIN_SCRATCH_CELLS, this.scratchPeak)
    if (this.scratch.length > keep) this.scratch.length = keep
    this.scratchPeak = 0
  }

  private scratchCell (): Uint8Array {
    if (this.scratchUsed === this.scratch.length) this.scratch.push(new Uint8Array(this.core.geometry.cellSize))
    return this.scratch[this.scratchUsed++]!
  }
}

/** One link's live circuits' rung schedules in one direction (once per slot: a generator is cheap enough). */
function * schedulesOf (state: LinkState, direction: 'forward' | 'backward'): Generator<CappedSchedule> {
  for (const circuit of state.circuits.values()) {
    const rungs = circuit.shape?.rungs
    if (rungs == null || circuit.ended) continue
    yield direction === 'forward' ? rungs.forward : rungs.backward
  }
}

/** The first round a release of `round` carries: the rounds missed since `last` too, up to MAX_CATCH_UP_ROUNDS. */
function catchUpFrom (last: number, round: number): number {
  const missed = last < 0 ? 0 : round - last - 1
  return missed > 0 ? Math.max(last + 1, round - MAX_CATCH_UP_ROUNDS + 1) : round
}
