/**
 * From what the observer recorded to the figures of one profile: the attack's accuracy (and
 * chance), goodput and overhead. Pure: recordings in, numbers out.
 *
 * The observer's features are bytes per slot, both directions together: on a client link,
 * frames (fixed size, so frames × frame size); on an exit flow, payload bytes. Both
 * directions, because a download shows on the client link as frames down and as flow-control
 * cells up, and a client's uploads show the other way round. Slots are aligned to the
 * cascade's rounds (the round schedule is public) with their edges just before a round
 * boundary, as far as can be from the moments cells are sent (at a boundary, or a little late). Lags run both ways (a host's bytes reach the client
 * after the exit saw them; a client's reach the exit after the client sent them).
 */
import { linkFlows, linkingAccuracy, scoreMatrix, slotVolumes, type Observation } from './correlate.js'

export interface ObservedLink {
  readonly up: readonly Observation[]
  readonly down: readonly Observation[]
}

export interface ObservedFlow {
  /** Ground truth (the harness's, never the attack's). */
  readonly client: number
  readonly up: readonly Observation[]
  readonly down: readonly Observation[]
}

export interface AttackParams {
  /** The attack's slot (ms); a multiple of roundMs is sensible. */
  readonly slotMs: number
  /** Lags tried, in slots, each way. */
  readonly maxLag: number
  readonly seed: number
  /** Scores this close to a flow's best count as tied (default TIE_MARGIN). */
  readonly tieMargin?: number
  /** The cascade's round length, to align the slots. */
  readonly roundMs: number
}

export interface AttackResult {
  readonly flows: number
  readonly clients: number
  readonly accuracy: number
  readonly chance: number
  /**
   * The true client's standing among all k, averaged over flows: the share of the other
   * clients it outscores, ties (within the tie margin) counting half. 0.5 when the scores say
   * nothing about who opened a flow, 1 when the true client always scores best. Finer than
   * accuracy: a leak too small to win a flow still lifts the true client's rank.
   */
  readonly truthRank: number
  /**
   * The accuracy expected over the attack's tie-breaks: a flow whose best score is shared
   * (within the margin) by m clients, the true one among them, counts 1/m. `accuracy` is one
   * seeded draw of those tie-breaks; on a few dozen flows the draw alone moves it by about
   * ±0.05 (one standard deviation, measured over 300 seeds on strict runs at k = 8).
   */
  readonly expectedAccuracy: number
  /** Accuracy per workload of the flow's true client (kind → [right, flows]). */
  readonly byKind: Record<string, { right: number, flows: number }>
  /** For each flow, the true client and the guess. */
  readonly truth: number[]
  readonly guess: number[]
}

export interface Window {
  readonly startMs: number
  readonly endMs: number
}

/**
 * The slot grid: slots of `slotMs` whose edges sit a tenth of a round before a round boundary.
 * Cells leave at round boundaries and are only ever late (a busy event loop, a slow link),
 * never early, so an edge just before a boundary is the point farthest from every send.
 */
export function slotGrid (window: Window, slotMs: number, roundMs: number): { startMs: number, slots: number } {
  const startMs = Math.ceil(window.startMs / roundMs) * roundMs + roundMs - roundMs / 10
  return { startMs, slots: Math.max(0, Math.floor((window.endMs - startMs) / slotMs)) }
}

/**
 * Correlations closer than this are a tie. On shaped links, frames that a busy event loop sent
 * a few ms late and that crossed a slot edge move scores by 0.001–0.01; on unshaped ones a
 * right link usually wins by far more (median margin about 0.07 in our `off` runs).
 */
export const TIE_MARGIN = 0.01

function both (x: { readonly up: readonly Observation[], readonly down: readonly Observation[] }): Observation[] {
  return [...x.up, ...x.down]
}

export function runAttack (links: readonly ObservedLink[], flows: readonly ObservedFlow[], kinds: readonly string[], window: Window, params: AttackParams): AttackResult {
  const grid = slotGrid(window, params.slotMs, params.roundMs)
  const clientSeries = links.map((link) => slotVolumes(both(link), grid.startMs, params.slotMs, grid.slots))
  const flowSeries = flows.map((flow) => slotVolumes(both(flow), grid.startMs, params.slotMs, grid.slots))
  const truth = flows.map((flow) => flow.client)
  const score = scoreMatrix(clientSeries, flowSeries, params.maxLag, -params.maxLag)
  const margin = params.tieMargin ?? TIE_MARGIN
  const guess = flows.length === 0 ? [] : linkFlows(score, { oneToOne: false, seed: params.seed, tieMargin: margin }).clientOfFlow
  const byKind: Record<string, { right: number, flows: number }> = {}
  truth.forEach((c, f) => {
    const kind = kinds[c] ?? 'unknown'
    const entry = byKind[kind] ?? (byKind[kind] = { right: 0, flows: 0 })
    entry.flows++
    if (guess[f] === c) entry.right++
  })
  return {
    flows: flows.length,
    clients: links.length,
    accuracy: linkingAccuracy(guess, truth),
    chance: links.length === 0 ? 0 : 1 / links.length,
    truthRank: truthRank(score, truth, margin),
    expectedAccuracy: expectedAccuracy(score, truth, margin),
    byKind,
    truth,
    guess,
  }
}

/** See AttackResult.truthRank. */
export function truthRank (score: readonly (readonly number[])[], truth: readonly number[], margin: number): number {
  const others = score.length - 1
  if (truth.length === 0 || others < 1) return 0.5
  let sum = 0
  truth.forEach((c, f) => {
    const own = score[c]![f]!
    let standing = 0
    for (let o = 0; o < score.length; o++) {
      if (o === c) continue
      const theirs = score[o]![f]!
      standing += Math.abs(own - theirs) <= margin ? 0.5 : own > theirs ? 1 : 0
    }
    sum += standing / others
  })
  return sum / truth.length
}

/** See AttackResult.expectedAccuracy. */
export function expectedAccuracy (score: readonly (readonly number[])[], truth: readonly number[], margin: number): number {
  if (truth.length === 0 || score.length === 0) return 0
  let sum = 0
  truth.forEach((c, f) => {
    const best = Math.max(...score.map((row) => row[f]!))
    const tied = score.filter((row) => row[f]! >= best - margin).length
    if (score[c]![f]! >= best - margin) sum += 1 / tied
  })
  return sum / truth.length
}

export interface Costs {
  /** Payload bytes at the exit's flows (both directions) per second, all clients. */
  readonly goodputMBps: number
  readonly goodputPerClientKBps: number
  /** Bytes on all client links after their handshakes (both directions). */
  readonly linkBytes: number
  readonly payloadBytes: number
  /** linkBytes / payloadBytes: what a payload byte costs on the client links. */
  readonly overhead: number
  /** Cells per second per client link (both directions): link bytes / cell size, so batch overhead (34 bytes a batch) counts in. */
  readonly framesPerClientPerS: number
}

export function costs (links: readonly ObservedLink[], flows: readonly ObservedFlow[], window: Window, cellBytes: number): Costs {
  const inWindow = (o: Observation): boolean => o.atMs >= window.startMs && o.atMs < window.endMs
  const sum = (list: readonly Observation[]): number => list.reduce((total, o) => total + (inWindow(o) ? o.bytes : 0), 0)
  const linkBytes = links.reduce((total, link) => total + sum(link.up) + sum(link.down), 0)
  const payloadBytes = flows.reduce((total, flow) => total + sum(flow.up) + sum(flow.down), 0)
  const seconds = (window.endMs - window.startMs) / 1000
  const k = Math.max(1, links.length)
  return {
    goodputMBps: payloadBytes / seconds / 1e6,
    goodputPerClientKBps: payloadBytes / seconds / 1e3 / k,
    linkBytes,
    payloadBytes,
    overhead: payloadBytes === 0 ? Infinity : linkBytes / payloadBytes,
    framesPerClientPerS: linkBytes / cellBytes / seconds / k,
  }
}
