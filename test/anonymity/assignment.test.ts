/**
 * The Hungarian matching finds a best total: checked against every permutation on small
 * random matrices, square and rectangular.
 */
import t from 'tap'
import fc from 'fast-check'
import { bestAssignment } from '../../anonymity/assignment.js'

function total (score: number[][], match: number[]): number {
  return match.reduce((sum, c, r) => sum + (c >= 0 ? score[r]![c]! : 0), 0)
}

/** The best total over every injective matching, by brute force. */
function bruteForce (score: number[][]): number {
  const rows = score.length
  const cols = score[0]?.length ?? 0
  let best = 0
  const used = new Array<boolean>(cols).fill(false)
  const walk = (r: number, sum: number): void => {
    if (r === rows) { best = Math.max(best, sum); return }
    walk(r + 1, sum) // row r left unmatched (only matters when rows > cols)
    for (let c = 0; c < cols; c++) {
      if (used[c]) continue
      used[c] = true
      walk(r + 1, sum + score[r]![c]!)
      used[c] = false
    }
  }
  walk(0, 0)
  return best
}

const matrix = fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 })).chain(([rows, cols]) =>
  fc.array(fc.array(fc.double({ min: 0, max: 100, noNaN: true }), { minLength: cols, maxLength: cols }), { minLength: rows, maxLength: rows }))

t.test('the matching reaches the best total of all matchings', async (t) => {
  fc.assert(fc.property(matrix, (score) => {
    const match = bestAssignment(score)
    return Math.abs(total(score, match) - bruteForce(score)) < 1e-6
  }), { numRuns: 300 })
  t.pass('300 random matrices up to 6×6')
})

t.test('each column is used at most once, and every row is matched when it can be', async (t) => {
  fc.assert(fc.property(matrix, (score) => {
    const match = bestAssignment(score)
    const cols = score[0]!.length
    const taken = match.filter((c) => c >= 0)
    return new Set(taken).size === taken.length && taken.length === Math.min(score.length, cols)
  }), { numRuns: 300 })
  t.pass('injective and maximal')
})

t.test('an obvious diagonal is found', async (t) => {
  t.same(bestAssignment([[9, 1, 1], [1, 9, 1], [1, 1, 9]]), [0, 1, 2])
  t.same(bestAssignment([[1, 9], [9, 1]]), [1, 0])
  t.same(bestAssignment([]), [])
})

t.test('ragged or non-finite input is refused', async (t) => {
  t.throws(() => bestAssignment([[1, 2], [3]]), RangeError)
  t.throws(() => bestAssignment([[1, NaN]]), RangeError)
})
