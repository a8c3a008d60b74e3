/**
 * Link drains (src/hop/link-drain.ts, PROTOCOL.md §12.2): how many extra rounds of schedule a
 * backlog asks for, and that a link whose socket still holds a backlog of its own gets neither
 * a drain nor a catch-up (drains feeding a neighbour that is not keeping up set off the next
 * hop's drain, backward, where PADs cannot be told from real cells; issue #12).
 */
import t from 'tap'
import { DRAIN_BACKLOG_LIMIT_BYTES, drainRounds, excessRounds, MAX_DRAIN_ROUNDS, mayDrainInto } from '../../src/hop/link-drain.js'
import { MILLI } from '../../src/protocol/shaping.js'

t.test('a queue within two rounds and a cell of its rate is no backlog', async (t) => {
  t.equal(excessRounds(2 * 8 + 1, 8 * MILLI), 0)
  t.equal(excessRounds(2 * 8 + 2, 8 * MILLI), 1, 'one cell more: a round')
  t.equal(excessRounds(2 * 8 + 1 + 80, 8 * MILLI), 10, 'ten rounds of cells: ten rounds')
})

t.test('drains are powers of two up to the maximum', async (t) => {
  t.equal(drainRounds(0), 0)
  t.same([1, 2, 3, 5, 17, 1000].map(drainRounds), [1, 2, 4, 8, 32, MAX_DRAIN_ROUNDS])
})

t.test('a link whose socket holds a backlog takes no drain', async (t) => {
  t.ok(mayDrainInto(0), 'an empty socket buffer: yes')
  t.ok(mayDrainInto(DRAIN_BACKLOG_LIMIT_BYTES - 1))
  t.notOk(mayDrainInto(DRAIN_BACKLOG_LIMIT_BYTES), 'at the limit: no')
  t.ok(DRAIN_BACKLOG_LIMIT_BYTES < 64 * 1024 * 1024 / 16, 'far below what closes a link (64 MiB)')
})
