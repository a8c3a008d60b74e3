/**
 * The shaped client's metrics (issue #5, docs/METRICS.md): profile, rungs, loops against
 * their deadline, alarms, cover bytes, and the anonymity set the entry reports. All
 * aggregate, none per circuit (R19, R21); unknown values (no echo yet, entry unreachable) are NaN.
 */
import type { MetricsRegistry } from '../../base/metrics-registry.js'
import type { ClientShapingStatus } from '../client-stats.js'

/** Loop quantiles exported (coarse: three, in whole rounds). */
export const LOOP_RTT_QUANTILES = ['0.5', '0.9', '0.99'] as const

export function registerShapingMetrics (registry: MetricsRegistry, read: () => ClientShapingStatus): void {
  const profiles = ['off', 'strict', 'elastic'] as const
  const info = registry.gauge('mixgate_shaping_info', 'Always 1; the profile label is the cascade\'s shaping profile.', { profile: profiles })
  for (const profile of profiles) info.from(() => read().profile === profile ? 1 : 0, { profile })
  const ladder = read().rungs.length
  if (ladder > 0) {
    const rungs = Array.from({ length: ladder }, (_, i) => String(i))
    const atRung = registry.gauge('mixgate_shaping_rung_circuits', 'Circuits running backward at each rung of the rate ladder now.', { rung: rungs })
    for (const rung of rungs) atRung.from(() => read().rungs[Number(rung)] ?? 0, { rung })
    const atRungForward = registry.gauge('mixgate_shaping_rung_circuits_forward', 'Circuits running forward at each rung of the rate ladder now.', { rung: rungs })
    for (const rung of rungs) atRungForward.from(() => read().rungsForward[Number(rung)] ?? 0, { rung })
  }
  registry.counterFrom('mixgate_loops_sent_total', 'LOOP probes sent.', () => read().loopsSent)
  registry.counterFrom('mixgate_loops_returned_total', 'LOOP probes echoed back (late ones included).', () => read().loopsReturned)
  registry.counterFrom('mixgate_loops_lost_total', 'LOOP probes not back by their deadline.', () => read().loopsLost)
  registry.counterFrom('mixgate_loops_late_total', 'LOOP probes back after their deadline.', () => read().loopsLate)
  registry.counterFrom('mixgate_loop_alarms_total', 'Loop alarms (the first lost or late probe of a circuit).', () => read().loopAlarms)
  registry.counterFrom('mixgate_loop_incidents_total', 'Loop incidents: alarms about probes that were in the cascade at the same time count once (failClosed untilRestart: every alarm).', () => read().loopIncidents)
  registry.gaugeFrom('mixgate_fail_closed', '1 while loop incidents keep the client closed: new streams are refused, cover goes on; 0 again once its probes recover.', () => read().failedClosed)
  registry.counterFrom('mixgate_fail_closed_total', 'Times the client failed closed (loop incidents reached alarmLimit within alarmWindowMs).', () => read().failClosedEpisodes)
  registry.counterFrom('mixgate_fail_closed_recoveries_total', 'Times the client re-opened after failing closed, its probes back on time for the hold.', () => read().failClosedRecoveries)
  registry.gaugeFrom('mixgate_fail_closed_hold_seconds', 'Failed closed: the quiet time with probes on time needed after the last alarm to re-open (0 while open, +Inf with failClosed untilRestart).', () => read().failClosedHoldMs / 1000)
  const rtt = registry.gauge('mixgate_loop_rtt_ms', 'Loop round-trip time percentiles (ms, whole rounds; recent probes).', { quantile: LOOP_RTT_QUANTILES })
  rtt.from(() => read().rttMs.p50, { quantile: '0.5' })
  rtt.from(() => read().rttMs.p90, { quantile: '0.9' })
  rtt.from(() => read().rttMs.p99, { quantile: '0.99' })
  registry.gaugeFrom('mixgate_loop_rtt_expected_ms', 'The loop deadline an honest cascade meets (ms).', () => read().rttExpectedMs)
  registry.counter('mixgate_cover_bytes_total', 'Cover bytes: forward = DROP and LOOP cells sent, backward = PADs and echoes received.', { direction: ['forward', 'backward'] })
    .from(() => read().coverBytesOut, { direction: 'forward' })
    .from(() => read().coverBytesIn, { direction: 'backward' })
  registry.counterFrom('mixgate_shaping_rungs_limited_total', 'Rung requests cut down so that all circuits together stay within the cascade\'s client rate (elastic).', () => read().rungsLimited)
  registry.counter('mixgate_shaping_congestion_total', 'Times a sign of congestion halved the client\'s capacity (elastic): busy = this process skipped a quarter of a slot\'s rounds, slow_echo = a LOOP echo came back after its deadline without the margin.', { sign: ['busy', 'slow_echo'] })
    .from(() => read().congestions.busy, { sign: 'busy' })
    .from(() => read().congestions.slow_echo, { sign: 'slow_echo' })
  registry.gaugeFrom('mixgate_shaping_capacity_cells', 'The ceiling on all circuits\' rungs above the wake rung now, in cells per round: the client rate, or less after congestion (elastic; NaN otherwise).', () => read().capacityCells)
  registry.counterFrom('mixgate_creation_slots_total', 'Slots in which this client started circuits.', () => read().creationSlots)
  registry.counterFrom('mixgate_rounds_missed_total', 'Rounds the client skipped because its process was too busy: its schedule broke for them.', () => read().roundsMissed)
  registry.gaugeFrom('mixgate_entry_creates_per_slot', 'CREATEs per creation slot at the entry mix, all clients: the median bucket\'s lower bound (NaN: unknown).', () => read().entry?.createsPerSlot ?? Number.NaN)
  registry.gaugeFrom('mixgate_entry_clients', 'Client links open at the entry mix (NaN: unknown).', () => read().entry?.clients ?? Number.NaN)
}
