/**
 * How late a process's event loop runs: a histogram of timer lateness (Node's
 * monitorEventLoopDelay), reported in ms of lateness beyond the sampling timer's own period,
 * so that an idle loop reads about 0 rather than the period.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'

export interface LoopDelay {
  readonly p50: number
  readonly p99: number
  readonly max: number
}

export const NO_LOOP_DELAY: LoopDelay = { p50: 0, p99: 0, max: 0 }

/** The sampling timer's period (ms): fine enough for 20 ms rounds. */
const RESOLUTION_MS = 5

export interface LoopWatch {
  read (): LoopDelay
  reset (): void
  stop (): void
}

export function watchEventLoop (): LoopWatch {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
  histogram.enable()
  const late = (ns: number): number => Math.max(0, ns / 1e6 - RESOLUTION_MS)
  return {
    read: () => histogram.count === 0 ? NO_LOOP_DELAY : { p50: late(histogram.percentile(50)), p99: late(histogram.percentile(99)), max: late(histogram.max) },
    reset: () => histogram.reset(),
    stop: () => histogram.disable(),
  }
}
