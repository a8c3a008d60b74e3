/**
 * The shaped client's schedule (profiles `strict` and `elastic`, PROTOCOL.md §12.6): what
 * leaves on the entry link depends on the cascade's shaping parameters and the clock alone,
 * never on what the apps do or on what failed (R1, R8, R10, R13). K lanes each keep one
 * circuit (circuit-lanes.ts), bound to the first isolation key placed on it; in round n
 * every circuit sends exactly cellsInRound(rate, n) cells — a due LOOP, else a real cell
 * (send-queue.ts), else a DROP — all in one write. A suspect circuit keeps this schedule,
 * LOOPs included, until its scheduled end: only placement reads `suspect` (and `unanswered`),
 * so the wire shows no reaction to a failure (R3). docs/CLIENT.md explains the rest. This is the client's CircuitSender under shaping: it builds every cell it sends.
 */
import { DestroyReason, encodeDestroy } from '../../protocol/cell.js'
import { LoopProbeKey } from '../../protocol/loop-probe.js'
import { CIRCUIT_STREAM, encodeRelay, RelayCommand, type RelayMessage } from '../../protocol/relay-payload.js'
import { cellsInRound, loopDeadlineRounds, slotAt, type ShapingParams } from '../../protocol/shaping.js'
import { clientStreamsPerCircuit } from '../../protocol/stream-bound.js'
import { randomUniform } from '../../crypto/index.js'
import type { CircuitSender, Placement, SenderHost } from '../circuit-sender.js'
import type { ClientCircuit } from '../client-circuit.js'
import type { ClientShapingStatus, EntryReport } from '../client-stats.js'
import { credentialsKey, type IsolationFields } from '../isolation.js'
import { acceptsUntilSlot, circuitEndSlot } from './circuit-lanes.js'
import { LoopMonitor } from './loop-monitor.js'
import type { FailClosedSettings } from './fail-closed-gate.js'
import { CircuitRungs } from './circuit-rungs.js'
import { RungBudget, type BudgetMember } from './rung-budget.js'
import { ShapedCircuit } from './shaped-circuit.js'
import { shaperStatus } from './shaper-status.js'
import { wallRoundClock, type RoundClock, type WallTimers } from '../../clock/round-clock.js'

export interface ShaperOptions {
  readonly params: ShapingParams
  readonly roundMs: number
  readonly hops: number
  readonly alarmLimit: number
  /** The rest of the fail-closed rule (fail-closed-gate.ts; default DEFAULT_FAIL_CLOSED). */
  readonly failClosed?: Partial<FailClosedSettings>
  /** Added to the loop deadline for this process's timers (default max(2 rounds, 1 s)). */
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

/**
 * Elastic: a slot in which this process's round clock skipped more than this fraction of the
 * slot's rounds is congested (rung-budget.ts): the process cannot handle the cells its
 * circuits ask for. A sixteenth was too little: on a machine busy with other work, the
 * scheduler alone costs that many rounds and held the capacity at its floor; shorter stalls
 * show as deliveries behind schedule (circuit-rungs.ts counts skipped rounds too).
 */
export const BUSY_MISSED_FRACTION = 1 / 4

/** Failed closed: on-time echoes in a row, per circuit the profile keeps, before re-opening. */
export const RECOVERY_ECHOES_PER_CIRCUIT = 2

export class Shaper implements CircuitSender {
  readonly params: ShapingParams
  readonly monitor: LoopMonitor
  readonly counters: ShapingCounters = { coverCellsOut: 0, coverCellsIn: 0, roundsSent: 0, creates: 0, creationSlots: 0 }
  private readonly host: SenderHost
  private readonly roundMs: number
  private readonly roundsPerSlot: number
  private readonly lanes: Array<ShapedCircuit | null>
  /** The lanes' circuits by circuit ID. */
  private readonly byId = new Map<number, ShapedCircuit>()
  private readonly clock: RoundClock
  private readonly probes = new LoopProbeKey()
  private readonly timers: WallTimers | undefined
  private slot = -1
  /** The round running now (or last run). */
  private round = 0
  private readonly hops: number
  /** Round offsets within the current slot that send a LOOP (sorted). */
  private loopRounds: number[] = []
  private lastCreationSlot = -1
  /** Rounds the round clock skipped: all seen so far, and those since this slot began (elastic: a congestion sign). */
  private missedSeen = 0
  private missedThisSlot = 0
  /** Elastic: the ceiling on all our circuits' rungs together (rung-budget.ts). */
  readonly budget: RungBudget | null
  /** Streams open at once on one circuit (stream-bound.ts). */
  private readonly streamsPerCircuit: number

  constructor (host: SenderHost, options: ShaperOptions) {
    this.host = host
    this.params = options.params
    this.roundMs = options.roundMs
    this.roundsPerSlot = options.params.slotMs / options.roundMs
    this.hops = options.hops
    this.streamsPerCircuit = clientStreamsPerCircuit(options.params.profile)
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
      ...(options.failClosed === undefined ? {} : { failClosed: options.failClosed }),
      // Two echoes per circuit kept: most circuits answer at least once (LOOPs go to one drawn uniformly).
      recoveryEchoes: RECOVERY_ECHOES_PER_CIRCUIT * options.params.circuits,
      onAlarm: (id, kind) => host.loopAlarm(this.byId.get(id)?.circuit, kind),
      onFailClosed: (episode) => host.failClosed(episode),
      onRecovered: (closedMs) => host.recovered(closedMs),
      onSlowEcho: () => this.budget?.congested('slow_echo'),
    })
    this.clock = wallRoundClock(options.roundMs, (round) => this.onRound(round), options.timers)
    this.budget = options.params.profile !== 'elastic'
      ? null
      : new RungBudget(options.params.ratesMilli, options.params.clientRateMilli, () => this.laneRungs())
  }

  start (): void { if (!this.clock.isRunning) this.clock.start() }

  stop (): void {
    this.clock.stop()
    this.probes.wipe()
  }

  get failedClosed (): boolean { return this.monitor.failedClosed }

  get missedRounds (): number { return this.clock.missedRounds }

  /** The live circuits (one per lane that has one). */
  circuits (): ShapedCircuit[] {
    return this.lanes.filter((c): c is ShapedCircuit => c !== null)
  }

  /** Circuits per rung now in `direction` (elastic; strict: all at 0). */
  rungCounts (direction: 'forward' | 'backward' = 'backward'): number[] {
    const counts = new Array<number>(Math.max(1, this.params.ratesMilli.length)).fill(0)
    if (this.params.profile !== 'elastic') { counts[0] = this.circuits().length; return counts }
    for (const c of this.circuits()) counts[direction === 'forward' ? c.rungs.forwardAt(this.round) : c.rungs.backwardAt(this.round)]!++
    return counts
  }

  isolationKey (request: IsolationFields): string { return credentialsKey(request) }

  /**
   * Refused once failed closed; else a circuit `choose` finds, or wait for the next one. A new
   * key finds an unused circuit (a spare) while fewer than K keys hold one; beyond that it
   * waits for the next creation slot (at most circuitSlots/circuits slots, then the stream
   * timeout): a CREATE outside the schedule would show it (R1, R8), circuits are never shared
   * across keys (R13), and retiring another key's circuit early frees nothing before that
   * slot (PROTOCOL.md §12.6). A key whose circuits are full (stream-bound.ts) takes a spare
   * likewise, or waits (`wait-full`: the owner counts it).
   */
  place (key: string): Placement {
    if (this.monitor.failedClosed) return 'refuse'
    const chosen = this.choose(key)
    if (chosen !== null) return chosen.circuit
    return this.keyHasFullCircuit(key) ? 'wait-full' : 'wait'
  }

  /** Whether a live circuit bound to `key` holds as many streams as a circuit may. */
  private keyHasFullCircuit (key: string): boolean {
    for (const s of this.lanes) {
      if (s !== null && s.boundKey === key && s.circuit.streams.size >= this.streamsPerCircuit) return true
    }
    return false
  }

  /**
   * A circuit for a new stream with this isolation key: among the circuits that still take
   * streams (circuit-lanes.ts) and have room (fewer than `streamsPerCircuit` streams,
   * stream-bound.ts), one bound to the key, else an unbound one (bound to the key from now
   * on: a key whose circuits are full takes a spare as a new key does), the longest-lived
   * first; if none takes streams now (start-up, an epoch's last slots), the longest-lived
   * circuit with room the key may use that has a slot left, rather than wait for a creation
   * slot; else null (wait for one). Circuits that failed, or left a request unanswered, take none.
   */
  choose (key: string, nowMs = this.now()): ShapedCircuit | null {
    const slot = slotAt(nowMs, this.params.slotMs)
    let chosen: ShapedCircuit | null = null
    let chosenRank = 0
    for (const s of this.circuits()) {
      if (s.circuit.suspect || s.circuit.unanswered || s.circuit.ended || slot + 1 >= s.endSlot) continue
      if (s.boundKey !== key && s.boundKey !== null) continue
      if (s.circuit.streams.size >= this.streamsPerCircuit) continue
      // Rank: taking streams beats not; among those, bound to the key beats unbound; then
      // the later end.
      const rank = slot < s.acceptUntil ? (s.boundKey === key ? 2 : 1) : 0
      if (chosen === null || rank > chosenRank || (rank === chosenRank && s.endSlot > chosen.endSlot)) {
        chosen = s
        chosenRank = rank
      }
    }
    if (chosen !== null) chosen.boundKey = key
    return chosen
  }

  /** A relay message from a stream or the circuit: it waits for a scheduled cell. */
  send (circuit: ClientCircuit, streamId: number, command: RelayCommand, payload: Uint8Array): void {
    this.byId.get(circuit.id)?.queue.push(streamId, command, payload)
  }

  /** A hop's PAD: cover, and (elastic) a gap in the backward run. */
  receivedPad (circuit: ClientCircuit): void {
    this.counters.coverCellsIn++
    const rungs = this.byId.get(circuit.id)?.rungs
    rungs?.receivedCell()
    rungs?.demand.receivedPad()
  }

  /** Real data or cover (DROP, LOOP echo: measured here, and consumed). */
  received (circuit: ClientCircuit, message: RelayMessage): boolean {
    this.byId.get(circuit.id)?.rungs.receivedCell()
    if (message.streamId !== CIRCUIT_STREAM || (message.command !== RelayCommand.LOOP && message.command !== RelayCommand.DROP)) {
      this.byId.get(circuit.id)?.rungs.receivedReal(this.round)
      return false
    }
    this.counters.coverCellsIn++
    if (message.command !== RelayCommand.LOOP) return false
    const probe = this.probes.open(message.data)
    // Not ours unaltered: the relay layers already authenticated it, so a bug, not an attack.
    if (probe !== null) this.monitor.echo(circuit.id, probe.seq, this.loopNow())
    return true
  }

  /**
   * The entry ended the circuit: its streams fail now, and it keeps its cover until its
   * scheduled end (the schedule never changes because of a failure).
   */
  entryEnded (circuit: ClientCircuit): void {
    circuit.suspect = true
    this.host.failStreams(circuit)
    this.byId.get(circuit.id)?.queue.clear()
  }

  /** The owner ended every circuit; lanes rebuild when the link is back. */
  linkLost (): void {
    for (let i = 0; i < this.lanes.length; i++) this.lanes[i] = null
    this.byId.clear()
    this.monitor.forgetAll()
  }

  status (entry: EntryReport | undefined): ClientShapingStatus {
    return shaperStatus(this, this.roundMs, this.host.geometry.cellSize, entry)
  }

  /** Run round `round` (the clock calls this; tests may too). */
  onRound (round: number): void {
    this.round = round
    const startMs = round * this.roundMs
    const slot = slotAt(startMs, this.params.slotMs)
    const slotStart = slot * this.roundsPerSlot
    const skipped = this.clock.missedRounds - this.missedSeen
    this.missedSeen += skipped
    if (slot !== this.slot) this.slotBoundary(slot)
    // Rounds skipped just before a boundary count in the new slot: a stall is never lost between two.
    this.missedThisSlot += skipped
    if (this.budget !== null && this.missedThisSlot > this.roundsPerSlot * BUSY_MISSED_FRACTION) this.budget.congested('busy')
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
      if (drawn !== null) drawn.loopsDue++
    }
    for (let lane = 0; lane < this.lanes.length; lane++) {
      let s: ShapedCircuit | null = this.lanes[lane] ?? null
      if (s !== null && slot >= s.endSlot) {
        cells.push(encodeDestroy(this.host.geometry, s.id, DestroyReason.FINISHED))
        this.retire(lane, s)
        s = null
      }
      let fresh = false
      if (s === null) {
        if (cellsInRound(this.params.ratesMilli[0]!, round) === 0) continue
        s = this.build(lane, slot, cells)
        if (s === null) continue
        built = fresh = true
      }
      if (!fresh) {
        for (let r = Math.max(slotStart, round - skipped); r < round; r++) s.rungs.skippedRound(r)
        s.rungs.ranRound(round)
      }
      const count = cellsInRound(this.rateOf(s, round), round)
      for (let i = 0; i < count; i++) {
        // A new circuit's first cell is the LOOP that travels with its CREATE.
        cells.push(fresh && i === 0 ? this.sealLoop(s, loopMs, true) : this.nextCell(s, loopMs))
      }
    }
    if (cells.length > 0) {
      this.host.write(cells, round)
      this.counters.roundsSent++
    }
    if (built) this.host.circuitsReady()
  }

  private build (lane: number, slot: number, cells: Uint8Array[]): ShapedCircuit | null {
    // No isolation key yet: the first stream placed on it binds one.
    const built = this.host.buildCircuit('')
    if (built === 'no-keys') {
      // Fetch this epoch's keys for the rounds to come; the lane tries again meanwhile.
      this.host.refreshKeys()
      return null
    }
    const endSlot = circuitEndSlot(this.params, lane, slot, built.epochEndMs)
    const rungs = new CircuitRungs(this.params.ratesMilli, this.roundsPerSlot, this.hops, this.budget)
    const s = new ShapedCircuit(built.circuit, lane, slot, endSlot, acceptsUntilSlot(this.params, slot, endSlot), rungs)
    this.lanes[lane] = s
    this.byId.set(s.id, s)
    cells.push(built.create)
    this.counters.creates++
    if (slot !== this.lastCreationSlot) { this.lastCreationSlot = slot; this.counters.creationSlots++ }
    return s
  }

  /** Its scheduled end: its streams end, the owner forgets it and wipes its keys. */
  private retire (lane: number, s: ShapedCircuit): void {
    this.lanes[lane] = null
    this.byId.delete(s.id)
    this.monitor.forgetCircuit(s.id, this.loopNow())
    s.queue.clear()
    this.host.endCircuit(s.circuit, true)
  }

  /** A live circuit drawn uniformly (no array built: this runs every round a LOOP is due). */
  private drawLoopCircuit (): ShapedCircuit | null {
    let live = 0
    for (const s of this.lanes) if (s !== null) live++
    if (live === 0) return null
    let pick = randomUniform(live)
    for (const s of this.lanes) {
      if (s === null) continue
      if (pick-- === 0) return s
    }
    return null
  }

  private nextCell (s: ShapedCircuit, loopMs: number): Uint8Array {
    if (s.loopsDue > 0) {
      s.loopsDue--
      return this.sealLoop(s, loopMs, false)
    }
    const payload = s.queue.next()
    if (payload !== null) {
      s.rungs.sentReal(s.queue.lastControl, this.round)
      return this.seal(s, payload)
    }
    s.rungs.demand.sentCover()
    this.counters.coverCellsOut++
    return this.seal(s, encodeRelay(this.host.geometry.forwardPayloadBytes, CIRCUIT_STREAM, RelayCommand.DROP))
  }

  private sealLoop (s: ShapedCircuit, loopMs: number, withCreate: boolean): Uint8Array {
    s.rungs.demand.sentCover()
    const seq = this.monitor.send(s.id, loopMs, withCreate)
    const probe = this.probes.seal({ seq, sentMs: loopMs })
    this.counters.coverCellsOut++
    return this.seal(s, encodeRelay(this.host.geometry.forwardPayloadBytes, CIRCUIT_STREAM, RelayCommand.LOOP, probe))
  }

  /** A RELAY cell; elastic: every hop's control byte carries the rung requests (§6.1, §12.3). */
  private seal (s: ShapedCircuit, payload: Uint8Array): Uint8Array {
    const control = this.params.profile === 'elastic' ? s.rungs.control(this.round, this.slot) : 0
    return s.circuit.sealer.sealCell(s.id, payload, control)
  }

  private slotBoundary (slot: number): void {
    const first = this.slot === -1
    this.slot = slot
    this.missedThisSlot = 0
    if (this.params.profile === 'elastic') {
      this.budget!.slotBoundary()
      for (const s of this.circuits()) {
        if (!first && s.builtSlot < slot) s.rungs.slotBoundary()
        else s.rungs.demand.reset()
      }
      // Backward first: a download's forward wants the companion of its backward want.
      this.budget!.share('backward')
      this.budget!.share('forward')
    }
    const rounds: number[] = []
    for (let i = 0; i < this.params.loopsPerSlot; i++) rounds.push(randomUniform(this.roundsPerSlot))
    this.loopRounds = rounds.sort((a, b) => a - b)
  }

  /** The rungs of the live circuits (the budget's members). */
  private * laneRungs (): Iterable<BudgetMember> {
    for (const s of this.lanes) if (s !== null) yield s.rungs
  }

  /** Forward millicells per round of `s` in round `round`. */
  private rateOf (s: ShapedCircuit, round: number): number {
    return this.params.ratesMilli[this.params.profile === 'elastic' ? s.rungs.forwardAt(round) : 0]!
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
