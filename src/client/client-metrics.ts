/**
 * The client's metrics (docs/METRICS.md "Client"): the common ones, circuits, streams, cover,
 * the entry link, the SOCKS and HTTP CONNECT doors (socks/socks-metrics.ts, http/http-metrics.ts, and their shared cap:
 * door-metrics.ts) and, shaped, the loops and the
 * anonymity set (shaping/shaping-metrics.ts), read from the node's own stats at scrape time.
 */
import { ratio, registerCommonMetrics, type CommonMetricsOptions } from '../base/common-metrics.js'
import { MetricsError } from '../base/metrics-errors.js'
import type { MetricsRegistry } from '../base/metrics-registry.js'
import type { ClientShapingStatus, ClientStats } from './client-stats.js'

/** The bounds a new stream can meet (label `limit` of mixgate_stream_limits_reached_total). */
const STREAM_LIMITS = ['circuits', 'circuit_streams'] as const
import { registerShapingMetrics } from './shaping/shaping-metrics.js'
import type { SocksCountersSnapshot } from './socks/socks-counters.js'
import { registerSocksMetrics } from './socks/socks-metrics.js'
import type { HttpCountersSnapshot } from './http/http-front.js'
import { registerHttpMetrics } from './http/http-metrics.js'
import { registerDoorMetrics } from './door-metrics.js'

/**
 * The fields of `ClientStats` read here, with the class's own types; `coverOut` and
 * `inputExceptions` are read as 0 where a stats object lacks them.
 */
export type ClientCounters = Readonly<Pick<ClientStats, 'circuitsBuilt' | 'circuitsActive' | 'streamsRequested' | 'streamsConnected' |
  'streamsRefused' | 'streamsTimedOut' | 'integrityFailures' | 'silentCircuits' | 'alarms' | 'cellsOut' | 'cellsIn' | 'padsIn' |
  'entryConnects' | 'entryFailures'> & Partial<Pick<ClientStats, 'coverOut' | 'inputExceptions' | 'streamsCutBySchedule' | 'datagramsFromApps' |
  'datagramsToApps' | 'datagramsDropped' | 'streamsOverCircuitLimit' | 'streamsWaitedCircuitsFull' | 'streamsRetried'>>>

/** The client (`ClientNode` fits). */
export interface ClientSource {
  readonly stats: ClientCounters
  readonly entryUp: boolean
  readonly socksCounters: SocksCountersSnapshot
  /** The HTTP CONNECT door's counters; undefined (or absent) without the door: its metrics read 0. */
  readonly httpCounters?: HttpCountersSnapshot | undefined
  /** Optional: shaping, loops and the anonymity set (issue #5). */
  readonly shaping?: ClientShapingStatus
}

export interface ClientMetricsOptions extends CommonMetricsOptions {
  /** Application bytes, if the node counts them: forward = from apps, backward = to apps. */
  readonly bytes?: { readonly forward: () => number, readonly backward: () => number }
}

export interface ClientMetrics {
  readonly registry: MetricsRegistry
  /**
   * Count `cells` cover cells (DROP, LOOP) the client sent, for a client whose stats have no
   * `coverOut` (the two add up); received PADs are read from its stats.
   */
  countPadding (cells: number): void
}

/** The client: SOCKS front, circuits, shaping. */
export function registerClientMetrics (registry: MetricsRegistry, client: ClientSource, options: ClientMetricsOptions): ClientMetrics {
  const s = (): ClientCounters => client.stats
  registerCommonMetrics(registry, 'client', options, () => s().cellsIn, () => s().cellsOut, () => s().circuitsActive)

  registry.counter('mixgate_authentication_failures_total', 'Cells or headers that failed authentication, dropped.', { kind: ['relay'] })
    .from(() => s().integrityFailures, { kind: 'relay' })
  let coverCounted = 0
  const coverOut = (): number => coverCounted + (s().coverOut ?? 0)
  registry.counter('mixgate_padding_cells_total', 'Padding and cover cells: hops count what they add, the client what it sends (forward) and receives (backward).',
    { direction: ['forward', 'backward'] })
    .from(coverOut, { direction: 'forward' })
    .from(() => s().padsIn, { direction: 'backward' })
  registry.gauge('mixgate_padding_ratio', 'Padding cells over all cells in this direction since the node started.', { direction: ['forward', 'backward'] })
    .from(() => ratio(coverOut(), s().cellsOut), { direction: 'forward' })
    .from(() => ratio(s().padsIn, s().cellsIn), { direction: 'backward' })

  registry.counterFrom('mixgate_circuits_built_total', 'Circuits built.', () => s().circuitsBuilt)
  registry.counterFrom('mixgate_circuits_silent_total', 'Circuits whose LOOP cells stopped coming back.', () => s().silentCircuits)
  registry.counterFrom('mixgate_alarms_total', 'Anomalies the client noticed and reported locally (never on the wire).', () => s().alarms)
  registry.counterFrom('mixgate_input_exceptions_total', 'Exceptions caught while handling a peer\'s input (each a bug; see the error log).', () => s().inputExceptions ?? 0)
  registry.counterFrom('mixgate_streams_requested_total', 'Streams apps asked for.', () => s().streamsRequested)
  registry.counterFrom('mixgate_streams_opened_total', 'Streams opened (exit: TCP connected; client: CONNECTED received).', () => s().streamsConnected)
  registry.counterFrom('mixgate_streams_refused_total', 'Streams refused (policy, resolution, connection failure).', () => s().streamsRefused)
  registry.counterFrom('mixgate_streams_timed_out_total', 'Streams failed because no answer came in time.', () => s().streamsTimedOut)
  registry.counterFrom('mixgate_streams_retried_total', 'Requests tried again on another circuit because the exit had not answered within streamAttachTimeoutMs.', () => s().streamsRetried ?? 0)
  registry.counterFrom('mixgate_streams_cut_by_schedule_total', 'Open streams cut because their shaped circuit reached its scheduled end.', () => s().streamsCutBySchedule ?? 0)
  registry.counter('mixgate_stream_limits_reached_total', 'New streams that met a bound: circuits = refused, every circuit the unshaped client may hold in use; circuit_streams = waited for a creation slot, every shaped circuit of the key full.',
    { limit: STREAM_LIMITS })
    .from(() => s().streamsOverCircuitLimit ?? 0, { limit: 'circuits' })
    .from(() => s().streamsWaitedCircuitsFull ?? 0, { limit: 'circuit_streams' })
  registry.counter('mixgate_datagrams_total', 'UDP datagrams of SOCKS UDP ASSOCIATE: forward = from apps (exit: to hosts), backward = the reverse.',
    { direction: ['forward', 'backward'] })
    .from(() => s().datagramsFromApps ?? 0, { direction: 'forward' })
    .from(() => s().datagramsToApps ?? 0, { direction: 'backward' })
  registry.counterFrom('mixgate_datagrams_dropped_total', 'UDP datagrams dropped (wrong source, fragment, too large, no circuit credit, malformed).', () => s().datagramsDropped ?? 0)
  if (options.bytes !== undefined) {
    const bytes = options.bytes
    registry.counter('mixgate_bytes_total', 'Stream bytes: forward = to hosts (exit) or from apps (client), backward = the reverse.',
      { direction: ['forward', 'backward'] })
      .from(bytes.forward, { direction: 'forward' })
      .from(bytes.backward, { direction: 'backward' })
  }

  registry.gaugeFrom('mixgate_successor_up', '1 if the link to the next node (the client\'s: the entry mix) is up.', () => client.entryUp)
  registry.counterFrom('mixgate_successor_connects_total', 'Links to the successor established.', () => s().entryConnects)
  registry.counterFrom('mixgate_successor_failures_total', 'Failed dials to the successor, and successor links lost.', () => s().entryFailures)
  registerSocksMetrics(registry, () => client.socksCounters)
  registerHttpMetrics(registry, () => client.httpCounters)
  registerDoorMetrics(registry, { socks: () => client.socksCounters, http: () => client.httpCounters })
  if (client.shaping !== undefined) registerShapingMetrics(registry, () => client.shaping!)

  return {
    registry,
    countPadding: (cells) => {
      if (!(cells >= 0) || !Number.isFinite(cells)) throw new MetricsError('METRICS_BAD_VALUE', 'mixgate_padding_cells_total: a counter only goes up')
      coverCounted += cells
    },
  }
}
