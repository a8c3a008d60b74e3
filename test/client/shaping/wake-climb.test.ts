/**
 * Downloads that wake together climb within two slots (issue #12 item 3, #13; PROTOCOL.md
 * §12.3 "Client rate", §12.6): circuits of one client run round by round as the Shaper runs
 * them (circuit-rungs.ts under one rung-budget.ts), each waking in the same slot with a
 * download whose first byte comes a round trip after its request. Checked: every one shows
 * saturated in the slot it woke in and runs at an equal share of the capacity from the next
 * boundary; the next boundary keeps at least that; the requests never add up to more than
 * the capacity; and a drain's extra PADs at a slot's start do not hide a download.
 */
import t from 'tap'
import { CircuitRungs } from '../../../src/client/shaping/circuit-rungs.js'
import { RungBudget } from '../../../src/client/shaping/rung-budget.js'
import { climbRung } from '../../../src/client/shaping/rung-policy.js'
import { backwardLagRounds } from '../../../src/protocol/round-phase.js'
import { cellsInRound, decodeBackwardRung, DEFAULT_SHAPING, MILLI, WAKE_RUNG } from '../../../src/protocol/shaping.js'

const LADDER = DEFAULT_SHAPING.elastic.ratesMilli
const LIMIT = DEFAULT_SHAPING.elastic.clientRateMilli
const SR = DEFAULT_SHAPING.elastic.slotMs / 10
const HOPS = 4
const LAG = backwardLagRounds(HOPS)

interface Scenario {
  /** Circuits that download, and circuits that stay idle beside them. */
  readonly downloads: number
  readonly idle: number
  /** The round of the first slot in which every download sends its request (they wake there). */
  readonly wakeOffset: number
  /** Rounds from a request to its answer's first cell (round trip, the server). */
  readonly answerAfter: number
  /** The capacity (a client rate, or what congestion left of it). */
  readonly capacity: number
  /** PADs beyond the schedule that a drain brings every circuit in the first round of this slot (none: -1). */
  readonly drainSlot?: number
}

interface Outcome {
  /** Backward rung of each download in each slot (index 0: the slot it woke in). */
  readonly rungs: number[][]
  /** The most the backward requests of all circuits added up to at any time, in millicells a round. */
  readonly mostAsked: number
  /** Requests the downloads' cells carried, per slot (index 0: the wake slot). */
  readonly carried: number[][]
}

/** Run the scenario for `slots` slots from the wake slot (slot 1; slot 0 idle before it). */
function run (s: Scenario, slots: number): Outcome {
  const circuits: CircuitRungs[] = []
  const budget = new RungBudget(LADDER, s.capacity, () => circuits)
  for (let i = 0; i < s.downloads + s.idle; i++) circuits.push(new CircuitRungs(LADDER, SR, HOPS, budget))
  const requestAt = SR + s.wakeOffset
  const rungs: number[][] = Array.from({ length: s.downloads }, () => [])
  const carried: number[][] = Array.from({ length: slots }, () => [])
  let mostAsked = 0
  for (let round = 0; round < (slots + 1) * SR; round++) {
    const slot = Math.floor(round / SR)
    if (round % SR === 0 && round > 0) {
      budget.slotBoundary()
      for (const c of circuits) c.slotBoundary()
      budget.share('backward')
      budget.share('forward')
    }
    circuits.forEach((c, i) => {
      const downloads = i < s.downloads
      c.ranRound(round)
      if (downloads && round % SR === 0 && slot >= 1) rungs[i]!.push(c.backward)
      // Backward: the entry's schedule of `LAG + 1` rounds before, real once the answer flows.
      const scheduled = round - 1 - LAG
      const cells = scheduled < 0 ? 0 : cellsInRound(LADDER[c.backwardAt(scheduled)]!, scheduled)
      const drain = slot === s.drainSlot && round % SR === 0 ? 170 : 0
      for (let k = 0; k < drain; k++) { c.receivedCell(); c.demand.receivedPad() }
      for (let k = 0; k < cells; k++) {
        c.receivedCell()
        if (downloads && scheduled >= requestAt + s.answerAfter) c.receivedReal(round)
        else c.demand.receivedPad()
      }
      // Forward: the request, then a SENDME every tenth round, else DROPs; every cell carries the requests.
      const sent = cellsInRound(LADDER[c.forwardAt(round)]!, round)
      for (let k = 0; k < sent; k++) {
        if (downloads && round === requestAt && k === 0) c.sentReal(false, round)
        else if (downloads && round > requestAt + s.answerAfter && round % 10 === 0 && k === 0) c.sentReal(true, round)
        else c.demand.sentCover()
        const control = c.control(round, slot)
        if (downloads && slot >= 1) carried[slot - 1]!.push(decodeBackwardRung(control))
      }
      // The request itself, if no scheduled cell was left in its round (rung 0): it waits for the next.
      if (downloads && round === requestAt && sent === 0) c.sentReal(false, round)
    })
    mostAsked = Math.max(mostAsked, budget.usedBy('backward'))
  }
  return { rungs, mostAsked, carried }
}

/** The highest rung whose rate is at most `share` (the wake rung if none above it is). */
function shareRung (share: number, at = LADDER.length - 1): number {
  let rung = WAKE_RUNG
  for (let r = WAKE_RUNG + 1; r <= at; r++) if (LADDER[r]! <= share) rung = r
  return rung
}

/** The rung a download climbs to from the wake rung (rung-policy.ts climbRung): 32 cells a round. */
const CLIMB_FROM_WAKE = 4

t.test('eight downloads that wake together each run at an eighth of the client rate from the next boundary', async (t) => {
  const s: Scenario = { downloads: 8, idle: 4, wakeOffset: 100, answerAfter: 30, capacity: LIMIT }
  const { rungs, mostAsked } = run(s, 3)
  const share = shareRung(LIMIT / 8, CLIMB_FROM_WAKE)
  t.equal(LADDER[share], 8 * MILLI, 'an eighth of 128 cells a round: the rung of 8')
  for (let i = 0; i < 8; i++) {
    t.equal(rungs[i]![0], 0, `download ${i}: the slot it woke in started at rung 0`)
    t.equal(rungs[i]![1], share, `download ${i}: 8 cells a round from the next boundary`)
    t.ok(rungs[i]![2]! >= share, `download ${i}: no lower at the boundary after (rung ${rungs[i]![2]})`)
  }
  t.ok(mostAsked <= LIMIT, `never more than the client rate asked (at most ${mostAsked / MILLI} cells a round)`)
})

t.test('the rounds at rung 0 before the wake and the answer\'s round trip are no gap in a download', async (t) => {
  // One download alone, its answer 40 rounds after its request (a loaded machine). With the
  // whole slot counted, the 20 PADs of rung 0 before the wake and the 40 of the wake rung
  // before the answer made its first 16 real cells less than 3/4 of the slot's, and then
  // its real cells never caught up before the slot ended: a second slot at the wake rung.
  const { rungs } = run({ downloads: 1, idle: 11, wakeOffset: 100, answerAfter: 40, capacity: LIMIT }, 2)
  t.equal(rungs[0]![1], CLIMB_FROM_WAKE, 'alone, 32 cells a round from the next boundary')
})

t.test('a drain\'s PADs at a slot\'s start do not hide a download in that slot', async (t) => {
  // The download wakes late in slot 1 (no time to show there), runs slot 2 at the wake rung; a
  // drain brings every circuit of the link 170 extra PADs in slot 2's first round.
  const late = { downloads: 1, idle: 3, wakeOffset: SR - 20, answerAfter: 5, capacity: LIMIT }
  const drained = run({ ...late, drainSlot: 2 }, 3)
  t.equal(drained.rungs[0]![1], WAKE_RUNG, 'woke too late to show in its slot: the next at the wake rung')
  t.equal(drained.rungs[0]![2], CLIMB_FROM_WAKE, 'saturated in that slot despite the drain: climbed at the boundary after')
  t.same(drained.rungs, run(late, 3).rungs, 'as without the drain')
})

t.test('property: downloads waking together share the capacity equally from the next boundary, never above it', async (t) => {
  let seed = 12
  const random = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n }
  const slowest = 16 + 2 + LAG + 6 // a run of 16 at the wake rung, the wake delay, the lag, slack
  for (let trial = 0; trial < 40; trial++) {
    const downloads = 1 + random(12)
    const answerAfter = 1 + random(40)
    const s: Scenario = {
      downloads,
      idle: random(12 - downloads + 1),
      wakeOffset: random(SR - answerAfter - slowest),
      answerAfter,
      capacity: [LIMIT, LIMIT / 2, LIMIT / 4, LIMIT / 8][random(4)]!,
    }
    const { rungs, mostAsked } = run(s, 3)
    const label = `trial ${trial} ${JSON.stringify(s)}`
    if (mostAsked > s.capacity) t.fail(`${label}: asked ${mostAsked} > ${s.capacity}`)
    const share = shareRung(s.capacity / downloads, CLIMB_FROM_WAKE)
    for (let i = 0; i < downloads; i++) {
      if (rungs[i]![1] !== share) t.fail(`${label}: download ${i} at rung ${rungs[i]![1]} after the first boundary, not ${share}`)
      if (rungs[i]![2]! < share) t.fail(`${label}: download ${i} fell to rung ${rungs[i]![2]} at the second`)
    }
  }
  t.pass('40 random scenarios')
})

t.test('a download whose answer is still on its way is not barred at the wake rung by a stall', async (t) => {
  const rungs = new CircuitRungs(LADDER, SR, HOPS)
  rungs.slotBoundary()
  // Slot 0: the request leaves late; nothing comes back before the boundary.
  const requestAt = SR - 10
  for (let round = 0; round < SR; round++) {
    rungs.ranRound(round)
    if (round === requestAt) { rungs.sentReal(false, round); rungs.control(round, 0) }
  }
  rungs.slotBoundary()
  t.equal(rungs.backward, WAKE_RUNG, 'slot 1 runs at the wake rung')
  // Slot 1: the cascade is late (a stall): for 30 rounds nothing arrives, so from its 16th
  // round the slot looks behind; then the late PADs come at once, and the answer a cell a round.
  for (let round = SR; round < 2 * SR; round++) {
    rungs.ranRound(round)
    if (round === SR + 30) for (let i = 0; i < 30; i++) { rungs.receivedCell(); rungs.demand.receivedPad() }
    if (round >= SR + 30) {
      rungs.receivedCell()
      if (round >= SR + 40) rungs.receivedReal(round)
      else rungs.demand.receivedPad()
    }
    // Forward a cell a round (the wake rung): DROPs, and SENDMEs once 50 cells have come.
    if (round >= SR + 90 && round % 10 === 0) rungs.sentReal(true, round)
    else rungs.demand.sentCover()
    rungs.control(round, 1)
  }
  rungs.slotBoundary()
  t.equal(rungs.backward, climbRung(LADDER, WAKE_RUNG), 'it climbs at the next boundary, as without the stall')
})
