/**
 * Which rung of an elastic cascade's ladder one circuit runs at, round by round, at one hop
 * (docs/PROTOCOL.md §12.3). Pure: the hop feeds it the rung requests it peels and asks it for
 * the rung of a schedule round.
 *
 * A circuit starts at rung 0. A rung request is attributed to the client round it was sent in
 * (the hop's arrival round minus its distance from the client, `requestRound`), hence to a
 * slot s; the last valid request attributed to a slot before s' decides the rung of slot s'.
 * Slots are fixed in order the first time a round of theirs is asked for, and never change
 * after: a request that arrives too late for the slot it meant applies from the next one. A
 * slot without any request keeps the rung before it. So the rung changes only at slot
 * boundaries, and every hop of the circuit derives the same rungs from the same cells.
 */

/** Fixed slots kept for lookups behind the newest (the two directions' rounds differ by < hops). */
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

  /** A circuit created in `round` (its rung is 0 through that round's slot). */
  constructor (roundsPerSlot: number, rungs: number, round: number) {
    this.roundsPerSlot = roundsPerSlot
    this.rungs = rungs
    this.fixedThrough = Math.floor(round / roundsPerSlot)
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
    if (slot === this.lastSlot) { this.lastRung = rung; return }
    if (slot < this.lastSlot) return
    this.prevSlot = this.lastSlot
    this.prevRung = this.lastRung
    this.lastSlot = slot
    this.lastRung = rung
  }

  /** The rung of schedule round `round`. */
  rungAt (round: number): number {
    const slot = Math.floor(round / this.roundsPerSlot)
    if (slot > this.fixedThrough) this.fixUpTo(slot)
    for (let i = this.fromSlot.length - 1; i > 0; i--) {
      if (this.fromSlot[i]! <= slot) return this.rung[i]!
    }
    return this.rung[0]!
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

/**
 * The client round a forward cell arriving at hop `position` in round `arrivalRound` was sent
 * in: each hop before this one delayed it by one round (PROTOCOL.md §12.2).
 */
export function requestRound (arrivalRound: number, position: number): number {
  return arrivalRound - (position - 1)
}
