/**
 * Why a node or cascade descriptor was refused (DESIGN "Cascade descriptor", R15, R22).
 *
 * One class, one stable `code` per reason, plus where: `field` is the JSON path of the
 * offending value (`hops[2].linkKey`) and `hop` the 1-based position for cascade checks.
 * Messages name fields, hops, epochs and times, never key bytes.
 */
import { MixgateError } from '../errors.js'

export const DescriptorErrorCode = {
  /** Not JSON, not UTF-8, or a field missing, unknown, of the wrong type or out of range. */
  MALFORMED: 'DESCRIPTOR_MALFORMED',
  /** A node's signature does not verify over its body (something was changed). */
  BAD_SIGNATURE: 'DESCRIPTOR_BAD_SIGNATURE',
  /** Signed by a key other than the one pinned for that node. */
  IDENTITY_MISMATCH: 'DESCRIPTOR_IDENTITY_MISMATCH',
  /** `validUntil` has passed. */
  EXPIRED: 'DESCRIPTOR_EXPIRED',
  /** Published (or the keys start) later than now: future-dated, or this clock is slow. */
  NOT_YET_VALID: 'DESCRIPTOR_NOT_YET_VALID',
  /** No onion key for the current epoch: the newest one listed is older. */
  EPOCH_KEY_EXPIRED: 'DESCRIPTOR_EPOCH_KEY_EXPIRED',
  /** Onion keys not consecutive, or not for the epochs around the publication time. */
  BAD_EPOCH_KEYS: 'DESCRIPTOR_BAD_EPOCH_KEYS',
  /** Older epoch keys than a descriptor already accepted (R22). */
  ROLLBACK: 'DESCRIPTOR_ROLLBACK',
  /** Roles out of order: the mixes, then exactly one exit, last. */
  BAD_ORDER: 'DESCRIPTOR_BAD_ORDER',
  /** The same node (identity, link key or address) twice in one cascade. */
  DUPLICATE_NODE: 'DESCRIPTOR_DUPLICATE_NODE',
  /** A hop signed other cascade parameters (cell size, round, epochs, shaping) than the cascade's. */
  PARAMS_MISMATCH: 'DESCRIPTOR_PARAMS_MISMATCH',
} as const

export type DescriptorErrorCode = typeof DescriptorErrorCode[keyof typeof DescriptorErrorCode]

export class DescriptorError extends MixgateError {
  declare readonly code: DescriptorErrorCode
  /** JSON path of the value at fault, when there is one. */
  readonly field: string | undefined
  /** 1-based hop position, for problems with one hop of a cascade. */
  readonly hop: number | undefined

  constructor (code: DescriptorErrorCode, message: string, options: { field?: string, hop?: number, cause?: unknown } = {}) {
    super(code, message, { cause: options.cause })
    this.field = options.field
    this.hop = options.hop
  }
}
