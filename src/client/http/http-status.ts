/**
 * What the HTTP CONNECT door answers, from the client's failure vocabulary (the SOCKS5 REP
 * codes every door shares; END reasons become REP codes in one place, socksReplyForEnd in
 * src/protocol/end-reason.ts, with Tor's table) to an HTTP status line and a one-line body.
 *
 * Like Tor's HTTPTunnelPort: `HTTP/1.0 200 OK` only once the exit has connected, and the
 * response is HTTP/1.0 so that nothing but the status line and its fields precede the tunnel.
 * Statuses follow RFC 9110's gateway semantics: a refusal by the exit's policy is 403, a
 * timeout 504, a destination refused, unreachable or unresolvable 502. (Tor's own table,
 * end_reason_to_http_connect_response_line, differs in places, e.g. 404 for a failed resolve
 * and 403 for a refused connection, as recalled and not checked here; ours keeps 4xx for
 * what the app asked wrong and 5xx for what failed beyond the proxy.) Bodies say what
 * happened, never where: no destination, no address (R19).
 */
import { Rep } from '../socks/index.js'

export interface HttpStatus {
  readonly status: number
  readonly reason: string
  /** One line for people, sent as the text body. */
  readonly message: string
}

const BAD_GATEWAY = 'Bad Gateway'

/** The status for a failure REP (0x01..0xFF) given by reject(). */
export function httpStatusForRep (rep: number): HttpStatus {
  switch (rep) {
    case Rep.NOT_ALLOWED: return { status: 403, reason: 'Forbidden', message: 'the exit\'s policy does not allow this destination' }
    case Rep.NETWORK_UNREACHABLE: return { status: 502, reason: BAD_GATEWAY, message: 'the exit cannot reach that network' }
    case Rep.HOST_UNREACHABLE: return { status: 502, reason: BAD_GATEWAY, message: 'the exit could not resolve or reach that host' }
    case Rep.CONNECTION_REFUSED: return { status: 502, reason: BAD_GATEWAY, message: 'the destination refused the connection' }
    case Rep.TTL_EXPIRED: return { status: 504, reason: 'Gateway Timeout', message: 'no answer through the cascade in time' }
    case Rep.ADDRESS_TYPE_NOT_SUPPORTED: return { status: 400, reason: 'Bad Request', message: 'this destination cannot be carried through the cascade' }
    default: return { status: 502, reason: BAD_GATEWAY, message: 'the stream could not be opened through the cascade' }
  }
}

const REASONS: Readonly<Record<number, string>> = {
  400: 'Bad Request', 405: 'Method Not Allowed', 408: 'Request Timeout', 431: 'Request Header Fields Too Large',
  502: BAD_GATEWAY, 503: 'Service Unavailable', 505: 'HTTP Version Not Supported',
}

/** The reason phrase of a status the door sends on its own (errors before the request is whole). */
export function reasonPhrase (status: number): string {
  return REASONS[status] ?? 'Error'
}

/** The tunnel is open: nothing follows but the destination's bytes. */
export function encodeConnected (): Buffer {
  return Buffer.from('HTTP/1.0 200 OK\r\n\r\n', 'latin1')
}

/** A failure response; the connection is closed after it. 405 names the one method served. */
export function encodeFailure (status: number, reason: string, message: string): Buffer {
  const body = `mixgate: ${message}\n`
  const allow = status === 405 ? 'Allow: CONNECT\r\n' : ''
  return Buffer.from(`HTTP/1.0 ${status} ${reason}\r\n${allow}Content-Type: text/plain; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`, 'utf8')
}
