/**
 * Round phases by hop position (PROTOCOL.md §11.1): each hop's forward release comes one step
 * after its predecessor's, each hop's backward release one step after its successor's, all
 * within the round, and they depend on the round length and the position alone. Shaped rounds
 * are pipelined (§12.1): the same schedule round at every hop, each a quarter round after the
 * node before it in its direction.
 */
import t from 'tap'
import fc from 'fast-check'
import { backwardLagRounds, backwardPhaseMs, forwardPhaseMs, mayReleaseEarly, PHASE_STEPS, ROUND_CLAIM_AHEAD, ROUND_CLAIM_BEHIND, writeRound, phaseStepMs, pipelineStepMs, shapedBackwardOffsetMs, shapedForwardOffsetMs } from '../../src/protocol/round-phase.js'
import { wakeDelayRounds } from '../../src/protocol/shaping.js'

const mod = (x: number, m: number): number => ((x % m) + m) % m

t.test('forward: hop i+1 releases one step after hop i; backward: hop i one step after hop i+1', async (t) => {
  for (const roundMs of [1, 10, 25, 100]) {
    const step = phaseStepMs(roundMs)
    t.equal(step, roundMs / PHASE_STEPS)
    for (let i = 1; i < 12; i++) {
      for (const phase of [forwardPhaseMs(roundMs, i), backwardPhaseMs(roundMs, i)]) {
        t.ok(phase >= 0 && phase < roundMs, `phase of hop ${i} lies within the round`)
      }
      t.ok(Math.abs(mod(forwardPhaseMs(roundMs, i + 1) - forwardPhaseMs(roundMs, i), roundMs) - step) < 1e-9, `forward ${i} → ${i + 1}`)
      t.ok(Math.abs(mod(backwardPhaseMs(roundMs, i) - backwardPhaseMs(roundMs, i + 1), roundMs) - step) < 1e-9, `backward ${i + 1} → ${i}`)
    }
  }
  t.equal(forwardPhaseMs(10, 1), 1.25, 'the entry releases forward 1.25 ms into a 10 ms round')
  t.equal(backwardPhaseMs(10, 4), 5, 'the exit of a 4-hop cascade releases backward at 5 ms')
  t.equal(backwardPhaseMs(10, 1), 8.75, 'and the entry at 8.75 ms, three steps later')
})

t.test('shaped pipeline: round n leaves hop i a step (a quarter round) after hop i − 1, forward and backward', async (t) => {
  for (const roundMs of [10, 20, 100]) {
    const step = pipelineStepMs(roundMs)
    t.equal(step, roundMs / 4)
    for (const hops of [2, 4, 7]) {
      for (let i = 1; i <= hops; i++) {
        t.equal(shapedForwardOffsetMs(roundMs, i) - shapedForwardOffsetMs(roundMs, i - 1), step, `forward ${i - 1} → ${i}`)
        if (i < hops) t.equal(shapedBackwardOffsetMs(roundMs, i, hops) - shapedBackwardOffsetMs(roundMs, i + 1, hops), step, `backward ${i + 1} → ${i}`)
        // What hop i − 1 released in round n at its deadline (plus link time under a step) is still round n here.
        const released = 500 * roundMs + shapedForwardOffsetMs(roundMs, i - 1)
        t.equal(writeRound(500, released + step * 0.9, roundMs), 500)
      }
      t.equal(shapedBackwardOffsetMs(roundMs, hops, hops), 0, 'the exit releases backward at the round\'s start')
    }
  }
  t.equal(shapedForwardOffsetMs(10, 4), 10, 'the exit of four hops reads the client\'s round n a round later at most')
  t.equal(backwardLagRounds(4), 0, 'four hops: the entry\'s backward round n reaches the client before its round n + 1')
  t.equal(backwardLagRounds(6), 1, 'six hops: a round later')
  t.equal(wakeDelayRounds('backward', 4), 2, 'a backward wake: two rounds on with four hops')
  t.equal(wakeDelayRounds('backward', 6), 3, 'three with six')
})

t.test('a write\'s round on the wire (modulo 2^32) unwraps to the round nearest the reader\'s clock, within the claim window', async (t) => {
  const roundMs = 10
  fc.assert(fc.property(fc.integer({ min: 2 ** 33, max: 2 ** 40 }), fc.integer({ min: -5, max: 5 }), fc.double({ min: 0, max: 0.999, noNaN: true }), (local, delta, within) => {
    const sent = local + delta
    const got = writeRound(sent % 2 ** 32, (local + within) * roundMs, roundMs)
    const expected = Math.min(local + ROUND_CLAIM_AHEAD, Math.max(local - ROUND_CLAIM_BEHIND, sent))
    return got === expected
  }))
  t.equal(writeRound(0, 2 ** 32 * roundMs - 1, roundMs), 2 ** 32, 'round 2^32 sent as 0, read just before it starts: one ahead')
  t.equal(writeRound(2 ** 32 - 1, 2 ** 32 * roundMs + 1, roundMs), 2 ** 32 - 1, 'round 2^32 − 1 read just after the wrap')
})

t.test('a round leaves on arrival at most half a round before it starts', async (t) => {
  t.ok(mayReleaseEarly(100, 1000, 10), 'at its start')
  t.ok(mayReleaseEarly(100, 995, 10), 'half a round before')
  t.notOk(mayReleaseEarly(100, 994.9, 10), 'not earlier')
  t.ok(mayReleaseEarly(99, 1000, 10), 'a late round, any time')
})
