/**
 * The shaped client's figures for `mixgate status` and /metrics (shaping-metrics.ts): read
 * from the Shaper's parts, aggregates only (R19, R21); loop RTTs rounded up to whole rounds,
 * so they say no more than the schedule already does.
 */
import { MILLI, type ShapingParams } from '../../protocol/shaping.js'
import type { ClientShapingStatus, EntryReport } from '../client-stats.js'
import type { LoopMonitor } from './loop-monitor.js'
import type { RungBudget } from './rung-budget.js'

/** What the figures are read from (the Shaper). */
export interface ShaperParts {
  readonly params: ShapingParams
  readonly monitor: LoopMonitor
  readonly counters: { readonly coverCellsOut: number, readonly coverCellsIn: number, readonly creationSlots: number }
  readonly budget: RungBudget | null
  readonly missedRounds: number
  rungCounts (direction: 'forward' | 'backward'): number[]
}

export function shaperStatus (shaper: ShaperParts, roundMs: number, cellSize: number, entry: EntryReport | undefined): ClientShapingStatus {
  const coarse = (ms: number): number => Number.isNaN(ms) ? ms : Math.ceil(ms / roundMs) * roundMs
  const { monitor, counters, budget } = shaper
  return {
    profile: shaper.params.profile,
    rungs: shaper.rungCounts('backward'),
    rungsForward: shaper.rungCounts('forward'),
    loopsSent: monitor.sent,
    loopsReturned: monitor.returned,
    loopsLost: monitor.lost,
    loopsLate: monitor.late,
    loopAlarms: monitor.alarms,
    loopIncidents: monitor.gate.incidents,
    failedClosed: monitor.failedClosed,
    failClosedEpisodes: monitor.gate.episodes,
    failClosedRecoveries: monitor.gate.recoveries,
    failClosedHoldMs: monitor.gate.holdMs,
    rttMs: { p50: coarse(monitor.rttQuantile(0.5)), p90: coarse(monitor.rttQuantile(0.9)), p99: coarse(monitor.rttQuantile(0.99)) },
    rttExpectedMs: monitor.deadline(false),
    coverBytesOut: counters.coverCellsOut * cellSize,
    coverBytesIn: counters.coverCellsIn * cellSize,
    creationSlots: counters.creationSlots,
    roundsMissed: shaper.missedRounds,
    rungsLimited: budget?.limited ?? 0,
    congestions: budget === null ? { busy: 0, slow_echo: 0 } : { ...budget.congestions },
    capacityCells: budget === null ? Number.NaN : budget.capacityMilli / MILLI,
    entry,
  }
}
