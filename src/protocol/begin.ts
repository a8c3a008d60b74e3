/**
 * The body of a relay BEGIN: where the exit should connect, then optional first data.
 *
 *   atyp(1) ‖ address ‖ port(2, BE) ‖ earlyData(rest)
 *   atyp 1 = IPv4 (4 bytes) · 3 = hostname (length(1) 1..255 ‖ name) · 4 = IPv6 (16 bytes)
 *
 * The address form is relay-address.ts's (SOCKS5 numbering, shared with RESOLVE), so the
 * client passes what the app asked for straight through. Hostnames go to the exit
 * unresolved (DNS happens at the exit).
 */
import { ProtocolError, ProtocolErrorCode } from './errors.js'
import { decodeRelayAddress, encodeRelayAddress, type AddressType } from './relay-address.js'

export { AddressType, ipv6Bytes } from './relay-address.js'

export interface BeginTarget {
  readonly host: string
  readonly port: number
}

export interface DecodedBegin extends BeginTarget {
  readonly addressType: AddressType
  /** Optimistic data the app sent with its request (a view). */
  readonly earlyData: Uint8Array
}

/** Encode a BEGIN body: the address form is chosen from the host string. */
export function encodeBegin (target: BeginTarget, earlyData?: Uint8Array): Uint8Array {
  const { host, port } = target
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad('port must be 1..65535')
  const address = encodeRelayAddress(host)
  const out = new Uint8Array(address.length + 2 + (earlyData?.length ?? 0))
  out.set(address, 0)
  out[address.length] = port >>> 8
  out[address.length + 1] = port & 0xff
  if (earlyData !== undefined) out.set(earlyData, address.length + 2)
  return out
}

export function decodeBegin (body: Uint8Array): DecodedBegin {
  const address = decodeRelayAddress(body, 0, 'BEGIN')
  const offset = address.bytesRead
  if (body.length < offset + 2) throw bad('truncated BEGIN: no port')
  const port = (body[offset]! << 8) | body[offset + 1]!
  if (port === 0) throw bad('port 0')
  return { host: address.host, port, addressType: address.addressType, earlyData: body.subarray(offset + 2) }
}

function bad (message: string): ProtocolError {
  return new ProtocolError(ProtocolErrorCode.RELAY_BAD_ADDRESS, message)
}
