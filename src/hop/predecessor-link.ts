/**
 * What a hop keeps per link from its predecessor (at the entry: per client link): the
 * circuits on it, the CREATEs it sent that wait for a later round, its CREATE budget, the
 * circuit IDs in quarantine, and its share of the round (input paused past a per-round cap).
 */
import type { CellLink } from '../link/cell-link.js'
import type { TokenBucket } from '../link/token-bucket.js'
import type { Logger } from '../base/logger.js'
import { LogAggregator } from '../base/log-aggregate.js'
import type { HopCircuit } from './hop-circuit.js'
import type { HopStats } from './hop-stats.js'
import { newArrivalSource, type ArrivalSource } from './arrival-gate.js'

/** A CREATE waiting for a later round's budget, and the cells that came after it on its ID. */
export interface CarriedCreate {
  readonly state: LinkState
  readonly inId: number
  readonly body: Uint8Array
  readonly after: Uint8Array[]
}

/** Shaped: also a source of the forward arrival gate (arrival-gate.ts), its writes' rounds. */
export interface LinkState extends ArrivalSource {
  readonly link: CellLink
  readonly circuits: Map<number, HopCircuit>
  /** CREATEs from this link carried to a later round, by circuit ID. */
  readonly carried: Map<number, CarriedCreate>
  cellsThisRound: number
  paused: boolean
  /** Shaped: this round's backward cells for the link (reused every round), and the rounds before it they carry too. */
  readonly batch: Uint8Array[]
  batchSpan: number
  /** Circuit IDs of circuits that ended here recently, and the round until which they stay unusable. */
  readonly quarantine: Map<number, number>
  /** The link's CREATE budget (null: unlimited). */
  readonly createBucket: TokenBucket | null
  /** When the link last had a circuit or a carried CREATE (entry: idle links are closed). */
  lastBusy: number
}

export function newLinkState (link: CellLink, createBucket: TokenBucket | null, now: number): LinkState {
  return {
    link,
    circuits: new Map(),
    carried: new Map(),
    cellsThisRound: 0,
    paused: false,
    batch: [],
    batchSpan: 0,
    quarantine: new Map(),
    createBucket,
    lastBusy: now,
    ...newArrivalSource(),
  }
}

/** Whether `inId` is quarantined on the link in `round` (an expired entry is dropped on the way). */
export function quarantined (state: LinkState, inId: number, round: number): boolean {
  const until = state.quarantine.get(inId)
  if (until === undefined) return false
  if (until > round) return true
  state.quarantine.delete(inId)
  return false
}

/**
 * The hop's links from its predecessor: their states, their flow (paused past a round's cell
 * cap, or all of them while the successor is backpressured) and how their ends are counted.
 */
export class PredecessorLinks {
  private readonly table = new Map<CellLink, LinkState>()
  private readonly stats: HopStats
  private readonly logger: Logger
  /** Link failures as a count per reason and minute (R19: no line per link). */
  private readonly failures: LogAggregator
  /** Set while the successor is backpressured: predecessors are not read until it drains. */
  private blocked = false

  constructor (logger: Logger, stats: HopStats) {
    this.logger = logger
    this.stats = stats
    this.failures = new LogAggregator(logger, { level: 'warn' })
  }

  get size (): number { return this.table.size }
  values (): IterableIterator<LinkState> { return this.table.values() }
  get (link: CellLink): LinkState | undefined { return this.table.get(link) }
  isAttached (state: LinkState): boolean { return this.table.get(state.link) === state }

  add (state: LinkState): void {
    if (this.blocked) { state.paused = true; state.link.pauseInput() }
    this.table.set(state.link, state)
    this.stats.linksAccepted++
  }

  /** The link ended with `reason`: false if it was no longer attached. */
  remove (state: LinkState, reason: string): boolean {
    // A line per link with its time would be, at the entry, a record of who came and went
    // (R19): failures are counted, and logged as a count per reason once a minute.
    if (reason !== 'closed' && reason !== 'LINK_CLOSED') {
      this.stats.linksFailed++
      this.failures.count('link.failed', { reason })
    } else {
      this.logger.debug('link.closed', { reason })
    }
    if (!this.isAttached(state)) return false
    this.table.delete(state.link)
    this.stats.linksClosed++
    return true
  }

  /** Close every link (this hop can no longer carry their circuits). */
  closeAll (): void {
    for (const state of [...this.table.values()]) state.link.close()
  }

  /** A new round: every link may deliver its per-round share again. */
  newRound (): void {
    for (const state of this.table.values()) {
      state.cellsThisRound = 0
      if (state.paused && !this.blocked) { state.paused = false; state.link.resumeInput() }
    }
  }

  /** The successor cannot take more for now: stop reading every link until it drains. */
  block (): void {
    if (this.blocked) return
    this.blocked = true
    for (const state of this.table.values()) {
      if (!state.paused) { state.paused = true; state.link.pauseInput() }
    }
  }

  unblock (): void {
    if (!this.blocked) return
    this.blocked = false
    for (const state of this.table.values()) {
      if (state.paused) { state.paused = false; state.link.resumeInput() }
    }
  }

  /**
   * The idle sweep: drop quarantines that expired by `round`; with `idleBefore` (the entry),
   * close every link that held no circuit since then (a bound on idle client connections),
   * else hand it to `sweepCircuits`.
   */
  sweep (round: number, idleBefore: number | null, sweepCircuits: (state: LinkState) => void): void {
    for (const state of this.table.values()) {
      for (const [inId, until] of state.quarantine) if (until <= round) state.quarantine.delete(inId)
      if (idleBefore !== null) {
        if (state.circuits.size > 0 || state.carried.size > 0) state.lastBusy = Date.now()
        else if (state.lastBusy <= idleBefore) {
          this.stats.linksClosedIdle++
          state.link.close()
          continue
        }
      }
      sweepCircuits(state)
    }
  }

  close (): void { this.failures.close() }
}
