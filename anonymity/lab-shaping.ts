/**
 * The shaping of the measured cascade: by default what the product ships — `mixgate up`'s
 * round length (DEFAULT_PARAMS.roundMs) and each profile's DEFAULT_SHAPING (rates, slot,
 * circuits, loops) — read from the same constants, with one change: circuit lives. Shipped
 * circuits live 300 slots (10 minutes); a lab run lasts tens of seconds, so lab circuits live
 * LAB_CIRCUIT_LIFE_MS, long enough that a bulk download is not cut by its circuit's end
 * (with four one-second slots two thirds of elastic's requests failed), short enough that a
 * run sees circuits created and replaced. docs/ANONYMITY.md lists the differences.
 *
 * Any parameter can be overridden (npm run anonymity flags). QUICK_LAB is the scaled-down set
 * the lab used before (20 ms rounds, 1 s slots, 2 circuits, slower rates): cheaper, so the
 * seeded adversary test (test/anonymity) keeps it to run in under a minute on a loaded machine.
 */
import { DEFAULT_PARAMS } from '../src/directory/cascade-params-json.js'
import { DEFAULT_SHAPING, type ShapingParams, type ShapingProfile } from '../src/protocol/shaping.js'

/** The shipped round length (`mixgate up --round-ms` and the config's default). */
export const SHIPPED_ROUND_MS: number = DEFAULT_PARAMS.roundMs

/** At least this long a lab circuit lives (the shipped life would outlast any run). */
export const LAB_CIRCUIT_LIFE_MS = 16_000

export interface LabShapingOptions {
  /** Round length of the lab cascade (default: shipped). */
  readonly roundMs?: number
  /** Any shaping parameter in place of the shipped default (rates per profile below). */
  readonly overrides?: Partial<Omit<ShapingParams, 'profile' | 'ratesMilli'>>
  /** Rates per profile in place of the shipped ones, millicells per round per circuit. */
  readonly ratesMilli?: Partial<Record<ShapingProfile, readonly number[]>>
}

/**
 * The former lab defaults, kept for quick runs: 20 ms rounds, 1 s slots, 2 circuits of 16
 * slots, strict at one cell every two rounds and elastic up to four times that, holding
 * CREATEs 5 rounds, 2 loops per slot.
 */
export const QUICK_LAB: Required<LabShapingOptions> = {
  roundMs: 20,
  overrides: { slotMs: 1_000, circuits: 2, circuitSlots: 16, createHoldRounds: 5, loopsPerSlot: 2, loopJitterRounds: 4 },
  ratesMilli: { strict: [500], elastic: [100, 250, 1000, 2000] },
}

/** The smallest multiple of `circuits` slots that lasts LAB_CIRCUIT_LIFE_MS. */
export function labCircuitSlots (slotMs: number, circuits: number): number {
  return Math.ceil(LAB_CIRCUIT_LIFE_MS / slotMs / circuits) * circuits
}

/** The lab's round length for `options` (shipped unless overridden). */
export const labRoundMs = (options: LabShapingOptions = {}): number => options.roundMs ?? SHIPPED_ROUND_MS

export function labShaping (profile: ShapingProfile, options: LabShapingOptions = {}): ShapingParams {
  const roundMs = labRoundMs(options)
  const base = DEFAULT_SHAPING[profile]
  const o = options.overrides ?? {}
  // A slot is a whole number of rounds, as `mixgate up` makes it (upShaping).
  const slotMs = Math.max(roundMs, Math.round((o.slotMs ?? base.slotMs) / roundMs) * roundMs)
  const circuits = o.circuits ?? base.circuits
  return {
    ...base,
    ...o,
    ratesMilli: [...(options.ratesMilli?.[profile] ?? base.ratesMilli)],
    slotMs,
    circuits,
    circuitSlots: o.circuitSlots ?? labCircuitSlots(slotMs, circuits),
  }
}
