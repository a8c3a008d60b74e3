/**
 * What `mixgate up` tells a user to expect of each shaping profile, printed at start (issue
 * #13): first byte of a new connection and one download's rate, as `npm run bench` measured
 * them on a 2-core machine with the whole cascade on it (docs/BENCH.md), and the one limit a
 * user meets without looking for it: a stream lives no longer than its circuit under shaping.
 * Figures to be read as an order of magnitude: a cascade of separate hosts adds its links'
 * round trips; a busier machine is slower.
 */
import type { ShapingProfile } from '../../protocol/shaping.js'

export const EXPECTATIONS: Readonly<Record<ShapingProfile, string>> = {
  off: 'expect: a new connection answers in ≈ 20 ms, a download ≈ 40–50 MB/s; rounds only, no cover (weaker: --shaping elastic is the default)',
  elastic: 'expect: a new connection answers in ≈ 0.05 s, a download ≈ 5–20 MB/s once climbed; a stream ends with its circuit (after 24 s to 10 min)',
  strict: 'expect: a new connection answers in ≈ 0.05 s, ≈ 0.2 MB/s per circuit whatever you do; a stream ends with its circuit (after 24 s to 10 min)',
}
