/**
 * Round phases by hop position (docs/PROTOCOL.md §11.1): public constants that place each
 * hop's round deadlines so that a cell a hop releases reaches the next hop just before that
 * hop's own deadline, instead of just after it.
 *
 * Hop i (1 = entry … H = exit) runs its forward release at n·roundMs + i·step of wall time and
 * its backward release at n·roundMs − i·step (both modulo roundMs), step = roundMs / 8. A cell
 * released forward by hop i at n·roundMs + i·step reaches hop i+1 before n·roundMs + (i+1)·step
 * if the link and the peel take less than a step; backward likewise from hop i+1 to hop i. A
 * cell therefore waits once for a round (at the first hop of its direction) and about a step
 * at each later hop, where it used to wait half a round at every hop.
 *
 * The phases are a function of the round length and the hop's position alone, both public in
 * the cascade's descriptors: they tell an observer nothing it did not know (R1, R17).
 */

/** Steps per round: step = roundMs / PHASE_STEPS. */
export const PHASE_STEPS = 8

/** The phase step in ms for rounds of `roundMs`. */
export function phaseStepMs (roundMs: number): number {
  return roundMs / PHASE_STEPS
}

/** When hop `position` releases its forward cells: ms after every multiple of roundMs, in [0, roundMs). */
export function forwardPhaseMs (roundMs: number, position: number): number {
  return ((position % PHASE_STEPS) * roundMs) / PHASE_STEPS
}

/** When hop `position` releases its backward cells: ms after every multiple of roundMs, in [0, roundMs). */
export function backwardPhaseMs (roundMs: number, position: number): number {
  return (((PHASE_STEPS - (position % PHASE_STEPS)) % PHASE_STEPS) * roundMs) / PHASE_STEPS
}
