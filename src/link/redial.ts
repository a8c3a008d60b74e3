/**
 * Redialling a link that failed or could not be opened (the client's entry link, a mix's
 * successor link): the wait starts at 100 ms and doubles up to a ceiling, one timer at most.
 * The wait starts over only once a link *stayed* up for `stableMs`: a peer that accepts and
 * then closes at once (overloaded, refusing, or hostile) would otherwise get a fresh dial
 * every 100 ms from every client. One helper, so the two roles back off alike.
 */
export const FIRST_REDIAL_MS = 100

export interface RedialOptions {
  /** The longest wait between dials (default 5 s). */
  readonly maxMs?: number
  /** How long a link must have been up for its failure to reset the wait (default 10 s). */
  readonly stableMs?: number
  /** The clock (tests). */
  readonly now?: () => number
}

export class Redial {
  private readonly dial: () => void
  private readonly maxMs: number
  private readonly stableMs: number
  private readonly now: () => number
  private delay = FIRST_REDIAL_MS
  private upSince: number | undefined
  private timer: NodeJS.Timeout | undefined

  /** `dial` is called when the wait is over. */
  constructor (dial: () => void, options: RedialOptions = {}) {
    this.dial = dial
    this.maxMs = options.maxMs ?? 5000
    this.stableMs = options.stableMs ?? 10_000
    this.now = options.now ?? Date.now
  }

  /** The wait before the next dial, if one were scheduled now (for logs). */
  get nextMs (): number {
    return this.upSince !== undefined && this.now() - this.upSince >= this.stableMs ? FIRST_REDIAL_MS : this.delay
  }

  /** A link came up: if it stays up for `stableMs`, its failure waits the shortest time again. */
  succeeded (): void {
    this.upSince = this.now()
  }

  /** Dial again after the current wait, then wait twice as long next time. */
  schedule (): void {
    if (this.timer !== undefined) return
    this.delay = this.nextMs
    this.upSince = undefined
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
