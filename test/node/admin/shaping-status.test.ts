/**
 * What a shaped client shows (issue #5 "What users see"): its metrics carry the profile,
 * rungs, loops against their deadline, alarms, cover bytes and the entry's anonymity set, and
 * `mixgate status` prints them — "unknown" for an anonymity set the entry did not report.
 * The entry's slots-by-CREATEs histogram (hop stats) is exported and read back by the client.
 */
import t from 'tap'
import { ClientStats } from '../../../src/client/client-node.js'
import { entryReportFrom } from '../../../src/client/entry-report.js'
import { HopStats } from '../../../src/hop/hop-stats.js'
import { formatStatus, parsePrometheusText, sampleValue } from '../../../src/node/admin/status.js'
import { registerClientMetrics } from '../../../src/client/client-metrics.js'
import { registerMixMetrics } from '../../../src/mix/mix-metrics.js'
import { MetricsRegistry } from '../../../src/base/metrics-registry.js'
import type { ClientShapingStatus as ClientShapingShape } from '../../../src/client/client-stats.js'

const socks = { connections: 0, pending: 0, accepted: 0, rejected: {}, errors: {}, warnings: {} }

function shaping (over: Partial<ClientShapingShape> = {}): ClientShapingShape {
  return {
    profile: 'elastic', rungs: [2, 0, 0, 1], rungsForward: [3, 0, 0, 0], loopsSent: 120, loopsReturned: 118, loopsLost: 1, loopsLate: 1, loopAlarms: 1,
    loopIncidents: 1, failedClosed: false, failClosedEpisodes: 0, failClosedRecoveries: 0, failClosedHoldMs: 0, rttMs: { p50: 60, p90: 80, p99: 90 }, rttExpectedMs: 740, coverBytesOut: 12_300_000, coverBytesIn: 4_500_000,
    creationSlots: 5, roundsMissed: 0, rungsLimited: 0, congestions: { busy: 0, slow_echo: 0 }, capacityCells: NaN, entry: { createsPerSlot: 4, clients: 3 }, ...over,
  }
}

async function statusOf (shape: ClientShapingShape): Promise<string> {
  const registry = new MetricsRegistry()
  registerClientMetrics(registry, { stats: new ClientStats(), entryUp: true, socksCounters: socks, shaping: shape }, {})
  return formatStatus({ httpStatus: 200, health: { status: 'ok', role: 'client', uptimeS: 5 }, metrics: parsePrometheusText(await registry.render()) })
}

t.test('a shaped client\'s status shows profile, rungs, loops, RTT, alarms, cover and the anonymity set', async (t) => {
  const text = await statusOf(shaping())
  t.match(text, /shaping +elastic, circuits at rungs 0:2 3:1\n/)
  t.match(text, /loops +120 sent, 118 back, 1 lost, 1 late\n/)
  t.match(text, /loop RTT +p50 60 ms, p90 80 ms, p99 90 ms \(expected under 740 ms\)\n/)
  t.match(text, /alarms +1\n/)
  t.match(text, /cover +12\.3 MB out, 4\.5 MB in\n/)
  t.match(text, /anonymity set +at least 4 circuits per creation slot at the entry \(median\), 3 clients connected\n/)
  t.notMatch(text, /missed rounds/, 'no missed rounds, no line')
})

t.test('an elastic client shows its capacity, and how often congestion halved it', async (t) => {
  t.match(await statusOf(shaping({ capacityCells: 128 })), /capacity +128 cells a round for all circuits above the wake rung\n/)
  t.match(await statusOf(shaping({ capacityCells: 32, congestions: { busy: 1, slow_echo: 2 } })), /capacity +32 cells a round for all circuits above the wake rung, halved 3 times for congestion\n/)
  t.notMatch(await statusOf(shaping({ profile: 'strict', capacityCells: NaN })), /capacity/)
})

t.test('a client that missed rounds says so', async (t) => {
  t.match(await statusOf(shaping({ roundsMissed: 40 })), /missed rounds +40 \(this process was too busy: its schedule broke for them\)\n/)
})

t.test('an unreachable entry leaves the anonymity set unknown; failing closed is shown', async (t) => {
  const text = await statusOf(shaping({ entry: undefined, failedClosed: true, loopAlarms: 3, loopIncidents: 3, failClosedEpisodes: 1, failClosedHoldMs: 30_000, rttMs: { p50: NaN, p90: NaN, p99: NaN } }))
  t.match(text, /anonymity set +unknown \(/)
  t.match(text, /alarms +3 \(FAILED CLOSED: new streams are refused; it re-opens once its probes come back on time for 30 s with no alarm\)\n/)
  t.match(text, /loop RTT +none back yet/)
})

t.test('alarms of one stall show as one incident; a client closed until restart says so; a recovered one says how often', async (t) => {
  t.match(await statusOf(shaping({ loopAlarms: 12, loopIncidents: 1 })), /alarms +12 in 1 incident\n/)
  t.match(await statusOf(shaping({ loopAlarms: 3, loopIncidents: 3, failedClosed: true, failClosedEpisodes: 1, failClosedHoldMs: Infinity })),
    /alarms +3 \(FAILED CLOSED: new streams are refused until the client is restarted, failClosed untilRestart\)\n/)
  t.match(await statusOf(shaping({ loopAlarms: 9, loopIncidents: 4, failClosedEpisodes: 2, failClosedRecoveries: 2 })),
    /alarms +9 in 4 incidents \(failed closed 2 times, re-opened 2\)\n/)
})

t.test('profile off shows only the profile line', async (t) => {
  const text = await statusOf(shaping({ profile: 'off', rungs: [] }))
  t.match(text, /shaping +off\n/)
  t.notMatch(text, /loops|anonymity/)
})

t.test('the entry exports slots by CREATEs and the client reads the median busy bucket', async (t) => {
  const stats = new HopStats()
  // 50 slots without CREATEs (not creation slots), then 1×"1", 3×"2–3", 5×"4–7", 1×"8–15".
  stats.createsPerSlot[0] = 50; stats.createsPerSlot[1] = 1; stats.createsPerSlot[2] = 3; stats.createsPerSlot[3] = 5; stats.createsPerSlot[4] = 1
  const node = { stats, circuits: 0, predecessorLinks: 3, missedRounds: 0, successorUp: true, successorConnects: 1, successorFailures: 0 }
  const registry = new MetricsRegistry()
  registerMixMetrics(registry, node, { position: 1 })
  const metrics = parsePrometheusText(await registry.render())
  t.equal(sampleValue(metrics, 'mixgate_slot_creates_total', { at_least: '4' }), 5)
  t.same(entryReportFrom(metrics), { createsPerSlot: 4, clients: 3 })
  t.equal(entryReportFrom(parsePrometheusText('')), undefined, 'no histogram: unknown')
})
