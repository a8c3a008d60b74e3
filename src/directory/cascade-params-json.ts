/**
 * The cascade parameters (src/protocol/cascade-params.ts) as JSON: the one encode/decode pair
 * that node descriptors, cascade descriptors, hop config files and the unsigned cascade file
 * share. The five fields sit at the top level of each of those objects, so the decoder is a
 * set of field specs to spread into the object's spec, and `cascadeParamsOf` (src/protocol)
 * picks the result.
 *
 *   "cellSize": 2048, "roundMs": 10, "epochS": 3600, "genesis": 0, "shaping": { … (shaping-json.ts) }
 *
 * Descriptors give every field (what is signed never depends on a default); config files may
 * leave any out and take the defaults below (docs/KEYS.md §5.2).
 */
import { int, type Spec } from '../base/schema.js'
import { DEFAULT_EPOCH_S, DEFAULT_GENESIS_S } from '../protocol/epoch.js'
import type { CascadeParams } from '../protocol/cascade-params.js'
import { DEFAULT_CELL_BYTES, MAX_CELL_BYTES, MIN_CELL_BYTES } from '../protocol/geometry.js'
import { DEFAULT_SHAPING_PROFILE, type ShapingParams } from '../protocol/shaping.js'
import { shapingField, shapingSpec, shapingToJson, type ShapingJson } from './shaping-json.js'

/** The parameters as JSON: the shaping object in its explicit form (shaping-json.ts). */
export interface CascadeParamsJson {
  readonly cellSize: number
  readonly roundMs: number
  readonly epochS: number
  readonly genesis: number
  readonly shaping: ShapingJson
}

/** The defaults of a config file that leaves a parameter out. */
export const DEFAULT_PARAMS = { cellSize: DEFAULT_CELL_BYTES, roundMs: 10, epochS: DEFAULT_EPOCH_S, genesis: DEFAULT_GENESIS_S } as const

/** The largest round: ten seconds. */
const MAX_ROUND_MS = 10_000
/** Descriptors sign epochS as 32 bits (descriptor.ts `writeParams`). */
const MAX_EPOCH_S = 0xffff_ffff

type ParamSpecs = { readonly [K in keyof CascadeParams]: Spec<CascadeParams[K]> }

/** The decoder, part 1: the field specs, every field required (descriptors). */
export const cascadeParamFields = {
  cellSize: int({ min: MIN_CELL_BYTES, max: MAX_CELL_BYTES }),
  roundMs: int({ min: 1, max: MAX_ROUND_MS }),
  epochS: int({ min: 1, max: MAX_EPOCH_S }),
  genesis: int({ min: 0 }),
  shaping: shapingSpec,
} satisfies ParamSpecs

/** The same field specs with the config defaults; `shaping` defaults to `profile`'s parameters. */
export function cascadeParamFieldsWithDefaults (profile: ShapingParams['profile'] = DEFAULT_SHAPING_PROFILE) {
  return {
    cellSize: int({ min: MIN_CELL_BYTES, max: MAX_CELL_BYTES, default: DEFAULT_PARAMS.cellSize }),
    roundMs: int({ min: 1, max: MAX_ROUND_MS, default: DEFAULT_PARAMS.roundMs }),
    epochS: int({ min: 1, max: MAX_EPOCH_S, default: DEFAULT_PARAMS.epochS }),
    genesis: int({ min: 0, default: DEFAULT_PARAMS.genesis }),
    shaping: shapingField(profile),
  } satisfies ParamSpecs
}

/** The encoder: the five fields, shaping written in full. */
export function cascadeParamsToJson (params: CascadeParams): CascadeParamsJson {
  return { cellSize: params.cellSize, roundMs: params.roundMs, epochS: params.epochS, genesis: params.genesis, shaping: shapingToJson(params.shaping) }
}
