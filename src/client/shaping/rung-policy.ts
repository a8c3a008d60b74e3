/**
 * Which rung of the elastic ladder a circuit asks for (issue #5 "Elastic"): at each slot
 * boundary the client looks at what the circuit carried during the slot that ended and picks
 * the rung for the slot after next (the hops apply a request from their next boundary).
 *
 *   - saturated (a run of real cells at the end of the slot in either direction, no gap of
 *     cover in it) → the top rung: a bulk transfer climbs in one step, within two slots;
 *   - else, if one rung lower would have carried everything the slot carried → one rung down
 *     (descending slowly, so a pause of a second does not drop a download to the bottom);
 *   - else stay.
 * It sees only what the circuit carried, never anything per stream.
 */
import { MILLI } from '../../protocol/shaping.js'

/** What one circuit carried during one slot. */
export class SlotDemand {
  /** Real cells sent forward (not DROP or LOOP). */
  forwardReal = 0
  /** Real cells received backward (not a hop's PAD, not a LOOP echo). */
  backwardReal = 0
  /** Real cells in a row at the end of the slot, forward: a DROP (a gap) resets it. */
  forwardRun = 0
  /**
   * The same backward, where one PAD alone does not reset it: a hop whose successor's cell
   * arrived just after its round sends a PAD and carries the cell one round later, which
   * happens at the start of every transfer; two PADs in a row are a real gap.
   */
  backwardRun = 0
  private lastWasPad = false

  sentReal (): void { this.forwardReal++; this.forwardRun++ }
  sentCover (): void { this.forwardRun = 0 }
  receivedReal (): void { this.backwardReal++; this.backwardRun++; this.lastWasPad = false }
  receivedPad (): void {
    if (this.lastWasPad) this.backwardRun = 0
    this.lastWasPad = true
  }

  reset (): void {
    this.forwardReal = 0
    this.backwardReal = 0
    this.forwardRun = 0
    this.backwardRun = 0
    this.lastWasPad = false
  }
}

/** Cells a slot of `roundsPerSlot` rounds carries at `rateMilli`. */
export function slotCapacity (rateMilli: number, roundsPerSlot: number): number {
  return Math.floor(rateMilli * roundsPerSlot / MILLI)
}

/**
 * The run of real cells that counts as saturation at a rate: an eighth of a slot's cells, 2
 * to 4 — short, so that a transfer that starts late in a slot is still seen at its end (the
 * top rung then applies from the second boundary after the transfer began).
 */
export function saturationRun (rateMilli: number, roundsPerSlot: number): number {
  return Math.max(2, Math.min(4, Math.floor(slotCapacity(rateMilli, roundsPerSlot) / 8)))
}

/**
 * The rung to ask for next. `current` is the rung the slot ran at, `requested` the rung asked
 * for during it (it applies from the coming boundary).
 */
export function nextRung (ladder: readonly number[], current: number, requested: number, demand: SlotDemand, roundsPerSlot: number): number {
  const top = ladder.length - 1
  const run = saturationRun(ladder[current]!, roundsPerSlot)
  if (demand.forwardRun >= run || demand.backwardRun >= run) return top
  if (requested === 0) return 0
  const carried = Math.max(demand.forwardReal, demand.backwardReal)
  return carried <= slotCapacity(ladder[requested - 1]!, roundsPerSlot) ? requested - 1 : requested
}
