/**
 * A hop's round clocks (docs/PROTOCOL.md §11.1, §12.1; docs/HOP.md "Rounds"), all aligned to
 * the wall clock so that the hops of a cascade keep one time: two clocks, one per direction,
 * each at its phase by the hop's position (src/protocol/round-phase.ts), so a cell meets the
 * next hop's release just after arriving instead of waiting a round at every hop. Shaped and
 * unshaped alike; shaped, each release gets its round number n (counted from the Unix epoch),
 * the same at every hop for the cells of one client round: the schedule is pipelined (§12.1).
 */
import { RoundClock } from '../clock/round-clock.js'
import { backwardPhaseMs, forwardPhaseMs, shapedBackwardOffsetMs, shapedForwardOffsetMs } from '../protocol/round-phase.js'

export interface HopClocks {
  start (): void
  stop (): void
  /** Rounds skipped because the process stalled a whole round or more (the forward clock's, cumulative). */
  readonly missedRounds: number
}

export interface HopClockOptions {
  readonly roundMs: number
  readonly position: number
  /** Shaped: the cascade's hops (its pipeline offsets, round-phase.ts); undefined: unshaped phases. */
  readonly shapedHops?: number
  /** Release forward cells (and the round's CREATE and tag work) of round n (from the Unix epoch). */
  runForward (n: number): void
  /** Release backward cells of round n. */
  runBackward (n: number): void
}

export function hopClocks (options: HopClockOptions): HopClocks {
  const { roundMs, position, shapedHops } = options
  let running = false
  // A release runs after the event loop's I/O phase, not in the timer callback: cells the node
  // before this one released a step earlier may sit unread in the socket when the timer fires
  // (its callbacks run before I/O, and every hop of `up` or a test may share one loop), and a
  // cell read just after the release waits a whole round here.
  const afterIo = (run: (n: number) => void) => (n: number): void => { setImmediate(() => { if (running) run(n) }) }
  const runForward = afterIo(options.runForward)
  const runBackward = afterIo(options.runBackward)
  const forward = shapedHops === undefined
    ? new RoundClock({ periodMs: roundMs, onRound: runForward, wallClock: Date.now, offsetMs: forwardPhaseMs(roundMs, position) })
    : offsetClock(roundMs, shapedForwardOffsetMs(roundMs, position), runForward)
  const backward = shapedHops === undefined
    ? new RoundClock({ periodMs: roundMs, onRound: runBackward, wallClock: Date.now, offsetMs: backwardPhaseMs(roundMs, position) })
    : offsetClock(roundMs, shapedBackwardOffsetMs(roundMs, position, shapedHops), runBackward)
  return {
    start: () => { running = true; forward.start(); backward.start() },
    stop: () => { running = false; forward.stop(); backward.stop() },
    get missedRounds () { return forward.missedRounds },
  }
}

/**
 * A clock that runs round n at n·roundMs + offsetMs of wall time, the offset possibly a round
 * or more (a shaped pipeline offset, round-phase.ts): the wall-clock round it fires in, less
 * the whole rounds of the offset.
 */
function offsetClock (roundMs: number, offsetMs: number, run: (n: number) => void): RoundClock {
  const whole = Math.floor(offsetMs / roundMs)
  return new RoundClock({ periodMs: roundMs, onRound: (n) => run(n - whole), wallClock: Date.now, offsetMs: offsetMs - whole * roundMs })
}
