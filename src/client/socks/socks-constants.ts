/**
 * The byte values of SOCKS5 (RFC 1928) and of its username/password subnegotiation
 * (RFC 1929) that the front door reads and writes, named as the RFCs name them.
 */

export const SOCKS_VERSION = 0x05

/** VN of a SOCKS4/4a request; its reply's VN is 0 (SOCKS4 protocol text, SOCKS4A note). */
export const SOCKS4_VERSION = 0x04
export const SOCKS4_REPLY_VERSION = 0x00
/** CD values of a SOCKS4 reply: the protocol has no finer failure than "rejected". */
export const Socks4Reply = {
  GRANTED: 0x5a,
  REJECTED: 0x5b,
} as const

/** METHOD values of the greeting and of the server's method selection (RFC 1928 §3). */
export const Method = {
  NO_AUTH: 0x00,
  USER_PASS: 0x02,
  NO_ACCEPTABLE: 0xff,
} as const

/**
 * CMD values of a request (RFC 1928 §4), the same for SOCKS4's CD, and Tor's two extensions
 * (socks-extensions.txt §2): RESOLVE asks for a name's address, RESOLVE_PTR for an address's
 * name; both are answered in the reply's BND.ADDR. CONNECT and RESOLVE are served on both
 * versions, UDP_ASSOCIATE and RESOLVE_PTR on SOCKS5; BIND nowhere.
 */
export const Command = {
  CONNECT: 0x01,
  BIND: 0x02,
  UDP_ASSOCIATE: 0x03,
  RESOLVE: 0xf0,
  RESOLVE_PTR: 0xf1,
} as const

/** ATYP values of a request (RFC 1928 §4). */
export const Atyp = {
  IPV4: 0x01,
  DOMAIN_NAME: 0x03,
  IPV6: 0x04,
} as const

/**
 * REP values of a reply (RFC 1928 §6). 0x09..0xFF are unassigned (Tor uses 0xF0..0xF7).
 * They are also the client's one vocabulary for why a stream failed, whichever door the app
 * came through: END reasons become REP codes in one place (socksReplyForEnd), and the
 * SOCKS4 and HTTP doors translate REP codes to their own replies (socks4-request.ts,
 * http/http-status.ts).
 */
export const Rep = {
  SUCCEEDED: 0x00,
  GENERAL_FAILURE: 0x01,
  NOT_ALLOWED: 0x02,
  NETWORK_UNREACHABLE: 0x03,
  HOST_UNREACHABLE: 0x04,
  CONNECTION_REFUSED: 0x05,
  TTL_EXPIRED: 0x06,
  COMMAND_NOT_SUPPORTED: 0x07,
  ADDRESS_TYPE_NOT_SUPPORTED: 0x08,
} as const

/** VER of the username/password subnegotiation and its STATUS values (RFC 1929 §2). */
export const USER_PASS_VERSION = 0x01
export const UserPassStatus = {
  SUCCESS: 0x00,
  FAILURE: 0x01,
} as const
