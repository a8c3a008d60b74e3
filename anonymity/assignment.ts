/**
 * Best one-to-one matching of rows to columns: the Hungarian algorithm (Kuhn–Munkres, the
 * O(n³) potentials form), maximising the total score.
 *
 * The flow-correlation adversary (correlate.ts) uses it to pair each client it watched with
 * one exit flow when both sides have the same count: a global matching is stronger than
 * giving each flow its best client on its own, because two flows cannot both be the same
 * client's only flow. Rectangular input is padded with zero-score dummies.
 */

/** For each row, the column matched to it (−1 for none); maximises the sum of `score[r][c]`. */
export function bestAssignment (score: readonly (readonly number[])[]): number[] {
  const rows = score.length
  const cols = rows === 0 ? 0 : score[0]!.length
  for (const row of score) {
    if (row.length !== cols) throw new RangeError('every row of the score matrix must have the same length')
    for (const value of row) if (!Number.isFinite(value)) throw new RangeError('scores must be finite numbers')
  }
  const n = Math.max(rows, cols)
  if (n === 0) return []
  // Minimise cost = max − score on an n×n matrix (dummies cost max − 0).
  let max = 0
  for (const row of score) for (const value of row) if (value > max) max = value
  const cost = (r: number, c: number): number => max - (r < rows && c < cols ? score[r]![c]! : 0)

  // u, v: potentials; p[c]: the row matched to column c (1-based, 0 = none); way: the path.
  const u = new Float64Array(n + 1)
  const v = new Float64Array(n + 1)
  const p = new Int32Array(n + 1)
  const way = new Int32Array(n + 1)
  for (let r = 1; r <= n; r++) {
    p[0] = r
    let c0 = 0
    const minv = new Float64Array(n + 1).fill(Infinity)
    const used = new Uint8Array(n + 1)
    do {
      used[c0] = 1
      const r0 = p[c0]!
      let delta = Infinity
      let c1 = 0
      for (let c = 1; c <= n; c++) {
        if (used[c] === 1) continue
        const reduced = cost(r0 - 1, c - 1) - u[r0]! - v[c]!
        if (reduced < minv[c]!) { minv[c] = reduced; way[c] = c0 }
        if (minv[c]! < delta) { delta = minv[c]!; c1 = c }
      }
      for (let c = 0; c <= n; c++) {
        if (used[c] === 1) { u[p[c]!] += delta; v[c] -= delta } else minv[c] -= delta
      }
      c0 = c1
    } while (p[c0] !== 0)
    do {
      const c1 = way[c0]!
      p[c0] = p[c1]!
      c0 = c1
    } while (c0 !== 0)
  }
  const match = new Array<number>(rows).fill(-1)
  for (let c = 1; c <= n; c++) {
    const r = p[c]! - 1
    if (r >= 0 && r < rows && c - 1 < cols) match[r] = c - 1
  }
  return match
}
