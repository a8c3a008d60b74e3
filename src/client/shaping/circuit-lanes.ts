/**
 * When a shaped client's circuits start and end (issue #5 "Circuit schedule"), as pure
 * functions of the cascade's shaping parameters and the slot number, so that every client of
 * a cascade creates circuits in the same slots and nothing about the schedule depends on
 * what the user does or on what failed.
 *
 * The K circuits are K lanes. Creation slots come every step = circuitSlots / circuits slots,
 * and they take turns among the lanes: creation slot c belongs to lane (c / step) mod K. A
 * circuit built in lane i lives until lane i's next creation slot, which is circuitSlots
 * slots for a circuit built in its own creation slot. At start-up (and after the entry link
 * came back) every lane builds at once and its circuit ends at that lane's next creation
 * slot, so the client joins the steady state (one circuit ends and one starts per creation
 * slot) after at most circuitSlots slots, without ever keeping more or fewer than K.
 *
 * A circuit never outlives the epoch whose onion keys built it (R13): its end is cut to the
 * last slot boundary at or before the epoch's end (but it lives at least one slot), and its
 * lane builds the next one then — in a slot that is the same for every client.
 *
 * A circuit's end cuts the streams still on it, so it takes new streams only while it has a
 * while to live: during its first `step` slots, and never in its last `drainSlots` (a minute,
 * at most half a step). At start-up, and in the last slots of an epoch, a stream may find no
 * circuit with that much time left; it then takes the one that lives longest rather than
 * wait for a creation slot (a short request finishes; a long download may be cut, as it would
 * be at the end of any circuit). Ending circuits on schedule is what keeps the schedule free
 * of what the user does (R1): a circuit kept alive for its streams would say there were some.
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
 * A circuit takes new streams while the slot is below this: during its first `step` slots,
 * and not in its last `drainSlots` (it may then take none at all: see the top comment).
 */
export function acceptsUntilSlot (params: ShapingParams, builtSlot: number, endSlot: number): number {
  return Math.max(builtSlot, Math.min(builtSlot + creationStep(params), endSlot - drainSlots(params)))
}
