/**
 * Test helper: the app's side of SOCKS5 UDP ASSOCIATE (RFC 1928 §7), byte by byte: the
 * request on a TCP connection, the RFC's datagram header, and a DNS query (RFC 1035 §4.1)
 * to send through it with node:dgram.
 */
import type { Socket } from 'node:net'
import { TYPE_A } from '../exit/helpers/dns-server.js'
import { openSocket, SocketReader } from './raw-socks.js'

/** Greeting (no auth) and UDP ASSOCIATE for 0.0.0.0:0; the TCP connection stays open (the association's life). */
export async function rawAssociate (socksPort: number): Promise<{ control: Socket, reply: Buffer, relayPort: number }> {
  const control = await openSocket(socksPort)
  control.on('error', () => {})
  const reader = new SocketReader(control)
  control.write(Buffer.from([0x05, 0x01, 0x00]))
  await reader.read(2)
  control.write(Buffer.from([0x05, 0x03, 0x00, 0x01, 0, 0, 0, 0, 0, 0]))
  const reply = await reader.read(10)
  reader.detach()
  return { control, reply, relayPort: reply.readUInt16BE(8) }
}

/** RSV ‖ FRAG ‖ ATYP 1 ‖ 127.0.0.`last` ‖ port ‖ data. */
export function socksUdp (port: number, data: Buffer, { frag = 0, last = 1 } = {}): Buffer {
  return Buffer.concat([Buffer.from([0, 0, frag, 0x01, 127, 0, 0, last, port >>> 8, port & 0xff]), data])
}

/** A DNS query for `name`, type A, with `id`. */
export function dnsQuery (id: number, name: string): Buffer {
  const header = Buffer.from([id >>> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0])
  const labels = name.split('.').flatMap((label) => [Buffer.from([label.length]), Buffer.from(label)])
  return Buffer.concat([header, ...labels, Buffer.from([0, 0, TYPE_A, 0, 1])])
}
