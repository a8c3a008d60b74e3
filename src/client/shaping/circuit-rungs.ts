/**
 * One elastic circuit's rungs at the client (PROTOCOL.md §12.3, §12.6): the rung each direction
 * runs at in this slot, the rungs its cells ask for the next slot, and the wake that lifts a
 * direction from rung 0 inside a slot. The hops derive the same from the control bytes they
 * read (src/hop/rung-schedule.ts), so what counts here is what a sent cell carried.
 *
 *   - A real cell sent or received while both requests are 0 asks for rung 1 both ways: the
 *     next cell carries it, and since the slot runs at rung 0 that is a wake (forward from the
 *     next round, backward from 2 rounds on: a short exchange is not held at the bottom
 *     rung's pace), and rung 1 for the next slot.
 *   - A saturated run asks at once, in this slot, for a rung 16 times as fast in that direction
 *     (backward: forward at least the companion rung for its SENDMEs): a download climbs at
 *     the next boundary, or the one after if the run showed too late for a cell to carry it.
 *   - Backward, a slot that is delivering less than its schedule (by more than an eighth and
 *     four rounds' cells: the cascade or this process cannot carry the rate) asks, from the
 *     moment that shows (16 rounds in at the earliest), for no more than it is taking, does not
 *     climb, and for the next COOL_DOWN_SLOTS slots climbs no higher than below the rung that
 *     proved too fast. Hops send their schedule whatever the next hop takes (§12.2), so a rate
 *     the cascade cannot carry piles up in a link until the link closes (64 MiB, §8.5); this is
 *     what keeps a download below that, at the rate the slowest hop carries.
 *   - At a boundary the requests restart from what the slot carried (rung-policy.ts).
 * Each direction keeps what it wants (the policy above) and what it asks for: the same, unless
 * the client's ceiling on all its circuits' rungs (rung-budget.ts) cut it down.
 */
import { cellsInRound, encodeRungRequest, MILLI, slotAt, wakeDelayRounds, WAKE_RUNG } from '../../protocol/shaping.js'
import { backwardLagRounds } from '../../protocol/round-phase.js'
import type { BudgetDirection, BudgetMember, RungBudget } from './rung-budget.js'
import { climbRung, companionRung, nextRung, rungTaking, saturationRun, SlotDemand, underused } from './rung-policy.js'

/** Rounds of a slot before its deliveries are judged (a rate change takes hops rounds to show). */
const BEHIND_MIN_ROUNDS = 16
/** Slots after a behind slot in which the backward rung stays below the one that was too fast. */
const COOL_DOWN_SLOTS = 4

export class CircuitRungs implements BudgetMember {
  readonly demand = new SlotDemand()
  /** This slot's rungs (the last requests carried in the slot before). */
  forward = 0
  backward = 0
  /** What the cells sent from now on ask for the next slot. */
  requestForward = 0
  requestBackward = 0
  /** What the policy asks for, before the client's ceiling (rung-budget.ts). */
  private wantForward = 0
  private wantBackward = 0
  /** What the last cell sent carried. */
  private carriedForward = 0
  private carriedBackward = 0
  /** Wakes in this slot: the first round each direction runs at WAKE_RUNG (Infinity: none). */
  private wakeForward = Infinity
  private wakeBackward = Infinity
  /** A saturated run was seen in this slot. */
  private saturatedForward = false
  private saturatedBackward = false
  /** Backward this slot: the cells the schedule sent us, and all we took (PADs and cover too). */
  private expectedBackward = 0
  private receivedBackward = 0
  /**
   * What a slot that woke had carried before its wake (forward: cells sent; backward: cells
   * expected and received): not counted when judging whether real cells fill the slot.
   */
  private forwardBeforeWake = 0
  private expectedBeforeWake = 0
  private receivedBeforeWake = 0
  private roundsThisSlot = 0
  /** A backward rung that proved faster than the cascade carries, and the slots it still bars. */
  private tooFastBackward = Infinity
  private tooFastSlots = 0
  private readonly ladder: readonly number[]
  private readonly roundsPerSlot: number
  private readonly backwardDelay: number
  private readonly backwardLag: number
  /** The client's ceiling on all its circuits' rungs (none: each asks for what it wants). */
  private readonly budget: RungBudget | null

  constructor (ladder: readonly number[], roundsPerSlot: number, hops: number, budget: RungBudget | null = null) {
    this.ladder = ladder
    this.budget = budget
    this.roundsPerSlot = roundsPerSlot
    this.backwardDelay = wakeDelayRounds('backward', hops)
    this.backwardLag = backwardLagRounds(hops)
  }

  /**
   * Client round `round` ran: count the backward cells the entry's schedule sent us since the
   * last (pipelined, §12.1: the entry releases backward round n hops − 1 pipeline steps after
   * n·roundMs, before the client's round n + 1 with up to four hops).
   */
  ranRound (round: number): void {
    this.countRound(round)
    if (this.roundsThisSlot >= BEHIND_MIN_ROUNDS && this.behind()) this.slowDown()
  }

  /**
   * Client round `round` was skipped (this process stalled): the entry's schedule sent its
   * cells all the same, so they are expected; judged from the next round run, once what
   * waited in the socket has been read. Without this, a client too busy to run its rounds
   * never looked behind, whatever it failed to read.
   */
  skippedRound (round: number): void {
    this.countRound(round)
  }

  private countRound (round: number): void {
    const scheduled = round - 1 - this.backwardLag
    this.expectedBackward += cellsInRound(this.ladder[this.backwardAt(scheduled)]!, scheduled)
    this.roundsThisSlot++
  }

  /** Any backward cell arrived (real, PAD, LOOP echo or DROP). */
  receivedCell (): void { this.receivedBackward++ }

  /** The forward rung of client round `round` (this slot's, or the wake's). */
  forwardAt (round: number): number {
    return this.forward === 0 && round >= this.wakeForward ? WAKE_RUNG : this.forward
  }

  /** The backward rung of schedule round `round`. */
  backwardAt (round: number): number {
    return this.backward === 0 && round >= this.wakeBackward ? WAKE_RUNG : this.backward
  }

  want (direction: BudgetDirection): number {
    return direction === 'forward' ? this.wantForward : this.wantBackward
  }

  granted (direction: BudgetDirection): number {
    return direction === 'forward' ? this.requestForward : this.requestBackward
  }

  grant (direction: BudgetDirection, rung: number): void {
    if (direction === 'forward') this.requestForward = rung
    else this.requestBackward = rung
  }

  busy (): boolean {
    return this.demand.forwardReal > 0 || this.demand.backwardReal > 0
  }

  /**
   * Slot boundary: the slot runs at what the last slot's cells carried; want from its demand.
   * Until the owner shares the budget out (RungBudget.share, after every circuit's boundary),
   * the requests are the wants.
   */
  slotBoundary (): void {
    const demand = this.demand
    // Judged at the rung the ending slot ran at, before it changes.
    const behind = this.behind()
    this.forward = this.carriedForward
    this.backward = this.carriedBackward
    this.wakeForward = this.wakeBackward = Infinity
    let backward = this.saturatedBackward && !behind ? this.wantBackward : nextRung(this.ladder, demand.backwardReal, false, this.roundsPerSlot)
    if (behind) backward = Math.min(backward, this.floorOfTaking(rungTaking(this.ladder, this.receivedBackward, this.roundsPerSlot)))
    const forward = this.saturatedForward ? this.wantForward : nextRung(this.ladder, demand.forwardReal, false, this.roundsPerSlot)
    this.requestBackward = this.wantBackward = backward
    this.requestForward = this.wantForward = Math.max(forward, companionRung(this.ladder, backward))
    this.saturatedForward = this.saturatedBackward = false
    this.expectedBackward = this.receivedBackward = this.roundsThisSlot = 0
    this.forwardBeforeWake = this.expectedBeforeWake = this.receivedBeforeWake = 0
    if (this.tooFastSlots > 0 && --this.tooFastSlots === 0) this.tooFastBackward = Infinity
    demand.reset()
  }

  /** A real cell is about to be sent in round `round` (`control`: a SENDME or stream-0 cell). */
  sentReal (control: boolean, round: number): void {
    this.demand.sentReal(control)
    this.wakeRequest()
    const demand = this.demand
    if (!control && !this.saturatedForward && demand.forwardRun >= this.runAt(this.forwardAt(round)) && !underused(demand.forwardReal, demand.forwardAll - this.forwardBeforeWake)) {
      this.saturatedForward = true
      this.wantForward = Math.max(this.wantForward, climbRung(this.ladder, this.forwardAt(round)))
      this.requestForward = this.allowed('forward', this.wantForward)
    }
  }

  /** A real backward cell arrived in round `round`. */
  receivedReal (round: number): void {
    this.demand.receivedReal()
    this.wakeRequest()
    const demand = this.demand
    if (demand.backwardRun >= this.runAt(this.backwardAt(round)) && !this.saturatedBackward && !this.behind() && !underused(demand.backwardReal, this.scheduledBackward())) {
      this.saturatedBackward = true
      this.wantBackward = Math.max(this.wantBackward, Math.min(climbRung(this.ladder, this.backwardAt(round)), this.tooFastBackward - 1))
      this.requestBackward = this.allowed('backward', this.wantBackward)
      this.wantForward = Math.max(this.wantForward, companionRung(this.ladder, this.requestBackward))
      this.requestForward = this.allowed('forward', this.wantForward)
    }
  }

  /**
   * The control byte of a cell sent in client round `round` of slot `slot`. A request above 0
   * that meets a direction at rung 0 wakes it, as at every hop (rung-schedule.ts).
   */
  control (round: number, slot: number): number {
    if (this.requestForward > 0 && this.forward === 0 && this.wakeForward === Infinity) {
      if (slotAt(round + 1, this.roundsPerSlot) === slot) {
        this.wakeForward = round + 1
        this.forwardBeforeWake = this.demand.forwardAll
      }
    }
    if (this.requestBackward > 0 && this.backward === 0 && this.wakeBackward === Infinity) {
      const from = round + this.backwardDelay
      if (slotAt(from, this.roundsPerSlot) === slot) {
        this.wakeBackward = from
        this.expectedBeforeWake = this.expectedBackward
        this.receivedBeforeWake = this.receivedBackward
      }
    }
    this.carriedForward = this.requestForward
    this.carriedBackward = this.requestBackward
    return encodeRungRequest(this.requestForward, this.requestBackward, slot + 1)
  }

  /**
   * The backward cells that count when judging whether real cells fill the slot: those since
   * its wake, if it woke (the rounds at rung 0 before, and the round trip a request takes
   * before its answer, are no gap in a download), and no more than the schedule sent. A drain
   * (PROTOCOL.md §12.2) brings a whole link's circuits the PADs of rounds they already had:
   * traced with eight downloads that woke together, ≈ 170 such PADs in one slot kept every
   * circuit from looking saturated until the slot's end, so each spent a second slot at the
   * wake rung.
   */
  private scheduledBackward (): number {
    return Math.min(this.receivedBackward - this.receivedBeforeWake, this.expectedBackward - this.expectedBeforeWake)
  }

  /**
   * Backward, this slot delivered less than its schedule sent so far, by more than an eighth
   * and more than four rounds' cells at its rung (what arrives a round late is no deficit).
   * All cells count, PADs too: judging by real cells alone (a lagging hop hides behind the next
   * hop's PADs) also cut every download that its stream window or server holds back, and the
   * quick bench's elastic single stream fell from 6.7 to 2.0 MB/s; the drains no longer feed a
   * backed-up link (link-drain.ts), which was what overflowed.
   */
  private behind (): boolean {
    const deficit = this.expectedBackward - this.receivedBackward
    return this.expectedBackward > 16 && 8 * deficit > this.expectedBackward &&
      deficit > 4 * Math.ceil(this.ladder[this.backward]! / MILLI)
  }

  /**
   * Behind in this slot: ask for the next slot no more than this slot is taking (projected to
   * its end), and bar the rung that proved too fast for the slots to come.
   */
  private slowDown (): void {
    const taking = Math.floor(this.receivedBackward * this.roundsPerSlot / this.roundsThisSlot)
    const rung = rungTaking(this.ladder, taking, this.roundsPerSlot)
    const floor = this.floorOfTaking(rung)
    // The wake rung is never barred (below: floorOfTaking), even on a circuit with nothing in
    // this slot yet: its request may still be on its way to the exit.
    if (this.backward > Math.max(floor, WAKE_RUNG)) {
      this.tooFastBackward = Math.min(this.tooFastBackward, this.backward)
      this.tooFastSlots = COOL_DOWN_SLOTS
    }
    if (floor < this.requestBackward) this.requestBackward = this.wantBackward = floor
  }

  /**
   * A slow-down never takes a circuit that carries real cells below the wake rung, and never
   * bars it: the wake rung costs nothing against the client's ceiling and is what every short
   * exchange gets. Under a shared overload every circuit is behind; one that fell from the
   * wake rung to rung 0 and was barred there for the cool-down starved (≈ 65 KB/s beside
   * others at ≈ 550 KB/s, with eleven downloads through `up`), while those that fell from
   * higher rungs kept most of theirs. Nor is the wake rung barred on a circuit that has
   * carried nothing yet in this slot: traced through `up` at load 9-10, a download that woke
   * late in a slot (its answer still on its way) looked behind early in the next, which ran
   * at the wake rung, and was barred from climbing for the four slots of the cool-down.
   */
  private floorOfTaking (rung: number): number {
    return this.demand.backwardReal > 0 || this.requestBackward > 0 ? Math.max(rung, Math.min(WAKE_RUNG, this.ladder.length - 1)) : rung
  }

  /** What a climb to `want` may ask for in `direction` now (never less than asked already). */
  private allowed (direction: BudgetDirection, want: number): number {
    const asked = this.granted(direction)
    if (want <= asked) return asked
    return this.budget === null ? want : this.budget.allowed(direction, this, want)
  }

  /** The wake rung costs nothing against the budget: a short exchange always wakes. */
  private wakeRequest (): void {
    if (this.requestForward === 0 && this.requestBackward === 0 && WAKE_RUNG < this.ladder.length) {
      this.requestForward = this.requestBackward = WAKE_RUNG
      if (this.wantForward < WAKE_RUNG) this.wantForward = WAKE_RUNG
      if (this.wantBackward < WAKE_RUNG) this.wantBackward = WAKE_RUNG
    }
  }

  private runAt (rung: number): number {
    return saturationRun(this.ladder[rung]!, this.roundsPerSlot)
  }
}
