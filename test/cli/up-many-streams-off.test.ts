/**
 * Issue #17: 1,000 streams of one isolation key held open at once through `mixgate up
 * --shaping off` (three mixes), requested a hundred at a time: every one served, over four circuits or more.
 */
import t from 'tap'
import { holdThroughUp, STREAMS } from './held-streams-through-up.js'

t.test(`${STREAMS} streams of one key held at once through up --shaping off: every one served`, async (t) => {
  await holdThroughUp(t, 'off', 3, 100)
})
