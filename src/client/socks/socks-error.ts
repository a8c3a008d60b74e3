/**
 * The one error type of the SOCKS front door, with stable codes.
 *
 * A `SocksError` reported for a connection always means that connection, and only that one,
 * was closed; the front keeps serving everyone else. When the error happened at request time,
 * `rep` is the RFC 1928 REP code that was sent to the app before closing (the wire reason,
 * as yamux's protocol errors carry their GoAway code). Messages never name a destination or
 * a client address (DESIGN-REVIEW R19).
 */
import { MixgateError } from '../../errors.js'

export const SocksErrorCode = {
  /** The first byte of the greeting or of the request was neither 4 nor 5 (or not 5 in a SOCKS5 request). */
  BAD_VERSION: 'SOCKS_BAD_VERSION',
  /** A SOCKS4 user ID or SOCKS4a host name longer than 255 bytes (no NUL in time). */
  FIELD_TOO_LONG: 'SOCKS_FIELD_TOO_LONG',
  /** A field broke the grammar: empty method list, reserved byte not 0, empty name, a SOCKS4 user ID that is not UTF-8. */
  MALFORMED: 'SOCKS_MALFORMED',
  /** The app offered no method this front has enabled. */
  NO_ACCEPTABLE_METHOD: 'SOCKS_NO_ACCEPTABLE_METHOD',
  /** The username/password subnegotiation (RFC 1929) was malformed or not UTF-8. */
  AUTH_FAILED: 'SOCKS_AUTH_FAILED',
  /** BIND or an unknown command, or UDP ASSOCIATE or RESOLVE where it is not served (REP 0x07). */
  COMMAND_UNSUPPORTED: 'SOCKS_COMMAND_UNSUPPORTED',
  /** An ATYP other than IPv4, domain name, IPv6 (REP 0x08). */
  ADDRESS_TYPE_UNSUPPORTED: 'SOCKS_ADDRESS_TYPE_UNSUPPORTED',
  /** Well-formed but unusable destination: port 0, or a name with bytes no DNS name has. */
  BAD_ADDRESS: 'SOCKS_BAD_ADDRESS',
  /** The app closed or reset its connection before its request was complete. */
  TRUNCATED: 'SOCKS_TRUNCATED',
  /** The app did not finish its greeting and request within `handshakeTimeoutMs`. */
  HANDSHAKE_TIMEOUT: 'SOCKS_HANDSHAKE_TIMEOUT',
  /** The `onConnect` handler threw or its promise rejected (the app got REP 0x01). */
  HANDLER_FAILED: 'SOCKS_HANDLER_FAILED',
  /** accept()/reject() called twice, or reject() with a REP that is not a failure code. */
  INVALID_USE: 'SOCKS_INVALID_USE',
  /** Constructor options that cannot work. */
  CONFIG: 'SOCKS_CONFIG',
  /** The listening socket could not be opened, or failed while accepting. */
  LISTEN_FAILED: 'SOCKS_LISTEN_FAILED',
} as const

export type SocksErrorCode = typeof SocksErrorCode[keyof typeof SocksErrorCode]

export class SocksError extends MixgateError {
  declare readonly code: SocksErrorCode
  /** The REP code sent to the app because of this error, if a reply was sent. */
  readonly rep: number | undefined

  constructor (code: SocksErrorCode, message: string, options?: { rep?: number, cause?: unknown, detail?: string }) {
    super(code, message, options)
    this.rep = options?.rep
  }
}
