/**
 * The standard metric sets each role registers (src/mix/mix-metrics.ts, src/exit/exit-metrics.ts,
 * src/client/client-metrics.ts, over src/hop/hop-metrics.ts), as the admin port serves them:
 * each registration reads the nodes' own stats objects at scrape time, records rounds and padding through the hooks, maps SOCKS codes onto a fixed
 * label set, and every name it renders is documented in docs/METRICS.md. The source shapes
 * are checked against the real node classes at compile time.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ClientStats, type ClientNode } from '../../../src/client/client-node.js'
import { ExitStats, type ExitNode } from '../../../src/exit/exit-node.js'
import type { LinkListener } from '../../../src/link/listen.js'
import { HopStats } from '../../../src/hop/hop-stats.js'
import type { MixNode } from '../../../src/mix/mix-node.js'
import { MetricsError } from '../../../src/base/metrics-errors.js'
import { registerClientMetrics, type ClientSource } from '../../../src/client/client-metrics.js'
import { registerExitMetrics, type ExitSource } from '../../../src/exit/exit-metrics.js'
import { BATCH_BUCKETS } from '../../../src/hop/hop-metrics.js'
import type { ListenerSource } from '../../../src/link/listener-metrics.js'
import { registerMixMetrics, type MixSource } from '../../../src/mix/mix-metrics.js'
import { parsePrometheusText, sampleValue, type ParsedMetrics } from '../../../src/base/metrics-text.js'
import { MetricsRegistry } from '../../../src/base/metrics-registry.js'

// Compile-time: the real nodes fit the shapes node-metrics.ts reads. A renamed field in a
// node breaks this file's build instead of silently exporting zeros.
type Fits<A, B> = A extends B ? true : never
const nodesFit: [Fits<MixNode, MixSource>, Fits<ExitNode, ExitSource>, Fits<ClientNode, ClientSource>, Fits<LinkListener, ListenerSource>] =
  [true, true, true, true]

function fakeMix () {
  const stats = new HopStats()
  const node = { stats, circuits: 0, predecessorLinks: 0, missedRounds: 0, successorUp: true, successorConnects: 0, successorFailures: 0 }
  const listener = {
    stats: {
      connections: 0, links: 0, handshakeTimeouts: 0, handshakeFailures: 0, peersNotAllowed: 0,
      refusedHandshakes: 0, refusedHandshakesPerSource: 0, refusedLinks: 0, refusedLinksPerSource: 0, refusedRate: 0, refusedRatePerSource: 0,
    },
    openLinks: 0,
    handshakesInProgress: 0,
    trackedSources: 0,
  }
  return { stats, node, listener }
}

async function scrape (registry: MetricsRegistry): Promise<ParsedMetrics> {
  return parsePrometheusText(await registry.render())
}

t.test('the nodes\' classes fit the source shapes (checked by the compiler)', async (t) => {
  t.same(nodesFit, [true, true, true, true])
  // The stats classes have every field the shapes name, as numbers.
  const hop: Record<string, unknown> = { ...new HopStats() }
  for (const field of ['cellsIn', 'cellsOut', 'rounds', 'createsRefusedReplay', 'relayAuthFailures', 'linksClosedSlow']) {
    t.type(hop[field], 'number', `HopStats.${field}`)
  }
  t.type(new ExitStats().bytesToHosts, 'number')
  t.type(new ClientStats().padsIn, 'number')
})

t.test('a mix exports its stats as they are when scraped', async (t) => {
  const { stats, node, listener } = fakeMix()
  let epoch = 17
  const registry = new MetricsRegistry()
  registerMixMetrics(registry, node, { position: 2, epoch: () => epoch, uptimeS: () => 3725, listener })
  Object.assign(stats, { cellsIn: 100, cellsOut: 90, rounds: 7, createsAccepted: 5, createsRefusedAuth: 1, createsRefusedReplay: 2,
    createsRefusedFull: 3, createsRefusedLimit: 4, createsRefusedBusy: 11, createsCarried: 12, relayAuthFailures: 6, unknownCircuitCells: 8, cellsAfterEnd: 10, malformedCells: 9,
    linksAccepted: 3, linksClosed: 2, linksClosedSlow: 1 })
  node.circuits = 4
  node.predecessorLinks = 1
  node.missedRounds = 13
  node.successorUp = false
  listener.stats.peersNotAllowed = 2
  Object.assign(listener.stats, { refusedHandshakes: 21, refusedHandshakesPerSource: 22, refusedLinks: 23, refusedLinksPerSource: 24, refusedRate: 25, refusedRatePerSource: 26 })
  listener.handshakesInProgress = 27
  listener.trackedSources = 28
  epoch = 18
  const m = await scrape(registry)
  const expected: Array<[string, Record<string, string>, number]> = [
    ['mixgate_node_info', { role: 'mix' }, 1],
    ['mixgate_uptime_seconds', {}, 3725],
    ['mixgate_epoch', {}, 18],
    ['mixgate_position', {}, 2],
    ['mixgate_cells_in_total', {}, 100],
    ['mixgate_cells_out_total', {}, 90],
    ['mixgate_rounds_total', {}, 7],
    ['mixgate_rounds_missed_total', {}, 13],
    ['mixgate_circuits', {}, 4],
    ['mixgate_replays_dropped_total', {}, 2],
    ['mixgate_authentication_failures_total', { kind: 'create' }, 1],
    ['mixgate_authentication_failures_total', { kind: 'relay' }, 6],
    ['mixgate_creates_accepted_total', {}, 5],
    ['mixgate_creates_refused_total', { reason: 'table_full' }, 3],
    ['mixgate_creates_refused_total', { reason: 'limit' }, 4],
    ['mixgate_creates_refused_total', { reason: 'busy' }, 11],
    ['mixgate_creates_carried_total', {}, 12],
    ['mixgate_cells_dropped_total', { reason: 'unknown_circuit' }, 8],
    ['mixgate_cells_dropped_total', { reason: 'after_end' }, 10],
    ['mixgate_cells_dropped_total', { reason: 'malformed' }, 9],
    ['mixgate_links_open', {}, 1],
    ['mixgate_links_closed_slow_total', {}, 1],
    ['mixgate_successor_up', {}, 0],
    ['mixgate_link_handshake_failures_total', { reason: 'not_allowed' }, 2],
    ['mixgate_link_connections_refused_total', { reason: 'handshakes' }, 21],
    ['mixgate_link_connections_refused_total', { reason: 'handshakes_per_source' }, 22],
    ['mixgate_link_connections_refused_total', { reason: 'links' }, 23],
    ['mixgate_link_connections_refused_total', { reason: 'links_per_source' }, 24],
    ['mixgate_link_connections_refused_total', { reason: 'rate' }, 25],
    ['mixgate_link_connections_refused_total', { reason: 'rate_per_source' }, 26],
    ['mixgate_link_handshakes_in_progress', {}, 27],
    ['mixgate_link_sources', {}, 28],
  ]
  for (const [name, labels, value] of expected) t.equal(sampleValue(m, name, labels), value, `${name} ${JSON.stringify(labels)}`)
})

t.test('rounds go into the coarse batch histogram; padding gives the ratio per direction', async (t) => {
  const { node } = fakeMix()
  const metrics = registerMixMetrics(new MetricsRegistry(), node, { position: 1, epoch: () => 0 })
  t.same(BATCH_BUCKETS, [0, 1, 4, 16, 64, 256, 1024, 4096])
  metrics.observeBatch(0)
  metrics.observeBatch(30)
  metrics.observeBatch(10, 'forward')
  metrics.countPadding(10)
  metrics.observeBatch(8, 'backward')
  metrics.countPadding(2, 'backward')
  const m = await scrape(metrics.registry)
  t.equal(sampleValue(m, 'mixgate_batch_cells_bucket', { direction: 'forward', le: '0' }), 1)
  t.equal(sampleValue(m, 'mixgate_batch_cells_bucket', { direction: 'forward', le: '16' }), 2)
  t.equal(sampleValue(m, 'mixgate_batch_cells_bucket', { direction: 'forward', le: '64' }), 3)
  t.equal(sampleValue(m, 'mixgate_batch_cells_count', { direction: 'forward' }), 3)
  t.equal(sampleValue(m, 'mixgate_batch_cells_sum', { direction: 'backward' }), 8)
  t.equal(sampleValue(m, 'mixgate_padding_cells_total', { direction: 'forward' }), 10)
  t.equal(sampleValue(m, 'mixgate_padding_ratio', { direction: 'forward' }), 0.25)
  t.equal(sampleValue(m, 'mixgate_padding_ratio', { direction: 'backward' }), 0.25)
})

t.test('before any round the padding ratio is 0, not NaN', async (t) => {
  const { node } = fakeMix()
  const metrics = registerMixMetrics(new MetricsRegistry(), node, { position: 1, epoch: () => 0 })
  t.equal(sampleValue(await scrape(metrics.registry), 'mixgate_padding_ratio', { direction: 'forward' }), 0)
})

t.test('the exit has backward rounds only, streams and bytes, and no successor', async (t) => {
  const stats = new HopStats()
  const exitStats = new ExitStats()
  const exit = { stats, exitStats, circuits: 2, predecessorLinks: 1, missedRounds: 0 }
  const metrics = registerExitMetrics(new MetricsRegistry(), exit, { position: 4, epoch: () => 3 })
  Object.assign(exitStats, { streamsOpened: 5, streamsRefused: 1, streamsActive: 2, bytesToHosts: 1000, bytesFromHosts: 50_000, loopsEchoed: 4 })
  metrics.observeBatch(12)
  metrics.countPadding(3)
  const m = await scrape(metrics.registry)
  t.equal(sampleValue(m, 'mixgate_node_info', { role: 'exit' }), 1)
  t.equal(sampleValue(m, 'mixgate_batch_cells_count', { direction: 'backward' }), 1, 'the default direction at the exit is backward')
  t.equal(sampleValue(m, 'mixgate_batch_cells_count', { direction: 'forward' }), undefined)
  t.equal(sampleValue(m, 'mixgate_padding_ratio', { direction: 'backward' }), 0.25)
  t.equal(sampleValue(m, 'mixgate_streams'), 2)
  t.equal(sampleValue(m, 'mixgate_streams_opened_total'), 5)
  t.equal(sampleValue(m, 'mixgate_bytes_total', { direction: 'forward' }), 1000)
  t.equal(sampleValue(m, 'mixgate_bytes_total', { direction: 'backward' }), 50_000)
  t.equal(sampleValue(m, 'mixgate_loops_echoed_total'), 4)
  t.equal(sampleValue(m, 'mixgate_successor_up'), undefined)
  t.throws(() => metrics.observeBatch(1, 'forward'), MetricsError, 'a forward round at the exit is a wiring mistake')
})

t.test('the client exports its stats, SOCKS counters on fixed labels, and optional bytes', async (t) => {
  const stats = new ClientStats()
  const socks = { connections: 9, pending: 1, accepted: 6, rejected: { 4: 2, 5: 1, 99: 7 } as Record<number, number>,
    errors: { SOCKS_BAD_VERSION: 3, SOCKS_SOMETHING_NEW: 2 } as Record<string, number>, warnings: { SOCKS_UNSAFE_IP_LITERAL: 1 } }
  const client = { stats, entryUp: true, socksCounters: socks }
  let sent = 0
  const metrics = registerClientMetrics(new MetricsRegistry(), client, {
    epoch: () => 5, bytes: { forward: () => sent, backward: () => 2 * sent },
  })
  Object.assign(stats, { circuitsBuilt: 3, circuitsActive: 2, cellsIn: 40, cellsOut: 20, padsIn: 10, integrityFailures: 1,
    streamsRequested: 8, streamsConnected: 6, streamsRefused: 1, streamsTimedOut: 1, entryConnects: 1 })
  metrics.countPadding(5)
  sent = 700
  const m = await scrape(metrics.registry)
  t.equal(sampleValue(m, 'mixgate_node_info', { role: 'client' }), 1)
  t.equal(sampleValue(m, 'mixgate_circuits'), 2)
  t.equal(sampleValue(m, 'mixgate_authentication_failures_total', { kind: 'relay' }), 1)
  t.equal(sampleValue(m, 'mixgate_padding_cells_total', { direction: 'backward' }), 10)
  t.equal(sampleValue(m, 'mixgate_padding_ratio', { direction: 'backward' }), 0.25)
  t.equal(sampleValue(m, 'mixgate_padding_ratio', { direction: 'forward' }), 0.25)
  t.equal(sampleValue(m, 'mixgate_streams_opened_total'), 6)
  t.equal(sampleValue(m, 'mixgate_successor_up'), 1)
  t.equal(sampleValue(m, 'mixgate_bytes_total', { direction: 'backward' }), 1400)
  t.equal(sampleValue(m, 'mixgate_socks_rejected_total', { rep: '4' }), 2)
  t.equal(sampleValue(m, 'mixgate_socks_rejected_total', { rep: '1' }), 0)
  t.equal(sampleValue(m, 'mixgate_socks_rejected_total', { rep: 'other' }), 7)
  t.equal(sampleValue(m, 'mixgate_socks_errors_total', { code: 'bad_version' }), 3)
  t.equal(sampleValue(m, 'mixgate_socks_errors_total', { code: 'other' }), 2, 'unknown codes add up under other')
  t.equal(sampleValue(m, 'mixgate_socks_warnings_total', { code: 'unsafe_ip_literal' }), 1)
  t.equal(sampleValue(m, 'mixgate_rounds_total'), undefined)
})

t.test('without byte readers the client exports no byte counter rather than zeros', async (t) => {
  const client = { stats: new ClientStats(), entryUp: false, socksCounters: { connections: 0, pending: 0, accepted: 0, rejected: {}, errors: {}, warnings: {} } }
  const metrics = registerClientMetrics(new MetricsRegistry(), client, { epoch: () => 0 })
  t.equal(sampleValue(await scrape(metrics.registry), 'mixgate_bytes_total', { direction: 'forward' }), undefined)
})

t.test('a hop exports its link drains by direction and its predecessor links\' rekeys', async (t) => {
  const { stats, node, listener } = fakeMix()
  const counted = { ...listener, linkRekeys: 0 }
  const registry = new MetricsRegistry()
  registerMixMetrics(registry, node, { position: 1, listener: counted })
  stats.drainRoundsForward = 4
  stats.drainRoundsBackward = 8
  counted.linkRekeys = 3
  const m = await scrape(registry)
  t.equal(sampleValue(m, 'mixgate_drain_rounds_total', { direction: 'forward' }), 4)
  t.equal(sampleValue(m, 'mixgate_drain_rounds_total', { direction: 'backward' }), 8)
  t.equal(sampleValue(m, 'mixgate_link_rekeys_total'), 3)

  const exitStats = new HopStats()
  exitStats.drainRoundsBackward = 2
  const exitRegistry = new MetricsRegistry()
  registerExitMetrics(exitRegistry, { stats: exitStats, exitStats: new ExitStats(), circuits: 0, predecessorLinks: 0, missedRounds: 0 }, { position: 3 })
  const e = await scrape(exitRegistry)
  t.equal(sampleValue(e, 'mixgate_drain_rounds_total', { direction: 'backward' }), 2)
  t.equal(sampleValue(e, 'mixgate_drain_rounds_total', { direction: 'forward' }), undefined, 'the exit has no successor link to drain')
  t.equal(sampleValue(e, 'mixgate_link_rekeys_total'), undefined, 'no listener registered, no listener counters')
})

t.test('every metric a role exports is documented in docs/METRICS.md', async (t) => {
  const doc = readFileSync(join(process.cwd(), 'docs', 'METRICS.md'), 'utf8')
  const documented = new Set([...doc.matchAll(/^\| `((?:mixgate|process|nodejs)_[a-z0-9_]+)`/gm)].map((match) => match[1]))
  const { node, listener } = fakeMix()
  // As nodes make them (node-admin.ts): with prom-client's default process metrics.
  const registries = [0, 1, 2].map(() => new MetricsRegistry({ defaultMetrics: true }))
  registerMixMetrics(registries[0]!, node, { position: 1, epoch: () => 0, listener })
  registerExitMetrics(registries[1]!, { stats: new HopStats(), exitStats: new ExitStats(), circuits: 0, predecessorLinks: 0, missedRounds: 0 }, { position: 2, epoch: () => 0 })
  registerClientMetrics(registries[2]!, {
    stats: new ClientStats(), entryUp: true, socksCounters: { connections: 0, pending: 0, accepted: 0, rejected: {}, errors: {}, warnings: {} },
    // A shaped client's source, so that the shaping rows are checked too.
    shaping: {
      profile: 'elastic', rungs: [3, 0, 0, 0], rungsForward: [2, 1, 0, 0], loopsSent: 0, loopsReturned: 0, loopsLost: 0, loopsLate: 0, loopAlarms: 0,
      loopIncidents: 0, failedClosed: false, failClosedEpisodes: 0, failClosedRecoveries: 0, failClosedHoldMs: 0, rttMs: { p50: NaN, p90: NaN, p99: NaN }, rttExpectedMs: 1000, coverBytesOut: 0, coverBytesIn: 0,
      creationSlots: 0, roundsMissed: 0, rungsLimited: 0, congestions: { busy: 0, slow_echo: 0 }, capacityCells: NaN, entry: undefined,
    },
  }, { epoch: () => 0, bytes: { forward: () => 0, backward: () => 0 } })
  const exported = new Set<string>()
  for (const registry of registries) for (const name of (await scrape(registry)).keys()) exported.add(name)
  for (const name of exported) t.ok(documented.has(name), `${name} is documented`)
  // prom-client's process metrics depend on the platform (open fds: Linux only), so only
  // mixgate's own rows must each be exported somewhere.
  for (const name of documented) if (name!.startsWith('mixgate_')) t.ok(exported.has(name!), `${name} is exported by some role`)
})

t.test('a shaped hop exports the rounds it carried on, by direction', async (t) => {
  const { stats, node, listener } = fakeMix()
  const registry = new MetricsRegistry()
  registerMixMetrics(registry, node, { position: 2, listener })
  stats.carriedRoundsForward = 3
  stats.carriedRoundsBackward = 11
  const m = await scrape(registry)
  t.equal(sampleValue(m, 'mixgate_carried_rounds_total', { direction: 'forward' }), 3)
  t.equal(sampleValue(m, 'mixgate_carried_rounds_total', { direction: 'backward' }), 11)
})

t.test('a shaped hop exports its round releases by direction and trigger', async (t) => {
  const { stats, node, listener } = fakeMix()
  const registry = new MetricsRegistry()
  registerMixMetrics(registry, node, { position: 2, listener })
  stats.releasesOnArrivalForward = 5
  stats.releasesAtDeadlineForward = 1
  stats.releasesOnArrivalBackward = 7
  stats.releasesAtDeadlineBackward = 2
  const m = await scrape(registry)
  t.equal(sampleValue(m, 'mixgate_round_releases_total', { direction: 'forward', trigger: 'arrival' }), 5)
  t.equal(sampleValue(m, 'mixgate_round_releases_total', { direction: 'forward', trigger: 'deadline' }), 1)
  t.equal(sampleValue(m, 'mixgate_round_releases_total', { direction: 'backward', trigger: 'arrival' }), 7)
  t.equal(sampleValue(m, 'mixgate_round_releases_total', { direction: 'backward', trigger: 'deadline' }), 2)
})
