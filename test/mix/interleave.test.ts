/**
 * The round interleaving (R9): every cell leaves exactly once, each circuit's cells keep their
 * order, and the order is uniform — checked with a χ² test on a marked cell's output position
 * against the exact distribution, a test that biased shuffles provably fail.
 */
import t from 'tap'
import fc from 'fast-check'
import { cryptoReady } from '../../src/crypto/index.js'
import { MixError } from '../../src/hop/errors.js'
import { Interleaver, type UniformSource } from '../../src/hop/interleave.js'
import { chiSquareSurvival, chiSquareTest, markedPositionDistribution } from './chi-square.js'

await cryptoReady()

interface Cell { circuit: number, seq: number }

const circuitOf = (cell: Cell): number => cell.circuit

/** A round whose cells arrive grouped by circuit: all of circuit 0, then all of circuit 1 … */
function groupedRound (counts: readonly number[]): Cell[] {
  const cells: Cell[] = []
  counts.forEach((count, circuit) => {
    for (let seq = 0; seq < count; seq++) cells.push({ circuit, seq })
  })
  return cells
}

function checkKeepsOrder (input: readonly Cell[], output: readonly Cell[]): string | undefined {
  if (output.length !== input.length) return `length ${output.length} != ${input.length}`
  const seen = new Set<Cell>()
  const lastSeq = new Map<number, number>()
  for (const cell of output) {
    if (seen.has(cell)) return 'a cell left twice'
    seen.add(cell)
    const expected = (lastSeq.get(cell.circuit) ?? -1) + 1
    if (cell.seq !== expected) return `circuit ${cell.circuit}: seq ${cell.seq} where ${expected} was due`
    lastSeq.set(cell.circuit, cell.seq)
  }
  for (const cell of input) if (!seen.has(cell)) return 'a cell is missing'
  return undefined
}

/** mulberry32: a small seeded PRNG, for deterministic runs of the deliberately wrong shuffles. */
function seeded (seed: number): { next01: () => number, uniform: UniformSource } {
  let a = seed >>> 0
  const next32 = (): number => {
    a = (a + 0x6D2B79F5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return (x ^ (x >>> 14)) >>> 0
  }
  return {
    next01: () => next32() / 2 ** 32,
    // bias of at most bound / 2^32: far below what 10^4 rounds can see
    uniform: (bound) => Math.floor(next32() / 2 ** 32 * bound),
  }
}

type Interleave = (cells: Cell[], out: Cell[]) => void

/** Hand each circuit, in FIFO order, the positions its labels hold in `labels`. */
function assignFifo (cells: readonly Cell[], labels: readonly number[], out: Cell[]): void {
  const queues = new Map<number, Cell[]>()
  for (const cell of cells) {
    const queue = queues.get(cell.circuit) ?? []
    queue.push(cell)
    queues.set(cell.circuit, queue)
  }
  out.length = 0
  for (const label of labels) out.push(queues.get(label)!.shift()!)
}

const COUNTS = [1, 5, 4, 3, 3] // 16 cells, 5 circuits
const ROUNDS = 10_000
const P_CRITICAL = 1e-6

/** Histogram of the output position of the cell (circuit, seq) over `rounds` rounds. */
function markedPositions (interleave: Interleave, circuit: number, seq: number, rounds = ROUNDS): number[] {
  const cells = groupedRound(COUNTS)
  const marked = cells.find((c) => c.circuit === circuit && c.seq === seq)!
  const histogram = new Array<number>(cells.length).fill(0)
  const out: Cell[] = []
  for (let r = 0; r < rounds; r++) {
    interleave(cells, out)
    histogram[out.indexOf(marked)]!++
  }
  return histogram
}

function fitTo (histogram: number[], circuit: number, seq: number) {
  const n = COUNTS.reduce((a, b) => a + b, 0)
  return chiSquareTest(histogram, markedPositionDistribution(n, COUNTS[circuit]!, seq + 1))
}

t.test('the χ² helper reproduces known tail probabilities', async (t) => {
  // df = 2 is exponential: P(χ² ≥ x) = e^(−x/2)
  for (const x of [0.5, 3, 20, 40]) t.ok(Math.abs(chiSquareSurvival(x, 2) / Math.exp(-x / 2) - 1) < 1e-9, `df 2, x ${x}`)
  // df = 1: P(χ² ≥ z²) = P(|N(0,1)| ≥ z); z = 4.891638 is the two-sided 1e-6 point
  t.ok(Math.abs(chiSquareSurvival(4.891638 ** 2, 1) / 1e-6 - 1) < 1e-4, 'df 1 at the 1e-6 point')
  // df = 15: the 1e-6 critical value is 56.4934 and the median 14.3389 (scipy.stats.chi2)
  t.ok(Math.abs(chiSquareSurvival(56.4934, 15) / 1e-6 - 1) < 1e-4, 'df 15 at the 1e-6 point')
  t.ok(Math.abs(chiSquareSurvival(14.3389, 15) - 0.5) < 1e-4, 'df 15 median')
  // even df = 2m has a closed form: e^(−x/2) · Σ_{i<m} (x/2)^i / i!
  let sum = 0
  let term = 1
  for (let i = 0; i < 8; i++) { if (i > 0) term *= 25 / i; sum += term }
  t.ok(Math.abs(chiSquareSurvival(50, 16) / (Math.exp(-25) * sum) - 1) < 1e-9, 'df 16, x 50')
  const dist = markedPositionDistribution(16, 5, 3)
  t.ok(Math.abs(dist.reduce((a, b) => a + b, 0) - 1) < 1e-12, 'the exact position distribution sums to 1')
})

t.test('every cell leaves exactly once and each circuit keeps its FIFO order (random rounds)', async (t) => {
  const interleaver = new Interleaver() // one instance across rounds of every size, as a node uses it
  const out: Cell[] = []
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 300 }),
    fc.integer({ min: 0, max: 5000 }),
    (labels, spread) => {
      // labels as arrival order, sometimes spread out to exercise a growing label array
      const seqs = new Map<number, number>()
      const cells = labels.map((l) => {
        const circuit = l * (spread % 7 === 0 ? spread : 1)
        const seq = seqs.get(circuit) ?? 0
        seqs.set(circuit, seq + 1)
        return { circuit, seq }
      })
      interleaver.permute(cells, circuitOf, out)
      const problem = checkKeepsOrder(cells, out)
      if (problem !== undefined) throw new Error(problem)
    },
  ), { numRuns: 500 })
  t.pass('500 random rounds kept order')
})

t.test('edge rounds: empty, single cell, single circuit, every cell its own circuit', async (t) => {
  const interleaver = new Interleaver()
  const out: Cell[] = [{ circuit: 9, seq: 9 }]
  interleaver.permute([], circuitOf, out)
  t.same(out, [], 'empty round empties out')
  const one = [{ circuit: 3, seq: 0 }]
  interleaver.permute(one, circuitOf, out)
  t.equal(out[0], one[0], 'a single cell leaves alone')
  const single = groupedRound([50])
  interleaver.permute(single, circuitOf, out)
  t.same(out, single, 'one circuit leaves in exactly its arrival order')
  const distinct = Array.from({ length: 1000 }, (_, circuit) => ({ circuit, seq: 0 }))
  interleaver.permute(distinct, circuitOf, out)
  t.equal(checkKeepsOrder(distinct, out), undefined, '1000 one-cell circuits: a permutation')
})

t.test('bad labels and aliasing throw MixError before out is touched', async (t) => {
  const interleaver = new Interleaver({ labelLimit: 100 })
  const out: Cell[] = [{ circuit: 1, seq: 0 }]
  const before = out.slice()
  for (const bad of [-1, 100, 1.5, NaN]) {
    t.throws(() => interleaver.permute([{ circuit: 0, seq: 0 }, { circuit: bad, seq: 0 }], circuitOf, out),
      { code: 'MIX_BAD_LABEL' }, `label ${bad}`)
  }
  t.same(out, before, 'out untouched')
  const cells = groupedRound([2, 2])
  t.throws(() => interleaver.permute(cells, circuitOf, cells), { code: 'MIX_BAD_ARGUMENT' })
  t.throws(() => new Interleaver({ labelLimit: 0 }), MixError)
})

t.test('uniform (χ², libsodium RNG): a lone CREATE lands on every position equally often', async (t) => {
  const interleaver = new Interleaver()
  const result = fitTo(markedPositions((cells, out) => interleaver.permute(cells, circuitOf, out), 0, 0), 0, 0)
  t.equal(result.df, 15)
  t.ok(result.p > P_CRITICAL, `χ² = ${result.statistic.toFixed(1)}, df ${result.df}, p = ${result.p.toExponential(2)}`)
})

t.test('uniform (χ², libsodium RNG): the 3rd of 5 cells of a circuit follows the exact distribution', async (t) => {
  const interleaver = new Interleaver()
  const result = fitTo(markedPositions((cells, out) => interleaver.permute(cells, circuitOf, out), 1, 2), 1, 2)
  t.equal(result.impossible, 0, 'never at a position order-keeping forbids')
  t.ok(result.p > P_CRITICAL, `χ² = ${result.statistic.toFixed(1)}, df ${result.df}, p = ${result.p.toExponential(2)}`)
})

t.test('the χ² test rejects biased interleavings that still keep per-circuit order', async (t) => {
  const cases: Array<[string, Interleave]> = [
    ['identity (arrival order)', (cells, out) => { out.length = 0; out.push(...cells) }],
    ['sort labels by a random comparator', (() => {
      const rng = seeded(1)
      return (cells: Cell[], out: Cell[]) => {
        const labels = cells.map(circuitOf).sort(() => (rng.next01() < 0.5 ? -1 : 1))
        assignFifo(cells, labels, out)
      }
    })()],
    ['Fisher–Yates off by one (k from [0, j): Sattolo, only cyclic orders)', (() => {
      const rng = seeded(2)
      const offByOne = new Interleaver({ uniform: (bound) => rng.uniform(bound - 1) })
      return (cells: Cell[], out: Cell[]) => offByOne.permute(cells, circuitOf, out)
    })()],
  ]
  for (const [name, interleave] of cases) {
    const result = fitTo(markedPositions(interleave, 0, 0), 0, 0)
    t.ok(result.p < P_CRITICAL * 1e-6, `${name}: χ² = ${result.statistic.toFixed(1)}, p = ${result.p.toExponential(2)}`)
  }
  // Control: the same seeded PRNG driving the real Interleaver passes, so the failures above
  // come from the shuffles, not from the generator.
  const control = new Interleaver({ uniform: seeded(3).uniform })
  const result = fitTo(markedPositions((cells, out) => control.permute(cells, circuitOf, out), 0, 0), 0, 0)
  t.ok(result.p > P_CRITICAL, `control: p = ${result.p.toExponential(2)}`)
})
