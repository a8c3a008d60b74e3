/**
 * Why a link failed or closed: `LinkError` and its stable codes.
 *
 * A link never emits Node's 'error' event (an unhandled one would crash the process); every
 * failure is delivered as the reason of its 'close' event, as the rejection of `dialLink`, or
 * through a listener's `onReject`. Messages never name the peer's address or keys (R19).
 */
import { MixgateError } from '../errors.js'

export const LinkErrorCode = {
  /** A batch header or body did not authenticate (tampering, garbage, or desynchronised nonces). */
  AUTH_FAILED: 'LINK_AUTH_FAILED',
  /** An authenticated batch header announced a cell count outside 1..maxCellsPerBatch (refused before its body is read). */
  BAD_BATCH: 'LINK_BAD_BATCH',
  /** The handshake did not complete within handshakeTimeoutMs (includes the TCP connect when dialling). */
  HANDSHAKE_TIMEOUT: 'LINK_HANDSHAKE_TIMEOUT',
  /** The handshake was refused: bad message, wrong prologue or keys, peer closed mid-handshake. */
  HANDSHAKE_FAILED: 'LINK_HANDSHAKE_FAILED',
  /** KK responder: message 1 did not prove the pinned initiator static key (docs/PROTOCOL.md §8.5). */
  PEER_NOT_ALLOWED: 'LINK_PEER_NOT_ALLOWED',
  /** The peer closed the connection, or our listener shut down. */
  CLOSED: 'LINK_CLOSED',
  /** A batch was started but not completed within frameTimeoutMs. */
  FRAME_TIMEOUT: 'LINK_FRAME_TIMEOUT',
  /** An authenticated link-control cell (circuit 0, command 255) was not a well-formed REKEY, or not its batch's last cell. */
  BAD_CONTROL: 'LINK_BAD_CONTROL',
  /** A direction's nonce reached 2^64-1 (reserved by Noise): the link closes before one could repeat. */
  NONCE_EXHAUSTED: 'LINK_NONCE_EXHAUSTED',
  /** The socket reported an error (reset, broken pipe). */
  SOCKET_ERROR: 'LINK_SOCKET_ERROR',
  /** The TCP connection could not be opened. */
  CONNECT_FAILED: 'LINK_CONNECT_FAILED',
  /** The listening socket could not be opened. */
  LISTEN_FAILED: 'LINK_LISTEN_FAILED',
  /** send() got a cell that is not exactly cellSize bytes (a programming error, thrown). */
  BAD_CELL_SIZE: 'LINK_BAD_CELL_SIZE',
  /** dialLink/listenLinks got unusable options (thrown or rejected at once). */
  BAD_OPTIONS: 'LINK_BAD_OPTIONS',
} as const

export type LinkErrorCode = typeof LinkErrorCode[keyof typeof LinkErrorCode]

export class LinkError extends MixgateError {
  declare readonly code: LinkErrorCode

  constructor (code: LinkErrorCode, message: string, options?: { cause?: unknown, detail?: string }) {
    super(code, message, options)
  }
}
