/**
 * DATAGRAM bodies (src/protocol/datagram.ts, PROTOCOL.md §7.3) and the RFC 1928 §7 UDP header
 * the client's relay speaks with apps (src/client/socks/socks-udp.ts): exact bytes, round
 * trips, what is refused (datagram: PROTO_RELAY_BAD_ADDRESS; UDP header: undefined, "drop"),
 * and random bytes never throw anything else.
 */
import t from 'tap'
import fc from 'fast-check'
import { ProtocolError, ProtocolErrorCode } from '../../src/protocol/errors.js'
import { decodeDatagram, encodeDatagram } from '../../src/protocol/datagram.js'
import { decodeUdpDatagram, encodeUdpDatagram } from '../../src/client/socks/socks-udp.js'

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const BAD = { code: ProtocolErrorCode.RELAY_BAD_ADDRESS }

t.test('DATAGRAM: address, port, payload; exact bytes and round trips', async (t) => {
  t.equal(hex(encodeDatagram({ host: '192.0.2.1', port: 53 }, Uint8Array.of(0xab, 0xcd))), '01c00002010035abcd')
  t.equal(hex(encodeDatagram({ host: 'dns.test', port: 53 }, new Uint8Array(0))), '0308' + Buffer.from('dns.test').toString('hex') + '0035')
  const v6 = decodeDatagram(encodeDatagram({ host: '2001:db8::1', port: 443 }, Uint8Array.of(1)))
  t.same([v6.host, v6.port, [...v6.payload]], ['2001:db8:0:0:0:0:0:1', 443, [1]])
  t.throws(() => encodeDatagram({ host: '192.0.2.1', port: 0 }, Uint8Array.of(1)), BAD)
  t.throws(() => decodeDatagram(Uint8Array.of(1, 192, 0, 2, 1, 0, 0)), BAD, 'port 0')
  t.throws(() => decodeDatagram(Uint8Array.of(1, 192, 0, 2, 1, 0)), BAD, 'no port')
  t.throws(() => decodeDatagram(Uint8Array.of(3, 0, 0, 53)), BAD, 'empty name')
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
    try { decodeDatagram(bytes); return true } catch (err) { return err instanceof ProtocolError }
  }), { numRuns: 500 })
})

t.test('the RFC 1928 UDP header: decoded strictly, anything odd is dropped', async (t) => {
  const v4 = Buffer.from([0, 0, 0, 1, 127, 0, 0, 1, 0, 53, 0xaa])
  t.same(decodeUdpDatagram(v4), { addressType: 'ipv4', host: '127.0.0.1', port: 53, payload: Buffer.from([0xaa]) })
  const name = Buffer.concat([Buffer.from([0, 0, 0, 3, 4]), Buffer.from('a.bc'), Buffer.from([0, 53])])
  t.same(decodeUdpDatagram(name)?.host, 'a.bc')
  const v6 = Buffer.concat([Buffer.from([0, 0, 0, 4]), Buffer.alloc(15), Buffer.from([1, 1, 187])])
  t.same(decodeUdpDatagram(v6)?.host, '::1')
  t.equal(decodeUdpDatagram(Buffer.from([0, 0, 1, 1, 127, 0, 0, 1, 0, 53])), undefined, 'FRAG 1: we do not reassemble')
  t.equal(decodeUdpDatagram(Buffer.from([0, 1, 0, 1, 127, 0, 0, 1, 0, 53])), undefined, 'RSV not 0')
  t.equal(decodeUdpDatagram(Buffer.from([0, 0, 0, 1, 127, 0, 0, 1, 0, 0])), undefined, 'port 0')
  t.equal(decodeUdpDatagram(Buffer.from([0, 0, 0, 1, 127, 0, 0])), undefined, 'truncated')
  t.equal(decodeUdpDatagram(Buffer.from([0, 0, 0, 3, 3, 0x61, 0x20, 0x62, 0, 53])), undefined, 'a space in the name')
  t.equal(decodeUdpDatagram(Buffer.from([0, 0, 0, 2, 1, 2, 3, 4, 0, 53])), undefined, 'unknown ATYP')
  t.same(encodeUdpDatagram('127.0.0.1', 53, Buffer.from([0xaa])), v4)
  t.same(encodeUdpDatagram('a.bc', 53, new Uint8Array(0)), name)
  t.same(encodeUdpDatagram('0:0:0:0:0:0:0:1', 443, Buffer.from([])), v6.subarray(0, 22))
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => { decodeUdpDatagram(bytes); return true }), { numRuns: 500 })
})
