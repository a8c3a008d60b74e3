/**
 * The CREATE budget of a hop's round (DESIGN-REVIEW R17): at most `perRound` CREATEs are
 * processed per round; the rest are carried to later rounds in arrival order, and past
 * `bound` waiting a CREATE is refused (the hop counts it, as it counts a full replay table).
 *
 * Why: opening a CREATE is an X25519 operation. A flood of CREATEs must not stretch one
 * round's work, so a round's cost has a ceiling whatever its predecessors send. Pure: the hop
 * calls `admit` as CREATEs arrive and `nextRound` from each round.
 */
export type CreateAdmission = 'now' | 'carried' | 'refused'

export class CreateQueue<T> {
  private readonly perRound: number
  private readonly bound: number
  /** CREATEs the current round may still process. */
  private left: number
  private waiting: (T | undefined)[] = []
  private head = 0

  constructor (perRound: number, bound: number) {
    if (!Number.isSafeInteger(perRound) || perRound < 1) throw new RangeError('perRound must be a positive integer')
    if (!Number.isSafeInteger(bound) || bound < 0) throw new RangeError('bound must be a non-negative integer')
    this.perRound = perRound
    this.bound = bound
    this.left = perRound
  }

  /** CREATEs carried and not yet handed out (live or not). */
  get size (): number { return this.waiting.length - this.head }

  /**
   * A CREATE arrived: 'now' to process it at once (the budget covers it and none is older),
   * 'carried' if it was queued for a later round, 'refused' if the queue is full.
   */
  admit (item: T): CreateAdmission {
    if (this.left > 0 && this.size === 0) {
      this.left--
      return 'now'
    }
    if (this.size >= this.bound) return 'refused'
    this.waiting.push(item)
    return 'carried'
  }

  /**
   * A new round: renew the budget and move the oldest carried CREATEs it covers to `out`, in
   * arrival order. Items no longer `live` (their link closed) are dropped without using it.
   */
  nextRound (live: (item: T) => boolean, out: T[]): void {
    this.left = this.perRound
    while (this.left > 0 && this.head < this.waiting.length) {
      const item = this.waiting[this.head]!
      this.waiting[this.head++] = undefined
      if (!live(item)) continue
      out.push(item)
      this.left--
    }
    if (this.head === this.waiting.length) {
      this.waiting.length = 0
      this.head = 0
    } else if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.head)
      this.head = 0
    }
  }
}
