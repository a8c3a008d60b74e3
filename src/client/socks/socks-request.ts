/**
 * Our own decoder for the SOCKS5 request (RFC 1928 §4), pure and incremental.
 *
 *   VER(1)=5 ‖ CMD(1) ‖ RSV(1)=0 ‖ ATYP(1) ‖ DST.ADDR ‖ DST.PORT(2, BE)
 *   ATYP 1: 4 bytes · 3: LEN(1) 1..255 ‖ name · 4: 16 bytes
 *
 * Why not socksv5's request parser (lib/server.parser.js, which we do use for the greeting):
 * it formats IPv6 addresses wrongly (each byte in hex without zero padding, so 2001:db8::1
 * becomes "201:db8:00:…", a different address; pinned by test/client/socks/socksv5-limits),
 * accepts a domain name of length 0 and a non-zero RSV byte, and on an unknown command or
 * address type it only emits an untyped Error, so no REP 0x07/0x08 could follow. A request is
 * at most 262 bytes, so the decoder is small and its caller can bound what it holds.
 *
 * `decodeRequest(bytes)` returns `undefined` while more bytes are needed, `{ value, bytesRead }`
 * once a request is complete (bytes after it are the app's early data), and throws a
 * `SocksError` carrying the REP to answer with when the request can never become valid.
 */
import { formatIPv6 } from '../../base/ipv6-text.js'
import { Atyp, Command, Rep, SOCKS_VERSION } from './socks-constants.js'
import { SocksError, SocksErrorCode } from './socks-error.js'

/** VER, CMD, RSV, ATYP, LEN, 255 name bytes, port. */
export const MAX_REQUEST_BYTES = 4 + 1 + 255 + 2

export type AddressKind = 'ipv4' | 'ipv6' | 'hostname'

export interface SocksRequest {
  /** The CMD byte as sent; the caller serves CONNECT, RESOLVE, RESOLVE_PTR and UDP ASSOCIATE. */
  readonly command: number
  readonly addressType: AddressKind
  /** Dotted quad, RFC 5952 IPv6 text, or the name exactly as the app sent it (unresolved). */
  readonly host: string
  /** 1..65535; 0 only for RESOLVE, RESOLVE_PTR and UDP ASSOCIATE. */
  readonly port: number
}

export interface Decoded<T> {
  readonly value: T
  readonly bytesRead: number
}

export function decodeRequest (bytes: Uint8Array): Decoded<SocksRequest> | undefined {
  if (bytes.length < 1) return undefined
  if (bytes[0] !== SOCKS_VERSION) {
    throw new SocksError(SocksErrorCode.BAD_VERSION, `request has SOCKS version ${bytes[0]}, expected 5`, { rep: Rep.GENERAL_FAILURE })
  }
  if (bytes.length < 4) return undefined
  const command = bytes[1]!
  if (bytes[2] !== 0) {
    throw new SocksError(SocksErrorCode.MALFORMED, 'request reserved byte is not 0', { rep: Rep.GENERAL_FAILURE })
  }
  const atyp = bytes[3]!
  let addressOffset: number
  let addressLength: number
  if (atyp === Atyp.IPV4) {
    addressOffset = 4
    addressLength = 4
  } else if (atyp === Atyp.IPV6) {
    addressOffset = 4
    addressLength = 16
  } else if (atyp === Atyp.DOMAIN_NAME) {
    if (bytes.length < 5) return undefined
    addressOffset = 5
    addressLength = bytes[4]!
    if (addressLength === 0) {
      throw new SocksError(SocksErrorCode.MALFORMED, 'request has an empty domain name', { rep: Rep.GENERAL_FAILURE })
    }
  } else {
    // The length of an unknown address is unknowable: answer now, the rest is never read.
    throw new SocksError(SocksErrorCode.ADDRESS_TYPE_UNSUPPORTED, `request address type ${atyp} is not supported`, { rep: Rep.ADDRESS_TYPE_NOT_SUPPORTED })
  }
  const portOffset = addressOffset + addressLength
  const bytesRead = portOffset + 2
  if (bytes.length < bytesRead) return undefined

  const address = bytes.subarray(addressOffset, portOffset)
  const port = (bytes[portOffset]! << 8) | bytes[portOffset + 1]!
  // RESOLVE and RESOLVE_PTR have no use for the port (tor-resolve sends 0); UDP ASSOCIATE
  // names the app's own port, 0 when it does not know it yet (RFC 1928 §7).
  if (port === 0 && command !== Command.RESOLVE && command !== Command.RESOLVE_PTR && command !== Command.UDP_ASSOCIATE) {
    throw new SocksError(SocksErrorCode.BAD_ADDRESS, 'request asks for port 0', { rep: Rep.GENERAL_FAILURE })
  }
  let host: string
  let addressType: AddressKind
  if (atyp === Atyp.IPV4) {
    host = address.join('.')
    addressType = 'ipv4'
  } else if (atyp === Atyp.IPV6) {
    host = formatIPv6(address)
    addressType = 'ipv6'
  } else {
    if (!isPlausibleHostname(address)) {
      throw new SocksError(SocksErrorCode.BAD_ADDRESS, 'request domain name has bytes no DNS name has', { rep: Rep.GENERAL_FAILURE })
    }
    host = Buffer.from(address).toString('latin1')
    addressType = 'hostname'
  }
  return { value: { command, addressType, host, port }, bytesRead }
}

/**
 * Letters, digits, '-', '_', '.': the rule relay BEGIN applies (src/protocol/begin.ts), checked
 * here so that the app gets a clear refusal instead of a stream that fails later. Apps send
 * internationalised names as punycode; control bytes, spaces and non-ASCII never name a host.
 */
export function isPlausibleHostname (name: Uint8Array): boolean {
  for (const byte of name) {
    const ok = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) ||
      byte === 0x2d || byte === 0x2e || byte === 0x5f
    if (!ok) return false
  }
  return true
}
