/**
 * The error type of a node's key material on disk and in memory (`src/node/keys`) and of the
 * epoch arithmetic (epoch.ts). It lives in src/protocol because epoch.ts, pure and below every
 * role, throws it too: an operator sees one `KEYS_*` family for a bad epoch length or genesis.
 *
 * Every `KeysError` is something an operator or the node's wiring must act on: a key file
 * that already exists, a state directory others can write to, a seed file that does not
 * verify, a tag log that cannot prove it is complete. Messages name files and epochs, never
 * key bytes.
 */
import { MixgateError } from '../errors.js'

export const KeysErrorCode = {
  /** `keygen` without `force` found key files already there. */
  EXISTS: 'KEYS_EXISTS',
  /** A key or seed file is readable by group or others, or its directory writable by them. */
  BAD_MODE: 'KEYS_BAD_MODE',
  /** A file this module wrote does not have the shape it writes (corrupt or foreign). */
  CORRUPT: 'KEYS_CORRUPT',
  /** A seed or key for an epoch the ratchet has already moved past (erased on purpose). */
  EPOCH_ERASED: 'KEYS_EPOCH_ERASED',
  /** A time before the schedule's genesis, or an epoch number out of range. */
  BAD_EPOCH: 'KEYS_BAD_EPOCH',
  /** An invalid option (epoch length, grace window, capacity). */
  BAD_OPTION: 'KEYS_BAD_OPTION',
  /** A tag log without proof that it holds every tag of its key (R2): discard the key. */
  TAG_LOG_INCOMPLETE: 'KEYS_TAG_LOG_INCOMPLETE',
  /** More tags than the log's capacity (the replay table's), or a log used after failing. */
  TAG_LOG_FULL: 'KEYS_TAG_LOG_FULL',
  /** A write or sync of the tag log failed: the circuits of its tags must not go on. */
  TAG_LOG_FAILED: 'KEYS_TAG_LOG_FAILED',
  /** Another live process holds the key dir's lock (dir-lock.ts). */
  DIR_LOCKED: 'KEYS_DIR_LOCKED',
  /** The key dir's lock could not be written (a full disk, a read-only mount): the node does not start. */
  DIR_WRITE_FAILED: 'KEYS_DIR_WRITE_FAILED',
  /** An object used after `close()`. */
  CLOSED: 'KEYS_CLOSED',
} as const

export type KeysErrorCode = typeof KeysErrorCode[keyof typeof KeysErrorCode]

export class KeysError extends MixgateError {
  declare readonly code: KeysErrorCode

  constructor (code: KeysErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
  }
}
