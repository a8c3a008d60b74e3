/**
 * A hop's rounds (docs/PROTOCOL.md §11.1, §12; docs/HOP.md "Rounds"): what runs at each tick
 * of the round clock, and what the round machinery keeps per circuit. Unshaped
 * (unshaped-rounds.ts) a round releases whatever arrived; shaped (shaped-rounds.ts) every
 * circuit carries its schedule. The hop picks one at construction, from the cascade's profile.
 */
import type { CellLink } from '../link/cell-link.js'
import type { EpochSchedule } from '../protocol/epoch.js'
import type { RoundObserver } from './hop-metrics.js'
import type { Geometry } from '../protocol/geometry.js'
import type { ForwardOutput } from './forward-output.js'
import type { HopCircuit } from './hop-circuit.js'
import type { HopStats } from './hop-stats.js'
import type { Interleaver } from './interleave.js'
import type { LinkState, PredecessorLinks } from './predecessor-link.js'

/** What the rounds use of the hop core (hop-core.ts implements it; the rounds never import it). */
export interface RoundsHost {
  readonly stats: HopStats
  readonly geometry: Geometry
  readonly position: number
  readonly roundMs: number
  readonly maxQueuedCells: number
  readonly output: ForwardOutput
  readonly links: PredecessorLinks
  readonly interleaver: Interleaver
  readonly keySchedule: EpochSchedule
  readonly roundObserver: RoundObserver | undefined
  /** Set once the hop stops: nothing more leaves. */
  readonly roundsStopped: boolean
  releaseHeld (circuit: HopCircuit): void
  endCircuit (circuit: HopCircuit): void
  overQueue (circuit: HopCircuit): void
  pushBackward (circuit: HopCircuit, item: Uint8Array): void
  sendBackward (link: CellLink, cells: Uint8Array[], span?: number): void
  afterRelease (): void
  /** An exception escaped from work on peers' input (counted, logged; the hop goes on). */
  faulted (where: string, err: unknown, circuit: HopCircuit | undefined): void
}

export interface HopRounds {
  /** The number of the last round run (shaped: counted from the Unix epoch; −1 before the first, and always unshaped). */
  readonly lastRound: number
  /** Whether an accepted CREATE waits in the kMin hold once its tag is durable (shaped, kMin > 1). */
  readonly holdsCreates: boolean
  /** At the hop's forward phase of round `n` (from the Unix epoch): release the forward cells, then the round's CREATE and tag work. */
  runForward (n: number): void
  /** At the hop's backward phase of round `n`: release the backward cells. */
  runBackward (n: number): void
  /**
   * A predecessor link's write of round `wireRound` (modulo 2^32) has all arrived, carrying the
   * schedule of `span` rounds before it too (shaped: may release early and carry those rounds on, arrival-gate.ts).
   */
  forwardArrived (state: LinkState, wireRound: number, span: number): void
  /** The successor's write of round `wireRound` (modulo 2^32), carrying `span` rounds before it, has all arrived. */
  backwardArrived (wireRound: number, span: number): void
  /** A predecessor link is gone: it owes no round any more. */
  linkGone (state: LinkState): void
  /** A CREATE is being accepted in `round`: shaped, the circuit gets its schedule. */
  shapeCircuit (circuit: HopCircuit, round: number): void
  /** The circuit was accepted in `round` (its epoch is known): shaped, its lifetime end; counted for its slot. */
  accepted (circuit: HopCircuit, round: number): void
  /** Its tag is durable: true if it joined the kMin hold (which releases it later), false if it goes on now. */
  hold (circuit: HopCircuit, round: number): boolean
  /**
   * Queue a backward item of a live circuit (`inner`: successor's body, exit payload, or null
   * for a PAD). `cell`, when given, is a cell of ours that `inner` lies in (the successor's
   * cell whose body it is, or the exit's cell with the payload built at the sealer's
   * BACKWARD_INNER_OFFSET): unshaped, it is sealed in place and becomes the outgoing cell.
   */
  queueBackward (circuit: HopCircuit, inner: Uint8Array | null, cell?: Uint8Array): void
  /** Backward cells sealed while the circuit awaited its tag join the next round. */
  releaseBackward (circuit: HopCircuit, cells: readonly Uint8Array[]): void
  /**
   * Silence a circuit ended early (R5): true if it now keeps its schedule until its end
   * (shaped), false if it must end now (unshaped).
   */
  silence (circuit: HopCircuit): boolean
}
