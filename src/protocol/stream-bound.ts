/**
 * How many streams one circuit holds at once (PROTOCOL.md §7.1, issue #17). Both endpoints
 * agree through the protocol: a client opens at most `clientStreamsPerCircuit(profile)`
 * streams at once on one circuit and spreads the rest of an isolation key's streams over
 * further circuits; every exit accepts at least `EXIT_MIN_STREAMS_PER_CIRCUIT` (its operator
 * may raise its cap, never lower it below that), so a client that keeps this bound is never
 * refused for it, whatever the exit's configuration.
 *
 * Unshaped, circuits are built on demand and each has its own flow-control window, so a
 * key's streams go over as many circuits as they fill: 256 each, as the exit's cap was before.
 * Shaped, a client holds exactly K circuits (12 by default, 11 taking streams: one lane is
 * in its drain) and an idle stream costs its circuit no cells, so the bound is what K
 * circuits must carry for 10 000 streams: 1024 each.
 */
import type { ShapingProfile } from './shaping.js'

export const UNSHAPED_STREAMS_PER_CIRCUIT = 256
export const SHAPED_STREAMS_PER_CIRCUIT = 1024

/** The floor of every exit's per-circuit cap: the largest bound a client of any profile keeps. */
export const EXIT_MIN_STREAMS_PER_CIRCUIT = SHAPED_STREAMS_PER_CIRCUIT

/** The most streams a client opens at once on one circuit of a cascade with this profile. */
export function clientStreamsPerCircuit (profile: ShapingProfile): number {
  return profile === 'off' ? UNSHAPED_STREAMS_PER_CIRCUIT : SHAPED_STREAMS_PER_CIRCUIT
}
