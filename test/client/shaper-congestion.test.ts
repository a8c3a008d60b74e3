/**
 * An elastic client that cannot keep up with its own schedule asks for less (PROTOCOL.md §12.3
 * "Congestion"): once its round clock skips more than a sixteenth of a slot's rounds, the
 * capacity its circuits' rungs share is halved; calm slots raise it back to the client rate.
 * A short hiccup is no congestion.
 */
import t from 'tap'
import { cryptoReady } from '../../src/crypto/index.js'
import { BUSY_MISSED_FRACTION } from '../../src/client/shaping/shaper.js'
import { DEFAULT_SHAPING, MILLI, type ShapingParams } from '../../src/protocol/shaping.js'
import { drivenShaper, SHAPER_ROUND_MS, shaperAt } from '../helpers/shaper.js'

await cryptoReady()

const PARAMS: ShapingParams = { ...DEFAULT_SHAPING.elastic, slotMs: 1000, circuits: 3 }
const ROUNDS_PER_SLOT = PARAMS.slotMs / SHAPER_ROUND_MS
const CLIENT_RATE = PARAMS.clientRateMilli / MILLI

t.test('a stall of more than a sixteenth of a slot halves the capacity; calm slots raise it back', async (t) => {
  const { shaper, advance } = drivenShaper(t, PARAMS)
  for (let i = 0; i < 2 * ROUNDS_PER_SLOT; i++) advance(SHAPER_ROUND_MS)
  t.equal(shaper.status(undefined).capacityCells, CLIENT_RATE, 'calm: the client rate')
  const stallRounds = Math.ceil(ROUNDS_PER_SLOT * BUSY_MISSED_FRACTION) + 2
  advance(stallRounds * SHAPER_ROUND_MS)
  const after = shaper.status(undefined)
  t.equal(after.congestions.busy, 1, 'one congestion')
  t.ok(after.capacityCells < CLIENT_RATE, `capacity halved (${after.capacityCells} cells a round)`)
  for (let i = 0; i < 10 * ROUNDS_PER_SLOT; i++) advance(SHAPER_ROUND_MS)
  const calm = shaper.status(undefined)
  t.equal(calm.congestions.busy, 1, 'no more congestion without stalls')
  t.equal(calm.capacityCells, CLIENT_RATE, 'ten calm slots bring back the client rate')
})

t.test('a hiccup of a round or two is no congestion', async (t) => {
  const { shaper, advance } = drivenShaper(t, PARAMS)
  for (let slot = 0; slot < 4; slot++) {
    for (let i = 0; i < ROUNDS_PER_SLOT / 2; i++) advance(SHAPER_ROUND_MS)
    advance(3 * SHAPER_ROUND_MS) // two rounds skipped
  }
  t.ok(shaper.missedRounds >= 8, 'rounds were skipped')
  t.same(shaper.status(undefined).congestions, { busy: 0, slow_echo: 0 })
  t.equal(shaper.status(undefined).capacityCells, CLIENT_RATE)
})

t.test('strict has no capacity to adapt', async (t) => {
  const clock = { ms: 1_000_000 * PARAMS.slotMs }
  const strict = shaperAt({ ...DEFAULT_SHAPING.strict, slotMs: 1000, circuits: 3 }, clock)
  t.ok(Number.isNaN(strict.status(undefined).capacityCells))
  t.same(strict.status(undefined).congestions, { busy: 0, slow_echo: 0 })
})
