/**
 * The round clock of every party that runs rounds: the hops (both directions, shaped or not)
 * and the shaped client. Round ticks on absolute deadlines from a monotonic clock
 * (DESIGN-REVIEW R17).
 *
 * Round k is due at start + k·period (k = 1, 2, …). Each timer is armed for the time left
 * until the next deadline, measured on `process.hrtime.bigint()`, so a late timer or a slow
 * round delays that round only and never shifts the ones after it (a chain of
 * `setTimeout(period)` would drift by every delay). When a round runs is decided by the clock
 * alone, never by what the round holds.
 *
 * Lateness: each deadline is judged on its own. A round whose deadline passed less than one
 * period ago runs now (late, but in its own period). A round whose deadline passed a whole
 * period or more ago (the process was stalled) is skipped and counted in `missedRounds`: only
 * the most recent due round runs, once, so a stall never produces a burst of catch-up rounds
 * releasing several rounds' cells back to back, and never adds more than a period of delay.
 * Every round k thus runs in [start + k·period, start + (k+1)·period). A timer that fires
 * early is simply re-armed.
 *
 * Aligned mode (`wallClock`, for shaped cascades: docs/PROTOCOL.md §12.1): at start the clock
 * reads the wall clock once and places its monotonic deadlines on the multiples of the period
 * of wall-clock time, and rounds are numbered from the Unix epoch, so round n is due at
 * n·period ms of wall time at every node (`roundAt` of src/protocol/shaping.ts). Deadlines
 * stay absolute on the monotonic clock (R17); the two clocks are compared only at start.
 * A phase (`offsetMs`, src/protocol/round-phase.ts) moves every deadline by the same public
 * constant: round n is then due at n·period + offset of wall time.
 */
import { MixError, MixErrorCode } from '../hop/errors.js'

/** The timer functions the clock needs (Node's by default; tests pass fakes). */
export interface RoundTimers {
  setTimeout (callback: () => void, delayMs: number): unknown
  clearTimeout (handle: unknown): void
}

export interface RoundClockOptions {
  /** Round period in milliseconds (at least 1; fractions allowed). */
  periodMs: number
  /** Called once per round with its number: k (deadline start + k·period), or n when aligned. */
  onRound: (round: number) => void
  /** A monotonic clock in nanoseconds. Default `process.hrtime.bigint`. */
  now?: () => bigint
  timers?: RoundTimers
  /**
   * Align to this wall clock (ms since the Unix epoch): round n is due at n·periodMs of wall
   * time and `onRound` receives n. Default: not aligned (round k is due k periods after start).
   */
  wallClock?: () => number
  /** Aligned mode: every deadline this many ms after the wall-clock multiple (0 ≤ offset < period). Default 0. */
  offsetMs?: number
}

/**
 * A clock with one time source, wall-clock milliseconds (the shaped client's, whose tests
 * drive it with a fake): the monotonic and the wall clock are then the same.
 */
export interface WallTimers extends RoundTimers {
  now (): number
}

const NS_PER_MS = 1_000_000

const nodeTimers: RoundTimers = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => { clearTimeout(handle as ReturnType<typeof setTimeout>) },
}

/** Node's timers, unreferenced (the client's clock never keeps its process alive), and Date.now. */
export const systemTimers: WallTimers = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs) => {
    const handle = setTimeout(callback, delayMs)
    handle.unref()
    return handle
  },
  clearTimeout: (handle) => { clearTimeout(handle as ReturnType<typeof setTimeout>) },
}

/** An aligned clock on one wall-clock time source: round n is due at n·periodMs (+ offsetMs) of `timers.now()`. */
export function wallRoundClock (periodMs: number, onRound: (round: number) => void, timers: WallTimers = systemTimers, offsetMs = 0): RoundClock {
  return new RoundClock({
    periodMs,
    onRound,
    timers,
    wallClock: () => timers.now(),
    // Real timers keep the monotonic clock for deadlines (R17); a fake has only its own time.
    ...(timers === systemTimers ? {} : { now: () => BigInt(Math.round(timers.now() * NS_PER_MS)) }),
    offsetMs,
  })
}

export class RoundClock {
  private readonly periodNs: bigint
  private readonly onRound: (round: number) => void
  private readonly now: () => bigint
  private readonly timers: RoundTimers
  private startNs = 0n
  /** Number of the next round to run. */
  private nextRound = 1n
  private handle: unknown = undefined
  private running = false
  /** Bumped by every start() and stop(), so a callback from an old run never re-arms. */
  private generation = 0
  private missed = 0
  private run = 0
  private readonly wallClock: (() => number) | undefined
  private readonly offsetNs: bigint
  /** Aligned mode: the number of the round whose deadline is `startNs` (0 otherwise). */
  private base = 0

  constructor (options: RoundClockOptions) {
    const { periodMs } = options
    if (!Number.isFinite(periodMs) || periodMs < 1) {
      throw new MixError(MixErrorCode.BAD_OPTION, 'round periodMs must be a number >= 1')
    }
    this.periodNs = BigInt(Math.round(periodMs * NS_PER_MS))
    this.onRound = options.onRound
    this.now = options.now ?? (() => process.hrtime.bigint())
    this.timers = options.timers ?? nodeTimers
    this.wallClock = options.wallClock
    const offsetMs = options.offsetMs ?? 0
    if (!Number.isFinite(offsetMs) || offsetMs < 0 || offsetMs >= periodMs) {
      throw new MixError(MixErrorCode.BAD_OPTION, 'round offsetMs must be in [0, periodMs)')
    }
    this.offsetNs = BigInt(Math.round(offsetMs * NS_PER_MS))
  }

  /** Rounds skipped because they were a whole period or more overdue (cumulative). */
  get missedRounds (): number {
    return this.missed
  }

  /** Rounds run (cumulative). */
  get roundsRun (): number {
    return this.run
  }

  get isRunning (): boolean {
    return this.running
  }

  /**
   * Start now: round 1 is due one period from now (aligned: the next multiple of the period of
   * wall-clock time). Throws `MIX_CLOCK_RUNNING` if running.
   */
  start (): void {
    if (this.running) throw new MixError(MixErrorCode.CLOCK_RUNNING, 'round clock is already running')
    this.running = true
    this.generation++
    this.startNs = this.now()
    this.base = 0
    if (this.wallClock !== undefined) {
      // Put the origin on the last wall-clock multiple of the period (plus the phase): deadline
      // k is then the wall-clock multiple base + k (plus the phase).
      const wallNs = BigInt(Math.round(this.wallClock() * NS_PER_MS)) - this.offsetNs
      const base = wallNs / this.periodNs
      this.startNs -= wallNs - base * this.periodNs
      this.base = Number(base)
    }
    this.nextRound = 1n
    this.arm()
  }

  /** Stop: no round runs after this returns (also when called from inside `onRound`). */
  stop (): void {
    this.running = false
    this.generation++
    if (this.handle !== undefined) {
      this.timers.clearTimeout(this.handle)
      this.handle = undefined
    }
  }

  private deadline (round: bigint): bigint {
    return this.startNs + round * this.periodNs
  }

  private arm (): void {
    const remainingNs = this.deadline(this.nextRound) - this.now()
    // Round up so that a timer tends to land just after its deadline rather than just before.
    const delayMs = remainingNs > 0n ? Math.ceil(Number(remainingNs) / NS_PER_MS) : 0
    this.handle = this.timers.setTimeout(this.fire, delayMs)
  }

  private readonly fire = (): void => {
    this.handle = undefined
    if (!this.running) return
    const now = this.now()
    if (now < this.deadline(this.nextRound)) {
      this.arm()
      return
    }
    // The latest round whose deadline has passed (bigint division floors: now >= start).
    const latestDue = (now - this.startNs) / this.periodNs
    if (latestDue > this.nextRound) {
      // Stalled: the rounds before the latest due one are a period or more late. Skip them.
      this.missed += Number(latestDue - this.nextRound)
      this.nextRound = latestDue
    }
    const round = this.nextRound
    this.nextRound = round + 1n
    this.run++
    const generation = this.generation
    try {
      this.onRound(this.base + Number(round))
    } finally {
      // Re-arm even if onRound threw, unless it stopped (or restarted) the clock.
      if (this.running && generation === this.generation) this.arm()
    }
  }
}
