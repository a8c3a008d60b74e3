/**
 * The client's round clock: round n starts at n·roundMs of wall-clock (Unix) time, the same
 * instant at every party of the cascade (up to clock error), so the client's sends line up
 * with the hops' rounds and the slot schedule (src/protocol/shaping.ts).
 *
 * Each timer is armed for the next absolute deadline, never chained from the previous one,
 * so a late callback delays that round only (R17: when a round's cells leave never depends on
 * what they are). A round whose start passed a whole round ago (the process stalled) is
 * skipped and counted, never caught up: a stall must not turn into a burst of writes.
 */
import { roundAt } from '../../protocol/shaping.js'

/** What the clock needs from the platform (tests pass a fake). */
export interface WallTimers {
  now (): number
  setTimeout (callback: () => void, delayMs: number): unknown
  clearTimeout (handle: unknown): void
}

export const systemTimers: WallTimers = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs) => {
    const handle = setTimeout(callback, delayMs)
    handle.unref()
    return handle
  },
  clearTimeout: (handle) => { clearTimeout(handle as ReturnType<typeof setTimeout>) },
}

export class WallRoundClock {
  private readonly roundMs: number
  private readonly onRound: (round: number) => void
  private readonly timers: WallTimers
  private handle: unknown = undefined
  private last = -1
  private running = false
  /** Rounds skipped because the process was too late for them (cumulative). */
  missedRounds = 0

  constructor (roundMs: number, onRound: (round: number) => void, timers: WallTimers = systemTimers) {
    this.roundMs = roundMs
    this.onRound = onRound
    this.timers = timers
  }

  /** Start: the first round to run is the next one to begin. */
  start (): void {
    if (this.running) return
    this.running = true
    this.last = roundAt(this.timers.now(), this.roundMs)
    this.arm()
  }

  stop (): void {
    this.running = false
    if (this.handle !== undefined) this.timers.clearTimeout(this.handle)
    this.handle = undefined
  }

  private arm (): void {
    const delay = (this.last + 1) * this.roundMs - this.timers.now()
    this.handle = this.timers.setTimeout(this.fire, Math.max(0, delay))
  }

  private readonly fire = (): void => {
    this.handle = undefined
    if (!this.running) return
    const round = roundAt(this.timers.now(), this.roundMs)
    if (round > this.last) {
      this.missedRounds += round - this.last - 1
      this.last = round
      try {
        this.onRound(round)
      } finally {
        if (this.running) this.arm()
      }
      return
    }
    this.arm() // woke early: wait for the deadline
  }
}
