/**
 * The cascade parameters a hop config sets (cell size, round, epoch schedule), as the node
 * signs them in its descriptor and as they must match the cascade's.
 */
import type { CascadeParams } from '../directory/descriptor.js'
import type { EpochSchedule } from '../protocol/epoch.js'
import type { ShapingParams } from '../protocol/shaping.js'
import { epochSchedule } from '../protocol/epoch.js'

export interface HopParamFields {
  readonly cellSize: number
  readonly roundMs: number
  readonly epochS: number
  readonly genesis: number
  readonly shaping: ShapingParams
}

export const PARAM_FIELDS = ['cellSize', 'roundMs', 'epochS', 'genesis', 'shaping'] as const

export function paramsOfConfig (config: HopParamFields): CascadeParams {
  return { cellSize: config.cellSize, roundMs: config.roundMs, epochS: config.epochS, genesis: config.genesis, shaping: config.shaping }
}

export function scheduleOfConfig (config: HopParamFields): EpochSchedule {
  return epochSchedule({ epochS: config.epochS, genesisS: config.genesis })
}
