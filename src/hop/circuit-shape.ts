/**
 * What a shaped hop keeps per circuit (docs/PROTOCOL.md §12): the cells waiting for their
 * scheduled slots in each direction, the circuit's rate over time in each direction, and
 * whether its CREATE has left the kMin hold.
 */
import { cellsInRound, MILLI, wakeDelayRounds, type ShapingParams } from '../protocol/shaping.js'
import { QUEUE_BOUND_ROUNDS } from './hop-options.js'
import { CellQueue } from './cell-queue.js'
import { RungSchedule } from './rung-schedule.js'

/**
 * LOOP echoes one circuit's exit may hold. An honest client sends loopsPerSlot LOOPs per slot
 * over all its circuits, and the exit returns each within loopJitterRounds plus a wait for a
 * slot, so a handful ever wait at once; a LOOP beyond this is dropped (counted).
 */
export const MAX_LOOPS_WAITING = 16

export type Direction = 'forward' | 'backward'

export class CircuitShape {
  /** Mix: peeled cells for the successor, in order. */
  readonly forward = new CellQueue()
  /** Backward: whole cells from the successor (mix) or relay payloads (exit), not yet sealed. */
  readonly backward = new CellQueue()
  /** Elastic only: the circuit's rung per round, forward and backward (each its own). */
  readonly rungs: { readonly forward: RungSchedule, readonly backward: RungSchedule } | null
  private readonly ratesMilli: readonly number[]
  /** Set once the CREATE left the kMin hold: from then on the circuit is shaped forward. */
  released = false
  /** Mix: the CREATE for the successor, until it is sent. */
  create: Uint8Array | null = null
  /** Exit: LOOP echoes waiting (payloads, and the round each may leave from). */
  private loops: Uint8Array[] | null = null
  private loopDue: number[] | null = null
  /** The round the LOOP echo `takeLoop` returned last could first have left in (its arrival + 1). */
  lastLoopFirstRound = 0
  private loopFirst: number[] | null = null

  /** A circuit created in schedule round `round` of a cascade of `hops` hops. */
  constructor (params: ShapingParams, roundsPerSlot: number, round: number, hops = 3) {
    this.ratesMilli = params.ratesMilli
    const rungs = params.ratesMilli.length
    this.rungs = params.profile !== 'elastic'
      ? null
      : {
          forward: new RungSchedule(roundsPerSlot, rungs, round, wakeDelayRounds('forward', hops)),
          backward: new RungSchedule(roundsPerSlot, rungs, round, wakeDelayRounds('backward', hops)),
        }
  }

  /** Millicells per round at schedule round `round` in `direction`. */
  rateAt (round: number, direction: Direction): number {
    const rungs = this.rungs
    if (rungs === null) return this.ratesMilli[0]!
    return this.ratesMilli[(direction === 'forward' ? rungs.forward : rungs.backward).rungAt(round)]!
  }

  /**
   * The bound of this circuit's queue in `direction` near round `round`: `floor`, or
   * QUEUE_BOUND_ROUNDS rounds of its highest rate near then (RungSchedule.highestNear) if more.
   */
  queueBound (direction: Direction, round: number, floor: number): number {
    const rungs = this.rungs
    const rate = rungs === null ? this.ratesMilli[0]! : this.ratesMilli[(direction === 'forward' ? rungs.forward : rungs.backward).highestNear(Math.max(0, round))]!
    return Math.max(floor, QUEUE_BOUND_ROUNDS * Math.ceil(rate / MILLI))
  }

  /** Cells this circuit carries at schedule round `round` in `direction` (PROTOCOL.md §12.2). */
  cellsAt (round: number, direction: Direction): number {
    return cellsInRound(this.rateAt(round, direction), round)
  }

  /** Cells of schedule rounds `from` to `to` inclusive (a round that catches up a stall). */
  cellsFor (from: number, to: number, direction: Direction): number {
    if (from >= to) return this.cellsAt(to, direction)
    let cells = 0
    for (let round = from; round <= to; round++) cells += this.cellsAt(round, direction)
    return cells
  }

  /**
   * Queue a LOOP echo that could leave from round `first` and may from round `due` on (exit).
   * False, and nothing queued, when MAX_LOOPS_WAITING echoes already wait: a client that
   * sends LOOPs faster than its circuit's schedule carries them back gets the rest dropped.
   */
  addLoop (payload: Uint8Array, first: number, due: number): boolean {
    if (this.loopsWaiting >= MAX_LOOPS_WAITING) return false;
    (this.loops ??= []).push(payload)
    ;(this.loopDue ??= []).push(due)
    ;(this.loopFirst ??= []).push(first)
    return true
  }

  /** The oldest LOOP echo due by `round`, removed; undefined if none. */
  takeLoop (round: number): Uint8Array | undefined {
    const due = this.loopDue
    if (due === null || due.length === 0) return undefined
    // Delays differ, so the first due is not always the oldest: take the first one due.
    for (let i = 0; i < due.length; i++) {
      if (due[i]! <= round) {
        due.splice(i, 1)
        this.lastLoopFirstRound = this.loopFirst!.splice(i, 1)[0]!
        return this.loops!.splice(i, 1)[0]
      }
    }
    return undefined
  }

  get loopsWaiting (): number { return this.loopDue?.length ?? 0 }

  /** Cells held in both directions. */
  get queued (): number { return this.forward.length + this.backward.length + this.loopsWaiting }

  /** Drop every queued cell and LOOP echo (the CREATE for the successor, if any, stays). */
  clearQueues (): void {
    this.forward.clear()
    this.backward.clear()
    this.loops = null
    this.loopDue = null
    this.loopFirst = null
  }

  clear (): void {
    this.clearQueues()
    this.create = null
  }
}
