/**
 * The standard metric set of each role, registered over the node's own stats objects.
 *
 *   const metrics = registerMixMetrics(new MetricsRegistry(), mixNode, { position: 1, epoch: () => keys.epoch })
 *   metrics.observeBatch(cellsReleased, 'forward')   // once per round and direction
 *   admin: await metrics.registry.render()
 *
 * Names, types and labels are listed in docs/METRICS.md; keep the two in step, since
 * dashboards and alerts depend on them. Everything is aggregate (R19): counters, gauges of
 * current totals, and one coarse histogram of round sizes. `direction` is the cascade
 * direction: `forward` is toward the exit, `backward` toward the client.
 *
 * Two things the hops do not count themselves are recorded here, by calls the hop makes once
 * per round and direction: `observeBatch` (the cells a round released, padding included) and
 * `countPadding` (padding cells it added: a mix's PADDING cells topping up a round, a hop's
 * own backward PADs). A hop that offers `observeRounds` (sources.ts) is given `roundObserver`,
 * the non-throwing form of the two. A client's cover is read from its stats (`coverOut`) or
 * counted with `countPadding`. The padding ratio is padding cells over all cells of that
 * direction since the node started; the counters beside it give the ratio over any window in
 * PromQL.
 */
import { MetricsError } from './errors.js'
import { CREATE_SLOT_BOUNDS } from './sources.js'
import type { MetricsRegistry } from './registry.js'
import type { CellDirection, ClientShapingShape, ClientSource, ExitSource, HopSource, ListenerSource, MixSource, RoundObserver, SocksCountersShape } from './sources.js'

export type Direction = CellDirection
export type Role = 'client' | 'mix' | 'exit'

/**
 * Upper bounds of the round size histogram, in cells. Coarse on purpose (R19): powers of
 * four say whether rounds are empty, small or large, not how many cells a given round held.
 */
export const BATCH_BUCKETS: readonly number[] = [0, 1, 4, 16, 64, 256, 1024, 4096]

export interface CommonMetricsOptions {
  /** The epoch whose keys the node uses now (without it, `mixgate_epoch` is not exported). */
  readonly epoch?: () => number
  /** Whole seconds since the node started (default: the process's uptime). */
  readonly uptimeS?: () => number
}

export interface HopMetricsOptions extends CommonMetricsOptions {
  /** 1 = entry mix … the exit's position is the number of hops. */
  readonly position: number
  /** The listener the predecessors connect to, for its handshake counters. */
  readonly listener?: ListenerSource
}

export interface ClientMetricsOptions extends CommonMetricsOptions {
  /** Application bytes, if the node counts them: forward = from apps, backward = to apps. */
  readonly bytes?: { readonly forward: () => number, readonly backward: () => number }
}

export interface HopMetrics {
  readonly registry: MetricsRegistry
  /**
   * Record one round: `cells` is how many cells it released in `direction`, padding
   * included. Call it once per round and direction, empty rounds too. The exit has no
   * forward rounds (its forward output goes to TCP): only `backward` there. The default
   * direction is forward at a mix, backward at the exit.
   */
  observeBatch (cells: number, direction?: Direction): void
  /** Count `cells` padding cells this hop sent in `direction` (default as for observeBatch). */
  countPadding (cells: number, direction?: Direction): void
  /**
   * The same two calls for the node's own round loop (`HopSource.observeRounds`): they never
   * throw, and ignore what this role does not have (a forward round at the exit) or a
   * count that is not a whole number ≥ 0, so that metrics can never break a round.
   */
  readonly roundObserver: RoundObserver
}

export interface ClientMetrics {
  readonly registry: MetricsRegistry
  /**
   * Count `cells` cover cells (DROP, LOOP) the client sent, for a client whose stats have no
   * `coverOut` (the two add up); received PADs are read from its stats.
   */
  countPadding (cells: number): void
}

/** A mix at any position but the last. */
export function registerMixMetrics (registry: MetricsRegistry, mix: MixSource, options: HopMetricsOptions): HopMetrics {
  const metrics = registerHopMetrics(registry, 'mix', mix, options, ['forward', 'backward'])
  registerLinkState(registry, mix, options.listener, () => mix.successorUp)
  registry.counterFrom('mixgate_successor_connects_total', 'Links to the successor established.', () => mix.successorConnects)
  registry.counterFrom('mixgate_successor_failures_total', 'Failed dials to the successor, and successor links lost.', () => mix.successorFailures)
  return metrics
}

/** The exit: the last hop, whose forward output goes to TCP. */
export function registerExitMetrics (registry: MetricsRegistry, exit: ExitSource, options: HopMetricsOptions): HopMetrics {
  const metrics = registerHopMetrics(registry, 'exit', exit, options, ['backward'])
  registerLinkState(registry, exit, options.listener, undefined)
  const s = (): ExitSource['exitStats'] => exit.exitStats
  registry.counterFrom('mixgate_streams_opened_total', 'Streams opened (exit: TCP connected; client: CONNECTED received).', () => s().streamsOpened)
  registry.counterFrom('mixgate_streams_refused_total', 'Streams refused (policy, resolution, connection failure).', () => s().streamsRefused)
  registry.gaugeFrom('mixgate_streams', 'Streams open now.', () => s().streamsActive)
  registry.counter('mixgate_exit_limit_refusals_total', 'Streams refused with RESOURCE_LIMIT at a cap (also in streams_refused).',
    { limit: ['streams_per_circuit', 'dns_queries', 'outbound_sockets'] })
    .from(() => s().refusedStreamsPerCircuit ?? 0, { limit: 'streams_per_circuit' })
    .from(() => s().dnsQueries?.refused ?? 0, { limit: 'dns_queries' })
    .from(() => s().outboundSockets?.refused ?? 0, { limit: 'outbound_sockets' })
  registry.gaugeFrom('mixgate_exit_dns_queries', 'DNS queries in flight now (cap: maxDnsQueries).', () => s().dnsQueries?.active ?? 0)
  registry.gaugeFrom('mixgate_exit_outbound_sockets', 'Outbound sockets now, connecting or open (cap: maxOutbound).', () => s().outboundSockets?.active ?? 0)
  registry.counter('mixgate_window_overruns_total', 'DATA cells beyond a flow-control window: the stream was ended with END(PROTOCOL) (also in relay_violations).',
    { window: ['stream', 'circuit'] })
    .from(() => s().streamWindowOverruns ?? 0, { window: 'stream' })
    .from(() => s().circuitWindowOverruns ?? 0, { window: 'circuit' })
  registry.counterFrom('mixgate_relay_malformed_total', 'Authenticated relay payloads that did not parse.', () => s().relayMalformed)
  registry.counterFrom('mixgate_relay_violations_total', 'Relay protocol violations (e.g. a reused stream ID).', () => s().violations)
  registry.counterFrom('mixgate_loops_echoed_total', 'LOOP cover cells echoed back to clients.', () => s().loopsEchoed)
  registry.counterFrom('mixgate_loops_dropped_total', 'LOOPs dropped because their circuit\'s echo queue was full (shaped).', () => s().loopsDropped ?? 0)
  registry.counter('mixgate_bytes_total', 'Stream bytes: forward = to hosts (exit) or from apps (client), backward = the reverse.',
    { direction: ['forward', 'backward'] })
    .from(() => s().bytesToHosts, { direction: 'forward' })
    .from(() => s().bytesFromHosts, { direction: 'backward' })
  return metrics
}

/** The client: SOCKS front, circuits, shaping. */
export function registerClientMetrics (registry: MetricsRegistry, client: ClientSource, options: ClientMetricsOptions): ClientMetrics {
  const s = (): ClientSource['stats'] => client.stats
  registerCommon(registry, 'client', options, () => s().cellsIn, () => s().cellsOut, () => s().circuitsActive)

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
  registerSocks(registry, () => client.socksCounters)
  if (client.shaping !== undefined) registerShaping(registry, () => client.shaping!)

  return {
    registry,
    countPadding: (cells) => {
      if (!(cells >= 0) || !Number.isFinite(cells)) throw new MetricsError('METRICS_BAD_VALUE', 'mixgate_padding_cells_total: a counter only goes up')
      coverCounted += cells
    },
  }
}

/** Loop quantiles exported (coarse: three, in whole rounds). */
export const LOOP_RTT_QUANTILES = ['0.5', '0.9', '0.99'] as const

/**
 * The shaped client (issue #5): profile, rungs, loops against their deadline, alarms, cover
 * bytes, and the anonymity set the entry reports. All aggregate, none per circuit (R19, R21);
 * unknown values (no echo yet, entry unreachable) are NaN.
 */
function registerShaping (registry: MetricsRegistry, read: () => ClientShapingShape): void {
  const profiles = ['off', 'strict', 'elastic'] as const
  const info = registry.gauge('mixgate_shaping_info', 'Always 1; the profile label is the cascade\'s shaping profile.', { profile: profiles })
  for (const profile of profiles) info.from(() => read().profile === profile ? 1 : 0, { profile })
  const ladder = read().rungs.length
  if (ladder > 0) {
    const rungs = Array.from({ length: ladder }, (_, i) => String(i))
    const atRung = registry.gauge('mixgate_shaping_rung_circuits', 'Circuits running at each rung of the rate ladder now.', { rung: rungs })
    for (const rung of rungs) atRung.from(() => read().rungs[Number(rung)] ?? 0, { rung })
  }
  registry.counterFrom('mixgate_loops_sent_total', 'LOOP probes sent.', () => read().loopsSent)
  registry.counterFrom('mixgate_loops_returned_total', 'LOOP probes echoed back (late ones included).', () => read().loopsReturned)
  registry.counterFrom('mixgate_loops_lost_total', 'LOOP probes not back by their deadline.', () => read().loopsLost)
  registry.counterFrom('mixgate_loops_late_total', 'LOOP probes back after their deadline.', () => read().loopsLate)
  registry.counterFrom('mixgate_loop_alarms_total', 'Loop alarms (the first lost or late probe of a circuit).', () => read().loopAlarms)
  registry.gaugeFrom('mixgate_fail_closed', '1 once loop alarms reached the limit: new streams are refused, cover goes on.', () => read().failedClosed)
  const rtt = registry.gauge('mixgate_loop_rtt_ms', 'Loop round-trip time percentiles (ms, whole rounds; recent probes).', { quantile: LOOP_RTT_QUANTILES })
  rtt.from(() => read().rttMs.p50, { quantile: '0.5' })
  rtt.from(() => read().rttMs.p90, { quantile: '0.9' })
  rtt.from(() => read().rttMs.p99, { quantile: '0.99' })
  registry.gaugeFrom('mixgate_loop_rtt_expected_ms', 'The loop deadline an honest cascade meets (ms).', () => read().rttExpectedMs)
  registry.counter('mixgate_cover_bytes_total', 'Cover bytes: forward = DROP and LOOP cells sent, backward = PADs and echoes received.', { direction: ['forward', 'backward'] })
    .from(() => read().coverBytesOut, { direction: 'forward' })
    .from(() => read().coverBytesIn, { direction: 'backward' })
  registry.counterFrom('mixgate_creation_slots_total', 'Slots in which this client started circuits.', () => read().creationSlots)
  registry.counterFrom('mixgate_rounds_missed_total', 'Rounds the client skipped because its process was too busy: its schedule broke for them.', () => read().roundsMissed)
  registry.gaugeFrom('mixgate_entry_creates_per_slot', 'CREATEs per creation slot at the entry mix, all clients: the median bucket\'s lower bound (NaN: unknown).', () => read().entry?.createsPerSlot ?? Number.NaN)
  registry.gaugeFrom('mixgate_entry_clients', 'Client links open at the entry mix (NaN: unknown).', () => read().entry?.clients ?? Number.NaN)
}

function registerCommon (registry: MetricsRegistry, role: Role, options: CommonMetricsOptions,
  cellsIn: () => number, cellsOut: () => number, circuits: () => number): void {
  const uptimeS = options.uptimeS ?? (() => Math.floor(process.uptime()))
  registry.gauge('mixgate_node_info', 'Always 1; the role label says what this node is.', { role: [role] }).set(1, { role })
  registry.gaugeFrom('mixgate_uptime_seconds', 'Whole seconds since the node started.', uptimeS)
  if (options.epoch !== undefined) registry.gaugeFrom('mixgate_epoch', 'The key epoch the node uses now.', options.epoch)
  registry.counterFrom('mixgate_cells_in_total', 'Cells received from links.', cellsIn)
  registry.counterFrom('mixgate_cells_out_total', 'Cells sent on links, padding included.', cellsOut)
  registry.gaugeFrom('mixgate_circuits', 'Circuits open now.', circuits)
}

function registerHopMetrics (registry: MetricsRegistry, role: 'mix' | 'exit', hop: HopSource,
  options: HopMetricsOptions, directions: readonly Direction[]): HopMetrics {
  const s = (): HopSource['stats'] => hop.stats
  registerCommon(registry, role, options, () => s().cellsIn, () => s().cellsOut, () => hop.circuits)
  registry.gaugeFrom('mixgate_position', 'This hop\'s position in the cascade: 1 = entry mix.', () => options.position)
  registry.counterFrom('mixgate_rounds_total', 'Mixing rounds run.', () => s().rounds)
  registry.counterFrom('mixgate_rounds_missed_total', 'Rounds skipped because the process was too busy (late by a whole period or more).', () => hop.missedRounds)
  const batches = registry.histogram('mixgate_batch_cells', 'Cells a round released, padding included; coarse buckets.',
    BATCH_BUCKETS, { direction: directions })
  const padding = registry.counter('mixgate_padding_cells_total',
    'Padding and cover cells: hops count what they add, the client what it sends (forward) and receives (backward).', { direction: directions })
  // Per direction, set up once: the prom-client children the round calls go to, and the two
  // totals the padding ratio is read from (prom-client's own values are only read by a scrape).
  const perDirection = new Map(directions.map((direction) => [direction, {
    observe: batches.child({ direction }),
    pad: padding.child({ direction }),
    cells: 0,
    padding: 0,
  }]))
  const ratios = registry.gauge('mixgate_padding_ratio',
    'Padding cells over all cells in this direction since the node started.', { direction: directions })
  for (const [direction, totals] of perDirection) ratios.from(() => ratio(totals.padding, totals.cells), { direction })

  registry.counterFrom('mixgate_replays_dropped_total', 'CREATEs refused because their replay tag was seen before.', () => s().createsRefusedReplay)
  registry.counter('mixgate_authentication_failures_total', 'Cells or headers that failed authentication, dropped.', { kind: ['create', 'relay'] })
    .from(() => s().createsRefusedAuth, { kind: 'create' })
    .from(() => s().relayAuthFailures, { kind: 'relay' })
  registry.counterFrom('mixgate_creates_accepted_total', 'CREATEs accepted (circuits set up here).', () => s().createsAccepted)
  registry.counter('mixgate_creates_refused_total', 'CREATEs refused, by reason (auth and replay are also counted above).',
    { reason: ['auth', 'replay', 'table_full', 'limit', 'busy', 'quarantine', 'rate'] })
    .from(() => s().createsRefusedAuth, { reason: 'auth' })
    .from(() => s().createsRefusedReplay, { reason: 'replay' })
    .from(() => s().createsRefusedFull, { reason: 'table_full' })
    .from(() => s().createsRefusedLimit, { reason: 'limit' })
    .from(() => s().createsRefusedBusy, { reason: 'busy' })
    .from(() => s().createsRefusedQuarantine, { reason: 'quarantine' })
    .from(() => s().createsRefusedRate, { reason: 'rate' })
  registry.counterFrom('mixgate_creates_carried_total', 'CREATEs carried to a later round because the round\'s CREATE budget was spent (R17).', () => s().createsCarried)
  registry.counter('mixgate_cells_dropped_total', 'Cells dropped for a reason other than authentication.', { reason: ['unknown_circuit', 'malformed', 'silenced', 'over_queue'] })
    .from(() => s().unknownCircuitCells, { reason: 'unknown_circuit' })
    .from(() => s().malformedCells, { reason: 'malformed' })
    .from(() => s().cellsDroppedSilenced, { reason: 'silenced' })
    .from(() => s().cellsDroppedOverQueue, { reason: 'over_queue' })
  registry.counterFrom('mixgate_circuits_silenced_total', 'Shaped circuits a DESTROY, a fault or a full queue ended early, kept on their schedule until their scheduled end (R5).', () => s().circuitsSilenced)
  registry.counterFrom('mixgate_input_exceptions_total', 'Exceptions caught while handling a peer\'s input (each a bug; see the error log).', () => s().inputExceptions)
  registry.counterFrom('mixgate_destroys_received_total', 'DESTROY cells received (never relayed).', () => s().destroysIn)
  registry.counterFrom('mixgate_circuits_expired_total', 'Circuits forgotten after staying idle too long.', () => s().circuitsExpired)
  if (s().createsPerSlot !== undefined) {
    // The anonymity set as a coarse histogram (R19, R21): slots by CREATEs, no times.
    const bounds = CREATE_SLOT_BOUNDS.map(String)
    const slots = registry.counter('mixgate_slot_creates_total', 'Finished slots by CREATEs accepted in them: at_least is the bucket\'s lower bound (0, 1, 2, 4, … 64).', { at_least: bounds })
    CREATE_SLOT_BOUNDS.forEach((bound, i) => slots.from(() => s().createsPerSlot?.[i] ?? 0, { at_least: String(bound) }))
  }

  const of = (direction: Direction): NonNullable<ReturnType<typeof perDirection.get>> => {
    const totals = perDirection.get(direction)
    if (totals === undefined) throw new MetricsError('METRICS_BAD_LABELS', `this ${role} has no ${direction} rounds`)
    return totals
  }
  const observeBatch = (cells: number, direction: Direction = directions[0]!): void => {
    const totals = of(direction)
    totals.observe(cells)
    totals.cells += cells
  }
  const countPadding = (cells: number, direction: Direction = directions[0]!): void => {
    const totals = of(direction)
    totals.pad(cells)
    totals.padding += cells
  }
  const fits = (cells: number, direction: Direction): boolean =>
    Number.isSafeInteger(cells) && cells >= 0 && directions.includes(direction)
  return {
    registry,
    observeBatch,
    countPadding,
    roundObserver: {
      observeBatch: (cells, direction) => { if (fits(cells, direction)) observeBatch(cells, direction) },
      countPadding: (cells, direction) => { if (fits(cells, direction) && cells > 0) countPadding(cells, direction) },
    },
  }
}

/** Predecessor links, the listener's handshakes, and (for a mix) whether the successor is up. */
function registerLinkState (registry: MetricsRegistry, hop: HopSource, listener: ListenerSource | undefined,
  successorUp: (() => boolean) | undefined): void {
  const s = (): HopSource['stats'] => hop.stats
  registry.gaugeFrom('mixgate_links_open', 'Links from the predecessor (at the entry: from clients) open now.', () => hop.predecessorLinks)
  registry.counterFrom('mixgate_links_accepted_total', 'Predecessor links accepted.', () => s().linksAccepted)
  registry.counterFrom('mixgate_links_closed_total', 'Predecessor links closed, for any reason.', () => s().linksClosed)
  registry.counterFrom('mixgate_links_closed_slow_total', 'Predecessor links closed because they read too slowly (also in links_closed).', () => s().linksClosedSlow)
  registry.counterFrom('mixgate_links_closed_idle_total', 'Entry: client links closed because they held no circuit for linkIdleS (also in links_closed).', () => s().linksClosedIdle)
  registry.counterFrom('mixgate_links_failed_total', 'Predecessor links that ended with an error: garbage, failed authentication, a timeout (also in links_closed).', () => s().linksFailed)
  if (successorUp !== undefined) {
    registry.gaugeFrom('mixgate_successor_up', '1 if the link to the next node (the client\'s: the entry mix) is up.', successorUp)
  }
  if (listener !== undefined) {
    const l = (): ListenerSource['stats'] => listener.stats
    registry.counterFrom('mixgate_link_connections_total', 'TCP connections accepted by the link listener.', () => l().connections)
    registry.counter('mixgate_link_handshake_failures_total', 'Link handshakes that failed, by reason.', { reason: ['failed', 'timeout', 'not_allowed'] })
      .from(() => l().handshakeFailures, { reason: 'failed' })
      .from(() => l().handshakeTimeouts, { reason: 'timeout' })
      .from(() => l().peersNotAllowed, { reason: 'not_allowed' })
    registry.counter('mixgate_link_connections_refused_total', 'TCP connections reset before their handshake because a listener limit was reached, by limit.',
      { reason: LINK_REFUSAL_LABELS })
      .from(() => l().refusedHandshakes, { reason: 'handshakes' })
      .from(() => l().refusedHandshakesPerSource, { reason: 'handshakes_per_source' })
      .from(() => l().refusedLinks, { reason: 'links' })
      .from(() => l().refusedLinksPerSource, { reason: 'links_per_source' })
      .from(() => l().refusedRate, { reason: 'rate' })
      .from(() => l().refusedRatePerSource, { reason: 'rate_per_source' })
    registry.gaugeFrom('mixgate_link_handshakes_in_progress', 'Link handshakes in progress now.', () => listener.handshakesInProgress)
    registry.gaugeFrom('mixgate_link_sources', 'Source addresses (IPv6: /64 prefixes) the link listener keeps counts for now.', () => listener.trackedSources)
  }
}

/** The listener limits a connection can be refused by (`mixgate_link_connections_refused_total`). */
export const LINK_REFUSAL_LABELS = ['handshakes', 'handshakes_per_source', 'links', 'links_per_source', 'rate', 'rate_per_source'] as const

/** SocksError codes (src/client/socks/socks-error.ts) a handshake can end with, as label values. */
export const SOCKS_ERROR_LABELS = [
  'bad_version', 'malformed', 'no_acceptable_method', 'auth_failed', 'command_unsupported',
  'address_type_unsupported', 'bad_address', 'truncated', 'handshake_timeout', 'handler_failed', 'other',
] as const
/** SOCKS5 failure REP codes (RFC 1928 §6) as label values. */
export const SOCKS_REP_LABELS = ['1', '2', '3', '4', '5', '6', '7', '8', 'other'] as const
export const SOCKS_WARNING_LABELS = ['unsafe_ip_literal', 'other'] as const

function registerSocks (registry: MetricsRegistry, snapshot: () => SocksCountersShape): void {
  registry.counterFrom('mixgate_socks_connections_total', 'Connections apps opened to the SOCKS port.', () => snapshot().connections)
  registry.gaugeFrom('mixgate_socks_pending', 'SOCKS connections in their handshake or waiting for a circuit now.', () => snapshot().pending)
  registry.counterFrom('mixgate_socks_accepted_total', 'SOCKS CONNECTs answered with success.', () => snapshot().accepted)
  const rejected = registry.counter('mixgate_socks_rejected_total', 'SOCKS failure replies, by REP code.', { rep: SOCKS_REP_LABELS })
  for (const rep of SOCKS_REP_LABELS) {
    rejected.from(() => byLabel(snapshot().rejected, (key) => String(key), SOCKS_REP_LABELS, rep), { rep })
  }
  const errors = registry.counter('mixgate_socks_errors_total', 'SOCKS handshakes that ended in an error, by code.', { code: SOCKS_ERROR_LABELS })
  for (const code of SOCKS_ERROR_LABELS) {
    errors.from(() => byLabel(snapshot().errors, socksLabel, SOCKS_ERROR_LABELS, code), { code })
  }
  const warnings = registry.counter('mixgate_socks_warnings_total', 'SOCKS requests warned about, by code.', { code: SOCKS_WARNING_LABELS })
  for (const code of SOCKS_WARNING_LABELS) {
    warnings.from(() => byLabel(snapshot().warnings, socksLabel, SOCKS_WARNING_LABELS, code), { code })
  }
}

/** `SOCKS_BAD_VERSION` → `bad_version`. */
function socksLabel (code: string): string {
  return code.toLowerCase().replace(/^socks_/, '')
}

/** The count for `label` in a by-code record; codes outside the fixed set add up under `other`. */
function byLabel (counts: Readonly<Record<string | number, number>>, toLabel: (key: string) => string,
  labels: readonly string[], label: string): number {
  let total = 0
  for (const [key, count] of Object.entries(counts)) {
    const mapped = toLabel(key)
    const known = mapped !== 'other' && labels.includes(mapped)
    if (known ? mapped === label : label === 'other') total += count
  }
  return total
}

function ratio (part: number, whole: number): number {
  return whole > 0 ? part / whole : 0
}
