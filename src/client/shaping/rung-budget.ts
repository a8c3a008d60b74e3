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
 *   - Within a slot a climb takes only what is left (`allowed`).
 *   - At a slot boundary the wants of all circuits are shared out (`share`): while they add up
 *     to more than the ceiling, the highest grant steps down one rung (ties: the later circuit),
 *     so a new download gets its share from the next boundary rather than waiting for an old one
 *     to end, and two downloads settle at equal rungs.
 */
import { WAKE_RUNG } from '../../protocol/shaping.js'

export type BudgetDirection = 'forward' | 'backward'

/** What the budget reads and sets of one circuit. */
export interface BudgetMember {
  /** The rung it would ask for without the ceiling. */
  want (direction: BudgetDirection): number
  /** The rung it asks for (what its cells carry). */
  granted (direction: BudgetDirection): number
  grant (direction: BudgetDirection, rung: number): void
}

export class RungBudget {
  /** Times a want was cut down to fit (a climb mid-slot, or a share at a boundary). */
  limited = 0
  private readonly ladder: readonly number[]
  private readonly limitMilli: number
  private readonly members: () => Iterable<BudgetMember>
  /** Scratch for `share`, reused. */
  private readonly list: BudgetMember[] = []

  constructor (ladder: readonly number[], limitMilli: number, members: () => Iterable<BudgetMember>) {
    this.ladder = ladder
    this.limitMilli = limitMilli
    this.members = members
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
   * (never below its grant: a climb mid-slot takes, it never gives back).
   */
  allowed (direction: BudgetDirection, self: BudgetMember, wanted: number): number {
    const held = self.granted(direction)
    if (wanted <= held) return held
    const room = this.limitMilli - this.usedBy(direction, self)
    let rung = wanted
    while (rung > held && this.cost(rung) > room) rung--
    if (rung < wanted) this.limited++
    return rung
  }

  /** A slot boundary: grant every circuit its want, then step the highest down until they fit. */
  share (direction: BudgetDirection): void {
    const list = this.list
    list.length = 0
    let used = 0
    for (const member of this.members()) {
      const want = member.want(direction)
      member.grant(direction, want)
      used += this.cost(want)
      list.push(member)
    }
    while (used > this.limitMilli) {
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
