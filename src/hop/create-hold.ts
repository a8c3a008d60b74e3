/**
 * The n−1 defence at a hop (DESIGN-REVIEW R8, docs/PROTOCOL.md §12.4): CREATEs are held until
 * `kMin` are waiting or `holdRounds` rounds have passed since the first one held, then all
 * leave together; and the CREATE count of every slot is kept as a coarse histogram (R19, R21:
 * no timestamps, no circuits). Pure: the hop calls it from its round.
 */

/** Lower bounds of the per-slot CREATE count buckets: 0, 1, 2–3, 4–7, … 64+. */
export const CREATE_SLOT_BUCKETS: readonly number[] = [0, 1, 2, 4, 8, 16, 32, 64]

/** The bucket of a slot with `count` CREATEs. */
export function createSlotBucket (count: number): number {
  if (count <= 0) return 0
  return Math.min(CREATE_SLOT_BUCKETS.length - 1, 1 + Math.floor(Math.log2(count)))
}

/** Why held CREATEs left. */
export type HoldRelease = 'none' | 'kmin' | 'timeout'

export class CreateHold<T> {
  private readonly kMin: number
  private readonly holdRounds: number
  private waiting: T[] = []
  private firstRound = 0

  constructor (kMin: number, holdRounds: number) {
    this.kMin = kMin
    this.holdRounds = holdRounds
  }

  /** CREATEs waiting now (live or not). */
  get size (): number { return this.waiting.length }

  /** Hold `item`, which arrived in `round`. */
  add (item: T, round: number): void {
    if (this.waiting.length === 0) this.firstRound = round
    this.waiting.push(item)
  }

  /**
   * At round `round`: forget items no longer `live`; if kMin are waiting, or the first has
   * waited holdRounds, append them all to `out` and say why.
   */
  due (round: number, live: (item: T) => boolean, out: T[]): HoldRelease {
    if (this.waiting.length === 0) return 'none'
    this.waiting = this.waiting.filter(live)
    if (this.waiting.length === 0) return 'none'
    let why: HoldRelease
    if (this.waiting.length >= this.kMin) why = 'kmin'
    else if (round - this.firstRound >= this.holdRounds) why = 'timeout'
    else return 'none'
    for (const item of this.waiting) out.push(item)
    this.waiting = []
    return why
  }
}

/**
 * Counts CREATEs per slot and files each finished slot in a histogram of
 * CREATE_SLOT_BUCKETS. The slot the counter started in is partial and not filed.
 */
export class SlotCreateCounter {
  private readonly roundsPerSlot: number
  private slot = -1
  /** The slot the counter started in has not ended yet. */
  private partial = true
  private count = 0
  /** Slots filed per bucket. */
  readonly histogram: number[]
  /** The bucket lower bound of the last finished slot (−1 before the first). */
  lastSlot = -1

  constructor (roundsPerSlot: number, histogram: number[]) {
    this.roundsPerSlot = roundsPerSlot
    this.histogram = histogram
  }

  created (): void { this.count++ }

  /** Round `round` started: file the slots that ended before it. */
  tick (round: number): void {
    const slot = Math.floor(round / this.roundsPerSlot)
    if (slot === this.slot) return
    if (this.slot >= 0 && this.partial) this.partial = false
    else if (this.slot >= 0) {
      this.file(this.count)
      // Slots skipped wholesale (a stalled process) had no CREATE processed: file them as 0.
      const skipped = Math.min(slot - this.slot - 1, 1000)
      for (let i = 0; i < skipped; i++) this.file(0)
    }
    this.slot = slot
    this.count = 0
  }

  private file (count: number): void {
    const bucket = createSlotBucket(count)
    this.histogram[bucket]!++
    this.lastSlot = CREATE_SLOT_BUCKETS[bucket]!
  }
}
