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

t.test('a negative lag finds a flow that leads its client (what a host sends reaches the client later)', async (t) => {
  const random = mulberry32(7)
  const flow = bursty(random)
  const client = delayed(flow, 2, random) // the client sees the flow's bytes two slots later
  const [[forwardOnly]] = scoreMatrix([client], [flow], 3, 0) as [[number]]
  const [[twoSided]] = scoreMatrix([client], [flow], 3, -3) as [[number]]
  t.ok(twoSided > 0.9, `two-sided score ${twoSided.toFixed(3)}`)
  t.ok(twoSided > forwardOnly + 0.3, `forward-only lags miss it (${forwardOnly.toFixed(3)})`)
  t.throws(() => scoreMatrix([client], [flow], 1, 2), RangeError)
})

t.test('each flow breaks its own ties: on constant series the guesses spread over the clients', async (t) => {
  const k = 8
  const flows = 400
  const clients = Array.from({ length: k }, () => new Float64Array(SLOTS).fill(4096))
  const flowSeries = Array.from({ length: flows }, () => new Float64Array(SLOTS).fill(100))
  const { clientOfFlow } = linkFlows(scoreMatrix(clients, flowSeries), { oneToOne: false, seed: 5 })
  const counts = new Array<number>(k).fill(0)
  for (const c of clientOfFlow) counts[c]!++
  // 50 expected per client; a shared tie-break would give one client all 400.
  t.ok(Math.max(...counts) < 90 && Math.min(...counts) > 20, `guesses per client: ${counts.join(' ')}`)
  const again = linkFlows(scoreMatrix(clients, flowSeries), { oneToOne: false, seed: 5 }).clientOfFlow
  t.same(again, clientOfFlow, 'the same seed gives the same guesses')
})

t.test('scores within tieMargin of the best are ties; beyond it the best wins', async (t) => {
  const score = [[0.500, 0.10], [0.495, 0.90], [0.100, 0.10]]
  const firstFlow = new Set<number>()
  for (let seed = 0; seed < 60; seed++) {
    const { clientOfFlow } = linkFlows(score, { oneToOne: false, seed, tieMargin: 0.01 })
    firstFlow.add(clientOfFlow[0]!)
    t.equal(clientOfFlow[1], 1, 'a clear winner is never a tie')
  }
  t.same([...firstFlow].sort(), [0, 1], 'clients 0 and 1 (0.005 apart) both get the first flow; client 2 never does')
  t.same(linkFlows(score, { oneToOne: false, seed: 1 }).clientOfFlow, [0, 1], 'no margin: the strictly best')
  t.throws(() => linkFlows(score, { oneToOne: false, seed: 1, tieMargin: -1 }), RangeError)
})
