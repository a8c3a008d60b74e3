/**
 * A χ² goodness-of-fit test for the interleaving tests: the statistic, its exact upper-tail
 * probability (regularized upper incomplete gamma, Numerical Recipes §6.2), and the exact
 * distribution of a marked cell's output position under a uniform order-preserving interleaving.
 */

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; ~15 significant digits). */
function lnGamma (x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
    -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
    1.5056327351493116e-7]
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x)
  x -= 1
  let a = c[0]!
  const t = x + 7.5
  for (let i = 1; i < 9; i++) a += c[i]! / (x + i)
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a)
}

/** Q(a, x) = Γ(a, x) / Γ(a), the regularized upper incomplete gamma function. */
function gammaQ (a: number, x: number): number {
  if (x <= 0) return 1
  const front = Math.exp(-x + a * Math.log(x) - lnGamma(a))
  if (x < a + 1) {
    // series for P(a, x), then Q = 1 − P
    let term = 1 / a
    let sum = term
    for (let n = 1; n < 1000; n++) {
      term *= x / (a + n)
      sum += term
      if (Math.abs(term) < Math.abs(sum) * 1e-16) break
    }
    return 1 - sum * front
  }
  // continued fraction for Q(a, x) (modified Lentz)
  const tiny = 1e-300
  let b = x + 1 - a
  let c = 1 / tiny
  let d = 1 / b
  let h = d
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a)
    b += 2
    d = an * d + b
    if (Math.abs(d) < tiny) d = tiny
    c = b + an / c
    if (Math.abs(c) < tiny) c = tiny
    d = 1 / d
    const delta = d * c
    h *= delta
    if (Math.abs(delta - 1) < 1e-16) break
  }
  return front * h
}

/** P(χ²_df ≥ x). */
export function chiSquareSurvival (x: number, df: number): number {
  return gammaQ(df / 2, x / 2)
}

export interface ChiSquareResult {
  statistic: number
  df: number
  p: number
  /** Observations in bins whose expected probability is zero (must be 0 for a fit). */
  impossible: number
}

/**
 * Pearson's χ² of `observed` counts against `probabilities` (summing to 1). Bins of zero
 * probability are left out of the statistic and counted in `impossible`.
 */
export function chiSquareTest (observed: readonly number[], probabilities: readonly number[]): ChiSquareResult {
  const total = observed.reduce((a, b) => a + b, 0)
  let statistic = 0
  let bins = 0
  let impossible = 0
  for (let i = 0; i < observed.length; i++) {
    const p = probabilities[i]!
    if (p === 0) {
      impossible += observed[i]!
      continue
    }
    const expected = total * p
    if (expected < 5) throw new Error(`bin ${i} expects ${expected.toFixed(2)} < 5 observations: χ² is not valid`)
    statistic += (observed[i]! - expected) ** 2 / expected
    bins++
  }
  const df = bins - 1
  return { statistic, df, p: chiSquareSurvival(statistic, df), impossible }
}

function binomial (n: number, k: number): number {
  if (k < 0 || k > n) return 0
  let r = 1
  for (let i = 1; i <= k; i++) r = r * (n - k + i) / i
  return r
}

/**
 * Under a uniform interleaving of n cells where one circuit has m cells kept in order, the
 * positions of that circuit's cells are a uniform m-subset of 0…n−1, so its k-th cell (1-based)
 * is at position p with probability C(p, k−1)·C(n−1−p, m−k) / C(n, m).
 */
export function markedPositionDistribution (n: number, m: number, k: number): number[] {
  const all = binomial(n, m)
  const out: number[] = []
  for (let p = 0; p < n; p++) out.push(binomial(p, k - 1) * binomial(n - 1 - p, m - k) / all)
  return out
}
