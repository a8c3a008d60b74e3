/**
 * Issue #17: 1,000 streams of one isolation key held open at once through `mixgate up` at the
 * default `elastic`, three mixes as shipped and a hundred requests at a time: every one
 * served, over two circuits or more of the schedule. Before the client's congestion control
 * and the rate-sized hop queues (PROTOCOL.md §12.2, §12.3), the opening burst on a loaded
 * 2-core machine overflowed the mixes' queues and the client failed closed; this test then
 * ran one mix and ten requests at a time.
 */
import t from 'tap'
import { holdThroughUp, STREAMS } from './held-streams-through-up.js'

t.test(`${STREAMS} streams of one key held at once through up (elastic, 3 mixes): every one served`, async (t) => {
  await holdThroughUp(t, 'elastic', 3, 100)
})
