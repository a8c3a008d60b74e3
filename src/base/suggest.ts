/**
 * "Did you mean …?" for config keys and enumerated values.
 *
 * Uses the optimal-string-alignment distance (Levenshtein plus swapping two neighbours,
 * the commonest typing slip), compared case-insensitively. A suggestion is made only when
 * the typo is small next to the word, and only when one candidate is clearly nearest:
 * a wrong guess is worse than none.
 */

const MAX_WORD = 64

/** The candidate nearest to `word`, if it is near enough and unambiguous. */
export function suggest (word: string, candidates: readonly string[]): string | undefined {
  if (word.length > MAX_WORD) return undefined // the distance costs length × length
  const limit = Math.min(2, Math.floor(word.length / 3))
  let best: string | undefined
  let bestDistance = Infinity
  let tie = false
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase())
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
      tie = false
    } else if (d === bestDistance) {
      tie = true
    }
  }
  // Distance 0 means the words differ only in case, which is worth saying even for short ones.
  return tie || bestDistance > limit ? undefined : best
}

/** Optimal string alignment distance between `a` and `b`. */
export function editDistance (a: string, b: string): number {
  const rows = a.length + 1
  const cols = b.length + 1
  const d: number[] = new Array(rows * cols).fill(0)
  for (let i = 0; i < rows; i++) d[i * cols] = i
  for (let j = 0; j < cols; j++) d[j] = j
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let value = Math.min(
        d[(i - 1) * cols + j]! + 1, // deletion
        d[i * cols + j - 1]! + 1, // insertion
        d[(i - 1) * cols + j - 1]! + cost, // substitution
      )
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, d[(i - 2) * cols + j - 2]! + 1) // transposition
      }
      d[i * cols + j] = value
    }
  }
  return d[rows * cols - 1]!
}
