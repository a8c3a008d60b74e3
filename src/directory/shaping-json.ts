/**
 * Shaping parameters as JSON, in node and cascade descriptors and in config files:
 *
 *   "shaping": { "profile": "elastic", "rates": [0.2, 1, 2, 8, 32, 64, 128], "slotMs": 2000,
 *                "circuits": 12, "circuitSlots": 300, "kMin": 1, "createHoldRounds": 100,
 *                "loopsPerSlot": 4, "loopJitterRounds": 8, "clientRate": 128 }
 *
 * Every field but `profile` may be left out and takes that profile's default
 * (src/protocol/shaping.ts); descriptors are always written with every field, so what is
 * signed never depends on a default. Rates (`rates`, `clientRate`) are cells per round with at
 * most three decimals.
 */
import { MixgateError } from '../errors.js'
import { z } from 'zod'
import { int, mapped, obj, oneOf, says, withDefault, type Spec } from '../base/schema.js'
import { checkShaping, DEFAULT_SHAPING, MAX_RUNGS, MILLI, SHAPING_PROFILES, type ShapingParams } from '../protocol/shaping.js'

/**
 * The most any shaping integer may be: descriptors sign these fields as 32-bit integers
 * (descriptor.ts `writeParams`), so a larger value must be refused here, as malformed, before
 * a verifier tries to encode it (found by the fuzzer: it threw a RangeError instead).
 * checkShaping then applies the tighter, meaningful limits with its own messages.
 */
const U32_MAX = 0xffff_ffff

/** A rate in cells per round, as millicells (0.1 → 100); at most three decimals. */
const rateProblem = (input: unknown): string =>
  `must be a number of cells per round, at least 0.001 with at most three decimals, got ${JSON.stringify(input)}`
const rateSpec: Spec<number> = mapped(z.number(says(rateProblem)), (input, refuse) => {
  const milli = Math.round(input * MILLI)
  if (Math.abs(input * MILLI - milli) > 1e-6 || milli < 1 || milli > U32_MAX) refuse(rateProblem(input))
  return milli
})

const ratesSpec: Spec<number[]> = z.array(rateSpec, says((input) => `expected an array of rates, got ${JSON.stringify(input)}`))
  .max(MAX_RUNGS, says((input) => `at most ${MAX_RUNGS} rates, got ${(input as unknown[]).length}`))

const fieldsSpec = obj({
  profile: oneOf(SHAPING_PROFILES),
  rates: ratesSpec,
  slotMs: int({ min: 1, max: U32_MAX }),
  circuits: int({ min: 1, max: U32_MAX }),
  circuitSlots: int({ min: 1, max: U32_MAX }),
  kMin: int({ min: 1, max: U32_MAX }),
  createHoldRounds: int({ min: 0, max: U32_MAX }),
  loopsPerSlot: int({ min: 0, max: U32_MAX }),
  loopJitterRounds: int({ min: 0, max: U32_MAX }),
  clientRate: rateSpec,
}, { optional: ['rates', 'slotMs', 'circuits', 'circuitSlots', 'kMin', 'createHoldRounds', 'loopsPerSlot', 'loopJitterRounds', 'clientRate'] })

/**
 * The `shaping` object: the profile's defaults filled in. Whether the values fit the
 * cascade's round length is checked by `checkShapingFor` once that is known.
 */
export const shapingSpec: Spec<ShapingParams> = mapped(fieldsSpec, (fields) => {
  const base = DEFAULT_SHAPING[fields.profile]
  return {
    profile: fields.profile,
    ratesMilli: fields.rates ?? base.ratesMilli,
    slotMs: fields.slotMs ?? base.slotMs,
    circuits: fields.circuits ?? base.circuits,
    circuitSlots: fields.circuitSlots ?? base.circuitSlots,
    kMin: fields.kMin ?? base.kMin,
    createHoldRounds: fields.createHoldRounds ?? base.createHoldRounds,
    loopsPerSlot: fields.loopsPerSlot ?? base.loopsPerSlot,
    loopJitterRounds: fields.loopJitterRounds ?? base.loopJitterRounds,
    clientRateMilli: fields.clientRate ?? base.clientRateMilli,
  }
})

/** A spec for a `shaping` field that defaults to `profile`'s parameters when absent. */
export function shapingField (profile: ShapingParams['profile']): Spec<ShapingParams> {
  return withDefault(shapingSpec, { profile })
}

/** The explicit JSON form (every field), as descriptors carry it. */
export function shapingToJson (params: ShapingParams): ShapingJson {
  return {
    profile: params.profile,
    rates: params.ratesMilli.map((milli) => milli / MILLI),
    slotMs: params.slotMs,
    circuits: params.circuits,
    circuitSlots: params.circuitSlots,
    kMin: params.kMin,
    createHoldRounds: params.createHoldRounds,
    loopsPerSlot: params.loopsPerSlot,
    loopJitterRounds: params.loopJitterRounds,
    clientRate: params.clientRateMilli / MILLI,
  }
}

export interface ShapingJson {
  readonly profile: ShapingParams['profile']
  readonly rates?: readonly number[]
  readonly slotMs?: number
  readonly circuits?: number
  readonly circuitSlots?: number
  readonly kMin?: number
  readonly createHoldRounds?: number
  readonly loopsPerSlot?: number
  readonly loopJitterRounds?: number
  readonly clientRate?: number
}

/** Whether two parameter sets are the same (a cascade's hops must all sign the same). */
export function sameShaping (a: ShapingParams, b: ShapingParams): boolean {
  return a.profile === b.profile && a.slotMs === b.slotMs && a.circuits === b.circuits && a.circuitSlots === b.circuitSlots &&
    a.kMin === b.kMin && a.createHoldRounds === b.createHoldRounds && a.loopsPerSlot === b.loopsPerSlot &&
    a.loopJitterRounds === b.loopJitterRounds && a.clientRateMilli === b.clientRateMilli && a.ratesMilli.length === b.ratesMilli.length && a.ratesMilli.every((r, i) => r === b.ratesMilli[i])
}

/** checkShaping's verdict as a message naming the field, or undefined when fine. */
export function shapingProblem (params: ShapingParams, roundMs: number): string | undefined {
  try {
    checkShaping(params, roundMs)
    return undefined
  } catch (err) {
    if (err instanceof MixgateError) return err.message
    throw err
  }
}
