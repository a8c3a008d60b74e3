/**
 * The shaped client's schedule (profiles `strict` and `elastic`; issue #5 "Client"): what
 * leaves on the entry link depends on the cascade's shaping parameters and the clock alone,
 * never on what the apps do or on what failed (DESIGN "Shaping and cover", R1, R8, R10, R13).
 *
 *   - K lanes, each with one circuit at all times (circuit-lanes.ts): a lane's circuit ends on
 *     schedule at a slot boundary and the lane builds the next one in the same slot; the
 *     CREATE leaves in the first round in which the new circuit has a scheduled cell, and
 *     that cell is a LOOP (its deadline allows for the hops' CREATE hold). The old circuit's
 *     DESTROY leaves in the same write.
 *   - Round n (wall-clock aligned, wall-round-clock.ts): every lane's circuit sends exactly
 *     cellsInRound(rate, n) cells: a due LOOP, else a real cell (send-queue.ts), else a DROP.
 *     All of a round's cells leave in one write. A circuit under suspicion (integrity
 *     failure, silence, a loop alarm) or ended by the entry keeps this schedule, LOOPs
 *     included, until its scheduled end: nothing here reads `suspect`, so the wire shows no
 *     reaction to a failure (R3, goal 3); the owner only stops placing streams on it.
 *   - `loopsPerSlot` LOOPs per slot, each in a round drawn at random and on a circuit drawn
 *     uniformly among all live ones when it is due (libsodium's RNG, R9, R10): an exit that
 *     saw LOOPs stop on one circuit would learn that its client had raised an alarm there.
 *     Their echoes go to the LoopMonitor.
 *   - Elastic: at each slot boundary every circuit switches to the rung it asked for during
 *     the slot that ended, and picks what to ask for next (rung-policy.ts); every cell it
 *     sends carries that request in every hop's control byte (PROTOCOL.md §6.1).
 *
 * The owner (ClientNode) builds circuits, writes to the link, and places streams with
 * `place`; this class owns only the schedule.
 */
import { CellCommand, DestroyReason, encodeCell, encodeDestroy } from '../../protocol/cell.js'
import { CELL_HEADER_BYTES, type Geometry } from '../../protocol/geometry.js'
import { LoopProbeKey } from '../../protocol/loop-probe.js'
import { CIRCUIT_STREAM, encodeRelay, RelayCommand } from '../../protocol/relay-payload.js'
import { cellsInRound, encodeRungRequest, loopDeadlineRounds, slotAt, type ShapingParams } from '../../protocol/shaping.js'
import { randomUniform } from '../../crypto/index.js'
import type { Logger } from '../../node/logger.js'
import type { ClientCircuit } from '../client-circuit.js'
import { acceptsUntilSlot, circuitEndSlot } from './circuit-lanes.js'
import { LoopMonitor } from './loop-monitor.js'
import { nextRung, SlotDemand } from './rung-policy.js'
import { SendQueue } from './send-queue.js'
import { WallRoundClock, type WallTimers } from './wall-round-clock.js'

/** What a shaped circuit carries beyond ClientCircuit. */
export class ShapedState {
  readonly lane: number
  readonly builtSlot: number
  /** The slot at whose start it ends. */
  readonly endSlot: number
  /** It takes new streams while the slot is below this. */
  readonly acceptUntil: number
  /** The rung it runs at in this slot (elastic), and the one it asks for (from the next). */
  rung = 0
  requested = 0
  readonly queue = new SendQueue()
  readonly demand = new SlotDemand()
  /** LOOPs waiting for a scheduled cell of this circuit. */
  loopsDue = 0
  /** The isolation key of its streams (null: none yet). */
  boundKey: string | null = null

  constructor (lane: number, builtSlot: number, endSlot: number, acceptUntil: number) {
    this.lane = lane
    this.builtSlot = builtSlot
    this.endSlot = endSlot
    this.acceptUntil = acceptUntil
  }
}

/** A circuit the owner built for a lane, its CREATE not sent yet. */
export interface BuiltCircuit {
  readonly circuit: ClientCircuit
  readonly create: Uint8Array
  /** When its onion keys' epoch ends (Unix ms): it must end by then. */
  readonly epochEndMs: number
}

export interface ShaperHost {
  readonly geometry: Geometry
  readonly logger: Logger
  /** Whether the entry link is up (nothing is built or sent without it). */
  entryUp (): boolean
  /** Build a circuit (registered with the owner, CREATE not sent), or say why not. */
  buildCircuit (): BuiltCircuit | 'no-keys'
  /** Write round `round`'s cells to the entry link in one write. */
  writeCells (cells: Uint8Array[], round: number): void
  /** The circuit reached its scheduled end: end its streams, forget it, wipe its keys. */
  retireCircuit (circuit: ClientCircuit): void
  /** New circuits can take streams (streams waiting for one may be placed now). */
  circuitsReady (): void
  /** A loop alarm about this circuit (the first on it). */
  loopAlarm (circuit: ClientCircuit | undefined, kind: 'lost' | 'late'): void
  /** The alarm limit was reached. */
  failClosed (): void
}

export interface ShaperOptions {
  readonly params: ShapingParams
  readonly roundMs: number
  readonly hops: number
  readonly alarmLimit: number
  /** Added to the loop deadline for this process's timers (default max(2 rounds, 500 ms)). */
  readonly loopMarginMs?: number
  readonly timers?: WallTimers
}

/** Aggregate shaping figures, for stats and metrics (R19, R21). */
export interface ShapingCounters {
  coverCellsOut: number
  coverCellsIn: number
  roundsSent: number
  creates: number
  /** Our creation slots so far (each started one circuit). */
  creationSlots: number
}

export class Shaper {
  readonly params: ShapingParams
  readonly monitor: LoopMonitor
  readonly counters: ShapingCounters = { coverCellsOut: 0, coverCellsIn: 0, roundsSent: 0, creates: 0, creationSlots: 0 }
  private readonly host: ShaperHost
  private readonly roundMs: number
  private readonly roundsPerSlot: number
  private readonly lanes: Array<ClientCircuit | null>
  private readonly clock: WallRoundClock
  private readonly probes = new LoopProbeKey()
  private readonly timers: WallTimers | undefined
  private slot = -1
  /** Round offsets within the current slot that send a LOOP (sorted). */
  private loopRounds: number[] = []
  private lastCreationSlot = -1

  constructor (host: ShaperHost, options: ShaperOptions) {
    this.host = host
    this.params = options.params
    this.roundMs = options.roundMs
    this.roundsPerSlot = options.params.slotMs / options.roundMs
    this.lanes = Array.from({ length: options.params.circuits }, () => null)
    this.timers = options.timers
    // A second of slack for what the loop time (loopNow) cannot see: stalls shorter than a
    // round, and those of hops in other processes. An honest cascade must never make its
    // clients fail closed (R8 asks for a small ε).
    const margin = options.loopMarginMs ?? Math.max(2 * options.roundMs, 1000)
    this.monitor = new LoopMonitor({
      deadlineMs: loopDeadlineRounds(options.params, options.hops, false) * options.roundMs,
      createDeadlineMs: loopDeadlineRounds(options.params, options.hops, true) * options.roundMs,
      marginMs: margin,
      alarmLimit: options.alarmLimit,
      onAlarm: (id, kind) => host.loopAlarm(this.circuitById(id), kind),
      onFailClosed: () => host.failClosed(),
    })
    this.clock = new WallRoundClock(options.roundMs, (round) => this.onRound(round), options.timers)
  }

  start (): void { this.clock.start() }

  stop (): void {
    this.clock.stop()
    this.probes.wipe()
  }

  get missedRounds (): number { return this.clock.missedRounds }

  /** The live circuits (one per lane that has one). */
  circuits (): ClientCircuit[] {
    return this.lanes.filter((c): c is ClientCircuit => c !== null)
  }

  /** Circuits per rung now (elastic; strict: all at 0). */
  rungCounts (): number[] {
    const counts = new Array<number>(Math.max(1, this.params.ratesMilli.length)).fill(0)
    for (const c of this.circuits()) counts[c.shaped!.rung]!++
    return counts
  }

  /**
   * A circuit for a new stream with this isolation key: among the circuits that still take
   * streams (circuit-lanes.ts), one bound to the key, else an unbound one (bound to the key
   * from now on), the longest-lived first; if none takes streams now (start-up, an epoch's
   * last slots), the longest-lived circuit the key may use that has a slot left, rather than
   * wait for a creation slot; else null (wait for one). Circuits that failed take none.
   */
  place (key: string, nowMs = this.now()): ClientCircuit | null {
    const slot = slotAt(nowMs, this.params.slotMs)
    let chosen: ClientCircuit | null = null
    let chosenRank = 0
    for (const c of this.circuits()) {
      const s = c.shaped!
      if (c.suspect || c.ended || slot + 1 >= s.endSlot) continue
      if (s.boundKey !== key && s.boundKey !== null) continue
      // Rank: taking streams beats not; among those, bound to the key beats unbound; then
      // the later end.
      const rank = slot < s.acceptUntil ? (s.boundKey === key ? 2 : 1) : 0
      if (chosen === null || rank > chosenRank || (rank === chosenRank && s.endSlot > chosen.shaped!.endSlot)) {
        chosen = c
        chosenRank = rank
      }
    }
    if (chosen !== null) chosen.shaped!.boundKey = key
    return chosen
  }

  /** A relay message from a stream or the circuit: it waits for a scheduled cell. */
  enqueue (circuit: ClientCircuit, streamId: number, command: RelayCommand, payload: Uint8Array): void {
    circuit.shaped!.queue.push(streamId, command, payload)
  }

  /** A backward cell arrived on `circuit`: a hop's PAD, real data, or cover (LOOP echo, DROP). */
  received (circuit: ClientCircuit, kind: 'pad' | 'real' | 'cover'): void {
    const demand = circuit.shaped?.demand
    if (kind === 'real') { demand?.receivedReal(); return }
    this.counters.coverCellsIn++
    if (kind === 'pad') demand?.receivedPad()
  }

  /** The data of a LOOP echo on `circuit`. */
  loopEcho (circuit: ClientCircuit, data: Uint8Array): void {
    const probe = this.probes.open(data)
    if (probe === null) return // not ours unaltered: the relay layers already authenticated it, so a bug, not an attack
    this.monitor.echo(circuit.id, probe.seq, this.loopNow())
  }

  /** The entry link went away: the owner ended every circuit; lanes rebuild when it is back. */
  linkLost (): void {
    for (let i = 0; i < this.lanes.length; i++) this.lanes[i] = null
    this.monitor.forgetAll()
  }

  /** Run round `round` (the clock calls this; tests may too). */
  onRound (round: number): void {
    const startMs = round * this.roundMs
    const slot = slotAt(startMs, this.params.slotMs)
    if (slot !== this.slot) this.slotBoundary(slot)
    const loopMs = this.loopNow()
    this.monitor.expire(loopMs)
    if (!this.host.entryUp()) return
    const cells: Uint8Array[] = []
    let built = false
    // LOOPs due this round, each on a circuit drawn uniformly among the live ones, suspect
    // or not (R3, R10).
    const offset = round - slot * this.roundsPerSlot
    while (this.loopRounds.length > 0 && this.loopRounds[0]! <= offset) {
      this.loopRounds.shift()
      const drawn = this.drawLoopCircuit()
      if (drawn !== null) drawn.shaped!.loopsDue++
    }
    for (let lane = 0; lane < this.lanes.length; lane++) {
      let circuit: ClientCircuit | null = this.lanes[lane] ?? null
      if (circuit !== null && slot >= circuit.shaped!.endSlot) {
        cells.push(encodeDestroy(this.host.geometry, circuit.id, DestroyReason.FINISHED))
        this.retire(lane, circuit)
        circuit = null
      }
      let fresh = false
      if (circuit === null) {
        if (cellsInRound(this.initialRate(), round) === 0) continue
        circuit = this.build(lane, slot, cells)
        if (circuit === null) continue
        built = fresh = true
      }
      const s = circuit.shaped!
      const count = cellsInRound(this.rateOf(s), round)
      for (let i = 0; i < count; i++) {
        // A new circuit's first cell is the LOOP that travels with its CREATE.
        cells.push(fresh && i === 0 ? this.sealLoop(circuit, s, loopMs, true) : this.nextCell(circuit, s, loopMs))
      }
    }
    if (cells.length > 0) {
      this.host.writeCells(cells, round)
      this.counters.roundsSent++
    }
    if (built) this.host.circuitsReady()
  }

  private build (lane: number, slot: number, cells: Uint8Array[]): ClientCircuit | null {
    const built = this.host.buildCircuit()
    if (built === 'no-keys') return null
    const endSlot = circuitEndSlot(this.params, lane, slot, built.epochEndMs)
    const circuit = built.circuit
    circuit.shaped = new ShapedState(lane, slot, endSlot, acceptsUntilSlot(this.params, slot, endSlot))
    this.lanes[lane] = circuit
    cells.push(built.create)
    this.counters.creates++
    if (slot !== this.lastCreationSlot) { this.lastCreationSlot = slot; this.counters.creationSlots++ }
    return circuit
  }

  private retire (lane: number, circuit: ClientCircuit): void {
    this.lanes[lane] = null
    this.monitor.forgetCircuit(circuit.id, this.loopNow())
    circuit.shaped!.queue.clear()
    this.host.retireCircuit(circuit)
  }

  /** A live circuit drawn uniformly (no array built: this runs every round a LOOP is due). */
  private drawLoopCircuit (): ClientCircuit | null {
    let live = 0
    for (const c of this.lanes) if (c !== null) live++
    if (live === 0) return null
    let pick = randomUniform(live)
    for (const c of this.lanes) {
      if (c === null) continue
      if (pick-- === 0) return c
    }
    return null
  }

  private nextCell (circuit: ClientCircuit, s: ShapedState, loopMs: number): Uint8Array {
    if (s.loopsDue > 0) {
      s.loopsDue--
      return this.sealLoop(circuit, s, loopMs, false)
    }
    const payload = s.queue.next()
    if (payload !== null) {
      s.demand.sentReal()
      return this.seal(circuit, s, payload)
    }
    s.demand.sentCover()
    this.counters.coverCellsOut++
    return this.seal(circuit, s, encodeRelay(this.host.geometry.forwardPayloadBytes, CIRCUIT_STREAM, RelayCommand.DROP))
  }

  private sealLoop (circuit: ClientCircuit, s: ShapedState, loopMs: number, withCreate: boolean): Uint8Array {
    s.demand.sentCover()
    const seq = this.monitor.send(circuit.id, loopMs, withCreate)
    const probe = this.probes.seal({ seq, sentMs: loopMs })
    this.counters.coverCellsOut++
    return this.seal(circuit, s, encodeRelay(this.host.geometry.forwardPayloadBytes, CIRCUIT_STREAM, RelayCommand.LOOP, probe))
  }

  private seal (circuit: ClientCircuit, s: ShapedState, payload: Uint8Array): Uint8Array {
    const control = this.params.profile === 'elastic' ? encodeRungRequest(s.requested, this.slot + 1) : 0
    const cell = new Uint8Array(this.host.geometry.cellSize)
    cell.set(circuit.sealer.seal(payload, control), CELL_HEADER_BYTES)
    const id = circuit.id
    cell[0] = id >>> 24; cell[1] = (id >>> 16) & 0xff; cell[2] = (id >>> 8) & 0xff; cell[3] = id & 0xff
    cell[4] = CellCommand.RELAY
    return cell
  }

  private slotBoundary (slot: number): void {
    const first = this.slot === -1
    this.slot = slot
    if (this.params.profile === 'elastic') {
      for (const c of this.circuits()) {
        const s = c.shaped!
        if (!first && s.builtSlot < slot) {
          const ran = s.rung
          s.rung = s.requested
          s.requested = nextRung(this.params.ratesMilli, ran, s.requested, s.demand, this.roundsPerSlot)
        }
        s.demand.reset()
      }
    }
    const rounds: number[] = []
    for (let i = 0; i < this.params.loopsPerSlot; i++) rounds.push(randomUniform(this.roundsPerSlot))
    this.loopRounds = rounds.sort((a, b) => a - b)
  }

  private initialRate (): number {
    return this.params.ratesMilli[0]!
  }

  private rateOf (s: ShapedState): number {
    return this.params.ratesMilli[this.params.profile === 'elastic' ? s.rung : 0]!
  }

  private circuitById (id: number): ClientCircuit | undefined {
    return this.circuits().find((c) => c.id === id)
  }

  /**
   * The loop monitor's clock: wall time minus the rounds this process's round clock skipped
   * (its own stalls), so that a probe is never late for our own delay (loop-monitor.ts).
   */
  private loopNow (): number {
    return this.now() - this.clock.missedRounds * this.roundMs
  }

  private now (): number {
    return this.timers === undefined ? Date.now() : this.timers.now()
  }
}

/** A CREATE cell for `circuit` with this onion header (the owner's helper). */
export function createCell (geometry: Geometry, circuitId: number, header: Uint8Array): Uint8Array {
  return encodeCell(geometry, circuitId, CellCommand.CREATE, header)
}
