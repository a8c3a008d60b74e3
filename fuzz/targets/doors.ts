/**
 * Targets for the client's other doors: the SOCKS4/4a request (socks4-request.ts) and the
 * HTTP CONNECT request head (http/connect-head.ts), both incremental (incremental-target.ts:
 * a complete message decodes the same alone, its strict prefixes need more bytes, and the
 * caps hold); and the RFC 1928 UDP header an app sends to a UDP relay (socks-udp.ts), whole
 * datagrams only: a value that re-encodes to the same bytes, or undefined (dropped), never a
 * throw.
 */
import { HttpFrontError } from '../../src/client/http/http-error.js'
import { MAX_HEAD_BYTES, decodeConnectHead } from '../../src/client/http/connect-head.js'
import { SocksError } from '../../src/client/socks/socks-error.js'
import { MAX_SOCKS4_REQUEST_BYTES, decodeSocks4Request } from '../../src/client/socks/socks4-request.js'
import { decodeUdpDatagram, encodeUdpDatagram } from '../../src/client/socks/socks-udp.js'
import { invariant, type TargetSpec } from '../target.js'
import { bytesTarget } from './bytes-target.js'
import { incrementalTarget } from './incremental-target.js'

const socks4: TargetSpec = {
  name: 'socks4-request',
  make () {
    const corpus = [
      Uint8Array.of(4, 1, 0, 80, 127, 0, 0, 1, 0),
      Uint8Array.from([4, 1, 1, 187, 0, 0, 0, 1, ...Buffer.from('alice'), 0, ...Buffer.from('example.org'), 0, ...Buffer.from('GET /')]),
      Uint8Array.from([4, 1, 0, 80, 0, 0, 0, 9, ...new Array<number>(255).fill(0x75), 0, ...new Array<number>(255).fill(0x68), 0]),
      Uint8Array.of(4, 2, 0, 21, 10, 0, 0, 1, 0),
    ]
    return incrementalTarget({
      name: 'socks4-request',
      errors: [SocksError],
      corpus,
      maxRandomLength: MAX_SOCKS4_REQUEST_BYTES + 8,
      hints: [{ offset: 7, width: 1, values: [0, 1, 255] }, { offset: 1, width: 1, values: [1, 2] }],
      decode: decodeSocks4Request,
      capBytes: MAX_SOCKS4_REQUEST_BYTES,
      classify (decoded) {
        invariant(decoded.value.port >= 1 && decoded.value.port <= 65535, 'port 1..65535')
        return decoded.value.socks4a ? 'socks4a' : 'socks4'
      },
    })
  },
}

const connectHead: TargetSpec = {
  name: 'http-connect-head',
  make () {
    const text = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'))
    const corpus = [
      text('CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\nUser-Agent: curl/8\r\n\r\n'),
      text(`CONNECT [2001:db8::1]:80 HTTP/1.0\nProxy-Authorization: Basic ${Buffer.from('a:b').toString('base64')}\n\nearly`),
      text('GET http://example.org/ HTTP/1.1\r\nHost: example.org\r\n\r\n'),
      text(`CONNECT a.test:1 HTTP/1.1\r\nX: ${'p'.repeat(300)}\r\n\r\n`),
    ]
    return incrementalTarget({
      name: 'http-connect-head',
      errors: [HttpFrontError],
      corpus,
      maxRandomLength: 600,
      hints: [{ offset: 0, width: 1, values: [0x43, 0x47, 0x0a] }],
      decode: decodeConnectHead,
      capBytes: MAX_HEAD_BYTES,
      classify (decoded) {
        invariant(decoded.bytesRead <= MAX_HEAD_BYTES, 'heads end within 8 KiB')
        invariant(decoded.value.port >= 1 && decoded.value.port <= 65535, 'port 1..65535')
        return decoded.value.username === undefined ? decoded.value.addressType : 'credentials'
      },
    })
  },
}

const socksUdp: TargetSpec = {
  name: 'socks-udp',
  make () {
    const corpus = [
      Uint8Array.of(0, 0, 0, 1, 127, 0, 0, 1, 0, 53, 0x12, 0x34, 1, 0),
      Uint8Array.from([0, 0, 0, 3, 11, ...Buffer.from('example.org'), 1, 187, ...Buffer.from('quic')]),
      Uint8Array.from([0, 0, 0, 4, ...new Array<number>(15).fill(0), 1, 0, 53]),
      Uint8Array.of(0, 0, 1, 1, 10, 0, 0, 1, 0, 53),
    ]
    return bytesTarget({
      name: 'socks-udp',
      errors: [],
      corpus,
      hints: [{ offset: 2, width: 1, values: [0, 1] }, { offset: 3, width: 1, values: [1, 3, 4] }, { offset: 4, width: 1, values: [0, 255] }],
      run (input) {
        const datagram = decodeUdpDatagram(input)
        if (datagram === undefined) return 'dropped'
        invariant(datagram.port >= 1 && datagram.port <= 65535, 'port 1..65535')
        const again = encodeUdpDatagram(datagram.host, datagram.port, datagram.payload)
        invariant(Buffer.compare(again, input) === 0, 'a datagram re-encodes to the same bytes')
        return datagram.addressType
      },
    })
  },
}

export const doorTargets: readonly TargetSpec[] = [socks4, connectHead, socksUdp]
