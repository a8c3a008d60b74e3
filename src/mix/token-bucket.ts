/**
 * A token bucket: `ratePerS` tokens a second, at most `burst` saved up. Time comes from the
 * caller (milliseconds, monotonic or wall), so it is pure and cheap: one multiply per take.
 */
export class TokenBucket {
  private readonly ratePerMs: number
  private readonly burst: number
  private tokens: number
  private last: number

  constructor (ratePerS: number, burst: number, nowMs: number) {
    if (!(ratePerS >= 0) || !Number.isFinite(ratePerS)) throw new RangeError('ratePerS must be a finite number ≥ 0')
    if (!Number.isSafeInteger(burst) || burst < 1) throw new RangeError('burst must be a positive integer')
    this.ratePerMs = ratePerS / 1000
    this.burst = burst
    this.tokens = burst
    this.last = nowMs
  }

  /** Take one token if there is one. */
  take (nowMs: number): boolean {
    if (nowMs > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + (nowMs - this.last) * this.ratePerMs)
      this.last = nowMs
    }
    if (this.tokens < 1) return false
    this.tokens--
    return true
  }
}
