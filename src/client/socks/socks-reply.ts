/**
 * The bytes the front door sends to an app: method selection, RFC 1929 status, replies.
 *
 * Every reply to a CONNECT is the full 10-byte form of RFC 1928 §6 with BND.ADDR 0.0.0.0 and
 * BND.PORT 0, whatever the outcome: the app learns the REP code and nothing else, never an
 * address the exit resolved or connected from (DESIGN-REVIEW R20). The one exception is the
 * answer to a RESOLVE or RESOLVE_PTR, which is what the app asked for (encodeResolveReply).
 */
import { isIP } from 'node:net'
import { ipv6Bytes } from '../../protocol/relay-address.js'
import { Atyp, Rep, SOCKS_VERSION, USER_PASS_VERSION, UserPassStatus } from './socks-constants.js'
import { SocksError, SocksErrorCode } from './socks-error.js'
import { isPlausibleHostname } from './socks-request.js'

export const REPLY_BYTES = 10

/** VER ‖ REP ‖ RSV 0 ‖ ATYP IPv4 ‖ 0.0.0.0 ‖ port 0. */
export function encodeReply (rep: number): Buffer {
  const reply = Buffer.alloc(REPLY_BYTES)
  reply[0] = SOCKS_VERSION
  reply[1] = rep
  reply[3] = Atyp.IPV4
  return reply
}

/**
 * The success reply to RESOLVE or RESOLVE_PTR, as Tor sends it: VER ‖ 0x00 ‖ RSV ‖ ATYP ‖
 * BND.ADDR ‖ BND.PORT 0, where ATYP and BND.ADDR carry the answer: an IPv4 (1) or IPv6 (4)
 * literal, or a name (3, length-prefixed, 1..255 bytes of a DNS name). Anything else is a
 * caller's mistake (SOCKS_INVALID_USE): nothing unchecked reaches the app. With `port`, the
 * same form is UDP ASSOCIATE's reply: the relay's address and port (RFC 1928 §7).
 */
export function encodeResolveReply (address: string, port = 0): Buffer {
  let body: Buffer
  const family = isIP(address)
  if (family === 4) body = Buffer.from([Atyp.IPV4, ...address.split('.').map(Number)])
  else if (family === 6) body = Buffer.concat([Buffer.from([Atyp.IPV6]), ipv6Bytes(address)])
  else {
    const name = Buffer.from(address, 'latin1')
    if (name.length === 0 || name.length > 255 || !isPlausibleHostname(name) || name.toString('latin1') !== address) {
      throw new SocksError(SocksErrorCode.INVALID_USE, 'a RESOLVE answer must be an IP literal or a DNS name of 1..255 bytes')
    }
    body = Buffer.concat([Buffer.from([Atyp.DOMAIN_NAME, name.length]), name])
  }
  return Buffer.concat([Buffer.from([SOCKS_VERSION, Rep.SUCCEEDED, 0x00]), body, Buffer.from([port >>> 8, port & 0xff])])
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
