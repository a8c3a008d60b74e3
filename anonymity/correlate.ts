/**
 * The flow-correlation attack of `npm run anonymity` (issue #5): what a global passive observer
 * does with what it sees — frame times and sizes on every client's link to the entry, and the
 * exit's TCP flows to hosts — to say which client opened which flow.
 *
 *   1. Cut every observation into volumes per slot (bytes in each `slotMs` window).
 *   2. Score each (client, flow) pair by the Pearson correlation of their volume series, the
 *      best over a few slots of lag (the cascade delays cells by some rounds).
 *   3. Link: each flow to its best-scoring client, or — when there are as many flows as
 *      clients — the best one-to-one matching (assignment.ts).
 *
 * Shaping makes every client's series the same constant; a constant series has no
 * correlation with anything (score 0), every pair ties, and the attack is left guessing.
 * Ties are broken by a seeded shuffle (and, flow by flow, a seeded draw among the tied
 * clients), never by input order: an attack whose guesses follow the order clients and flows
 * were listed in would "find" whatever order the harness used.
 */
import { bestAssignment } from './assignment.js'

export interface Observation {
  /** When the observer saw it, in ms. */
  readonly atMs: number
  readonly bytes: number
}

/** Bytes seen in each of `slots` windows of `slotMs` from `startMs`; observations outside are ignored. */
export function slotVolumes (observations: readonly Observation[], startMs: number, slotMs: number, slots: number): Float64Array {
  if (!(slotMs > 0) || !Number.isInteger(slots) || slots < 0) throw new RangeError('slotMs must be > 0 and slots a non-negative integer')
  const volumes = new Float64Array(slots)
  for (const { atMs, bytes } of observations) {
    const slot = Math.floor((atMs - startMs) / slotMs)
    if (slot >= 0 && slot < slots) volumes[slot]! += bytes
  }
  return volumes
}

/** Pearson correlation of a[i] and b[i + lag] over their overlap; 0 if either side is constant. */
export function pearson (a: Float64Array, b: Float64Array, lag = 0): number {
  const n = Math.min(a.length, b.length - lag)
  if (n < 2) return 0
  let sa = 0; let sb = 0
  for (let i = 0; i < n; i++) { sa += a[i]!; sb += b[i + lag]! }
  const ma = sa / n
  const mb = sb / n
  let cov = 0; let va = 0; let vb = 0
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma
    const db = b[i + lag]! - mb
    cov += da * db; va += da * da; vb += db * db
  }
  // Relative thresholds: a series equal up to float rounding counts as constant.
  if (va <= 1e-12 * (ma * ma * n + 1) || vb <= 1e-12 * (mb * mb * n + 1)) return 0
  return cov / Math.sqrt(va * vb)
}

/**
 * score[c][f]: the best correlation of client c with flow f over lags minLag..maxLag slots. A
 * positive lag has the flow after the client (what the client sends reaches the exit later);
 * a negative one has the flow first (what a host sends reaches the client later).
 */
export function scoreMatrix (clients: readonly Float64Array[], flows: readonly Float64Array[], maxLag = 2, minLag = 0): number[][] {
  if (!Number.isInteger(minLag) || !Number.isInteger(maxLag) || minLag > maxLag) throw new RangeError('lags must be integers with minLag <= maxLag')
  return clients.map((client) => flows.map((flow) => {
    let best = 0
    for (let lag = minLag; lag <= maxLag; lag++) best = Math.max(best, lag >= 0 ? pearson(client, flow, lag) : pearson(flow, client, -lag))
    return best
  }))
}

export interface Linking {
  /** For each flow, the client the attack says opened it. */
  readonly clientOfFlow: number[]
}

/**
 * Link flows to clients. With `oneToOne` (needs as many flows as clients) the best global
 * matching; otherwise each flow's best client, where clients within `tieMargin` (default 0)
 * of the best count as tied. Ties fall to a shuffle and draws seeded by `seed`.
 */
export function linkFlows (score: readonly (readonly number[])[], options: { oneToOne: boolean, seed: number, tieMargin?: number }): Linking {
  const clients = score.length
  const flows = clients === 0 ? 0 : score[0]!.length
  const random = mulberry32(options.seed)
  const clientOrder = shuffled(clients, random)
  const flowOrder = shuffled(flows, random)
  // The attack sees rows and columns in a random order, so a tie goes to a random pair.
  const permuted = clientOrder.map((c) => flowOrder.map((f) => score[c]![f]!))
  const clientOfFlow = new Array<number>(flows).fill(-1)
  if (options.oneToOne) {
    if (flows !== clients) throw new RangeError(`one-to-one linking needs as many flows as clients, got ${flows} and ${clients}`)
    bestAssignment(permuted).forEach((f, c) => { clientOfFlow[flowOrder[f]!] = clientOrder[c]! })
  } else {
    // Each flow breaks its own ties: one shared order would hand every tied flow to the
    // same client, so the accuracy on shaped traffic would swing with that client's share
    // of flows instead of being a fair 1/k guess per flow. Scores within `tieMargin` of the
    // best tie too: a difference that small is timing noise, not evidence, and noise shared
    // by overlapping flows would otherwise send them all to one client together.
    const margin = options.tieMargin ?? 0
    if (!(margin >= 0)) throw new RangeError('tieMargin must be >= 0')
    for (let f = 0; f < flows; f++) {
      let best = -Infinity
      for (let c = 0; c < clients; c++) best = Math.max(best, permuted[c]![f]!)
      let who = -1; let tied = 0
      for (let c = 0; c < clients; c++) {
        if (permuted[c]![f]! >= best - margin && random() * ++tied < 1) who = c
      }
      clientOfFlow[flowOrder[f]!] = clientOrder[who]!
    }
  }
  return { clientOfFlow }
}

/** The share of flows linked to the client that really opened them. */
export function linkingAccuracy (clientOfFlow: readonly number[], truth: readonly number[]): number {
  if (clientOfFlow.length !== truth.length) throw new RangeError('one guess per flow is needed')
  if (truth.length === 0) return 0
  let right = 0
  for (let i = 0; i < truth.length; i++) if (clientOfFlow[i] === truth[i]) right++
  return right / truth.length
}

/** A small seeded PRNG (mulberry32): the attack's tie-breaking must be reproducible. */
export function mulberry32 (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

function shuffled (n: number, random: () => number): number[] {
  const order = Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const tmp = order[i]!; order[i] = order[j]!; order[j] = tmp
  }
  return order
}
