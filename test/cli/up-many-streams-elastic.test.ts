/**
 * Issue #17: 1,000 streams of one isolation key held open at once through `mixgate up` at the
 * default `elastic`: every one served, over two circuits or more of the schedule. One mix and
 * ten requests at a time: with three mixes, a hundred at a time, on a loaded 2-core machine
 * the opening burst climbs the circuits to rungs whose hop threads then stall for longer than
 * a queue holds (circuit.queue_over_bound at the mixes, the client fails closed), which is
 * the rung ladder's matter, not the stream bound's.
 */
import t from 'tap'
import { holdThroughUp, STREAMS } from './held-streams-through-up.js'

t.test(`${STREAMS} streams of one key held at once through up (elastic): every one served`, async (t) => {
  await holdThroughUp(t, 'elastic', 1, 10)
})
