/**
 * What a hop keeps per link from its predecessor (at the entry: per client link): the
 * circuits on it, the CREATEs it sent that wait for a later round, its CREATE budget, the
 * circuit IDs in quarantine, and its share of the round (input paused past a per-round cap).
 */
import type { CellLink } from '../link/cell-link.js'
import type { TokenBucket } from '../link/token-bucket.js'
import type { HopCircuit } from './hop-circuit.js'

/** A CREATE waiting for a later round's budget, and the cells that came after it on its ID. */
export interface CarriedCreate {
  readonly state: LinkState
  readonly inId: number
  readonly body: Uint8Array
  readonly after: Uint8Array[]
}

export interface LinkState {
  readonly link: CellLink
  readonly circuits: Map<number, HopCircuit>
  /** CREATEs from this link carried to a later round, by circuit ID. */
  readonly carried: Map<number, CarriedCreate>
  cellsThisRound: number
  paused: boolean
  /** Shaped: this round's backward cells for the link (reused every round). */
  readonly batch: Uint8Array[]
  /** Circuit IDs of circuits that ended here recently, and the round until which they stay unusable. */
  readonly quarantine: Map<number, number>
  /** The link's CREATE budget (null: unlimited). */
  readonly createBucket: TokenBucket | null
  /** When the link last had a circuit or a carried CREATE (entry: idle links are closed). */
  lastBusy: number
}

export function newLinkState (link: CellLink, createBucket: TokenBucket | null, now: number): LinkState {
  return {
    link,
    circuits: new Map(),
    carried: new Map(),
    cellsThisRound: 0,
    paused: false,
    batch: [],
    quarantine: new Map(),
    createBucket,
    lastBusy: now,
  }
}
