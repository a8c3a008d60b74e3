/**
 * Link drains (src/hop/link-drain.ts, PROTOCOL.md §12.2): how many extra rounds of schedule a
 * backlog asks for, and that a link whose socket still holds a backlog of its own gets neither
 * a drain nor a catch-up (drains feeding a neighbour that is not keeping up set off the next
 * hop's drain, backward, where PADs cannot be told from real cells; issue #12).
 */
import t from 'tap'
import { DRAIN_BACKLOG_LIMIT_BYTES, drainBeyond, drainRounds, excessRounds, MAX_DRAIN_ROUNDS, mayDrainInto } from '../../src/hop/link-drain.js'
import { MILLI } from '../../src/protocol/shaping.js'

t.test('a queue within one round of its rate is no backlog', async (t) => {
  t.equal(excessRounds(8, 8 * MILLI), 0, 'the round\'s own cells')
  t.equal(excessRounds(9, 8 * MILLI), 1, 'one cell more: a round')
  t.equal(excessRounds(8 + 80, 8 * MILLI), 10, 'ten rounds of cells: ten rounds')
  t.equal(excessRounds(1, 200), 0, 'below a cell a round: the one cell its scheduled round takes')
})

t.test('a standing queue at the wake rung drains (a cell a round: a cell behind is a round late for good)', async (t) => {
  t.equal(excessRounds(1, MILLI), 0, 'the round\'s cell')
  t.equal(excessRounds(2, MILLI), 1, 'one cell left from before: drained, where the old allowance (two rounds and a cell) kept it')
  t.equal(excessRounds(3, MILLI), 2)
  t.equal(excessRounds(2, 200), 5, 'two cells at a fifth of a cell a round: five rounds behind')
})

t.test('drains are powers of two up to the maximum', async (t) => {
  t.equal(drainRounds(0), 0)
  t.same([1, 2, 3, 5, 17, 1000].map(drainRounds), [1, 2, 4, 8, 32, MAX_DRAIN_ROUNDS])
})

t.test('a release that already carries the backlog\'s rounds drains nothing more', async (t) => {
  t.equal(drainBeyond(1, 1), 0, 'a late write carried on with the next round: its cell leaves with that carry')
  t.equal(drainBeyond(3, 2), 4, 'more than the carry: the drain covers the whole backlog')
  t.equal(drainBeyond(0, 0), 0)
  t.equal(drainBeyond(1, 0), 1)
})

t.test('a link whose socket holds a backlog takes no drain', async (t) => {
  t.ok(mayDrainInto(0), 'an empty socket buffer: yes')
  t.ok(mayDrainInto(DRAIN_BACKLOG_LIMIT_BYTES - 1))
  t.notOk(mayDrainInto(DRAIN_BACKLOG_LIMIT_BYTES), 'at the limit: no')
  t.ok(DRAIN_BACKLOG_LIMIT_BYTES < 64 * 1024 * 1024 / 16, 'far below what closes a link (64 MiB)')
})
