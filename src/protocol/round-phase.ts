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
 * Release on arrival (docs/PROTOCOL.md §12.1): a shaped hop releases its round n as soon as
 * every neighbour that owes it a write of round n has sent it, and at its pipeline offset
 * (above) at the latest. A write names its round on the link (modulo 2^32, link batch
 * header); `writeRound` reads it back as a full round number, near the receiver's own clock.
 * A peer's claim is kept within ROUND_CLAIM_BEHIND rounds before and ROUND_CLAIM_AHEAD after
 * the receiver's round, so a lying neighbour can move its cells' attribution by no more than
 * its timing could (R17).
 */
export const ROUND_CLAIM_BEHIND = 2
export const ROUND_CLAIM_AHEAD = 1

/** The round nearest the receiver's clock at `nowMs` that is `wire` modulo 2^32: what a write's round on the link stands for. */
export function nearestRound (wire: number, nowMs: number, roundMs: number): number {
  const local = Math.floor(nowMs / roundMs)
  // The signed 32-bit distance from the local round, so the claim unwraps to the nearest round.
  return local + (((wire >>> 0) - (local >>> 0)) | 0)
}

/**
 * The round a write claims (`wire`, modulo 2^32) as its cells' schedule round: the nearest
 * round, clamped to the claim window around the receiver's round. (The arrival gate takes
 * `nearestRound` as it is: a late write's round must not move ahead, and a claim ahead of the
 * clock is held back by `mayReleaseEarly`.)
 */
export function writeRound (wire: number, nowMs: number, roundMs: number): number {
  const local = Math.floor(nowMs / roundMs)
  return Math.min(local + ROUND_CLAIM_AHEAD, Math.max(local - ROUND_CLAIM_BEHIND, nearestRound(wire, nowMs, roundMs)))
}

/**
 * Whether round `round` may be released on arrival at `nowMs`: not more than half a round
 * before it starts, so a neighbour whose clock runs ahead (or lies) cannot pull this hop's
 * rounds ahead of the wall clock's.
 */
export function mayReleaseEarly (round: number, nowMs: number, roundMs: number): boolean {
  return round * roundMs <= nowMs + roundMs / 2
}

/**
 * Whole rounds between the client's round n and the entry's backward release of round n
 * (hops − 1 steps after n·roundMs): the client has all of backward round n when its round
 * n + 1 + this starts.
 */
export function backwardLagRounds (hops: number): number {
  return Math.floor((hops - 1) / PIPELINE_STEPS_PER_ROUND)
}
