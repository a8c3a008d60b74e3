/**
 * Redialling a link that failed or could not be opened (the client's entry link, a mix's
 * successor link): the wait starts at 100 ms and doubles up to a ceiling, one timer at most,
 * and starts over once a link came up. One helper, so the two roles back off alike.
 */
export const FIRST_REDIAL_MS = 100

export class Redial {
  private readonly dial: () => void
  private readonly maxMs: number
  private delay = FIRST_REDIAL_MS
  private timer: NodeJS.Timeout | undefined

  /** `dial` is called when the wait is over; `maxMs` caps the wait (default 5 s). */
  constructor (dial: () => void, maxMs = 5000) {
    this.dial = dial
    this.maxMs = maxMs
  }

  /** The wait before the next dial, if one were scheduled now (for logs). */
  get nextMs (): number { return this.delay }

  /** A link came up: the next failure waits the shortest time again. */
  succeeded (): void {
    this.delay = FIRST_REDIAL_MS
  }

  /** Dial again after the current wait, then wait twice as long next time. */
  schedule (): void {
    if (this.timer !== undefined) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.dial()
    }, this.delay)
    this.timer.unref()
    this.delay = Math.min(this.maxMs, this.delay * 2)
  }

  /** No more dials. */
  stop (): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }
}
