/**
 * When a shaped circuit ends at a hop (DESIGN-REVIEW R5, docs/PROTOCOL.md §12.7): circuits end
 * only at end boundaries — the start of a creation slot, when every client's oldest circuit
 * ends and a new one starts, or of the slot in which the circuit's epoch ends — so that no
 * hop's link shows a circuit ending at a time anyone chose. Pure functions of the shaping
 * parameters and round numbers, so every hop computes the same rounds.
 */
import { isCreationSlot, type ShapingParams } from '../protocol/shaping.js'

/** The first creation slot after `slot`. */
function nextCreationSlot (params: ShapingParams, slot: number): number {
  const step = params.circuitSlots / params.circuits
  return (Math.floor(slot / step) + 1) * step
}

/**
 * The round at which a circuit that a DESTROY (or a fault) ended early in round `round`
 * stops its schedule: this round if `round` lies within `graceRounds` of an end boundary (an
 * honest client's DESTROY, sent in the boundary's first round), else the next boundary.
 */
export function scheduledEndRound (params: ShapingParams, roundsPerSlot: number, round: number, epochEndSlot: number, graceRounds: number): number {
  const slot = Math.floor(round / roundsPerSlot)
  if (slot >= epochEndSlot) return round
  const onBoundary = isCreationSlot(params, slot)
  if (onBoundary && round - slot * roundsPerSlot <= graceRounds) return round
  return Math.min(nextCreationSlot(params, slot), epochEndSlot) * roundsPerSlot
}

/**
 * The round at which a circuit accepted in round `createdRound` ends at the latest: the
 * boundary `circuitSlots` slots after the slot it was built in, or its epoch's end if that is
 * sooner (but not in its first slot, as at the client), plus `graceRounds` so that an honest
 * DESTROY, where one arrives, ends it first. Hops after the entry never see the client's
 * DESTROY (it is link-local, R5): this is how their copy of a circuit ends.
 */
export function lifetimeEndRound (params: ShapingParams, roundsPerSlot: number, createdRound: number, epochEndSlot: number, graceRounds: number): number {
  const builtSlot = Math.floor(createdRound / roundsPerSlot)
  const endSlot = Math.min(builtSlot + params.circuitSlots, Math.max(builtSlot + 1, epochEndSlot))
  return endSlot * roundsPerSlot + graceRounds
}
