/**
 * What a cascade hop (a mix or the exit) exports, registered on the node's `MetricsRegistry`
 * over its own stats objects (docs/METRICS.md; the roles add theirs: src/mix/mix-metrics.ts,
 * src/exit/exit-metrics.ts). Everything is aggregate (R19): counters, gauges of current
 * totals, and one coarse histogram of round sizes.
 *
 * Two things the hop does not count itself are recorded by calls it makes once per round and
 * direction: `observeBatch` (the cells a round released, padding included) and `countPadding`
 * (padding cells it added: a mix's PADDING topping up a round, a hop's own backward PADs). A
 * hop that offers `observeRounds` is given `roundObserver`, the non-throwing form of the two.
 * The padding ratio is padding cells over all cells of that direction since the node started;
 * the counters beside it give the ratio over any window in PromQL.
 */
import { ratio, registerCommonMetrics, type CellDirection, type CommonMetricsOptions } from '../base/common-metrics.js'
import { MetricsError } from '../base/metrics-errors.js'
import type { MetricsRegistry } from '../base/metrics-registry.js'
import { registerListenerMetrics, type ListenerSource } from '../link/listener-metrics.js'
import { CREATE_SLOT_BUCKETS } from './create-hold.js'
import type { HopStats } from './hop-stats.js'

export type { CellDirection }

/**
 * What a hop reports once per round and direction (unshaped-rounds.ts, shaped-rounds.ts,
 * src/mix/successor-output.ts). Calls never throw: a bad value is ignored rather than break a round.
 */
export interface RoundObserver {
  /** The round released `cells` cells in `direction`, padding included; empty rounds too (0). */
  observeBatch (cells: number, direction: CellDirection): void
  /** Of those, `cells` were padding this hop added (a mix's PADDING, a hop's own PAD). */
  countPadding (cells: number, direction: CellDirection): void
}

/**
 * The fields of `HopStats` read here, with the class's own types (a renamed field fails to
 * compile here). The optional ones are read as 0 where a stats object lacks them.
 */
export type HopCounters = Readonly<Pick<HopStats, 'cellsIn' | 'cellsOut' | 'rounds' | 'createsAccepted' | 'createsRefusedAuth' |
  'createsRefusedReplay' | 'createsRefusedFull' | 'createsRefusedLimit' | 'createsRefusedBusy' | 'createsCarried' | 'relayAuthFailures' |
  'unknownCircuitCells' | 'malformedCells' | 'destroysIn' | 'circuitsExpired' | 'linksAccepted' | 'linksClosed' | 'linksClosedSlow' |
  'circuitsSilenced' | 'cellsDroppedSilenced' | 'cellsDroppedOverQueue' | 'createsRefusedQuarantine' | 'inputExceptions' |
  'createsRefusedRate' | 'linksClosedIdle' | 'linksFailed'> &
  Partial<Pick<HopStats, 'createsPerSlot' | 'drainRoundsForward' | 'drainRoundsBackward' | 'rungsCappedForward' | 'rungsCappedBackward' |
  'releasesOnArrivalForward' | 'releasesOnArrivalBackward' | 'releasesAtDeadlineForward' | 'releasesAtDeadlineBackward' |
  'carriedRoundsForward' | 'carriedRoundsBackward' | 'lateRoundsUncarriedForward' | 'lateRoundsUncarriedBackward' | 'cellsAfterEnd'>>>

/** A mix or the exit (`MixNode`, `ExitNode`). */
export interface HopSource {
  readonly stats: HopCounters
  /** Circuits open at this hop now. */
  readonly circuits: number
  /** Links from the predecessor (clients, at the entry) open now. */
  readonly predecessorLinks: number
  /** Rounds the hop's round clock skipped because the process was too busy. */
  readonly missedRounds: number
  /**
   * Optional: report every round to `observer` from now on (`undefined`: stop). Without
   * it the round size histogram stays empty and the padding counters at 0.
   */
  observeRounds? (observer: RoundObserver | undefined): void
}

/**
 * Upper bounds of the round size histogram, in cells. Coarse on purpose (R19): powers of
 * four say whether rounds are empty, small or large, not how many cells a given round held.
 */
export const BATCH_BUCKETS: readonly number[] = [0, 1, 4, 16, 64, 256, 1024, 4096]

export interface HopMetricsOptions extends CommonMetricsOptions {
  /** 1 = entry mix … the exit's position is the number of hops. */
  readonly position: number
  /** The listener the predecessors connect to, for its handshake counters. */
  readonly listener?: ListenerSource
}

export interface HopMetrics {
  readonly registry: MetricsRegistry
  /**
   * Record one round: `cells` is how many cells it released in `direction`, padding
   * included. Call it once per round and direction, empty rounds too. The exit has no
   * forward rounds (its forward output goes to TCP): only `backward` there. The default
   * direction is forward at a mix, backward at the exit.
   */
  observeBatch (cells: number, direction?: CellDirection): void
  /** Count `cells` padding cells this hop sent in `direction` (default as for observeBatch). */
  countPadding (cells: number, direction?: CellDirection): void
  /**
   * The same two calls for the node's own round loop (`HopSource.observeRounds`): they never
   * throw, and ignore what this role does not have (a forward round at the exit) or a
   * count that is not a whole number ≥ 0, so that metrics can never break a round.
   */
  readonly roundObserver: RoundObserver
}

/**
 * Everything a hop exports but what only a mix or only the exit has: the common metrics,
 * rounds, CREATEs, drops, the predecessor links and their listener; `successorUp` (a mix)
 * adds `mixgate_successor_up`.
 */
export function registerHopMetrics (registry: MetricsRegistry, role: 'mix' | 'exit', hop: HopSource,
  options: HopMetricsOptions, directions: readonly CellDirection[], successorUp?: () => boolean): HopMetrics {
  const s = (): HopCounters => hop.stats
  registerCommonMetrics(registry, role, options, () => s().cellsIn, () => s().cellsOut, () => hop.circuits)
  registry.gaugeFrom('mixgate_position', 'This hop\'s position in the cascade: 1 = entry mix.', () => options.position)
  registry.counterFrom('mixgate_rounds_total', 'Mixing rounds run.', () => s().rounds)
  registry.counterFrom('mixgate_rounds_missed_total', 'Rounds skipped because the process was too busy (late by a whole period or more).', () => hop.missedRounds)
  // Link-wide drains (link-drain.ts): rounds of schedule carried for every circuit of a link alike.
  const drains = registry.counter('mixgate_drain_rounds_total',
    'Extra rounds of schedule link drains carried, every circuit of the link alike (forward: the successor link; backward: the predecessor links).',
    { direction: directions })
  for (const direction of directions) {
    drains.from(() => (direction === 'forward' ? s().drainRoundsForward : s().drainRoundsBackward) ?? 0, { direction })
  }
  // Release on arrival (arrival-gate.ts): how often a shaped round left before its deadline.
  const releases = registry.counter('mixgate_round_releases_total',
    'Rounds released, by trigger: arrival (the neighbours\' writes of the round had all arrived) or deadline (the hop\'s phase came first).',
    { direction: directions, trigger: ['arrival', 'deadline'] })
  for (const direction of directions) {
    const forward = direction === 'forward'
    releases.from(() => (forward ? s().releasesOnArrivalForward : s().releasesOnArrivalBackward) ?? 0, { direction, trigger: 'arrival' })
    releases.from(() => (forward ? s().releasesAtDeadlineForward : s().releasesAtDeadlineBackward) ?? 0, { direction, trigger: 'deadline' })
  }
  // Carried rounds (arrival-gate.ts): earlier rounds' schedule carried on from neighbours' writes.
  const carried = registry.counter('mixgate_carried_rounds_total',
    'Rounds of schedule carried on beyond the hop\'s own: neighbours\' catch-ups and drains, and rounds whose writes came after the hop had released them.',
    { direction: directions })
  for (const direction of directions) {
    carried.from(() => (direction === 'forward' ? s().carriedRoundsForward : s().carriedRoundsBackward) ?? 0, { direction })
  }
  const uncarried = registry.counter('mixgate_late_rounds_uncarried_total',
    'Rounds whose neighbours\' writes came after the hop had released them, beyond its budget for carrying them again (1 in 16 rounds): their cells wait a round, until a drain. Steady growth means this hop or its neighbour is late often: its load.',
    { direction: directions })
  for (const direction of directions) {
    uncarried.from(() => (direction === 'forward' ? s().lateRoundsUncarriedForward : s().lateRoundsUncarriedBackward) ?? 0, { direction })
  }
  const capped = registry.counter('mixgate_rungs_capped_total',
    'Entry: rung steps cut from client links whose circuits asked for more than the tolerated client rate.', { direction: directions })
  for (const direction of directions) {
    capped.from(() => (direction === 'forward' ? s().rungsCappedForward : s().rungsCappedBackward) ?? 0, { direction })
  }
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

  registerCreates(registry, s)
  registerLinkState(registry, hop, options.listener, successorUp)

  const of = (direction: CellDirection): NonNullable<ReturnType<typeof perDirection.get>> => {
    const totals = perDirection.get(direction)
    if (totals === undefined) throw new MetricsError('METRICS_BAD_LABELS', `this ${role} has no ${direction} rounds`)
    return totals
  }
  const observeBatch = (cells: number, direction: CellDirection = directions[0]!): void => {
    const totals = of(direction)
    totals.observe(cells)
    totals.cells += cells
  }
  const countPadding = (cells: number, direction: CellDirection = directions[0]!): void => {
    const totals = of(direction)
    totals.pad(cells)
    totals.padding += cells
  }
  const fits = (cells: number, direction: CellDirection): boolean =>
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

/** CREATEs accepted, refused and carried; cells dropped; circuits ended. */
function registerCreates (registry: MetricsRegistry, s: () => HopCounters): void {
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
  registry.counter('mixgate_cells_dropped_total', 'Cells dropped for a reason other than authentication.', { reason: ['unknown_circuit', 'after_end', 'malformed', 'silenced', 'over_queue'] })
    .from(() => s().unknownCircuitCells, { reason: 'unknown_circuit' })
    .from(() => s().cellsAfterEnd ?? 0, { reason: 'after_end' })
    .from(() => s().malformedCells, { reason: 'malformed' })
    .from(() => s().cellsDroppedSilenced, { reason: 'silenced' })
    .from(() => s().cellsDroppedOverQueue, { reason: 'over_queue' })
  registry.counterFrom('mixgate_circuits_silenced_total', 'Shaped circuits a DESTROY, a fault or a full queue ended early, kept on their schedule until their scheduled end (R5).', () => s().circuitsSilenced)
  registry.counterFrom('mixgate_input_exceptions_total', 'Exceptions caught while handling a peer\'s input (each a bug; see the error log).', () => s().inputExceptions)
  registry.counterFrom('mixgate_destroys_received_total', 'DESTROY cells received (never relayed).', () => s().destroysIn)
  registry.counterFrom('mixgate_circuits_expired_total', 'Circuits forgotten after staying idle too long.', () => s().circuitsExpired)
  if (s().createsPerSlot !== undefined) {
    // The anonymity set as a coarse histogram (R19, R21): slots by CREATEs, no times.
    const bounds = CREATE_SLOT_BUCKETS.map(String)
    const slots = registry.counter('mixgate_slot_creates_total', 'Finished slots by CREATEs accepted in them: at_least is the bucket\'s lower bound (0, 1, 2, 4, … 64).', { at_least: bounds })
    CREATE_SLOT_BUCKETS.forEach((bound, i) => slots.from(() => s().createsPerSlot?.[i] ?? 0, { at_least: String(bound) }))
  }
}

/** Predecessor links, the listener's handshakes, and (for a mix) whether the successor is up. */
function registerLinkState (registry: MetricsRegistry, hop: HopSource, listener: ListenerSource | undefined,
  successorUp: (() => boolean) | undefined): void {
  const s = (): HopCounters => hop.stats
  registry.gaugeFrom('mixgate_links_open', 'Links from the predecessor (at the entry: from clients) open now.', () => hop.predecessorLinks)
  registry.counterFrom('mixgate_links_accepted_total', 'Predecessor links accepted.', () => s().linksAccepted)
  registry.counterFrom('mixgate_links_closed_total', 'Predecessor links closed, for any reason.', () => s().linksClosed)
  registry.counterFrom('mixgate_links_closed_slow_total', 'Predecessor links closed because they read too slowly (also in links_closed).', () => s().linksClosedSlow)
  registry.counterFrom('mixgate_links_closed_idle_total', 'Entry: client links closed because they held no circuit for linkIdleS (also in links_closed).', () => s().linksClosedIdle)
  registry.counterFrom('mixgate_links_failed_total', 'Predecessor links that ended with an error: garbage, failed authentication, a timeout (also in links_closed).', () => s().linksFailed)
  if (successorUp !== undefined) {
    registry.gaugeFrom('mixgate_successor_up', '1 if the link to the next node (the client\'s: the entry mix) is up.', successorUp)
  }
  if (listener !== undefined) registerListenerMetrics(registry, listener)
}
