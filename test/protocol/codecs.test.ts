/**
 * The codecs as specifications: round trips, and the rule that decoders fed anything at all
 * either return a value or throw a ProtocolError — never another exception.
 */
import t from 'tap'
import fc from 'fast-check'
import { cryptoReady } from '../../src/crypto/index.js'
import { CellCommand, decodeCell, encodeCell, encodeDestroy, encodePadding, cellCircuitId } from '../../src/protocol/cell.js'
import { decodeBegin, encodeBegin, AddressType } from '../../src/protocol/begin.js'
import { ProtocolError, ProtocolErrorCode } from '../../src/protocol/errors.js'
import { Geometry } from '../../src/protocol/geometry.js'
import { openOnion } from '../../src/protocol/onion.js'
import { decodeRelay, encodeRelay, RelayCommand } from '../../src/protocol/relay-payload.js'
import { EndReason } from '../../src/protocol/end-reason.js'
import { x25519KeyPair, randomBytes } from '../../src/crypto/index.js'

await cryptoReady()

const g = new Geometry({ cellSize: 512, hops: 4 })

function onlyProtocolErrors (fn: () => unknown): boolean {
  try { fn(); return true } catch (err) { return err instanceof ProtocolError }
}

t.test('geometry: sizes for 3 and 5 hops at the default cell, and bad geometries refused', async (t) => {
  const g3 = new Geometry({ cellSize: 2048, hops: 4 }) // 3 mixes + exit
  t.same([g3.bodyBytes, g3.forwardPayloadBytes, g3.backwardPayloadBytes, g3.forwardDataBytes, g3.backwardDataBytes],
    [2043, 2043 - 4 * 17, 2043 - 4 * 41, 2043 - 68 - 5, 2043 - 164 - 5])
  const g5 = new Geometry({ cellSize: 2048, hops: 6 }) // 5 mixes + exit
  t.same([g5.forwardPayloadBytes, g5.backwardPayloadBytes], [2043 - 6 * 17, 2043 - 6 * 41])
  t.equal(g3.onionLayerBytes(1), 2043)
  t.equal(g3.onionLayerBytes(4), 2043 - 3 * 56)
  t.equal(g3.forwardLayerBytes(1), g3.bodyBytes, 'hop 1 authenticates the whole forward body')
  t.equal(g3.backwardLayerBytes(1), g3.bodyBytes, 'hop 1 fills the whole backward body')
  t.equal(g3.backwardInnerBytes(4), g3.backwardPayloadBytes)
  t.equal(new Geometry({ cellSize: 512, hops: 8 }).hops, 8, '8 hops fit in 512-byte cells')
  for (const bad of [{ cellSize: 1000, hops: 3 }, { cellSize: 256, hops: 3 }, { cellSize: 65536, hops: 3 }, { cellSize: 2048, hops: 0 }, { cellSize: 2048, hops: 9 }, { cellSize: 2048, hops: 2.5 }]) {
    t.throws(() => new Geometry(bad), { code: ProtocolErrorCode.GEOMETRY_INVALID }, JSON.stringify(bad))
  }
})

t.test('cells round-trip for every command and circuit ID', async (t) => {
  fc.assert(fc.property(
    fc.constantFrom(CellCommand.CREATE, CellCommand.RELAY),
    fc.integer({ min: 1, max: 0xffffffff }),
    fc.uint8Array({ maxLength: g.bodyBytes }),
    (command, circuitId, body) => {
      const cell = encodeCell(g, circuitId, command, body)
      const decoded = decodeCell(g, cell)
      return cell.length === 512 && decoded.circuitId === circuitId && cellCircuitId(cell) === circuitId &&
        decoded.command === command && Buffer.compare(decoded.body.subarray(0, body.length), body) === 0 &&
        decoded.body.subarray(body.length).every((b) => b === 0)
    }))
  t.equal(decodeCell(g, encodePadding(g)).command, CellCommand.PADDING)
  const destroy = decodeCell(g, encodeDestroy(g, 9, 4))
  t.same([destroy.circuitId, destroy.command, destroy.body[0]], [9, CellCommand.DESTROY, 4])
})

t.test('cell decoder refuses what is not exactly one valid cell', async (t) => {
  const cell = encodeCell(g, 5, CellCommand.RELAY)
  t.throws(() => decodeCell(g, cell.subarray(1)), { code: ProtocolErrorCode.CELL_BAD_LENGTH })
  t.throws(() => decodeCell(g, new Uint8Array(513)), { code: ProtocolErrorCode.CELL_BAD_LENGTH })
  const badCommand = Uint8Array.from(cell); badCommand[4] = 9
  t.throws(() => decodeCell(g, badCommand), { code: ProtocolErrorCode.CELL_BAD_COMMAND })
  t.throws(() => decodeCell(g, encodeCell(g, 0, CellCommand.PADDING).fill(1, 0, 4)), { code: ProtocolErrorCode.CELL_BAD_CIRCUIT })
  const relayOnZero = Uint8Array.from(cell); relayOnZero.fill(0, 0, 4)
  t.throws(() => decodeCell(g, relayOnZero), { code: ProtocolErrorCode.CELL_BAD_CIRCUIT })
  const dirtyPadding = encodePadding(g); dirtyPadding[100] = 1
  t.throws(() => decodeCell(g, dirtyPadding), { code: ProtocolErrorCode.CELL_BAD_PADDING })
  const dirtyDestroy = encodeDestroy(g, 3, 1); dirtyDestroy[7] = 1
  t.throws(() => decodeCell(g, dirtyDestroy), { code: ProtocolErrorCode.CELL_BAD_PADDING })
  t.throws(() => encodeCell(g, 1, CellCommand.RELAY, new Uint8Array(g.bodyBytes + 1)), { code: ProtocolErrorCode.CELL_BAD_LENGTH })
  t.throws(() => encodeCell(g, 2 ** 32, CellCommand.RELAY), { code: ProtocolErrorCode.CELL_BAD_CIRCUIT })
})

t.test('relay payloads round-trip in both directions\' sizes', async (t) => {
  fc.assert(fc.property(
    fc.constantFrom(g.forwardPayloadBytes, g.backwardPayloadBytes),
    fc.integer({ min: 1, max: 0xffff }),
    fc.uint8Array({ minLength: 1, maxLength: g.backwardDataBytes }),
    (size, streamId, data) => {
      const m = decodeRelay(encodeRelay(size, streamId, RelayCommand.DATA, data))
      return m.streamId === streamId && m.command === RelayCommand.DATA && Buffer.compare(m.data, data) === 0
    }))
  const size = g.forwardPayloadBytes
  t.equal(decodeRelay(encodeRelay(size, 0, RelayCommand.DROP)).command, RelayCommand.DROP)
  t.equal(decodeRelay(encodeRelay(size, 0, RelayCommand.SENDME)).streamId, 0)
  t.equal(decodeRelay(encodeRelay(size, 3, RelayCommand.END, Uint8Array.of(EndReason.EXIT_POLICY))).data[0], EndReason.EXIT_POLICY)
  t.throws(() => encodeRelay(size, 3, RelayCommand.END, Uint8Array.of(200)).length && decodeRelay(encodeRelay(size, 3, RelayCommand.END, Uint8Array.of(200))), { code: ProtocolErrorCode.RELAY_BAD_REASON })
  t.throws(() => encodeRelay(size, 0, RelayCommand.DATA, Uint8Array.of(1)), { code: ProtocolErrorCode.RELAY_BAD_COMMAND }, 'DATA needs a stream')
  t.throws(() => encodeRelay(size, 1, RelayCommand.LOOP), { code: ProtocolErrorCode.RELAY_BAD_COMMAND }, 'LOOP is circuit-level')
  t.throws(() => encodeRelay(size, 1, RelayCommand.DATA, new Uint8Array(size)), { code: ProtocolErrorCode.RELAY_BAD_LENGTH })
  t.throws(() => encodeRelay(size, 1, RelayCommand.CONNECTED, Uint8Array.of(1)), { code: ProtocolErrorCode.RELAY_BAD_LENGTH })
  const padded = encodeRelay(size, 1, RelayCommand.DATA, Uint8Array.of(1)); padded[size - 1] = 1
  t.throws(() => decodeRelay(padded), { code: ProtocolErrorCode.RELAY_BAD_PADDING })
  const long = encodeRelay(size, 1, RelayCommand.DATA, Uint8Array.of(1)); long[3] = 0xff
  t.throws(() => decodeRelay(long), { code: ProtocolErrorCode.RELAY_BAD_LENGTH })
})

t.test('BEGIN bodies round-trip for IPv4, IPv6 and hostnames, with early data', async (t) => {
  const early = new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n')
  const v4 = decodeBegin(encodeBegin({ host: '93.184.216.34', port: 80 }, early))
  t.same([v4.host, v4.port, v4.addressType, Buffer.from(v4.earlyData).toString()], ['93.184.216.34', 80, AddressType.IPV4, 'GET / HTTP/1.1\r\n\r\n'])
  const v6 = decodeBegin(encodeBegin({ host: '2001:db8::1', port: 443 }))
  t.same([v6.host, v6.port, v6.addressType], ['2001:db8:0:0:0:0:0:1', 443, AddressType.IPV6])
  const mapped = decodeBegin(encodeBegin({ host: '::ffff:127.0.0.1', port: 1 }))
  t.equal(mapped.host, '0:0:0:0:0:ffff:7f00:1')
  const name = decodeBegin(encodeBegin({ host: 'example.com', port: 8080 }))
  t.same([name.host, name.port, name.addressType, name.earlyData.length], ['example.com', 8080, AddressType.HOSTNAME, 0])
  t.throws(() => encodeBegin({ host: 'a'.repeat(256), port: 80 }), { code: ProtocolErrorCode.RELAY_BAD_ADDRESS })
  t.throws(() => encodeBegin({ host: 'bad host', port: 80 }), { code: ProtocolErrorCode.RELAY_BAD_ADDRESS })
  t.throws(() => encodeBegin({ host: 'example.com', port: 0 }), { code: ProtocolErrorCode.RELAY_BAD_ADDRESS })
  t.throws(() => decodeBegin(Uint8Array.of(3, 0, 0, 80)), { code: ProtocolErrorCode.RELAY_BAD_ADDRESS })
  t.throws(() => decodeBegin(Uint8Array.of(9, 1, 2, 3, 4, 0, 80)), { code: ProtocolErrorCode.RELAY_BAD_ADDRESS })
  fc.assert(fc.property(fc.domain(), fc.integer({ min: 1, max: 65535 }), (host, port) => {
    if (host.length > 255) return true
    const d = decodeBegin(encodeBegin({ host, port }))
    return d.host === host && d.port === port
  }))
})

t.test('decoders fed random, truncated or oversized bytes throw only ProtocolError', async (t) => {
  const hop = x25519KeyPair()
  const context = { geometry: g, cascadeId: randomBytes(32), epoch: 1 }
  fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 1100 }), (bytes) =>
    onlyProtocolErrors(() => decodeCell(g, bytes)) &&
    onlyProtocolErrors(() => decodeRelay(bytes)) &&
    onlyProtocolErrors(() => decodeBegin(bytes)) &&
    onlyProtocolErrors(() => openOnion(hop, 1, bytes, context))), { numRuns: 300 })
  // exactly-sized random input reaches the deeper checks
  fc.assert(fc.property(fc.uint8Array({ minLength: 512, maxLength: 512 }), (bytes) =>
    onlyProtocolErrors(() => decodeCell(g, bytes)) &&
    onlyProtocolErrors(() => openOnion(hop, 2, bytes.subarray(5), context)) &&
    onlyProtocolErrors(() => decodeRelay(bytes.subarray(0, g.forwardPayloadBytes)))), { numRuns: 300 })
  t.pass('only ProtocolError')
})
