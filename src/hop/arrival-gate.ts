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
 *
 * Carried rounds (§12.2 "Carried rounds"): the gate also says how many rounds of schedule
 * beyond its own the release must carry (`carried`), so that what came in beyond one round's
 * schedule leaves as it came instead of standing in the queues:
 * - a neighbour's write that carried `span` rounds before its own (its catch-up after a
 *   stall, rounds it carried on, a drain) is carried on alike, when every neighbour that owed
 *   the round carried at least that much (the least of their spans);
 * - a round released at its deadline (or caught up after a stall of this hop) before ANY of
 *   its owed writes had arrived left without them; when they all come, the next release
 *   carries their rounds again (each late write's round and span; a run at most
 *   MAX_LATE_ROUNDS long), as the hop's own catch-up after a stall would.
 * The release carries them as the schedule of that many rounds before its own: exactly what
 * came when every round's schedule is alike (strict, a top rung), the nearest whole-link
 * equivalent at sparse rungs, where the link drains (link-drain.ts) take up any rest.
 * Without that, a whole write that missed its round once, or a neighbour's catch-up, left
 * every circuit of it a round behind at this hop for the rest of its life: a standing queue,
 * one slot of each circuit's rate each time (at the bottom rung, 50 ms). What is carried is a
 * function of rounds and spans, never of one circuit: every circuit of the hop gets those
 * rounds' schedule, so the next link shows the same cells a release later or with the
 * neighbour's catch-up, as the near link did. A neighbour that delays only some of its
 * circuits, or only some neighbours' writes (the entry's clients), sets nothing off.
 *
 * Carrying a late round again costs one more round of every circuit's schedule (the deadline
 * release already sent that round, with PADs where the late cells should have been), and each
 * hop's extra is passed on by the hops after it. A hop that is late often (its machine's load)
 * would so send and cause ever more cover: traced through `up` at load 11, the entry's backward
 * carried 0.7 rounds a round and a download's client received 2.25 times its schedule, which
 * loaded the machine more (a page of 40 images took 5-10 s). So late rounds are carried again
 * within a budget, one per LATE_CREDIT_ROUNDS rounds with a burst of MAX_LATE_ROUNDS: at most
 * 1/16 more cover per hop and direction; what is over it stands until the drains take it
 * (link-drain.ts). A span received is carried only beyond the hop's own catch-up: the rounds it
 * covers that the hop had not released yet leave in that catch-up.
 */

/** A neighbour link as the gate sees it (a predecessor link's state, or the successor). */
export interface ArrivalSource {
  /** The last round whose write has all arrived from this source (−1 before the first), and that write's span. */
  lastRoundIn: number
  lastSpanIn: number
  /** Whether the gate waits for this source's write of its round. */
  owesRound: boolean
  /** The last round released without this source's owed write, while it still owes it (−1: none); `lateMark` says of which run. */
  lateOwed: number
  lateMark: number
}

export function newArrivalSource (): ArrivalSource {
  return { lastRoundIn: -1, lastSpanIn: 0, owesRound: false, lateOwed: -1, lateMark: 0 }
}

/** The most rounds of late writes one release carries again; later than that, the link drains (link-drain.ts) take over. */
export const MAX_LATE_ROUNDS = 8
/** Late rounds are carried again at most once per this many rounds on average (the budget above). */
export const LATE_CREDIT_ROUNDS = 16
const LATE_CREDIT_MAX = MAX_LATE_ROUNDS * LATE_CREDIT_ROUNDS
/** No span yet (the least span of no write). */
const NONE = Number.MAX_SAFE_INTEGER

export class ArrivalGate<S extends ArrivalSource> {
  /** The round the gate waits for (−1: not armed yet). */
  private awaited = -1
  /** Sources that owe the awaited round and have not sent it. */
  private waiting = 0
  /** Whether any source owed the awaited round at all (a round nobody owes waits for the deadline). */
  private owed = false
  /** Sources that owed the awaited round and had not sent it when it was armed. */
  private owing = 0
  /** The least span of the writes of the awaited round that arrived. */
  private spanIn = NONE
  /**
   * The run of consecutive rounds, ending with the last one released, that left before any of
   * their owed writes had arrived, or that nobody owed (−1: none); the sources that still owe
   * writes of it; the rounds of it whose writes came late, the spans those writes carried, and
   * the latest round counted (a round's writes from several sources count once); the run's mark (sources'
   * marks of older runs are stale).
   */
  private lateFirst = -1
  private lateLast = -1
  private lateWaiting = 0
  private lateRounds = 0
  private lateSpans = 0
  private lateCounted = -1
  private lateMark = 0
  /** The late-round budget, in rounds (LATE_CREDIT_ROUNDS per late round), and the round it was last topped up. */
  private lateCredit = LATE_CREDIT_MAX
  private creditRound = -1
  /** Late rounds that came but were over the budget: not carried (they stand until a drain). */
  lateOverBudget = 0

  /** The round the gate waits for, −1 before it is first armed. */
  get round (): number { return this.awaited }

  /** Whether the awaited round's writes have all arrived, and some were owed. */
  get ready (): boolean { return this.owed && this.waiting === 0 }

  /**
   * Wait for round `round` from every source that `owes` it a write (sources that sent it
   * already count as arrived). Returns `ready`. Called right after each release.
   */
  arm (round: number, sources: Iterable<S>, owes: (source: S, round: number) => boolean): boolean {
    // The rounds just released (the awaited one to round − 1: more after a stall of this hop)
    // left before any of the awaited round's owed writes had come, or nobody owed it: they join
    // the late run, and what comes for them later is carried on.
    const released = round - 1
    const missed = this.awaited >= 0 && this.awaited <= released && released - this.awaited < MAX_LATE_ROUNDS &&
      (!this.owed || (this.waiting > 0 && this.waiting === this.owing))
    if (missed) this.joinLateRun(this.awaited, released)
    this.awaited = round
    this.waiting = 0
    this.owed = false
    this.spanIn = NONE
    for (const source of sources) {
      if (missed && source.owesRound) this.markLate(source, released)
      const owesIt = owes(source, round)
      if (owesIt) this.owed = true
      // Sent already: its span counts if that write was this round's (a later one's tells nothing of it).
      if (source.lastRoundIn >= round) this.spanIn = Math.min(this.spanIn, source.lastRoundIn === round ? source.lastSpanIn : 0)
      source.owesRound = owesIt && source.lastRoundIn < round
      if (source.owesRound) this.waiting++
    }
    this.owing = this.waiting
    return this.ready
  }

  /** `source`'s write of `round`, carrying `span` rounds before it, has all arrived: true if the awaited round is ready now. */
  arrived (source: S, round: number, span = 0): boolean {
    if (round > source.lastRoundIn) {
      source.lastRoundIn = round
      source.lastSpanIn = span
    }
    if (source.lateOwed >= 0) this.lateArrived(source, round, span)
    if (round < this.awaited) {
      // Late: its round has left. If the round left without any of its writes, carry it on.
      if (round >= this.lateFirst && round <= this.lateLast && round > this.lateCounted) {
        this.lateRounds++
        this.lateSpans += span
        this.lateCounted = round
      }
      return false
    }
    this.spanIn = Math.min(this.spanIn, round === this.awaited ? span : 0)
    if (!source.owesRound) return false
    source.owesRound = false
    return --this.waiting === 0 && this.owed
  }

  /** `source` is gone (its link closed): it owes nothing. True if the awaited round is ready now. */
  gone (source: S): boolean {
    if (source.lateOwed >= 0) {
      if (source.lateMark === this.lateMark) this.endLateRun()
      source.lateOwed = -1
    }
    if (!source.owesRound) return false
    source.owesRound = false
    this.spanIn = 0
    return --this.waiting === 0 && this.owed
  }

  /**
   * At the release of `round`, which catches up `caughtUp` rounds this hop missed itself: how
   * many rounds of schedule beyond those it must carry.
   * The span of the writes of `round` counts once every owed one is in (a release at the
   * deadline without some carries nothing of the others'), and only beyond `caughtUp`: the
   * rounds a span covers that this hop has not released yet are in its own catch-up already.
   * (Threads of one machine stall together; adding the two, every hop sent its neighbour's
   * catch-up again on top of its own, and a download's client got 8.7 times its schedule.)
   * A late run counts once every source that owed it has sent its late write, and only for
   * what came, within the budget; it is dropped once it no longer ends just before the round
   * released, so it is carried at most once.
   */
  carried (round: number, caughtUp = 0): number {
    this.topUpCredit(round)
    const received = round === this.awaited && this.waiting === 0 && this.spanIn !== NONE ? this.spanIn : 0
    const span = Math.max(0, received - caughtUp)
    if (this.lateLast < 0) return span
    if (this.lateLast !== round - 1) {
      this.endLateRun()
      return span
    }
    if (this.lateWaiting > 0 || this.lateRounds === 0) return span
    const again = Math.min(this.lateRounds, Math.floor(this.lateCredit / LATE_CREDIT_ROUNDS))
    this.lateCredit -= again * LATE_CREDIT_ROUNDS
    this.lateOverBudget += this.lateRounds - again
    const late = again + this.lateSpans
    this.endLateRun()
    return span + late
  }

  private topUpCredit (round: number): void {
    if (this.creditRound >= 0 && round > this.creditRound) this.lateCredit = Math.min(LATE_CREDIT_MAX, this.lateCredit + round - this.creditRound)
    this.creditRound = round
  }

  private joinLateRun (first: number, last: number): void {
    if (this.lateLast === first - 1 && last - this.lateFirst < MAX_LATE_ROUNDS) {
      this.lateLast = last
      return
    }
    this.endLateRun()
    this.lateFirst = first
    this.lateLast = last
  }

  private markLate (source: S, round: number): void {
    if (source.lateOwed < 0 || source.lateMark !== this.lateMark) this.lateWaiting++
    source.lateOwed = round
    source.lateMark = this.lateMark
  }

  /**
   * `source`, which owes the late run its write of `source.lateOwed`, sent round `round` with
   * `span`: the owed write if it covers that round. A write past it that does not cover it
   * means the source skipped it (a stall of its own): what the run waits for never comes, and
   * carrying the others' alone would mark them, so the run is dropped.
   */
  private lateArrived (source: S, round: number, span: number): void {
    const owed = source.lateOwed
    if (round < owed) return
    source.lateOwed = -1
    if (source.lateMark !== this.lateMark) return
    if (round - span > owed) {
      this.endLateRun()
      return
    }
    if (this.lateWaiting > 0) this.lateWaiting--
  }

  private endLateRun (): void {
    this.lateFirst = -1
    this.lateLast = -1
    this.lateWaiting = 0
    this.lateRounds = 0
    this.lateSpans = 0
    this.lateCounted = -1
    this.lateMark++
  }
}
