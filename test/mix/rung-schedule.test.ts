/**
 * The elastic rung of a circuit at a hop (src/mix/rung-schedule.ts): rung 0 at CREATE; the
 * last valid request attributed to a slot applies from the next slot boundary and never
 * earlier; invalid requests are ignored; a late request applies from the next slot it can.
 */
import t from 'tap'
import { RungSchedule, requestRound } from '../../src/hop/rung-schedule.js'

const SLOT = 10 // rounds per slot

t.test('rung 0 from the CREATE, and a request applies from the next slot boundary only', async (t) => {
  const rungs = new RungSchedule(SLOT, 4, 103)
  t.equal(rungs.rungAt(103), 0, 'rung 0 at CREATE')
  rungs.request(3, 104)
  t.equal(rungs.rungAt(104), 0, 'not in the slot it was asked in')
  t.equal(rungs.rungAt(109), 0, 'not in the last round of that slot either')
  t.equal(rungs.rungAt(110), 3, 'from the first round of the next slot')
  t.equal(rungs.rungAt(135), 3, 'and on while nothing else is asked')
})

t.test('the last valid request of a slot wins; invalid ones are ignored', async (t) => {
  const rungs = new RungSchedule(SLOT, 4, 0)
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
  const rungs = new RungSchedule(SLOT, 2, 0)
  rungs.request(1, 3)
  t.equal(rungs.rungAt(12), 1, 'forward reaches slot 1')
  rungs.request(0, 8) // a late request attributed to slot 0, after slot 1 was fixed
  t.equal(rungs.rungAt(9), 0, 'backward, still in slot 0: rung 0')
  t.equal(rungs.rungAt(11), 1, 'slot 1 kept its rung')
  t.equal(rungs.rungAt(20), 0, 'the late request applies from the next slot it can')
})

t.test('a request is attributed to the client round: one round per hop before this one', async (t) => {
  t.equal(requestRound(100, 1), 100, 'the entry')
  t.equal(requestRound(100, 4), 97, 'the exit of a four-hop cascade')
})
