/**
 * A hop's round clocks (docs/PROTOCOL.md §11.1, §12.1; docs/HOP.md "Rounds"), all aligned to
 * the wall clock so that the hops of a cascade keep one time.
 *
 * Shaped: one clock, rounds on the multiples of roundMs (the schedule counts rounds from the
 * Unix epoch), both directions at once. Unshaped: two clocks, one per direction, each at its
 * phase by the hop's position (src/protocol/round-phase.ts), so a cell meets the next hop's
 * release just after arriving instead of waiting half a round at every hop.
 */
import { RoundClock } from '../clock/round-clock.js'
import { backwardPhaseMs, forwardPhaseMs } from '../protocol/round-phase.js'

export interface HopClocks {
  start (): void
  stop (): void
  /** Rounds skipped because the process stalled a whole round or more (the forward clock's, cumulative). */
  readonly missedRounds: number
}

export interface HopClockOptions {
  readonly roundMs: number
  readonly position: number
  /** Whether the hop runs shaped rounds (one clock for both directions). */
  readonly shaped: boolean
  /** Shaped: the round n (counted from the Unix epoch). */
  run (n: number): void
  /** Unshaped: release forward cells (and the round's CREATE and tag work). */
  runForward (): void
  /** Unshaped: release backward cells. */
  runBackward (): void
}

export function hopClocks (options: HopClockOptions): HopClocks {
  const { roundMs, position } = options
  if (options.shaped) {
    const clock = new RoundClock({ periodMs: roundMs, onRound: options.run, wallClock: Date.now })
    return {
      start: () => { clock.start() },
      stop: () => { clock.stop() },
      get missedRounds () { return clock.missedRounds },
    }
  }
  const forward = new RoundClock({ periodMs: roundMs, onRound: options.runForward, wallClock: Date.now, offsetMs: forwardPhaseMs(roundMs, position) })
  const backward = new RoundClock({ periodMs: roundMs, onRound: options.runBackward, wallClock: Date.now, offsetMs: backwardPhaseMs(roundMs, position) })
  return {
    start: () => { forward.start(); backward.start() },
    stop: () => { forward.stop(); backward.stop() },
    get missedRounds () { return forward.missedRounds },
  }
}
