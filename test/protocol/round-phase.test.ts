/**
 * Round phases by hop position (PROTOCOL.md §11.1): each hop's forward release comes one step
 * after its predecessor's, each hop's backward release one step after its successor's, all
 * within the round, and they depend on the round length and the position alone. Shaped rounds
 * are pipelined (§12.1): the same schedule round at every hop, each a quarter round after the
 * node before it in its direction.
 */
import t from 'tap'
import { backwardLagRounds, backwardPhaseMs, forwardPhaseMs, forwardReleaseRound, PHASE_STEPS, phaseStepMs, pipelineStepMs, shapedBackwardOffsetMs, shapedForwardOffsetMs } from '../../src/protocol/round-phase.js'
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
        // What hop i − 1 released in round n at its offset (plus link time under a step) is round n here.
        const released = 500 * roundMs + shapedForwardOffsetMs(roundMs, i - 1)
        t.equal(forwardReleaseRound(released + step * 0.9, roundMs, i), 500)
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
