/**
 * The correlation attack as a measuring instrument: it must link flows that carry their
 * client's timing (else a low accuracy would mean nothing), and fall to chance on constant
 * (shaped) series (else a high accuracy could be an artefact of the harness's ordering).
 */
import t from 'tap'
import { linkFlows, linkingAccuracy, mulberry32, pearson, scoreMatrix, slotVolumes } from '../../anonymity/correlate.js'

const SLOTS = 60

/** A bursty series: each slot on or off at random, volume random when on. */
function bursty (random: () => number): Float64Array {
  return Float64Array.from({ length: SLOTS }, () => random() < 0.4 ? 1000 + Math.floor(random() * 5000) : 0)
}

/** What the exit sees of a client's series: delayed by `lag` slots, with some noise. */
function delayed (series: Float64Array, lag: number, random: () => number): Float64Array {
  return Float64Array.from({ length: SLOTS }, (_, i) => i >= lag ? series[i - lag]! * (0.8 + 0.4 * random()) : 0)
}

t.test('slotVolumes adds bytes into their windows and ignores the rest', async (t) => {
  const v = slotVolumes([{ atMs: 0, bytes: 5 }, { atMs: 999, bytes: 1 }, { atMs: 1000, bytes: 7 }, { atMs: -1, bytes: 100 }, { atMs: 3000, bytes: 100 }], 0, 1000, 3)
  t.same([...v], [6, 7, 0])
  t.throws(() => slotVolumes([], 0, 0, 3), RangeError)
})

t.test('pearson: 1 for a scaled copy, −1 for a mirror, 0 for a constant series', async (t) => {
  const a = Float64Array.from([1, 5, 2, 8, 3])
  t.ok(Math.abs(pearson(a, a.map((x) => 3 * x + 1)) - 1) < 1e-9)
  t.ok(Math.abs(pearson(a, a.map((x) => -x)) + 1) < 1e-9)
  t.equal(pearson(a, new Float64Array(5).fill(7)), 0)
  t.equal(pearson(new Float64Array(5).fill(7), a), 0)
  t.ok(Math.abs(pearson(a, Float64Array.from([0, 1, 5, 2, 8, 3]), 1) - 1) < 1e-9, 'the lag aligns b[i+1] with a[i]')
})

t.test('unshaped bursty clients are linked far above chance', async (t) => {
  const random = mulberry32(1)
  const k = 8
  const clients = Array.from({ length: k }, () => bursty(random))
  const truth = Array.from({ length: k }, (_, i) => (i * 3) % k) // flow f belongs to client truth[f]
  const flows = truth.map((c) => delayed(clients[c]!, 1, random))
  const score = scoreMatrix(clients, flows)
  for (const oneToOne of [true, false]) {
    const accuracy = linkingAccuracy(linkFlows(score, { oneToOne, seed: 2 }).clientOfFlow, truth)
    t.ok(accuracy >= 0.75, `oneToOne=${oneToOne}: accuracy ${accuracy} against chance ${1 / k}`)
  }
})

t.test('shaped (constant) clients leave the attack at chance, whatever the listing order', async (t) => {
  const k = 8
  const trials = 400
  let right = 0
  for (let trial = 0; trial < trials; trial++) {
    const clients = Array.from({ length: k }, () => new Float64Array(SLOTS).fill(4096))
    const flows = Array.from({ length: k }, () => new Float64Array(SLOTS).fill(4096))
    const truth = Array.from({ length: k }, (_, i) => i) // same order on both sides: the trap
    const linking = linkFlows(scoreMatrix(clients, flows), { oneToOne: true, seed: trial })
    right += linkingAccuracy(linking.clientOfFlow, truth) * k
  }
  const accuracy = right / (trials * k)
  // Chance is 1/8 = 0.125; over 3200 guesses the standard error is about 0.006.
  t.ok(accuracy > 0.08 && accuracy < 0.17, `accuracy ${accuracy.toFixed(3)} is chance (0.125)`)
})

t.test('linkFlows refuses one-to-one with unequal counts; accuracy needs one guess per flow', async (t) => {
  t.throws(() => linkFlows([[1, 2, 3], [4, 5, 6]], { oneToOne: true, seed: 1 }), RangeError)
  t.throws(() => linkingAccuracy([0], [0, 1]), RangeError)
  t.equal(linkingAccuracy([], []), 0)
})
