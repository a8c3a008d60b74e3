/**
 * The CREATE budget of a hop's round (DESIGN-REVIEW R17, R6): at most `perRound` CREATEs are
 * processed per round; the rest are carried to later rounds and served round-robin across
 * their sources (predecessor links), in arrival order within each. Past `bound` waiting in
 * all, or `perSourceBound` from one source, a CREATE is refused (the hop counts it).
 *
 * Why: opening a CREATE is an X25519 operation, so a flood must not stretch one round's work;
 * and one link that floods must not take the whole carried queue, or every other link's
 * CREATEs would wait behind it or be refused. Pure: the hop calls `admit` as CREATEs arrive
 * and `nextRound` from each round.
 */
export type CreateAdmission = 'now' | 'carried' | 'refused'

/** One source's carried CREATEs, oldest first. */
interface SourceQueue<T> {
  items: T[]
  head: number
}

export class CreateQueue<T> {
  private readonly perRound: number
  private readonly bound: number
  private readonly perSourceBound: number
  private readonly sourceOf: (item: T) => unknown
  /** CREATEs the current round may still process. */
  private left: number
  private readonly bySource = new Map<unknown, SourceQueue<T>>()
  /** Sources with CREATEs waiting, in the order they are served; `turn` is the next. */
  private ring: unknown[] = []
  private turn = 0
  private count = 0

  /**
   * `sourceOf` names an item's source (default: one source for all, plain FIFO);
   * `perSourceBound` defaults to `bound`.
   */
  constructor (perRound: number, bound: number, options: { sourceOf?: (item: T) => unknown, perSourceBound?: number } = {}) {
    if (!Number.isSafeInteger(perRound) || perRound < 1) throw new RangeError('perRound must be a positive integer')
    if (!Number.isSafeInteger(bound) || bound < 0) throw new RangeError('bound must be a non-negative integer')
    const perSource = options.perSourceBound ?? bound
    if (!Number.isSafeInteger(perSource) || perSource < 0) throw new RangeError('perSourceBound must be a non-negative integer')
    this.perRound = perRound
    this.bound = bound
    this.perSourceBound = perSource
    this.sourceOf = options.sourceOf ?? (() => undefined)
    this.left = perRound
  }

  /** CREATEs carried and not yet handed out (live or not). */
  get size (): number { return this.count }

  /**
   * A CREATE arrived: 'now' to process it at once (the budget covers it and none waits),
   * 'carried' if it was queued for a later round, 'refused' if the queue (or its source's
   * share of it) is full.
   */
  admit (item: T): CreateAdmission {
    if (this.left > 0 && this.count === 0) {
      this.left--
      return 'now'
    }
    if (this.count >= this.bound) return 'refused'
    const source = this.sourceOf(item)
    let queue = this.bySource.get(source)
    if (queue !== undefined && queue.items.length - queue.head >= this.perSourceBound) return 'refused'
    if (queue === undefined) {
      if (this.perSourceBound === 0) return 'refused'
      queue = { items: [], head: 0 }
      this.bySource.set(source, queue)
      this.ring.push(source)
    }
    queue.items.push(item)
    this.count++
    return 'carried'
  }

  /**
   * A new round: renew the budget and move carried CREATEs it covers to `out`, one source at
   * a time in turn. Items no longer `live` (their link closed) are dropped without using it.
   */
  nextRound (live: (item: T) => boolean, out: T[]): void {
    this.left = this.perRound
    while (this.left > 0 && this.count > 0) {
      if (this.turn >= this.ring.length) this.turn = 0
      const source = this.ring[this.turn]
      const queue = this.bySource.get(source)!
      const item = queue.items[queue.head]!
      queue.items[queue.head++] = undefined as unknown as T
      this.count--
      if (live(item)) {
        out.push(item)
        this.left--
      }
      if (queue.head === queue.items.length) {
        // Its last one: the source leaves the ring, and the next source takes this turn.
        this.bySource.delete(source)
        this.ring.splice(this.turn, 1)
      } else {
        this.turn++
        if (queue.head > 1024 && queue.head * 2 > queue.items.length) {
          queue.items = queue.items.slice(queue.head)
          queue.head = 0
        }
      }
    }
  }

  /** Forget every CREATE of `source` (its link closed). */
  forget (source: unknown): void {
    const queue = this.bySource.get(source)
    if (queue === undefined) return
    this.count -= queue.items.length - queue.head
    this.bySource.delete(source)
    const at = this.ring.indexOf(source)
    this.ring.splice(at, 1)
    if (this.turn > at) this.turn--
  }
}
