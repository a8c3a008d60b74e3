/**
 * The header of a datagram between an app and the front's UDP relay (RFC 1928 §7), pure:
 *
 *   RSV(2)=0 ‖ FRAG(1) ‖ ATYP(1) ‖ DST.ADDR ‖ DST.PORT(2, BE) ‖ DATA
 *
 * Toward the relay the address is the destination; from the relay, the source. We do not
 * reassemble fragments: as the RFC requires of such a server, a datagram whose FRAG is not 0
 * is dropped, as is one with RSV ≠ 0, an unknown ATYP, an empty name or one with bytes no
 * DNS name has, or port 0. Every read is bounds checked; `undefined` means "drop it".
 */
import { isIP } from 'node:net'
import { ipv6Bytes } from '../../protocol/relay-address.js'
import { Atyp } from './socks-constants.js'
import { formatIPv6 } from '../../base/ipv6-text.js'
import { isPlausibleHostname, type AddressKind } from './socks-request.js'

export interface UdpDatagram {
  readonly addressType: AddressKind
  readonly host: string
  readonly port: number
  /** A view into the datagram. */
  readonly payload: Uint8Array
}

export function decodeUdpDatagram (bytes: Uint8Array): UdpDatagram | undefined {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0) return undefined
  const atyp = bytes[3]
  let host: string
  let addressType: AddressKind
  let offset: number
  if (atyp === Atyp.IPV4) {
    if (bytes.length < 4 + 4 + 2) return undefined
    host = bytes.subarray(4, 8).join('.')
    addressType = 'ipv4'
    offset = 8
  } else if (atyp === Atyp.IPV6) {
    if (bytes.length < 4 + 16 + 2) return undefined
    host = formatIPv6(bytes.subarray(4, 20))
    addressType = 'ipv6'
    offset = 20
  } else if (atyp === Atyp.DOMAIN_NAME) {
    const length = bytes[4]
    if (length === undefined || length === 0 || bytes.length < 5 + length + 2) return undefined
    const name = bytes.subarray(5, 5 + length)
    if (!isPlausibleHostname(name)) return undefined
    host = Buffer.from(name).toString('latin1')
    addressType = 'hostname'
    offset = 5 + length
  } else {
    return undefined
  }
  const port = (bytes[offset]! << 8) | bytes[offset + 1]!
  if (port === 0) return undefined
  return { addressType, host, port, payload: bytes.subarray(offset + 2) }
}

/** A datagram for the app: `host` is an IP literal or a name (≤ 255 bytes, checked by the caller). */
export function encodeUdpDatagram (host: string, port: number, payload: Uint8Array): Buffer {
  const family = isIP(host)
  const address = family === 4
    ? Buffer.from([Atyp.IPV4, ...host.split('.').map(Number)])
    : family === 6
      ? Buffer.concat([Buffer.from([Atyp.IPV6]), ipv6Bytes(host)])
      : Buffer.concat([Buffer.from([Atyp.DOMAIN_NAME, Buffer.byteLength(host, 'latin1')]), Buffer.from(host, 'latin1')])
  return Buffer.concat([Buffer.from([0, 0, 0]), address, Buffer.from([port >>> 8, port & 0xff]), payload])
}
