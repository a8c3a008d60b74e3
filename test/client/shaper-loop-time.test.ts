/**
 * The loop monitor runs on the shaper's loop time: a stall of the client's own process
 * (rounds its clock skipped) never makes a probe late or lost, while time the cascade takes
 * still counts (PROTOCOL.md §12.6 "Loops").
 */
import t from 'tap'
import { cryptoReady } from '../../src/crypto/index.js'
import { LOSS_MIN_MS } from '../../src/client/shaping/loop-monitor.js'
import type { ShapingParams } from '../../src/protocol/shaping.js'
import { drivenShaper, SHAPER_ROUND_MS } from '../helpers/shaper.js'

await cryptoReady()

const PARAMS: ShapingParams = {
  profile: 'strict', ratesMilli: [1000], slotMs: 1000, circuits: 3, circuitSlots: 300,
  kMin: 1, createHoldRounds: 0, loopsPerSlot: 10, loopJitterRounds: 0, clientRateMilli: 128_000,
}

t.test('a stall of the client process is not counted against the cascade; the cascade\'s time is', async (t) => {
  const { shaper, advance } = drivenShaper(t, PARAMS)
  // Run one slot of rounds: the probes of its LOOPs are in flight (no cascade answers here).
  for (let i = 0; i < PARAMS.slotMs / SHAPER_ROUND_MS; i++) advance(SHAPER_ROUND_MS)
  const inFlight = shaper.monitor.pending
  t.ok(inFlight > 0, 'probes in flight')
  // The process stalls for twice the loss timeout: the clock skips those rounds.
  advance(2 * LOSS_MIN_MS)
  t.ok(shaper.missedRounds >= 2 * LOSS_MIN_MS / SHAPER_ROUND_MS - 1, 'the stall shows as skipped rounds')
  t.equal(shaper.monitor.lost, 0, 'after the stall: nothing lost for it')
  // Now time passes with the clock running: the loss timeout counts that.
  for (let ms = 0; ms <= LOSS_MIN_MS + PARAMS.slotMs; ms += SHAPER_ROUND_MS) advance(SHAPER_ROUND_MS)
  t.ok(shaper.monitor.lost >= inFlight, 'probes unanswered for the loss timeout of running time are lost')
})
