/**
 * The one error type of the HTTP CONNECT front door, with stable codes.
 *
 * As with SocksError: an error reported for a connection means that connection, and only
 * that one, was closed; the front serves everyone else on. `status` is the HTTP status sent
 * to the app before closing, when one was sent. Messages never name a destination or a
 * client address (DESIGN-REVIEW R19).
 */
import { MixgateError } from '../../errors.js'

export const HttpFrontErrorCode = {
  /** A request line or header line that breaks RFC 9112's grammar, or a bad CONNECT target (400). */
  MALFORMED: 'HTTP_MALFORMED',
  /** Any method but CONNECT: this is a tunnel, not a full HTTP proxy (405). */
  METHOD_NOT_ALLOWED: 'HTTP_METHOD_NOT_ALLOWED',
  /** An HTTP version other than 1.0 and 1.1 (505). */
  VERSION_UNSUPPORTED: 'HTTP_VERSION_UNSUPPORTED',
  /** The request head did not end within MAX_HEAD_BYTES (431). */
  HEAD_TOO_LARGE: 'HTTP_HEAD_TOO_LARGE',
  /** Proxy-Authorization that is not one well-formed Basic credential (400). */
  BAD_CREDENTIALS: 'HTTP_BAD_CREDENTIALS',
  /** The app closed or reset its connection before its request head was complete. */
  TRUNCATED: 'HTTP_TRUNCATED',
  /** The app did not finish its request head within `handshakeTimeoutMs` (408). */
  HANDSHAKE_TIMEOUT: 'HTTP_HANDSHAKE_TIMEOUT',
  /** The `onConnect` handler threw or its promise rejected (the app got 502). */
  HANDLER_FAILED: 'HTTP_HANDLER_FAILED',
  /** accept()/reject() called twice, or reject() with a REP that is not a failure code. */
  INVALID_USE: 'HTTP_INVALID_USE',
  /** Constructor options that cannot work. */
  CONFIG: 'HTTP_CONFIG',
  /** The listening socket could not be opened, or failed while accepting. */
  LISTEN_FAILED: 'HTTP_LISTEN_FAILED',
} as const

export type HttpFrontErrorCode = typeof HttpFrontErrorCode[keyof typeof HttpFrontErrorCode]

export class HttpFrontError extends MixgateError {
  declare readonly code: HttpFrontErrorCode
  /** The HTTP status sent to the app because of this error, if a response was sent. */
  readonly status: number | undefined

  constructor (code: HttpFrontErrorCode, message: string, options?: { status?: number, cause?: unknown, detail?: string }) {
    super(code, message, options)
    this.status = options?.status
  }
}
