/**
 * A count of something the exit holds at once (DNS queries, outbound sockets) under a cap:
 * `tryTake` refuses past the cap and counts the refusal; /metrics reads `active` and `refused`.
 */
export class Slots {
  /** The cap; set once by the node that owns the slots. */
  limit: number
  active = 0
  refused = 0

  constructor (limit = Infinity) {
    this.limit = limit
  }

  /** Take a slot, or count a refusal and return false. Give it back with `release` exactly once. */
  tryTake (): boolean {
    if (this.active >= this.limit) {
      this.refused++
      return false
    }
    this.active++
    return true
  }

  release (): void {
    this.active--
  }
}
