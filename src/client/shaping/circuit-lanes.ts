/**
 * When a shaped client's circuits start and end (PROTOCOL.md §12.6), as pure functions of the
 * shaping parameters and the slot number, so every client of a cascade creates circuits in
 * the same slots and the schedule says nothing about what the user does or what failed (R1).
 * K lanes take turns at the creation slots; a circuit ends at its lane's next creation slot,
 * never after its epoch, and takes new streams only while it has a while to live. The
 * circuits nobody has used yet are the spares a new isolation key takes at once.
 * docs/CLIENT.md "Lanes and lifetimes" has the why.
 */
import type { ShapingParams } from '../../protocol/shaping.js'

/** Slots between two creation slots. */
export function creationStep (params: ShapingParams): number {
  return params.circuitSlots / params.circuits
}

/** The lane whose circuit starts in creation slot `slot`. */
export function laneOfSlot (params: ShapingParams, slot: number): number {
  return Math.floor(slot / creationStep(params)) % params.circuits
}

/** Lane `lane`'s first creation slot after `slot`. */
export function nextLaneCreationSlot (params: ShapingParams, lane: number, slot: number): number {
  const step = creationStep(params)
  let c = (Math.floor(slot / step) + 1) * step
  while (laneOfSlot(params, c) !== lane) c += step
  return c
}

/**
 * The slot at whose start a circuit built in `lane` during `builtSlot` ends: its lane's
 * next creation slot, or earlier at its epoch's end (`epochEndMs`, Unix ms).
 */
export function circuitEndSlot (params: ShapingParams, lane: number, builtSlot: number, epochEndMs: number): number {
  const byEpoch = Math.max(builtSlot + 1, Math.floor(epochEndMs / params.slotMs))
  return Math.min(nextLaneCreationSlot(params, lane, builtSlot), byEpoch)
}

/** How long before its end a circuit stops taking new streams. */
export const STREAM_DRAIN_MS = 60_000

/** The slots at the end of a circuit's life in which it takes no new streams. */
export function drainSlots (params: ShapingParams): number {
  return Math.min(Math.ceil(STREAM_DRAIN_MS / params.slotMs), Math.floor(creationStep(params) / 2))
}

/**
 * A circuit takes new streams while the slot is below this: until its last `drainSlots` (it
 * may then take none at all: docs/CLIENT.md). Not only in its first `step` slots, as before
 * per-site isolation: a key keeps its circuit while that has time left, instead of using up
 * a spare every step (R13's D is the circuit's life less the drain, under Tor's 10 minutes).
 */
export function acceptsUntilSlot (params: ShapingParams, builtSlot: number, endSlot: number): number {
  return Math.max(builtSlot, endSlot - drainSlots(params))
}
