/**
 * The entry's check of the client rate (PROTOCOL.md §12.3 "Client rate"): the circuits of one
 * client link together run, in each direction, at rungs whose rates above the wake rung add
 * up to at most CLIENT_RATE_TOLERANCE × `clientRateMilli`. An honest client keeps to 1×
 * (src/client/shaping/rung-budget.ts); a request the entry attributes a slot late (§12.3) can
 * put one circuit's old and new rungs in one slot, hence the tolerance. A client that asks
 * for more gets the excess cut, the highest rung first as the client's own share does: its
 * cells then wait at the entry beyond their schedule and the circuit is ended once its queue
 * passes the bound (§12.2). Without the check one client asking the top rung on every circuit
 * made every hop carry K times the top rate, until the links backed up and closed for all.
 *
 * Pure over the circuits' rung schedules of one link and one slot: the hop calls it once per
 * slot and direction, before the slot's first release.
 */
import { WAKE_RUNG } from '../protocol/shaping.js'

/** How far above the client rate the entry lets one link's rungs go before it cuts them. */
export const CLIENT_RATE_TOLERANCE = 2

/** What the cap reads and sets of one circuit's schedule in one direction (RungSchedule fits). */
export interface CappedSchedule {
  slotRungOf (slot: number): number
  cap (slot: number, rung: number): void
}

/**
 * Cap slot `slot` of `schedules` (one link's circuits, one direction) to the tolerated client
 * rate; returns how many rung steps were cut. `scratch` is reused (no allocation per slot).
 */
export function capClientRate (schedules: Iterable<CappedSchedule>, slot: number, ladder: readonly number[], clientRateMilli: number, scratch: Array<{ schedule: CappedSchedule, rung: number }>): number {
  const limit = CLIENT_RATE_TOLERANCE * clientRateMilli
  const cost = (rung: number): number => rung > WAKE_RUNG ? ladder[rung]! : 0
  let used = 0
  let n = 0
  for (const schedule of schedules) {
    const rung = schedule.slotRungOf(slot)
    used += cost(rung)
    if (n < scratch.length) { scratch[n]!.schedule = schedule; scratch[n]!.rung = rung } else scratch.push({ schedule, rung })
    n++
  }
  let cut = 0
  while (used > limit) {
    let highest = -1
    for (let i = 0; i < n; i++) if (highest < 0 || scratch[i]!.rung >= scratch[highest]!.rung) highest = i
    const entry = scratch[highest]!
    if (entry.rung <= WAKE_RUNG) break
    used += cost(entry.rung - 1) - cost(entry.rung)
    entry.rung--
    cut++
  }
  if (cut > 0) for (let i = 0; i < n; i++) scratch[i]!.schedule.cap(slot, scratch[i]!.rung)
  return cut
}
