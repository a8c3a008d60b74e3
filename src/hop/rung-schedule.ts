/**
 * Which rung of an elastic cascade's ladder one circuit runs at, round by round, at one hop
 * (docs/PROTOCOL.md §12.3). Pure: the hop feeds it the rung requests it peels and asks it for
 * the rung of a schedule round.
 *
 * A circuit starts at rung 0. A rung request is attributed to the client round it was sent in
 * (the round its write names on the link, round-phase.ts `writeRound`: the client's round,
 * unless a hop before was late), hence to a
 * slot s; the last valid request attributed to a slot before s' decides the rung of slot s'.
 * Slots are fixed in order the first time a round of theirs is asked for, and never change
 * after: a request that arrives too late for the slot it meant applies from the next one. A
 * slot without any request keeps the rung before it. So the rung changes at slot boundaries,
 * and every hop of the circuit derives the same rungs from the same cells.
 *
 * The one change inside a slot is a wake (§12.3): a request for a rung above 0, sent in client
 * round n of a slot that runs at rung 0, lifts the slot to WAKE_RUNG from schedule round
 * n + wakeDelay to its end (if that round is still in the slot). The first such request of a
 * slot decides; one that arrives after that round was scheduled here applies from the next
 * round not yet scheduled, as a late slot request does. One schedule serves one direction.
 */

import { WAKE_RUNG } from '../protocol/shaping.js'

/** Fixed slots (and wakes) kept for lookups behind the newest (a drain looks back ≤ 32 rounds). */
const HISTORY = 16

export class RungSchedule {
  private readonly roundsPerSlot: number
  private readonly rungs: number
  /** Latest request: the slot it was attributed to, and its rung (−1: none yet). */
  private lastSlot = -Infinity
  private lastRung = -1
  /** The latest request attributed to a slot before `lastSlot`. */
  private prevSlot = -Infinity
  private prevRung = -1
  /** Slots up to here have a fixed rung. */
  private fixedThrough: number
  /** Rung changes: from slot fromSlot[i], rung[i] (ascending). */
  private readonly fromSlot: number[] = [-Infinity]
  private readonly rung: number[] = [0]
  /** Wakes: slot wakeSlot[i] runs at WAKE_RUNG from round wakeRound[i] on (ascending). */
  private readonly wakeSlot: number[] = []
  private readonly wakeRound: number[] = []
  /** Caps: slot capSlot[i] runs at no more than capRung[i] (ascending slots). */
  private readonly capSlot: number[] = []
  private readonly capRung: number[] = []
  /** The latest schedule round asked for: a wake never changes a round already scheduled. */
  private askedThrough = -Infinity
  private readonly wakeDelay: number

  /**
   * A circuit created in `round` (its rung is 0 through that round's slot); a wake lifts a
   * round-0 slot `wakeDelay` rounds after the client round of its request (wakeDelayRounds).
   */
  constructor (roundsPerSlot: number, rungs: number, round: number, wakeDelay = 1) {
    this.roundsPerSlot = roundsPerSlot
    this.rungs = rungs
    this.fixedThrough = Math.floor(round / roundsPerSlot)
    this.wakeDelay = wakeDelay
  }

  /**
   * A cell sent in client round `round` asked for `rung` (from decodeRungRequest; −1 and rungs
   * beyond the ladder are ignored). Requests attributed to a slot older than the latest one
   * seen are ignored too.
   */
  request (rung: number, round: number, targetParity?: number): void {
    if (rung < 0 || rung >= this.rungs || !Number.isInteger(rung)) return
    let slot = Math.floor(round / this.roundsPerSlot)
    // The request is for the slot after the one it was sent in. If that slot's parity is not
    // the one the client wrote, the cell reached this hop late (a stall, here or before):
    // it was sent in the slot before.
    if (targetParity !== undefined && ((slot + 1) & 1) !== targetParity) slot--
    if (rung > 0) this.wake(slot, round)
    if (slot === this.lastSlot) { this.lastRung = rung; return }
    if (slot < this.lastSlot) return
    this.prevSlot = this.lastSlot
    this.prevRung = this.lastRung
    this.lastSlot = slot
    this.lastRung = rung
  }

  /** The rung of schedule round `round`. */
  rungAt (round: number): number {
    if (round > this.askedThrough) this.askedThrough = round
    const slot = Math.floor(round / this.roundsPerSlot)
    const rung = this.slotRung(slot)
    if (rung === 0) return this.wokenAt(slot, round) ? WAKE_RUNG : 0
    return Math.min(rung, this.capOf(slot))
  }

  /**
   * The highest rung around schedule round `round`: its slot's, the slot before's, and the
   * latest request's (the next slot's, unless the hop before placed it a slot apart). What a
   * queue's bound is sized by (hop-core.ts): a neighbour a slot ahead or behind sends at one
   * of these rates.
   */
  highestNear (round: number): number {
    const slot = Math.floor(round / this.roundsPerSlot)
    return Math.max(this.slotRung(slot), this.slotRung(slot - 1), this.lastRung, this.wokenAt(slot, round) ? WAKE_RUNG : 0)
  }

  /** The rung slot `slot` was fixed at (its requests), before any cap or wake. */
  slotRungOf (slot: number): number {
    return this.slotRung(slot)
  }

  /**
   * Run slot `slot` at no more than `rung` (the entry's client-rate cap, client-rate-cap.ts),
   * whatever its requests asked. Only lowers; a cap on an older slot than the last is ignored.
   */
  cap (slot: number, rung: number): void {
    const last = this.capSlot.length - 1
    if (last >= 0 && this.capSlot[last]! > slot) return
    if (last >= 0 && this.capSlot[last] === slot) { this.capRung[last] = Math.min(this.capRung[last]!, rung); return }
    this.capSlot.push(slot)
    this.capRung.push(rung)
    if (this.capSlot.length > HISTORY) { this.capSlot.shift(); this.capRung.shift() }
  }

  private capOf (slot: number): number {
    for (let i = this.capSlot.length - 1; i >= 0; i--) {
      if (this.capSlot[i] === slot) return this.capRung[i]!
      if (this.capSlot[i]! < slot) break
    }
    return Infinity
  }

  private slotRung (slot: number): number {
    if (slot > this.fixedThrough) this.fixUpTo(slot)
    for (let i = this.fromSlot.length - 1; i > 0; i--) {
      if (this.fromSlot[i]! <= slot) return this.rung[i]!
    }
    return this.rung[0]!
  }

  private wokenAt (slot: number, round: number): boolean {
    for (let i = this.wakeSlot.length - 1; i >= 0; i--) {
      const woken = this.wakeSlot[i]!
      if (woken === slot) return this.wakeRound[i]! <= round
      if (woken < slot) return false
    }
    return false
  }

  /** A request above rung 0 sent in client round `round`, attributed to `slot`. */
  private wake (slot: number, round: number): void {
    if (WAKE_RUNG >= this.rungs) return
    const last = this.wakeSlot.length - 1
    if (last >= 0 && this.wakeSlot[last]! >= slot) return
    let from = round + this.wakeDelay
    if (from <= this.askedThrough) from = this.askedThrough + 1
    if (Math.floor(from / this.roundsPerSlot) !== slot || this.slotRung(slot) !== 0) return
    this.wakeSlot.push(slot)
    this.wakeRound.push(from)
    if (this.wakeSlot.length > HISTORY) { this.wakeSlot.shift(); this.wakeRound.shift() }
  }

  /** The rung the requests give slot `slot`: the last one attributed to an earlier slot. */
  private requested (slot: number): number {
    if (this.lastSlot < slot) return this.lastRung
    if (this.prevSlot < slot) return this.prevRung
    return -1
  }

  private fixUpTo (slot: number): void {
    while (this.fixedThrough < slot) {
      const next = this.fixedThrough + 1
      const asked = this.requested(next)
      const current = this.rung[this.rung.length - 1]!
      if (asked >= 0 && asked !== current) {
        this.fromSlot.push(next)
        this.rung.push(asked)
        if (this.fromSlot.length > HISTORY) { this.fromSlot.shift(); this.rung.shift() }
      }
      // No request attributed to `next` or later: every later slot up to `slot` is the same.
      this.fixedThrough = this.lastSlot < next ? slot : next
    }
  }
}

