/**
 * The elastic rung of a circuit at a hop, one direction (src/hop/rung-schedule.ts): rung 0 at
 * CREATE; the last valid request attributed to a slot applies from the next slot boundary;
 * invalid requests are ignored; a late request applies from the next slot it can (these first
 * with wakes off, NO_WAKE); and a wake: the first request above 0 in a rung-0 slot lifts the
 * rest of that slot to rung 1, from its round + the delay, never a round already scheduled.
 */
import t from 'tap'
import { RungSchedule } from '../../src/hop/rung-schedule.js'
import { writeRound } from '../../src/protocol/round-phase.js'

const SLOT = 10 // rounds per slot
/** A wake delay that never lands in the slot: the slot rules alone. */
const NO_WAKE = Infinity

t.test('rung 0 from the CREATE, and a request applies from the next slot boundary only', async (t) => {
  const rungs = new RungSchedule(SLOT, 4, 103, NO_WAKE)
  t.equal(rungs.rungAt(103), 0, 'rung 0 at CREATE')
  rungs.request(3, 104)
  t.equal(rungs.rungAt(104), 0, 'not in the slot it was asked in')
  t.equal(rungs.rungAt(109), 0, 'not in the last round of that slot either')
  t.equal(rungs.rungAt(110), 3, 'from the first round of the next slot')
  t.equal(rungs.rungAt(135), 3, 'and on while nothing else is asked')
})

t.test('the last valid request of a slot wins; invalid ones are ignored', async (t) => {
  const rungs = new RungSchedule(SLOT, 4, 0, NO_WAKE)
  rungs.request(2, 1)
  rungs.request(1, 5)
  rungs.request(4, 6) // beyond the ladder
  rungs.request(-1, 7) // no request (control byte 0)
  t.equal(rungs.rungAt(10), 1, 'the last valid request of slot 0')
  rungs.request(3, 12)
  rungs.request(0, 25) // already slot 2's request: does not touch slot 2 itself
  t.equal(rungs.rungAt(20), 3, 'slot 2 gets slot 1\'s request')
  t.equal(rungs.rungAt(30), 0, 'slot 3 gets slot 2\'s')
})

t.test('both directions ask for rounds behind the newest: fixed slots never change', async (t) => {
  const rungs = new RungSchedule(SLOT, 2, 0, NO_WAKE)
  rungs.request(1, 3)
  t.equal(rungs.rungAt(12), 1, 'forward reaches slot 1')
  rungs.request(0, 8) // a late request attributed to slot 0, after slot 1 was fixed
  t.equal(rungs.rungAt(9), 0, 'backward, still in slot 0: rung 0')
  t.equal(rungs.rungAt(11), 1, 'slot 1 kept its rung')
  t.equal(rungs.rungAt(20), 0, 'the late request applies from the next slot it can')
})

t.test('a request is attributed to the round its write names on the link, within the claim window', async (t) => {
  t.equal(writeRound(100, 1000 + 1, 10), 100, 'the entry: the client\'s write of round 100, read at 1001 ms')
  t.equal(writeRound(100, 1000 + 9.9, 10), 100, 'late in the round, still round 100')
  t.equal(writeRound(100, 1012, 10), 100, 'released at its deadline and read in round 101: still round 100')
  t.equal(writeRound(99, 1000.5, 10), 99, 'a write of the round before, read just after the boundary')
  t.equal(writeRound(500, 1000, 10), 101, 'a claim far ahead is held to one round ahead')
  t.equal(writeRound(3, 1000, 10), 98, 'a claim far behind is held to two rounds behind')
})

t.test('a wake: the first request above 0 in a rung-0 slot lifts the rest of the slot to rung 1', async (t) => {
  const rungs = new RungSchedule(SLOT, 4, 0, 4)
  t.equal(rungs.rungAt(21), 0)
  rungs.request(3, 22)
  t.equal(rungs.rungAt(25), 0, 'not before its round + the delay')
  t.equal(rungs.rungAt(26), 1, 'rung 1 from its round + the delay (not the rung asked for)')
  t.equal(rungs.rungAt(29), 1, 'to the end of the slot')
  t.equal(rungs.rungAt(30), 3, 'then the slot rung asked for')
  rungs.request(0, 31)
  t.equal(rungs.rungAt(40), 0, 'a request for 0 is no wake')
  rungs.request(2, 45)
  t.equal(rungs.rungAt(49), 1, 'a later slot wakes too')
  t.equal(rungs.rungAt(50), 2)
})

t.test('a wake that reaches a hop late starts at the next round not scheduled, and never past its slot', async (t) => {
  const rungs = new RungSchedule(SLOT, 4, 0, 1)
  t.equal(rungs.rungAt(14), 0, 'round 14 already scheduled')
  rungs.request(1, 12)
  t.equal(rungs.rungAt(14), 0, 'a scheduled round keeps its rung')
  t.equal(rungs.rungAt(15), 1, 'the wake from the next round')
  rungs.request(2, 16)
  t.equal(rungs.rungAt(17), 1, 'one wake per slot: the first decides')
  const late = new RungSchedule(SLOT, 4, 0, 4)
  late.request(1, 27)
  t.equal(late.rungAt(29), 0, 'a wake past its slot\'s end is none')
  t.equal(late.rungAt(30), 1, 'the slot request still applies')
  const above = new RungSchedule(SLOT, 4, 0, 1)
  above.request(2, 3)
  above.request(3, 12)
  t.equal(above.rungAt(13), 2, 'no wake in a slot above rung 0')
  t.equal(above.rungAt(20), 3)
})

t.test('a drain looking back sees the rungs the rounds had', async (t) => {
  const rungs = new RungSchedule(SLOT, 4, 0, 2)
  rungs.request(1, 4)
  const first = Array.from({ length: 12 }, (_, i) => rungs.rungAt(i))
  t.same(first, [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
  t.same(Array.from({ length: 12 }, (_, i) => rungs.rungAt(i)), first, 'asked again, the same')
})

t.test('highestNear: the highest of this slot\'s rung, the slot before\'s and the latest request (what a queue bound is sized by)', async (t) => {
  const rungs = new RungSchedule(SLOT, 4, 0, NO_WAKE)
  rungs.request(3, 5) // slot 1 at 3
  t.equal(rungs.rungAt(10), 3)
  rungs.request(1, 15) // slot 2 at 1
  t.equal(rungs.highestNear(15), 3, 'slot 1 at 3 (the latest request asks 1)')
  t.equal(rungs.rungAt(20), 1)
  t.equal(rungs.highestNear(20), 3, 'in slot 2 at 1: the slot before was at 3')
  t.equal(rungs.rungAt(30), 1)
  t.equal(rungs.highestNear(30), 1, 'two slots later: 1')
  rungs.request(2, 31)
  t.equal(rungs.highestNear(32), 2, 'a request for the next slot counts at once')
  t.equal(rungs.rungAt(32), 1, 'while the slot itself stays at its rung')
})
