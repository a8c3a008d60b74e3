/**
 * The error type of the hop's building blocks (`src/hop`, shared by the mix and the exit).
 * The name and the `MIX_*` codes are older than the split and stay: codes are stable.
 *
 * These are programming or configuration errors (a bad option, a tag of the wrong length, a
 * circuit label out of range), never reactions to what a peer sent: a hop refuses a peer's
 * cell by return value (`'replay'`, `'full'`), not by throwing.
 */
import { MixgateError } from '../errors.js'

export const MixErrorCode = {
  BAD_OPTION: 'MIX_BAD_OPTION',
  BAD_TAG: 'MIX_BAD_TAG',
  BAD_LABEL: 'MIX_BAD_LABEL',
  BAD_ARGUMENT: 'MIX_BAD_ARGUMENT',
  CLOCK_RUNNING: 'MIX_CLOCK_RUNNING',
} as const

export type MixErrorCode = typeof MixErrorCode[keyof typeof MixErrorCode]

export class MixError extends MixgateError {
  declare readonly code: MixErrorCode

  constructor (code: MixErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
  }
}
