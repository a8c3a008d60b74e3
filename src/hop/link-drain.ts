/**
 * How a mix drains a backlog without marking the circuit that had it (R1, docs/PROTOCOL.md
 * §12.2): link by link. When any circuit toward a neighbour holds more than its allowance
 * (excessRounds: two rounds' worth and a cell, one round's on a quiet link), left by a
 * neighbour's stall and catch-up, a rung placed differently, a wake a round apart or a
 * hostile burst, that round carries the schedule of D more rounds for EVERY circuit on the
 * link, filled with queued cells and padding, D a power of two up to MAX_DRAIN_ROUNDS. The far
 * link then sees every circuit catch up alike, as after a stall of this hop, never one
 * circuit's burst.
 *
 * A queue is measured when its round is released, with that round's cells all in (the
 * arrival gate waits for them), and a shaped hop never sends more than the schedule while its
 * client sends exactly it, cover included: whatever stays behind stands for the circuit's
 * life. At the wake rung (a cell a round, what a new connection runs at) the old allowance
 * everywhere, two rounds and a cell, let a standing cell or two live at a mix and made every
 * later cell of that circuit a round or two late there: through `up --shaping elastic` one run
 * in three answered every new connection 20 to 60 ms late (docs/BENCH.md "Standing queues").
 */
import { MILLI } from '../protocol/shaping.js'
import type { Direction } from './circuit-shape.js'
import type { HopCircuit } from './hop-circuit.js'

export const MAX_DRAIN_ROUNDS = 32

/**
 * A link whose socket still holds this much unsent is not drained into, nor caught up after a
 * stall: the neighbour is not keeping up, and a drain would only pile up more. Measured with
 * twelve circuits climbing at once on one machine (issue #12): every hop's drain filled every
 * circuit's schedule, PADs included, which the next hop cannot tell from real cells backward,
 * so each drain set off the next hop's, bursts reached 74k cells/s against ≈ 13k carried, and
 * the backlog passed 64 MiB and closed the link. The schedule of the round itself still leaves.
 */
export const DRAIN_BACKLOG_LIMIT_BYTES = 1 << 20

/**
 * Whether a link is quiet in `round`: every live circuit on it at a cell a round or less in
 * `direction`. Its drains are cheap there, and its allowance one round (excessRounds).
 */
export function isQuietLink (circuits: Iterable<HopCircuit>, round: number, direction: Direction): boolean {
  for (const circuit of circuits) {
    if (!circuit.ended && circuit.shape !== null && circuit.shape.rateAt(round, direction) > MILLI) return false
  }
  return true
}

/**
 * The drain a link needs in `round` (0 or a power of two of rounds): the largest backlog of
 * its live circuits' queues in `direction` (forward: of the circuits whose CREATE left),
 * beyond the `carried` rounds its release takes anyway.
 */
export function linkDrain (circuits: ReadonlyMap<number, HopCircuit>, round: number, direction: Direction, carried: number): number {
  // Both allowances in one pass over the queued circuits; whether the link is quiet (a look at
  // every circuit's rung) only when it would change the drain: rarely, as queues are mostly empty.
  let busy = 0
  let quiet = 0
  for (const circuit of circuits.values()) {
    const shape = circuit.shape
    if (circuit.ended || shape === null || (direction === 'forward' && !shape.released)) continue
    const queued = (direction === 'forward' ? shape.forward : shape.backward).length
    if (queued === 0) continue
    const rate = shape.rateAt(round, direction)
    busy = Math.max(busy, excessRounds(queued, rate))
    quiet = Math.max(quiet, excessRounds(queued, rate, true))
  }
  const excess = quiet > busy && isQuietLink(circuits.values(), round, direction) ? quiet : busy
  return drainBeyond(excess, carried)
}

/** Whether a link with `backlogBytes` unsent may take a drain or a catch-up. */
export function mayDrainInto (backlogBytes: number): boolean {
  return backlogBytes < DRAIN_BACKLOG_LIMIT_BYTES
}

/**
 * Rounds of its schedule a circuit's queue holds beyond its allowance (0: within). The
 * allowance is two rounds' worth and a cell, or one round's worth on a quiet link (every
 * circuit on it at a cell a round or less: `quietLink`).
 *
 * Why one round on a quiet link: there a cell behind is a whole round late, for good (the
 * wake rung, what a new connection runs at), and a drain costs a round of every circuit's
 * schedule, a cell or less each. Why not on a busy one: the drain would put a round of a
 * download's rung (up to 128 cells) of PADs on the link for one idle circuit's cell; with one
 * round everywhere, eight streams on one elastic circuit ran at half speed with 40 % more CPU
 * in two `up`s of five, drain after drain.
 */
export function excessRounds (queued: number, rateMilli: number, quietLink = false): number {
  const allowance = quietLink ? Math.ceil(rateMilli / MILLI) : Math.ceil(2 * rateMilli / MILLI) + 1
  if (queued <= allowance) return 0
  return Math.ceil((queued - allowance) * MILLI / rateMilli)
}

/**
 * The drain a link needs for `excess` rounds of backlog when its release already carries
 * `carried` rounds of schedule beyond its own (its catch-up, a neighbour's span: they take
 * that much of any queue anyway): 0 if those cover it, else drainRounds(excess).
 */
export function drainBeyond (excess: number, carried: number): number {
  return excess > carried ? drainRounds(excess) : 0
}

/** The drain a link needs for `excess` rounds: 0, or a power of two of rounds up to MAX_DRAIN_ROUNDS. */
export function drainRounds (excess: number): number {
  if (excess <= 0) return 0
  let rounds = 1
  while (rounds < excess && rounds < MAX_DRAIN_ROUNDS) rounds *= 2
  return rounds
}
