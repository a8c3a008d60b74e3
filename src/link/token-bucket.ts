/**
 * A token bucket: `rate` tokens a second, at most `burst` held. Time is whatever milliseconds
 * the caller passes in (monotonic or wall), so tests can drive it. Tokens are refilled lazily
 * when the bucket is asked, never by a timer. Used for the listener's handshake rates and the
 * hops' CREATE rates.
 */
export class TokenBucket {
  private tokens: number
  private refilledAt: number

  constructor (private readonly rate: number, private readonly burst: number, now: number) {
    if (!(rate >= 0) || !Number.isFinite(rate)) throw new RangeError('a token rate must be a finite number ≥ 0')
    if (!(burst >= 1) || !Number.isFinite(burst)) throw new RangeError('a token burst must be at least 1')
    this.tokens = burst
    this.refilledAt = now
  }

  /** Whether a token is there now (take it with `take`). */
  canTake (now: number): boolean {
    this.refill(now)
    return this.tokens >= 1
  }

  /** Spend one token; call only after `canTake(now)` said yes. */
  take (): void {
    this.tokens -= 1
  }

  /** Take a token if there is one now. */
  tryTake (now: number): boolean {
    if (!this.canTake(now)) return false
    this.tokens -= 1
    return true
  }

  /** Whether the bucket is back to its burst: it then remembers nothing and may be dropped. */
  isFull (now: number): boolean {
    this.refill(now)
    return this.tokens >= this.burst
  }

  private refill (now: number): void {
    if (now <= this.refilledAt) return
    this.tokens = Math.min(this.burst, this.tokens + (now - this.refilledAt) * this.rate / 1000)
    this.refilledAt = now
  }
}
