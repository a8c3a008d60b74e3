/**
 * The shaping of the measured cascade: each profile's defaults (DEFAULT_SHAPING) scaled down
 * so that one two-core machine can carry k shaped clients, their cover and the cascade.
 *
 * What changes is only the time scale and the cost: shorter slots and circuit lives, so that
 * a run of tens of seconds sees circuits created, used and replaced; fewer circuits and
 * slower rates, so that k clients' cover fits the CPU (every cover cell costs crypto at the
 * client and at every hop). The structure a profile promises — exact cells per round per
 * circuit, rates changed only at slot boundaries, circuits only at creation slots — is the
 * profile's own, untouched.
 */
import { DEFAULT_SHAPING, type ShapingParams, type ShapingProfile } from '../src/protocol/shaping.js'

export interface LabShapingOptions {
  /** Round length of the lab cascade (default 20 ms). */
  readonly roundMs?: number
  /** Rounds per slot (default 50: one-second slots at 20 ms rounds). */
  readonly roundsPerSlot?: number
}

export const LAB_ROUND_MS = 20

/**
 * Rates in millicells per round per circuit. strict: one cell every two rounds (25 cells/s at
 * 20 ms rounds, about 47 KB/s of payload per circuit); elastic: a ladder up to four times that.
 */
const LAB_RATES: Readonly<Record<ShapingProfile, readonly number[]>> = {
  off: [],
  strict: [500],
  elastic: [100, 250, 1000, 2000],
}

export function labShaping (profile: ShapingProfile, options: LabShapingOptions = {}): ShapingParams {
  const roundMs = options.roundMs ?? LAB_ROUND_MS
  const base = DEFAULT_SHAPING[profile]
  return {
    ...base,
    ratesMilli: [...LAB_RATES[profile]],
    slotMs: roundMs * (options.roundsPerSlot ?? 50),
    circuits: 2,
    // One new circuit every eight slots; each lives sixteen. Shorter lives cut the bulk
    // downloads (a circuit's end ends its streams, and elastic starts at its slow rung): with
    // four-slot lives two thirds of elastic's requests failed.
    circuitSlots: 16,
    kMin: 1,
    createHoldRounds: 5,
    loopsPerSlot: 2,
    loopJitterRounds: 4,
  }
}
