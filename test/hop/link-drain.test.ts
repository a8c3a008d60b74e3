/**
 * Link drains (src/hop/link-drain.ts, PROTOCOL.md §12.2): how many extra rounds of schedule a
 * backlog asks for, and that a link whose socket still holds a backlog of its own gets neither
 * a drain nor a catch-up (drains feeding a neighbour that is not keeping up set off the next
 * hop's drain, backward, where PADs cannot be told from real cells; issue #12).
 */
import t from 'tap'
import { DRAIN_BACKLOG_LIMIT_BYTES, drainBeyond, drainRounds, excessRounds, isQuietLink, linkDrain, MAX_DRAIN_ROUNDS, mayDrainInto } from '../../src/hop/link-drain.js'
import { MILLI } from '../../src/protocol/shaping.js'
import type { HopCircuit } from '../../src/hop/hop-circuit.js'

t.test('above a cell a round, a queue within two rounds and a cell of its rate is no backlog', async (t) => {
  t.equal(excessRounds(2 * 8 + 1, 8 * MILLI), 0)
  t.equal(excessRounds(2 * 8 + 2, 8 * MILLI), 1, 'one cell more: a round')
  t.equal(excessRounds(2 * 8 + 1 + 80, 8 * MILLI), 10, 'ten rounds of cells: ten rounds')
  t.equal(excessRounds(5, 2 * MILLI), 0, 'two cells a round: five queued is within')
})

t.test('on a quiet link (every circuit at a cell a round or less), a queue within one round of its rate is no backlog', async (t) => {
  const at = (...rates: number[]) => rates.map((rate) => ({ ended: false, shape: { rateAt: () => rate } })) as unknown as HopCircuit[]
  t.ok(isQuietLink(at(200, MILLI, 200), 0, 'forward'))
  t.notOk(isQuietLink(at(200, 2 * MILLI), 0, 'forward'), 'one circuit above a cell a round: busy')
  t.ok(isQuietLink([{ ended: true, shape: { rateAt: () => 8 * MILLI } }] as unknown as HopCircuit[], 0, 'backward'), 'an ended circuit sends nothing')
  t.ok(isQuietLink([], 0, 'backward'))
  t.equal(excessRounds(1, 200, true), 0, 'below a cell a round: the one cell its scheduled round takes')
  t.equal(excessRounds(1, MILLI, true), 0, 'the round\'s own cell')
})

t.test('a standing queue at the wake rung drains on a quiet link (a cell a round: a cell behind is a round late for good)', async (t) => {
  t.equal(excessRounds(2, MILLI, true), 1, 'one cell left from before: drained')
  t.equal(excessRounds(3, MILLI, true), 2)
  t.equal(excessRounds(2, 200, true), 5, 'two cells at a fifth of a cell a round: five rounds behind')
  t.equal(excessRounds(2, MILLI, false), 0, 'on a busy link it waits (a drain there would pad a download\'s rung)')
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

t.test('a link drains a standing cell at the wake rung only while every circuit on it is quiet', async (t) => {
  const circuit = (rate: number, queued: number) => ({ ended: false, shape: { released: true, rateAt: () => rate, forward: { length: queued }, backward: { length: queued } } })
  const link = (...circuits: Array<ReturnType<typeof circuit>>) => new Map(circuits.map((c, i) => [i, c])) as unknown as ReadonlyMap<number, HopCircuit>
  t.equal(linkDrain(link(circuit(MILLI, 2), circuit(200, 0)), 0, 'forward', 0), 1, 'quiet: the cell behind drains')
  t.equal(linkDrain(link(circuit(MILLI, 2), circuit(128 * MILLI, 0)), 0, 'backward', 0), 0, 'a download on the link: it waits')
  t.equal(linkDrain(link(circuit(MILLI, 2)), 0, 'forward', 1), 0, 'a release that carries a round takes it anyway')
  t.equal(linkDrain(link(circuit(128 * MILLI, 128 * 2 + 2)), 0, 'backward', 0), 1, 'busy: two rounds and a cell, as ever')
})
