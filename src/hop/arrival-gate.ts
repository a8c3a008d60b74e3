/**
 * Release on arrival (docs/PROTOCOL.md §12.1, docs/HOP.md "Shaped rounds"): a shaped hop
 * releases its round n as soon as every neighbour that owes it a write of round n has sent
 * that write whole, instead of waiting for its pipeline offset, which stays the deadline.
 *
 * Why: with releases only at fixed offsets, a cell that reached a hop just after its release
 * waited a round there, and since a shaped hop never sends more than the schedule, its
 * circuit then ran a round behind at that hop for the rest of its life (a standing queue:
 * at the bottom rung five rounds per hop). Released on arrival, a round's cells leave with
 * the round they came in, and a leg of the cascade costs the hops' processing time, not a
 * pipeline step each.
 *
 * Who owes a write: a neighbour sends exactly the schedule of the circuits it shares with
 * this hop (PADDING and PADs fill it), so it owes round n a write when any of those circuits
 * has a cell scheduled in round n; the caller says which (`owes`). A round nobody owes waits
 * for the deadline: there is nothing to hurry, and a neighbour's unforeseen write (a link
 * drain) is not cut off. Release times then follow the neighbours' write times, which the
 * link shows anyway, and never content (R17).
 */

/** A neighbour link as the gate sees it (a predecessor link's state, or the successor). */
export interface ArrivalSource {
  /** The last round whose write has all arrived from this source (−1 before the first). */
  lastRoundIn: number
  /** Whether the gate waits for this source's write of its round. */
  owesRound: boolean
}

export function newArrivalSource (): ArrivalSource {
  return { lastRoundIn: -1, owesRound: false }
}

export class ArrivalGate<S extends ArrivalSource> {
  /** The round the gate waits for (−1: not armed yet). */
  private awaited = -1
  /** Sources that owe the awaited round and have not sent it. */
  private waiting = 0
  /** Whether any source owed the awaited round at all (a round nobody owes waits for the deadline). */
  private owed = false

  /** The round the gate waits for, −1 before it is first armed. */
  get round (): number { return this.awaited }

  /** Whether the awaited round's writes have all arrived, and some were owed. */
  get ready (): boolean { return this.owed && this.waiting === 0 }

  /**
   * Wait for round `round` from every source that `owes` it a write (sources that sent it
   * already count as arrived). Returns `ready`.
   */
  arm (round: number, sources: Iterable<S>, owes: (source: S, round: number) => boolean): boolean {
    this.awaited = round
    this.waiting = 0
    this.owed = false
    for (const source of sources) {
      const owesIt = owes(source, round)
      if (owesIt) this.owed = true
      source.owesRound = owesIt && source.lastRoundIn < round
      if (source.owesRound) this.waiting++
    }
    return this.ready
  }

  /** `source`'s write of `round` has all arrived: true if the awaited round is ready now. */
  arrived (source: S, round: number): boolean {
    if (round > source.lastRoundIn) source.lastRoundIn = round
    if (!source.owesRound || round < this.awaited) return false
    source.owesRound = false
    return --this.waiting === 0 && this.owed
  }

  /** `source` is gone (its link closed): it owes nothing. True if the awaited round is ready now. */
  gone (source: S): boolean {
    if (!source.owesRound) return false
    source.owesRound = false
    return --this.waiting === 0 && this.owed
  }
}
