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

/**
 * Shaped rounds are pipelined (docs/PROTOCOL.md §12.1): every hop releases the cells of the
 * client's round n as its own round n, each hop a *pipeline step* (roundMs / 4) after the one
 * before it in that direction, so a cell waits for a round once, at the client, and a step at
 * each hop; with one round per hop (before) a circuit's cell waited a whole round at every
 * hop. A step is wider than the unshaped phase step (roundMs / 8): a cell that misses a hop's
 * release waits a round there, and a shaped hop never sends more than its schedule to make up
 * for it, so the step is the slack each hop has for link, peel and event-loop delay.
 *
 * Offsets may pass a round: hop i's round n leaves at n·roundMs + offset, offset ≥ roundMs
 * for a long cascade. Functions of roundMs, the position and the cascade's length alone, all
 * public in the descriptors (R1, R17).
 */
export const PIPELINE_STEPS_PER_ROUND = 4

/** The pipeline step in ms for rounds of `roundMs`. */
export function pipelineStepMs (roundMs: number): number {
  return roundMs / PIPELINE_STEPS_PER_ROUND
}

/** When hop `position` (1 = entry … hops = exit) releases forward round n: ms after n·roundMs (the client's round n leaves at 0). */
export function shapedForwardOffsetMs (roundMs: number, position: number): number {
  return position * pipelineStepMs(roundMs)
}

/** When hop `position` releases backward round n: ms after n·roundMs (the exit at 0, each hop before it a step later). */
export function shapedBackwardOffsetMs (roundMs: number, position: number, hops: number): number {
  return (hops - position) * pipelineStepMs(roundMs)
}

/**
 * The round a forward cell arriving at hop `position` at `arrivalMs` was released in by the
 * node before it (the client for the entry): the schedule round it belongs to.
 */
export function forwardReleaseRound (arrivalMs: number, roundMs: number, position: number): number {
  return Math.floor((arrivalMs - shapedForwardOffsetMs(roundMs, position - 1)) / roundMs)
}

/**
 * Whole rounds between the client's round n and the entry's backward release of round n
 * (hops − 1 steps after n·roundMs): the client has all of backward round n when its round
 * n + 1 + this starts.
 */
export function backwardLagRounds (hops: number): number {
  return Math.floor((hops - 1) / PIPELINE_STEPS_PER_ROUND)
}
