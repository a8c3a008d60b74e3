/**
 * Which rungs of the elastic ladder a circuit asks for (issue #5 "Elastic", #12, #13), each
 * direction on its own (PROTOCOL.md §12.6). Pure: circuit-rungs.ts applies it.
 *
 *   - saturated (a run of real cells in that direction, no gap of cover in it, and real cells in
 *     3/4 of the slot's cells so far once there were 64: since its wake if it woke, backward
 *     no more than the schedule sent) → a rung 16 times as fast, by 32
 *     cells a round at most (`climbRung`), asked for at once, in the slot it showed in: from
 *     the wake rung (1 cell a round) a bulk download runs at 32 from the next boundary, 64 from
 *     the one after and the top (128) from the third;
 *   - backward, a receiver that took less than 3/4 of what the schedule sent it in a slot (it
 *     is behind: its CPU) asks for no more than it took (`rungTaking`);
 *   - else the lowest rung whose slot would have carried 5/4 of what the slot carried (straight
 *     down, not one rung per slot: a pause costs at most a re-climb);
 *   - forward at least the rung the SENDMEs of the backward rung need (`companionRung`), so a
 *     download pays for its credit and no more.
 * It sees only what the circuit carried, never anything per stream.
 */
import { MILLI } from '../../protocol/shaping.js'

/**
 * SENDMEs per backward DATA cell: one per 50 cells of a stream and one per 100 of the circuit
 * (PROTOCOL.md §7.1), as a fraction of 100.
 */
const SENDMES_PER_100_CELLS = 3

/** How far one saturated slot climbs: 16 times the rate it ran at, by 32 cells a round at most. */
const CLIMB = 16
const CLIMB_STEP_MILLI = 32 * MILLI

/**
 * Saturated only if real cells filled at least 3/4 of the slots so far (past the first 64);
 * circuit-rungs.ts says which slots count (since a wake; backward, no more than scheduled).
 */
export function underused (real: number, slots: number): boolean {
  return slots >= 64 && 4 * real < 3 * slots
}

/** What one circuit carried during one slot. */
export class SlotDemand {
  /** Real cells sent forward (not DROP or LOOP), control cells (SENDME) included. */
  forwardReal = 0
  /** Every cell sent forward (real or cover). */
  forwardAll = 0
  /** Real cells received backward (not a hop's PAD, not a LOOP echo). */
  backwardReal = 0
  /** Stream cells in a row, forward: a DROP (a gap) resets it; control cells do not count. */
  forwardRun = 0
  /**
   * Real cells in a row backward, where one PAD alone does not reset it: a hop whose successor's
   * cell arrived just after its round sends a PAD and carries the cell one round later, which
   * happens at the start of every transfer; two PADs in a row are a real gap.
   */
  backwardRun = 0
  private lastWasPad = false

  sentReal (control: boolean): void {
    this.forwardReal++
    this.forwardAll++
    if (!control) this.forwardRun++
  }

  sentCover (): void { this.forwardRun = 0; this.forwardAll++ }
  receivedReal (): void { this.backwardReal++; this.backwardRun++; this.lastWasPad = false }
  receivedPad (): void {
    if (this.lastWasPad) this.backwardRun = 0
    this.lastWasPad = true
  }

  reset (): void {
    this.forwardReal = 0
    this.forwardAll = 0
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
 * The run of real cells that counts as saturation at a rate: an eighth of a slot's cells, 2 to
 * 16 — 16 cells (32 KB) at the wake rung, so that a short answer does not send a circuit to
 * the top rung, while a download shows within a fraction of a slot.
 */
export function saturationRun (rateMilli: number, roundsPerSlot: number): number {
  return Math.max(2, Math.min(16, Math.floor(slotCapacity(rateMilli, roundsPerSlot) / 8)))
}

/** The rung to ask for at a boundary, in one direction, from what the slot carried. */
export function nextRung (ladder: readonly number[], carried: number, saturated: boolean, roundsPerSlot: number): number {
  if (saturated) return ladder.length - 1
  if (carried === 0) return 0
  for (let rung = 0; rung < ladder.length; rung++) {
    if (4 * slotCapacity(ladder[rung]!, roundsPerSlot) >= 5 * carried) return rung
  }
  return ladder.length - 1
}

/**
 * The rung a saturated direction climbs to from `rung`: the lowest at least min(16 times its
 * rate, its rate + 32 cells a round) (the top if none). Not straight to the top: a cascade
 * that cannot carry the top rate (its CPU: every cell costs crypto at every hop) would leave
 * a slot of it — 50 MB at 128 cells a round — in a link, near what a hop lets wait (64 MiB)
 * before it closes the link; a step of at most 32 cells a round overshoots by at most 13 MB a
 * slot.
 */
export function climbRung (ladder: readonly number[], rung: number): number {
  const want = Math.min(CLIMB * ladder[rung]!, ladder[rung]! + CLIMB_STEP_MILLI)
  for (let r = rung + 1; r < ladder.length; r++) if (ladder[r]! >= want) return r
  return ladder.length - 1
}

/** The highest rung whose slot carries no more than `received` cells (0 if none). */
export function rungTaking (ladder: readonly number[], received: number, roundsPerSlot: number): number {
  let rung = 0
  for (let r = 1; r < ladder.length; r++) if (slotCapacity(ladder[r]!, roundsPerSlot) <= received) rung = r
  return rung
}

/**
 * The lowest forward rung that carries twice the SENDMEs of a download at backward rung
 * `backward` (twice: credit that waits for a slot stalls the download).
 */
export function companionRung (ladder: readonly number[], backward: number): number {
  const need = 2 * ladder[backward]! * SENDMES_PER_100_CELLS / 100
  for (let rung = 0; rung < ladder.length; rung++) if (ladder[rung]! >= need) return rung
  return ladder.length - 1
}
