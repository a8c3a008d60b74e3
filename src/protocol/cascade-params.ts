/**
 * The cascade parameters: what every hop and client of one cascade must share, beyond its
 * hops — the cell size, the round length, the onion-key epoch schedule and the traffic
 * shaping. One type, carried from config files and descriptors (which sign it, src/directory)
 * to the hops and the client (issue #11: it was restated in five shapes).
 *
 * Like the geometry (geometry.ts), which it extends with time: the geometry follows from
 * `cellSize` and the hop count, the round and slot clocks from `roundMs` and `shaping`, the
 * epochs from `epochS` and `genesis`. The JSON form is src/directory/cascade-params-json.ts.
 */
import { epochSchedule, type EpochSchedule } from './epoch.js'
import { Geometry } from './geometry.js'
import type { ShapingParams } from './shaping.js'

export interface CascadeParams {
  /** CELL: bytes of every cell (geometry.ts). */
  readonly cellSize: number
  /** Round length in ms: hops batch and send once a round. */
  readonly roundMs: number
  /** Onion-key epoch length in seconds (docs/KEYS.md §2). */
  readonly epochS: number
  /** Unix time (seconds) at which epoch 0 starts. */
  readonly genesis: number
  /** Traffic shaping (shaping.ts); every party follows it. */
  readonly shaping: ShapingParams
}

/** The field names, in the order descriptors sign them (docs/KEYS.md §5.2). */
export const CASCADE_PARAM_NAMES = ['cellSize', 'roundMs', 'epochS', 'genesis', 'shaping'] as const

/** Exactly the parameters of anything that carries them (a hop config, a parsed descriptor). */
export function cascadeParamsOf (source: CascadeParams): CascadeParams {
  return { cellSize: source.cellSize, roundMs: source.roundMs, epochS: source.epochS, genesis: source.genesis, shaping: source.shaping }
}

/** The epoch schedule the parameters describe. */
export function scheduleOf (params: Pick<CascadeParams, 'epochS' | 'genesis'>): EpochSchedule {
  return epochSchedule({ epochS: params.epochS, genesisS: params.genesis })
}

/** The geometry of a cascade of `hops` hops under these parameters (throws ProtocolError if it has none). */
export function cascadeGeometry (params: Pick<CascadeParams, 'cellSize'>, hops: number): Geometry {
  return new Geometry({ cellSize: params.cellSize, hops })
}
