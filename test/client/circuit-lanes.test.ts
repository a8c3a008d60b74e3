/**
 * The shaped client's circuit schedule (src/client/shaping/circuit-lanes.ts) and where new
 * streams go (Shaper.choose): a stream is never put on a circuit about to end on schedule
 * while another has time left, and never waits for a creation slot when some circuit can
 * still carry it.
 */
import t from 'tap'
import fc from 'fast-check'
import { cryptoReady } from '../../src/crypto/index.js'
import type { ShapedCircuit } from '../../src/client/shaping/shaped-circuit.js'
import { acceptsUntilSlot, circuitEndSlot, drainSlots, laneOfSlot } from '../../src/client/shaping/circuit-lanes.js'
import { slotAt, type ShapingParams } from '../../src/protocol/shaping.js'
import { runTo, shaperAt } from '../helpers/shaper.js'

await cryptoReady()

const BASE: ShapingParams = {
  profile: 'strict', ratesMilli: [1000], slotMs: 1000, circuits: 3, circuitSlots: 300,
  kMin: 1, createHoldRounds: 0, loopsPerSlot: 0, loopJitterRounds: 0, clientRateMilli: 128_000,
}

const arbitraryParams = fc.record({
  slotMs: fc.constantFrom(250, 500, 1000, 2000, 10_000),
  circuits: fc.integer({ min: 1, max: 5 }),
  stepSlots: fc.integer({ min: 1, max: 200 }),
}).map(({ slotMs, circuits, stepSlots }): ShapingParams => ({ ...BASE, slotMs, circuits, circuitSlots: circuits * stepSlots }))

t.test('a circuit takes new streams in exactly the slots that leave it more than drainSlots to live', async (t) => {
  fc.assert(fc.property(arbitraryParams, fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 1, max: 10_000 }), (params, built, epochLeft) => {
    const lane = laneOfSlot(params, built)
    const end = circuitEndSlot(params, lane, built, (built + epochLeft) * params.slotMs)
    const until = acceptsUntilSlot(params, built, end)
    if (until < built) return false
    // Every slot of its life takes streams if and only if it leaves more than drainSlots: a
    // key keeps its circuit while that has time left, instead of taking a spare every step.
    for (let slot = built; slot < end; slot++) if ((slot < until) !== (end - slot > drainSlots(params))) return false
    return true
  }), { numRuns: 300 })
  t.equal(drainSlots({ ...BASE, slotMs: 2000, circuitSlots: 300 }), 30, 'defaults: a minute of 2 s slots')
  t.equal(drainSlots({ ...BASE, slotMs: 500, circuitSlots: 60 }), 10, 'short circuits: at most half a step')
})

t.test('away from an epoch end, with two lanes or more, some circuit always takes streams', async (t) => {
  fc.assert(fc.property(arbitraryParams, fc.integer({ min: 0, max: 100_000 }), (params, start) => {
    // Every lane builds at `start` (start-up), then rebuilds at its creation slots.
    const lanes = Array.from({ length: params.circuits }, (_, lane) => ({ lane, built: start, end: circuitEndSlot(params, lane, start, Infinity) }))
    for (let slot = start; slot < start + 2 * params.circuitSlots; slot++) {
      for (const l of lanes) if (slot >= l.end) { l.built = slot; l.end = circuitEndSlot(params, l.lane, slot, Infinity) }
      const open = lanes.filter((l) => slot < acceptsUntilSlot(params, l.built, l.end))
      // With one lane, its circuit's last drainSlots have no successor yet (choose() falls back).
      if (open.length === 0 && (params.circuits >= 2 || drainSlots(params) === 0)) return false
    }
    return true
  }), { numRuns: 200 })
  t.pass('checked')
})

const lifeLeft = (c: ShapedCircuit, slotMs: number, nowMs: number): number => c.endSlot - slotAt(nowMs, slotMs)

t.test('at start-up a stream goes to a circuit with time left, not to the one about to end', async (t) => {
  const params = { ...BASE, slotMs: 500, circuitSlots: 60 } // step 20 slots, drain 10
  // Start two slots before lane 1's creation slot (slot 20·k + 20, k ≡ 0 mod 3): lane 1's start-up circuit lives 2 slots.
  const clock = { ms: (3 * 60 + 18) * params.slotMs }
  const shaper = shaperAt(params, clock)
  runTo(shaper, clock, clock.ms)
  t.equal(shaper.circuits().length, 3, 'K circuits at start-up')
  const shortest = Math.min(...shaper.circuits().map((c) => lifeLeft(c, params.slotMs, clock.ms)))
  t.equal(shortest, 2, 'one start-up circuit ends in two slots')
  for (const key of ['a', 'b']) {
    const c = shaper.choose(key)
    t.ok(c !== null && lifeLeft(c, params.slotMs, clock.ms) > drainSlots(params), `key ${key}: placed on a circuit with more than drainSlots to live`)
  }
  t.equal(shaper.choose('a'), shaper.choose('a'), 'the same key stays on its circuit')
  // Lane 2's start-up circuit (ends at slot 220) took key b; lane 1 rebuilds at slot 200.
  const b = shaper.choose('b')!
  t.equal(b.endSlot, 220, 'key b is on the circuit that ends at slot 220')
  runTo(shaper, clock, 200 * params.slotMs)
  runTo(shaper, clock, 212 * params.slotMs)
  const later = shaper.choose('b')
  t.ok(later !== null && later !== b, 'eight slots before its end, key b\'s circuit takes no more: a fresh one does')
  t.ok(later !== null && lifeLeft(later, params.slotMs, clock.ms) > drainSlots(params), 'with time left')
  shaper.stop()
})

t.test('in an epoch\'s last slots a stream takes the longest-lived circuit instead of waiting', async (t) => {
  const params = { ...BASE, slotMs: 500, circuitSlots: 60 }
  const start = 1000 * params.slotMs
  const clock = { ms: start }
  const epochEndMs = start + 5 * params.slotMs // every circuit ends with the epoch, 5 slots on (< drain)
  const shaper = shaperAt(params, clock, { epochEndMs })
  runTo(shaper, clock, clock.ms)
  t.ok(shaper.circuits().every((c) => c.acceptUntil <= slotAt(clock.ms, params.slotMs)), 'no circuit takes streams as usual')
  const c = shaper.choose('a')
  t.ok(c !== null, 'the stream still gets a circuit')
  t.equal(shaper.choose('b') === c, false, 'another key never shares it')
  runTo(shaper, clock, epochEndMs - params.slotMs)
  t.equal(shaper.choose('c'), null, 'in a circuit\'s very last slot nothing is placed: wait for the next circuits')
  shaper.stop()
})

t.test('a circuit bound to another key is never chosen, whatever its life', async (t) => {
  const params = { ...BASE, circuits: 1, circuitSlots: 100 }
  const clock = { ms: 5_000_000 }
  const shaper = shaperAt(params, clock)
  runTo(shaper, clock, clock.ms)
  t.ok(shaper.choose('a') !== null, 'the first key binds the only circuit')
  t.equal(shaper.choose('b'), null, 'the second waits')
  shaper.stop()
})
