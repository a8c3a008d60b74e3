import t from 'tap'
import fc from 'fast-check'
import { cryptoReady, randomBytes } from '../../src/crypto/index.js'
import { encodeRelay, decodeRelay, RelayCommand } from '../../src/protocol/relay-payload.js'
import { backwardThrough, buildCircuit, forwardThrough } from '../helpers/circuit.js'

await cryptoReady()

t.test('random paths of 1..8 hops carry random payloads both ways through every hop', async (t) => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 8 }),
    fc.constantFrom(512, 1024, 2048),
    fc.uint8Array({ minLength: 1, maxLength: 300 }),
    fc.integer({ min: 1, max: 3 }),
    (hops, cellSize, data, cells) => {
      const circuit = buildCircuit(hops, cellSize)
      const g = circuit.context.geometry
      for (let n = 0; n < cells; n++) {
        const forward = encodeRelay(g.forwardPayloadBytes, 7, RelayCommand.DATA, data)
        const atExit = forwardThrough(circuit, circuit.forwardSealer.seal(forward))
        if (atExit === null) return false
        const decoded = decodeRelay(atExit)
        if (decoded.streamId !== 7 || Buffer.compare(decoded.data, data) !== 0) return false
        const backward = encodeRelay(g.backwardPayloadBytes, 7, RelayCommand.DATA, data)
        const opened = circuit.backwardOpener.open(backwardThrough(circuit, backward))
        if (opened === null || opened.kind !== 'data') return false
        if (Buffer.compare(decodeRelay(opened.payload).data, data) !== 0) return false
      }
      return true
    }), { numRuns: 60 })
  t.pass('every run round-tripped')
})

t.test('a PAD made up by a middle hop is recognised by the client as that hop\'s PAD', async (t) => {
  const circuit = buildCircuit(4)
  // hop 3 pads; hops 2 and 1 wrap it like any other backward cell
  let body = circuit.sealers[2]!.seal(null)
  body = circuit.sealers[1]!.seal(body)
  body = circuit.sealers[0]!.seal(body)
  t.same(circuit.backwardOpener.open(body), { kind: 'pad', position: 3 })
  // and the circuit keeps working afterwards: hop 4's counter did not move, hops 1..3 did
  const g = circuit.context.geometry
  const payload = encodeRelay(g.backwardPayloadBytes, 1, RelayCommand.DATA, randomBytes(10))
  const opened = circuit.backwardOpener.open(backwardThrough(circuit, payload))
  t.equal(opened?.kind, 'data')
})
