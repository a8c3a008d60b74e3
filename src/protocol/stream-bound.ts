/**
 * How many streams one circuit holds at once (PROTOCOL.md §7.1, issue #17). Both endpoints
 * agree through the protocol: a client opens at most `clientStreamsPerCircuit(profile)`
 * streams at once on one circuit and spreads the rest of an isolation key's streams over
 * further circuits; every exit accepts at least `EXIT_MIN_STREAMS_PER_CIRCUIT` (its operator
 * may raise its cap, never lower it below that), so a client that keeps this bound is never
 * refused for it, whatever the exit's configuration.
 *
 * Unshaped, circuits are built on demand and each has its own flow-control window, so a
 * key's streams go over as many circuits as they fill: 256 each, as the exit's cap was.
 * Shaped, a key has K circuits at most, and the bound is the smaller of two ceilings:
 * - memory: every hop queues up to 8192 cells per circuit and direction (§12.2). DATA in
 *   flight is bounded by the circuit window; the cells outside flow control must fit in the
 *   rest: each stream puts at most two of those in a queue at once (its CONNECTED or
 *   RESOLVED, then its FINISH or END; its SENDMEs follow delivered DATA), so 2 × streams +
 *   window + slack ≤ 8192: 3572.
 * - time: a burst of new streams on one circuit leaves one BEGIN per cell of its schedule,
 *   at least a cell per round (strict's one rate, elastic's wake rung); the last BEGIN must
 *   be answered within the attach timeout, else its request is retried elsewhere and the
 *   circuit taken for silent: (10 s less a round trip) ÷ 10 ms rounds = 960. A larger bound
 *   would also put a key's burst on fewer circuits, so on fewer schedules at once.
 * So 960 a circuit, and one key holds (K − 1) × 960 = 10 560 streams on the circuits that
 * take streams with the defaults (K = 12), 11 520 with the one in its last minute.
 */
import { DEFAULT_SHAPING, MILLI, WAKE_RUNG, type ShapingProfile } from './shaping.js'

export const UNSHAPED_STREAMS_PER_CIRCUIT = 256

/** A shaped hop's bound on one circuit's queue per direction, at least (§12.2; hop-options.ts SHAPED_QUEUE_FACTOR × DEFAULT_MAX_QUEUED_CELLS). */
export const HOP_SHAPED_QUEUE_CELLS = 8192
/** A shaped circuit's window of DATA cells (§7.1; flow-control.ts SHAPED_WINDOWS.circuit). */
const SHAPED_CIRCUIT_WINDOW = 1000
/** Cells outside streams: circuit SENDMEs (one per 100 DATA cells), stream SENDMEs for a window of DATA (one per 50), LOOP echoes (16 at most). */
const CIRCUIT_CONTROL_SLACK = 48
/** Cells outside flow control one stream may have queued at once. */
const CONTROL_CELLS_PER_STREAM = 2
/** 3572: the streams whose control cells fit a shaped hop queue beside a circuit window. */
export const QUEUE_STREAMS_PER_CIRCUIT = Math.floor((HOP_SHAPED_QUEUE_CELLS - SHAPED_CIRCUIT_WINDOW - CIRCUIT_CONTROL_SLACK) / CONTROL_CELLS_PER_STREAM)

/** The client's wait for an exit's answer before a request moves on (stream-request.ts DEFAULT_ATTACH_TIMEOUT_MS). */
export const ATTACH_TIMEOUT_MS = 10_000
/** The default round (cascade-params-json.ts DEFAULT_PARAMS.roundMs). */
export const DEFAULT_ROUND_MS = 10
/**
 * What the answer to a burst's last BEGIN takes after the BEGIN leaves: a round trip through
 * the cascade at a cell per round, 23 rounds with three mixes and 35 with seven, the most
 * (shaping.ts loopDeadlineRounds at strict), and room for the exit's connect.
 */
const ROUND_TRIP_MS = 400
/** The fewest cells per round a shaped circuit carries while streams open on it: strict's rate, elastic's wake rung. */
const BURST_CELLS_PER_ROUND = Math.min(DEFAULT_SHAPING.strict.ratesMilli[0]!, DEFAULT_SHAPING.elastic.ratesMilli[WAKE_RUNG]!) / MILLI
/** 960: the streams one circuit opens in a burst, each answered within the attach timeout. */
export const BURST_STREAMS_PER_CIRCUIT = Math.floor((ATTACH_TIMEOUT_MS - ROUND_TRIP_MS) / DEFAULT_ROUND_MS * BURST_CELLS_PER_ROUND)

/** 960: what a shaped circuit carries (see above). */
export const SHAPED_STREAMS_PER_CIRCUIT = Math.min(QUEUE_STREAMS_PER_CIRCUIT, BURST_STREAMS_PER_CIRCUIT)

/** The floor of every exit's per-circuit cap: at least the largest bound a client of any profile keeps. */
export const EXIT_MIN_STREAMS_PER_CIRCUIT = 1024

/** The most streams a client opens at once on one circuit of a cascade with this profile. */
export function clientStreamsPerCircuit (profile: ShapingProfile): number {
  return profile === 'off' ? UNSHAPED_STREAMS_PER_CIRCUIT : SHAPED_STREAMS_PER_CIRCUIT
}
