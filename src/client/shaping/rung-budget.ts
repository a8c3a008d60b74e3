/**
 * One client's ceiling on the rungs its circuits ask for together (PROTOCOL.md §12.3 "Client
 * rate", `shaping.clientRate`): in each direction, the rates of all its circuits' rungs above
 * the wake rung add up to at most `clientRateMilli`. Pure arithmetic over the circuits' wants
 * and grants; circuit-rungs.ts keeps both and asks here what it may carry.
 *
 * Why: a shaped hop sends every circuit's schedule whether or not the next hop keeps up (a
 * burst must not show as that circuit's on the next link, R1). Twelve circuits of one browser
 * climbing at once asked for 12 × 128 cells a round, far beyond what a cascade of one machine
 * carries; the last mix's link backlog grew past 64 MiB and the link closed (`link.too_slow`),
 * taking every circuit of every client on it. With the ceiling, a client can ask no more of
 * the cascade than one circuit at the top rung (the default), however many sites it isolates.
 *
 *   - Rungs up to the wake rung cost nothing: a short exchange always wakes at once, whatever
 *     the downloads on other circuits.
 *   - Within a slot a climb takes only what is left, and no more than an equal share of the
 *     capacity among the circuits busy in the slot (`allowed`): eight downloads that woke
 *     together each climb to an eighth from the next boundary, rather than the first ones to
 *     show taking it all while the others wait a slot more at the wake rung (traced: four at 32
 *     cells a round, four at 1; the cascade could not carry the 128 and the capacity halved).
 *   - At a slot boundary the wants of all circuits are shared out (`share`): while they add up
 *     to more than the ceiling, the highest grant steps down one rung (ties: the later circuit),
 *     so a new download gets its share from the next boundary rather than waiting for an old one
 *     to end, and two downloads settle at equal rungs.
 *
 * The ceiling a client uses is its *capacity*, at most the client rate, adapted to what this
 * machine and the cascade carry (PROTOCOL.md §12.3 "Congestion"), as TCP adapts its window:
 * a sign of congestion (`congested`: this process missing rounds, a LOOP echo later than the
 * schedule explains) halves it at once, at most once a slot, and cuts the grants down to it
 * now; a slot without one raises it by an eighth of the client rate. The client rate is what
 * the cascade tolerates; the capacity is what it carries now. Without it, a client whose own
 * process could not keep up (eight downloads through `up` on two busy cores) never saw a slot
 * behind its schedule, since the rounds it missed counted for nothing, and the hops' queues
 * toward it overflowed: circuits silenced, LOOPs lost, the client failed closed.
 */
import { WAKE_RUNG } from '../../protocol/shaping.js'

export type BudgetDirection = 'forward' | 'backward'

/** What showed congestion: this process skipping rounds, or a LOOP echo later than the schedule explains. */
export type CongestionSign = 'busy' | 'slow_echo'

/** What the budget reads and sets of one circuit. */
export interface BudgetMember {
  /** The rung it would ask for without the ceiling. */
  want (direction: BudgetDirection): number
  /** The rung it asks for (what its cells carry). */
  granted (direction: BudgetDirection): number
  grant (direction: BudgetDirection, rung: number): void
  /** It carried real cells in this slot (either direction). */
  busy (): boolean
}

/** What one slot without congestion adds to the capacity: this fraction of the client rate. */
export const CAPACITY_STEP_DIVISOR = 8

export class RungBudget {
  /** Times a want was cut down to fit (a climb mid-slot, or a share at a boundary). */
  limited = 0
  /** Times congestion halved the capacity, by its sign. */
  readonly congestions: Record<CongestionSign, number> = { busy: 0, slow_echo: 0 }
  /** The ceiling in use now, in millicells per round: the client rate, or less after congestion. */
  capacityMilli: number
  private readonly ladder: readonly number[]
  private readonly limitMilli: number
  /** The capacity never falls below one rung above the wake rung (or the top, on a short ladder). */
  private readonly floorMilli: number
  private readonly members: () => Iterable<BudgetMember>
  /** Congestion was seen in this slot (the capacity is halved once a slot at most). */
  private congestedThisSlot = false
  /** Scratch for `share`, reused. */
  private readonly list: BudgetMember[] = []

  constructor (ladder: readonly number[], limitMilli: number, members: () => Iterable<BudgetMember>) {
    this.ladder = ladder
    this.limitMilli = limitMilli
    this.capacityMilli = limitMilli
    this.floorMilli = Math.min(limitMilli, ladder[Math.min(WAKE_RUNG + 1, ladder.length - 1)]!)
    this.members = members
  }

  /**
   * A sign that more is asked than this process or the cascade carries: halve the capacity,
   * at most once a slot, and cut the grants down to it now, so the cells sent from now on ask
   * the hops for less in the next slot. Halved from the capacity, not from what is in use:
   * eight circuits waking at once on a busy machine showed congestion while they used 32
   * cells a round; halving that left them 16 and a megabyte each took twice as long.
   */
  congested (sign: CongestionSign): void {
    if (this.congestedThisSlot) return
    this.congestedThisSlot = true
    this.congestions[sign]++
    this.capacityMilli = Math.max(this.floorMilli, Math.floor(this.capacityMilli / 2))
    this.trim('backward')
    this.trim('forward')
  }

  /** A slot boundary, before `share`: a slot without congestion raises the capacity by a step. */
  slotBoundary (): void {
    if (!this.congestedThisSlot) {
      this.capacityMilli = Math.min(this.limitMilli, this.capacityMilli + Math.ceil(this.limitMilli / CAPACITY_STEP_DIVISOR))
    }
    this.congestedThisSlot = false
  }

  /** What rung `rung` counts against the ceiling, in millicells per round. */
  cost (rung: number): number {
    return rung > WAKE_RUNG ? this.ladder[rung]! : 0
  }

  /** The sum of the grants of every circuit but `except`. */
  usedBy (direction: BudgetDirection, except?: BudgetMember): number {
    let used = 0
    for (const member of this.members()) if (member !== except) used += this.cost(member.granted(direction))
    return used
  }

  /**
   * The highest rung from `self`'s grant up to `wanted` that fits beside the others' grants
   * and within an equal share of the capacity among the busy circuits (never below its grant:
   * a climb mid-slot takes, it never gives back). Lowering another circuit's request mid-slot
   * to make room would show a hop which circuits share a client (one falls as the other
   * climbs); an equal share leaves room for those that show a round later.
   */
  allowed (direction: BudgetDirection, self: BudgetMember, wanted: number): number {
    const held = self.granted(direction)
    if (wanted <= held) return held
    const room = Math.min(this.capacityMilli - this.usedBy(direction, self), this.fairShare(direction, self))
    let rung = wanted
    while (rung > held && this.cost(rung) > room) rung--
    if (rung < wanted) this.limited++
    return rung
  }

  /**
   * The capacity divided among `self` and every other circuit that is busy in this slot or
   * holds a grant that costs something in `direction`.
   */
  fairShare (direction: BudgetDirection, self: BudgetMember): number {
    let sharing = 1
    for (const member of this.members()) {
      if (member !== self && (member.busy() || this.cost(member.granted(direction)) > 0)) sharing++
    }
    return Math.floor(this.capacityMilli / sharing)
  }

  /** A slot boundary: grant every circuit its want, then step the highest down until they fit. */
  share (direction: BudgetDirection): void {
    for (const member of this.members()) member.grant(direction, member.want(direction))
    this.trim(direction)
  }

  /** Step the highest grant down one rung at a time (ties: the later circuit) until the grants fit the capacity. */
  private trim (direction: BudgetDirection): void {
    const list = this.list
    list.length = 0
    let used = 0
    for (const member of this.members()) {
      used += this.cost(member.granted(direction))
      list.push(member)
    }
    while (used > this.capacityMilli) {
      let highest: BudgetMember | undefined
      for (const member of list) {
        if (highest === undefined || member.granted(direction) >= highest.granted(direction)) highest = member
      }
      const rung = highest!.granted(direction)
      if (rung <= WAKE_RUNG) break // costs nothing: cannot happen while used > 0 ≤ limit
      highest!.grant(direction, rung - 1)
      used += this.cost(rung - 1) - this.cost(rung)
      this.limited++
    }
    list.length = 0
  }
}
