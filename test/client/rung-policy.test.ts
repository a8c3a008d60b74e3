/**
 * The elastic rung policy at the client (src/client/shaping/rung-policy.ts, circuit-rungs.ts),
 * slot by slot and direction by direction: the first real cell of an idle circuit wakes it
 * (rung 1 at once, both ways, and for the next slot); a saturated run asks for a rung 16× as
 * fast (by 32 cells a round at most) in its direction within the slot it shows in, so a bulk
 * download runs at 32 cells a round from the next boundary, 64 and the top at the two after,
 * unless this process is behind its schedule or the real cells do not fill 3/4 of the slot; a download's forward asks only for the rung its SENDMEs need; an idle
 * circuit goes straight back to rung 0.
 */
import t from 'tap'
import { CircuitRungs } from '../../src/client/shaping/circuit-rungs.js'
import { climbRung, companionRung, nextRung, rungTaking, saturationRun, slotCapacity } from '../../src/client/shaping/rung-policy.js'
import { decodeBackwardRung, decodeForwardRung, DEFAULT_SHAPING, MILLI, wakeDelayRounds, WAKE_RUNG } from '../../src/protocol/shaping.js'

const LADDER = DEFAULT_SHAPING.elastic.ratesMilli
const ROUNDS_PER_SLOT = DEFAULT_SHAPING.elastic.slotMs / 10
const TOP = LADDER.length - 1
const HOPS = 3

t.test('a saturated slot asks for the top rung; otherwise straight down to what the slot needed', async (t) => {
  for (let carried = 0; carried < 3; carried++) t.equal(nextRung(LADDER, carried, true, ROUNDS_PER_SLOT), TOP, 'saturated: the top')
  t.equal(nextRung(LADDER, 0, false, ROUNDS_PER_SLOT), 0, 'nothing carried: rung 0')
  const bottom = slotCapacity(LADDER[0]!, ROUNDS_PER_SLOT)
  t.equal(nextRung(LADDER, Math.floor(bottom * 4 / 5), false, ROUNDS_PER_SLOT), 0, 'what rung 0 carries with a quarter to spare')
  t.equal(nextRung(LADDER, bottom, false, ROUNDS_PER_SLOT), 1, 'more: the next rung that does')
  t.equal(nextRung(LADDER, slotCapacity(LADDER[3]!, ROUNDS_PER_SLOT) / 2, false, ROUNDS_PER_SLOT), 3, 'from any height in one step')
})

t.test('a download\'s forward rung carries twice its SENDMEs (3 per 100 cells) and no more', async (t) => {
  for (let backward = 0; backward <= TOP; backward++) {
    const forward = companionRung(LADDER, backward)
    t.ok(LADDER[forward]! >= 2 * 0.03 * LADDER[backward]!, `backward rung ${backward}: forward ${forward} carries its credit`)
    t.ok(forward === 0 || LADDER[forward - 1]! < 2 * 0.03 * LADDER[backward]!, 'the lowest that does')
  }
  t.ok(LADDER[companionRung(LADDER, TOP)]! <= LADDER[TOP]! / 8, 'at the top, forward costs at most an eighth of backward')
})

/** Run `rounds` rounds of a circuit whose backward slots are all real (a download). */
function download (rungs: CircuitRungs, from: number, rounds: number, slotOf: (round: number) => number, sent: number[]): number {
  let slot = slotOf(from)
  for (let round = from; round < from + rounds; round++) {
    if (slotOf(round) !== slot) { slot = slotOf(round); rungs.slotBoundary() }
    rungs.ranRound(round)
    const backward = Math.max(1, Math.round(LADDER[rungs.backwardAt(round)]! / MILLI))
    for (let i = 0; i < backward; i++) { rungs.receivedCell(); rungs.receivedReal(round) }
    // One forward cell a round at most here (a SENDME now and then), carrying the requests.
    if (round % 5 === 0) { rungs.sentReal(true, round); sent.push(rungs.control(round, slot)) }
  }
  return slot
}

t.test('climbing: 16× per saturated slot, by 32 cells a round at most, to the top; what a slow reader takes', async (t) => {
  t.equal(LADDER[climbRung(LADDER, WAKE_RUNG)], 32 * MILLI, 'from the wake rung to 32 cells a round')
  t.equal(LADDER[climbRung(LADDER, climbRung(LADDER, WAKE_RUNG))], 64 * MILLI, 'then by 32 cells a round at most: 64')
  t.equal(climbRung(LADDER, climbRung(LADDER, climbRung(LADDER, WAKE_RUNG))), TOP, 'and the top')
  t.equal(climbRung(LADDER, TOP), TOP)
  t.equal(rungTaking(LADDER, 0, ROUNDS_PER_SLOT), 0)
  t.equal(LADDER[rungTaking(LADDER, 5000, ROUNDS_PER_SLOT)], 8 * MILLI, '5000 cells a slot: 8 cells a round (1600), not 32 (6400)')
})

t.test('a download from an idle circuit: wakes at once, climbs backward from the next boundary, forward only its companion', async (t) => {
  const rungs = new CircuitRungs(LADDER, ROUNDS_PER_SLOT, HOPS)
  const slotOf = (round: number): number => Math.floor(round / ROUNDS_PER_SLOT)
  const start = 10 * ROUNDS_PER_SLOT + 50
  // The request goes out: the first real cell, in round `start`.
  rungs.sentReal(false, start)
  const first = rungs.control(start, slotOf(start))
  t.equal(decodeForwardRung(first), WAKE_RUNG, 'the first real cell asks for rung 1 forward')
  t.equal(decodeBackwardRung(first), WAKE_RUNG, 'and backward')
  t.equal(rungs.forwardAt(start), 0, 'its own round stays at rung 0')
  t.equal(rungs.forwardAt(start + 1), WAKE_RUNG, 'forward wakes the next round')
  t.equal(rungs.backwardAt(start + wakeDelayRounds('backward', HOPS) - 1), 0, 'backward not before hops + 1 rounds')
  t.equal(rungs.backwardAt(start + wakeDelayRounds('backward', HOPS)), WAKE_RUNG, 'backward from hops + 1 rounds on')
  // The answer is a download: backward cells fill every slot.
  const sent: number[] = []
  const boundary = (slotOf(start) + 1) * ROUNDS_PER_SLOT
  download(rungs, start + wakeDelayRounds('backward', HOPS), boundary - start - wakeDelayRounds('backward', HOPS), slotOf, sent)
  const climbed = climbRung(LADDER, WAKE_RUNG)
  t.equal(decodeBackwardRung(sent[sent.length - 1]!), climbed, 'within the slot it started in, the cells ask for 16× the wake rung backward')
  t.equal(decodeForwardRung(sent[sent.length - 1]!), companionRung(LADDER, climbed), 'and forward for the rung its SENDMEs need')
  rungs.slotBoundary()
  t.equal(rungs.backwardAt(boundary), climbed, 'backward at 32 cells a round from the next boundary')
  sent.length = 0
  download(rungs, boundary, ROUNDS_PER_SLOT, slotOf, sent)
  rungs.slotBoundary()
  t.equal(LADDER[rungs.backwardAt(boundary + ROUNDS_PER_SLOT)], 64 * MILLI, '64 from the second boundary')
  download(rungs, boundary + ROUNDS_PER_SLOT, ROUNDS_PER_SLOT, slotOf, sent)
  rungs.slotBoundary()
  t.equal(rungs.backwardAt(boundary + 2 * ROUNDS_PER_SLOT), TOP, 'the top from the third')
  t.equal(rungs.forwardAt(boundary + 2 * ROUNDS_PER_SLOT), companionRung(LADDER, TOP), 'forward at its companion rung, not the top')
  t.ok(LADDER[companionRung(LADDER, TOP)]! < LADDER[TOP]!, 'which is lower')
  sent.length = 0
  download(rungs, boundary + 2 * ROUNDS_PER_SLOT, 3 * ROUNDS_PER_SLOT, slotOf, sent)
  t.equal(rungs.backwardAt(boundary + 5 * ROUNDS_PER_SLOT - 1), TOP, 'and stays there while it lasts')
  t.ok(sent.every((c) => decodeBackwardRung(c) === TOP), 'every cell asks to stay')
})

t.test('a slot delivering less than its schedule asks at once for no more than it takes, and does not climb back soon', async (t) => {
  const rungs = new CircuitRungs(LADDER, ROUNDS_PER_SLOT, HOPS)
  const slotOf = (round: number): number => Math.floor(round / ROUNDS_PER_SLOT)
  // Bring backward to the top (saturated slots), then take only a tenth of each round's cells.
  const sent: number[] = []
  rungs.sentReal(false, 0)
  rungs.control(0, 0)
  download(rungs, 0, 4 * ROUNDS_PER_SLOT, slotOf, sent)
  rungs.slotBoundary()
  t.equal(rungs.backward, TOP, 'at the top')
  let took = 0
  let firstLowered = -1
  for (let round = 4 * ROUNDS_PER_SLOT; round < 5 * ROUNDS_PER_SLOT; round++) {
    rungs.ranRound(round)
    for (let i = 0; i < 13; i++) { rungs.receivedCell(); rungs.receivedReal(round); took++ }
    if (round % 5 === 0) {
      const asked = decodeBackwardRung(rungs.control(round, 4))
      if (firstLowered < 0 && asked < TOP) firstLowered = round - 4 * ROUNDS_PER_SLOT
    }
  }
  t.ok(firstLowered >= 0 && firstLowered <= 32, `within the slot, from round ${firstLowered} of it, its cells ask for less than the top`)
  t.ok(slotCapacity(LADDER[rungs.requestBackward]!, ROUNDS_PER_SLOT) <= took, 'no more than the slot took')
  rungs.slotBoundary()
  t.ok(slotCapacity(LADDER[rungs.requestBackward]!, ROUNDS_PER_SLOT) <= took, 'and the boundary keeps it there')
  // It takes everything again: saturated slots climb, but not back to the rung that was too fast, for a while.
  const highest: number[] = []
  for (let slot = 5; slot < 12; slot++) {
    download(rungs, slot * ROUNDS_PER_SLOT, ROUNDS_PER_SLOT, slotOf, sent)
    rungs.slotBoundary()
    highest.push(rungs.requestBackward)
  }
  t.ok(highest.slice(0, 3).every((rung) => rung < TOP), `the next slots stay below the top (asked ${highest.join(', ')})`)
  t.equal(highest[highest.length - 1], TOP, 'later it climbs to the top again')
})

t.test('rounds this process skipped count as sent: a stall it reads through is no deficit, one it cannot read through is', async (t) => {
  const slotOf = (round: number): number => Math.floor(round / ROUNDS_PER_SLOT)
  const atTop = (): CircuitRungs => {
    const rungs = new CircuitRungs(LADDER, ROUNDS_PER_SLOT, HOPS)
    rungs.sentReal(false, 0)
    rungs.control(0, 0)
    download(rungs, 0, 4 * ROUNDS_PER_SLOT, slotOf, [])
    rungs.slotBoundary()
    return rungs
  }
  const perRound = LADDER[TOP]! / 1000
  const start = 4 * ROUNDS_PER_SLOT
  for (const readsThrough of [true, false]) {
    const rungs = atTop()
    t.equal(rungs.backward, TOP)
    // Twenty rounds run and read in full, then a stall of forty rounds.
    for (let round = start; round < start + 20; round++) {
      rungs.ranRound(round)
      for (let i = 0; i < perRound; i++) rungs.receivedCell()
    }
    for (let round = start + 20; round < start + 60; round++) rungs.skippedRound(round)
    t.equal(rungs.requestBackward, TOP, 'no judgement in the round that follows a stall')
    // What waited in the socket is read (or, too busy, only a tenth of it), then the next round runs.
    const read = readsThrough ? 40 * perRound : 4 * perRound
    for (let i = 0; i < read; i++) rungs.receivedCell()
    rungs.ranRound(start + 61)
    if (readsThrough) t.equal(rungs.requestBackward, TOP, 'read through: not behind')
    else t.ok(rungs.requestBackward < TOP, `could not read: behind, asks for rung ${rungs.requestBackward}`)
  }
})

t.test('under an overload that starves every circuit, one at the wake rung stays there, unbarred', async (t) => {
  // Eleven downloads through one up at load 4: those that had fallen to the wake rung were sent
  // to rung 0 and barred from climbing back for the cool-down (≈ 65 KB/s beside ≈ 550).
  const rungs = new CircuitRungs(LADDER, ROUNDS_PER_SLOT, HOPS)
  rungs.slotBoundary()
  rungs.sentReal(false, 0)
  rungs.control(0, 0)
  rungs.slotBoundary()
  t.equal(rungs.backward, WAKE_RUNG, 'the slot runs at the wake rung')
  const askedInSlot: number[] = []
  for (let slot = 1; slot < 4; slot++) {
    for (let round = slot * ROUNDS_PER_SLOT; round < (slot + 1) * ROUNDS_PER_SLOT; round++) {
      rungs.ranRound(round)
      // A third of its schedule arrives, every cell of it real.
      if (round % 3 === 0) { rungs.receivedCell(); rungs.receivedReal(round) }
      if (round % 5 === 0) { rungs.sentReal(true, round); askedInSlot.push(decodeBackwardRung(rungs.control(round, slot))) }
    }
    rungs.slotBoundary()
    t.equal(rungs.backward, WAKE_RUNG, `slot ${slot + 1} runs at the wake rung, not below`)
  }
  t.ok(askedInSlot.every((rung) => rung >= WAKE_RUNG), 'no cell asked for less than the wake rung')
  // The overload passes: a saturated slot climbs at once (nothing barred).
  const sent: number[] = []
  download(rungs, 4 * ROUNDS_PER_SLOT, ROUNDS_PER_SLOT, (round) => Math.floor(round / ROUNDS_PER_SLOT), sent)
  rungs.slotBoundary()
  t.ok(rungs.backward > WAKE_RUNG, `then it climbs (rung ${rungs.backward})`)
})

t.test('a download that shows too late in a slot for a cell to carry it climbs at the boundary after', async (t) => {
  const rungs = new CircuitRungs(LADDER, ROUNDS_PER_SLOT, HOPS)
  rungs.slotBoundary()
  // A backward run at rung 0, no forward cell after it in this slot.
  for (let i = 0; i < saturationRun(LADDER[0]!, ROUNDS_PER_SLOT); i++) rungs.receivedReal(100)
  rungs.slotBoundary()
  t.equal(rungs.backward, 0, 'the next slot runs at what the cells carried (rung 0)')
  t.equal(decodeBackwardRung(rungs.control(ROUNDS_PER_SLOT + 1, 1)), climbRung(LADDER, 0), 'its cells ask for the climb')
  rungs.slotBoundary()
  t.equal(rungs.backward, climbRung(LADDER, 0), 'from the second boundary')
})

t.test('a short exchange: rung 1 for the rest of its slot and the next, then rung 0', async (t) => {
  const rungs = new CircuitRungs(LADDER, ROUNDS_PER_SLOT, HOPS)
  rungs.slotBoundary()
  rungs.sentReal(false, 20)
  rungs.control(20, 0)
  rungs.receivedReal(30)
  rungs.control(40, 0)
  rungs.slotBoundary()
  t.same([rungs.forward, rungs.backward], [WAKE_RUNG, WAKE_RUNG], 'the next slot at rung 1 (asked for by the waking cell)')
  t.same([rungs.requestForward, rungs.requestBackward], [0, 0], 'and it asks for rung 0 after it')
  rungs.control(ROUNDS_PER_SLOT + 1, 1)
  rungs.slotBoundary()
  t.same([rungs.forward, rungs.backward], [0, 0], 'back at rung 0')
})

t.test('an upload climbs forward only; a control cell alone is no upload', async (t) => {
  const rungs = new CircuitRungs(LADDER, ROUNDS_PER_SLOT, HOPS)
  rungs.slotBoundary()
  for (let i = 0; i < 16; i++) rungs.sentReal(true, 10 + i)
  t.equal(rungs.requestForward, WAKE_RUNG, 'SENDMEs in a row do not climb')
  for (let i = 0; i < saturationRun(LADDER[WAKE_RUNG]!, ROUNDS_PER_SLOT); i++) rungs.sentReal(false, 30 + i)
  t.equal(rungs.requestForward, climbRung(LADDER, 0), 'stream cells in a row do: 16× the rung running (0: no cell carried the wake yet)')
  t.equal(rungs.requestBackward, WAKE_RUNG, 'backward only what woke it')
})

t.test('no wake once the slot runs above rung 0, nor past the slot\'s end', async (t) => {
  const rungs = new CircuitRungs(LADDER, ROUNDS_PER_SLOT, HOPS)
  rungs.slotBoundary()
  rungs.sentReal(false, ROUNDS_PER_SLOT - 2)
  rungs.control(ROUNDS_PER_SLOT - 2, 0)
  t.equal(rungs.forwardAt(ROUNDS_PER_SLOT - 1), WAKE_RUNG, 'forward wakes for the slot\'s last round')
  t.equal(rungs.backwardAt(ROUNDS_PER_SLOT - 1), 0, 'backward would start past the slot: no wake')
})

t.test('a run of real cells that fills less than 3/4 of the slot is no saturation (bursts at a high rung)', async (t) => {
  const rungs = new CircuitRungs(LADDER, ROUNDS_PER_SLOT, HOPS)
  const slotOf = (round: number): number => Math.floor(round / ROUNDS_PER_SLOT)
  rungs.sentReal(false, 0)
  rungs.control(0, 0)
  download(rungs, 0, 2 * ROUNDS_PER_SLOT, slotOf, [])
  rungs.slotBoundary()
  const rung = rungs.backward
  t.ok(rung > WAKE_RUNG, `a download brought it to rung ${rung}`)
  // The next slot: the schedule sends PADs for ten rounds (the download ended), then a burst.
  const start = 2 * ROUNDS_PER_SLOT
  const perRound = LADDER[rung]! / MILLI
  for (let round = start; round < start + 10; round++) {
    rungs.ranRound(round)
    for (let i = 0; i < perRound; i++) { rungs.receivedCell(); rungs.demand.receivedPad() }
  }
  const asked = rungs.requestBackward
  for (let i = 0; i < 20; i++) { rungs.receivedCell(); rungs.receivedReal(start + 10) }
  t.equal(rungs.requestBackward, asked, `a run of 20 after ${10 * perRound} PADs: no climb`)
})
