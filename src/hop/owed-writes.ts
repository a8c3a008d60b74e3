/**
 * Which neighbours owe a shaped hop a write of a round (the arrival gate's `owes`,
 * arrival-gate.ts; docs/PROTOCOL.md §12.1): a neighbour sends exactly the schedule of the
 * circuits it shares with the hop, so it owes round n a write when one of them has a cell
 * scheduled in round n in that direction. Each stops at the first such circuit; a round
 * nobody owes costs one look at every circuit of the links (once per round and direction).
 */
import type { LinkState } from './predecessor-link.js'

/**
 * Whether a predecessor mix owes round `round` a write: one of its circuits has a forward cell
 * scheduled then (a mix keeps the schedule of every circuit it passed on, silenced or not).
 */
export function predecessorOwes (state: LinkState, round: number): boolean {
  for (const circuit of state.circuits.values()) {
    if (!circuit.ended && circuit.shape !== null && circuit.shape.cellsAt(round, 'forward') > 0) return true
  }
  return false
}

/**
 * The entry: whether a client owes round `round` a write. As a mix, but a circuit silenced
 * here does not count: its client may have ended it (a DESTROY), and then sends nothing for
 * it, while the entry keeps its schedule until its end (R5); waiting for it would hold every
 * client's round to the deadline.
 */
export function clientOwes (state: LinkState, round: number): boolean {
  for (const circuit of state.circuits.values()) {
    if (!circuit.ended && !circuit.silenced && circuit.shape !== null && circuit.shape.cellsAt(round, 'forward') > 0) return true
  }
  return false
}

/** Whether the successor owes round `round` a write: a circuit it knows (its CREATE sent) has a backward cell scheduled then. */
export function successorOwes (links: Iterable<LinkState>, round: number): boolean {
  for (const state of links) {
    for (const circuit of state.circuits.values()) {
      const shape = circuit.shape
      if (!circuit.ended && shape !== null && shape.released && shape.create === null && shape.cellsAt(round, 'backward') > 0) return true
    }
  }
  return false
}
