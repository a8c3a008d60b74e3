/**
 * The bytes the front door sends to an app: method selection, RFC 1929 status, replies.
 *
 * Every reply is the full 10-byte form of RFC 1928 §6 with BND.ADDR 0.0.0.0 and BND.PORT 0,
 * whatever the outcome: the app learns the REP code and nothing else, never an address the
 * exit resolved or connected from (DESIGN-REVIEW R20).
 */
import { Atyp, SOCKS_VERSION, USER_PASS_VERSION, UserPassStatus } from './socks-constants.js'

export const REPLY_BYTES = 10

/** VER ‖ REP ‖ RSV 0 ‖ ATYP IPv4 ‖ 0.0.0.0 ‖ port 0. */
export function encodeReply (rep: number): Buffer {
  const reply = Buffer.alloc(REPLY_BYTES)
  reply[0] = SOCKS_VERSION
  reply[1] = rep
  reply[3] = Atyp.IPV4
  return reply
}

/** The server's choice of method (RFC 1928 §3); NO_ACCEPTABLE tells the app to close. */
export function encodeMethodSelection (method: number): Buffer {
  return Buffer.from([SOCKS_VERSION, method])
}

/** A failed RFC 1929 subnegotiation: the RFC says the server then closes the connection. */
export function encodeUserPassFailure (): Buffer {
  return Buffer.from([USER_PASS_VERSION, UserPassStatus.FAILURE])
}

/** A well-formed RFC 1929 request: any credentials are an isolation key, never refused. */
export function encodeUserPassSuccess (): Buffer {
  return Buffer.from([USER_PASS_VERSION, UserPassStatus.SUCCESS])
}
