/**
 * Our codec for SOCKS4 and SOCKS4a requests and replies, pure and incremental.
 *
 *   VN(1)=4 ‖ CD(1) ‖ DSTPORT(2, BE) ‖ DSTIP(4) ‖ USERID ‖ NUL              (SOCKS4)
 *   … DSTIP = 0.0.0.x with x ≠ 0 … ‖ USERID ‖ NUL ‖ HOSTNAME ‖ NUL          (SOCKS4a)
 *   reply: VN(1)=0 ‖ CD(1) 0x5A granted / 0x5B rejected ‖ DSTPORT(2) ‖ DSTIP(4)
 *
 * socksv5 speaks SOCKS5 only, so this is ours. The user ID and the host name end with a NUL
 * and have no length byte: each is capped at 255 bytes (as a SOCKS5 name or RFC 1929 user
 * name), so a request is at most 8 + 256 + 256 bytes, and a sender that never sends its NUL
 * is refused as soon as the cap is passed, not held on to. Every read is bounds checked
 * against what has arrived. The user ID is the isolation key (Tor uses it as the SOCKS
 * username), so it must be valid UTF-8, for the reason user-pass.ts gives; an empty one means
 * no credentials, as curl and most tools send it.
 *
 * Replies carry port 0 and address 0.0.0.0 whatever the outcome, as the SOCKS5 replies do
 * (socks-reply.ts): the app learns granted or rejected and nothing else. SOCKS4 has no finer
 * failure, so every failure REP (the client's vocabulary, socks-constants.ts) becomes 0x5B.
 *
 * `decodeSocks4Request(bytes)` returns `undefined` while more bytes are needed, `{ value,
 * bytesRead }` once a request is complete (bytes after it are the app's early data), and
 * throws a `SocksError` carrying the REP to answer with when it can never become valid.
 */
import { isIPv4 } from 'node:net'
import { Command, Rep, SOCKS4_REPLY_VERSION, SOCKS4_VERSION, Socks4Reply } from './socks-constants.js'
import { SocksError, SocksErrorCode } from './socks-error.js'
import { isPlausibleHostname, type Decoded, type SocksRequest } from './socks-request.js'

/** The longest user ID or host name accepted, in bytes (its NUL not counted). */
export const MAX_SOCKS4_FIELD_BYTES = 255
/** VN, CD, port, address, then two NUL-terminated fields at their longest. */
export const MAX_SOCKS4_REQUEST_BYTES = 8 + 2 * (MAX_SOCKS4_FIELD_BYTES + 1)
export const SOCKS4_REPLY_BYTES = 8

export interface Socks4Request extends SocksRequest {
  /** Whether the name came SOCKS4a-style (0.0.0.x and a host name); false: an IPv4 address. */
  readonly socks4a: boolean
  /** The user ID; undefined when it was empty. */
  readonly userId: string | undefined
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

export function decodeSocks4Request (bytes: Uint8Array): Decoded<Socks4Request> | undefined {
  if (bytes.length < 1) return undefined
  if (bytes[0] !== SOCKS4_VERSION) {
    throw failure(SocksErrorCode.BAD_VERSION, `request has SOCKS version ${bytes[0]}, expected 4`)
  }
  if (bytes.length < 8) return undefined
  const command = bytes[1]!
  const port = (bytes[2]! << 8) | bytes[3]!
  const ip = bytes.subarray(4, 8)
  const userIdEnd = findNul(bytes, 8, 'user ID')
  if (userIdEnd === undefined) return undefined
  const userId = decodeUserId(bytes.subarray(8, userIdEnd))
  // SOCKS4a: 0.0.0.x with x ≠ 0 is an address no host has; it says "a name follows".
  const socks4a = ip[0] === 0 && ip[1] === 0 && ip[2] === 0 && ip[3] !== 0
  let host: string
  let bytesRead: number
  if (socks4a) {
    const nameEnd = findNul(bytes, userIdEnd + 1, 'host name')
    if (nameEnd === undefined) return undefined
    const name = bytes.subarray(userIdEnd + 1, nameEnd)
    if (name.length === 0) throw failure(SocksErrorCode.MALFORMED, 'SOCKS4a request has an empty host name')
    if (!isPlausibleHostname(name)) throw failure(SocksErrorCode.BAD_ADDRESS, 'SOCKS4a host name has bytes no DNS name has')
    host = Buffer.from(name).toString('latin1')
    bytesRead = nameEnd + 1
  } else {
    host = ip.join('.')
    bytesRead = userIdEnd + 1
  }
  // RESOLVE (Tor's 0xF0, which tor-resolve -4 sends over SOCKS4a) has no use for the port.
  if (port === 0 && command !== Command.RESOLVE) throw failure(SocksErrorCode.BAD_ADDRESS, 'request asks for port 0')
  return {
    value: { command, addressType: socks4a ? 'hostname' : 'ipv4', host, port, socks4a, userId },
    bytesRead,
  }
}

/**
 * The bytes of a request (for tests and tools; the front only decodes). `host` is an IPv4
 * dotted quad (SOCKS4) or a name (SOCKS4a); `userId` is sent as given, '' if undefined.
 */
export function encodeSocks4Request (request: { command: number, host: string, port: number, userId?: string }): Buffer {
  const quad = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(request.host)
  const octets = quad === null ? [0, 0, 0, 1] : quad.slice(1).map(Number)
  const head = Buffer.from([SOCKS4_VERSION, request.command, request.port >>> 8, request.port & 0xff, ...octets])
  const userId = Buffer.concat([Buffer.from(request.userId ?? '', 'utf8'), Buffer.from([0])])
  const name = quad === null ? Buffer.concat([Buffer.from(request.host, 'latin1'), Buffer.from([0])]) : Buffer.alloc(0)
  return Buffer.concat([head, userId, name])
}

/** VN 0 ‖ CD ‖ port 0 ‖ 0.0.0.0: granted for REP 0x00, rejected for any failure REP. */
export function encodeSocks4Reply (rep: number): Buffer {
  const reply = Buffer.alloc(SOCKS4_REPLY_BYTES)
  reply[0] = SOCKS4_REPLY_VERSION
  reply[1] = rep === Rep.SUCCEEDED ? Socks4Reply.GRANTED : Socks4Reply.REJECTED
  return reply
}

/**
 * The reply to a RESOLVE over SOCKS4a, as Tor sends it: granted, with the IPv4 answer in
 * DSTIP (port 0). SOCKS4 has no room for an IPv6 address or a name: undefined (the caller
 * refuses the request instead).
 */
export function encodeSocks4Answer (address: string): Buffer | undefined {
  if (!isIPv4(address)) return undefined
  const reply = encodeSocks4Reply(Rep.SUCCEEDED)
  address.split('.').forEach((octet, i) => { reply[4 + i] = Number(octet) })
  return reply
}

/**
 * The index of the NUL ending the field that starts at `start`; undefined if it has not
 * arrived yet; a SOCKS_FIELD_TOO_LONG error once more than 255 bytes came without one.
 */
function findNul (bytes: Uint8Array, start: number, what: string): number | undefined {
  const limit = Math.min(bytes.length, start + MAX_SOCKS4_FIELD_BYTES + 1)
  for (let i = start; i < limit; i++) if (bytes[i] === 0) return i
  if (bytes.length > start + MAX_SOCKS4_FIELD_BYTES) {
    throw failure(SocksErrorCode.FIELD_TOO_LONG, `SOCKS4 ${what} is longer than ${MAX_SOCKS4_FIELD_BYTES} bytes`)
  }
  return undefined
}

function decodeUserId (bytes: Uint8Array): string | undefined {
  if (bytes.length === 0) return undefined
  try {
    return strictUtf8.decode(bytes)
  } catch (err) {
    throw new SocksError(SocksErrorCode.MALFORMED, 'SOCKS4 user ID is not valid UTF-8', { cause: err, rep: Rep.GENERAL_FAILURE })
  }
}

function failure (code: SocksErrorCode, message: string): SocksError {
  return new SocksError(code, message, { rep: Rep.GENERAL_FAILURE })
}
