/**
 * The body of a relay DATAGRAM (PROTOCOL.md §7.3): one UDP datagram of a SOCKS UDP ASSOCIATE.
 *
 *   DATAGRAM = atyp(1) ‖ address ‖ port(2, BE) ‖ payload(rest, may be empty)
 *
 * Forward (client → exit) the address is the destination, as the app named it (a hostname
 * goes unresolved: the exit resolves it); backward (exit → client) it is the source, named as
 * the client named it when the datagram answers one it sent there. The address form is
 * relay-address.ts's; port 0 is refused. A datagram is never split: one datagram, one cell.
 */
import { ProtocolError, ProtocolErrorCode } from './errors.js'
import { decodeRelayAddress, encodeRelayAddress, type AddressType } from './relay-address.js'

export interface DatagramPeer {
  readonly host: string
  readonly port: number
}

export interface DecodedDatagram extends DatagramPeer {
  readonly addressType: AddressType
  /** The datagram's bytes (a view). */
  readonly payload: Uint8Array
}

export function encodeDatagram (peer: DatagramPeer, payload: Uint8Array): Uint8Array {
  if (!Number.isInteger(peer.port) || peer.port < 1 || peer.port > 65535) throw bad('port must be 1..65535')
  const address = encodeRelayAddress(peer.host)
  const out = new Uint8Array(address.length + 2 + payload.length)
  out.set(address, 0)
  out[address.length] = peer.port >>> 8
  out[address.length + 1] = peer.port & 0xff
  out.set(payload, address.length + 2)
  return out
}

export function decodeDatagram (body: Uint8Array): DecodedDatagram {
  const address = decodeRelayAddress(body, 0, 'DATAGRAM')
  const offset = address.bytesRead
  if (body.length < offset + 2) throw bad('truncated DATAGRAM: no port')
  const port = (body[offset]! << 8) | body[offset + 1]!
  if (port === 0) throw bad('port 0')
  return { host: address.host, port, addressType: address.addressType, payload: body.subarray(offset + 2) }
}

function bad (message: string): ProtocolError {
  return new ProtocolError(ProtocolErrorCode.RELAY_BAD_ADDRESS, message)
}
