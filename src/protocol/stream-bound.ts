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
 * Shaped, the bound is what a circuit can carry, sized from the 2048 cells per circuit and
 * direction every hop queue holds (a shaped one holds at least four times that, §12.2: this
 * is conservative), itself sized for a circuit window of DATA cells; the cells outside flow
 * control must fit in the rest. Each stream puts at most two of those in a queue at once
 * (its CONNECTED or RESOLVED, then its FINISH or END; its SENDMEs follow delivered DATA), so
 * a burst of opening streams at a low rung is carried when 2 × streams + window + slack ≤ 2048.
 */
import type { ShapingProfile } from './shaping.js'

export const UNSHAPED_STREAMS_PER_CIRCUIT = 256

/** A hop's bound on one circuit's queue, per direction (§12.2; hop-options.ts DEFAULT_MAX_QUEUED_CELLS). */
export const HOP_QUEUE_CELLS = 2048
/** A shaped circuit's window of DATA cells (§7.1; flow-control.ts SHAPED_WINDOWS.circuit). */
const SHAPED_CIRCUIT_WINDOW = 1000
/** Cells outside streams: circuit SENDMEs (one per 100 DATA cells) and LOOP echoes (16 at most). */
const CIRCUIT_CONTROL_SLACK = 48
/** Cells outside flow control one stream may have queued at once. */
const CONTROL_CELLS_PER_STREAM = 2

/** 500: what a shaped circuit carries (see above). */
export const SHAPED_STREAMS_PER_CIRCUIT = Math.floor((HOP_QUEUE_CELLS - SHAPED_CIRCUIT_WINDOW - CIRCUIT_CONTROL_SLACK) / CONTROL_CELLS_PER_STREAM)

/** The floor of every exit's per-circuit cap: at least the largest bound a client of any profile keeps. */
export const EXIT_MIN_STREAMS_PER_CIRCUIT = 512

/** The most streams a client opens at once on one circuit of a cascade with this profile. */
export function clientStreamsPerCircuit (profile: ShapingProfile): number {
  return profile === 'off' ? UNSHAPED_STREAMS_PER_CIRCUIT : SHAPED_STREAMS_PER_CIRCUIT
}
