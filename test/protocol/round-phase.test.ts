/**
 * Round phases by hop position (PROTOCOL.md §11.1): each hop's forward release comes one step
 * after its predecessor's, each hop's backward release one step after its successor's, all
 * within the round, and they depend on the round length and the position alone.
 */
import t from 'tap'
import { backwardPhaseMs, forwardPhaseMs, PHASE_STEPS, phaseStepMs } from '../../src/protocol/round-phase.js'

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
