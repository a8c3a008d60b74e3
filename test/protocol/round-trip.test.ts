import t from 'tap'
import fc from 'fast-check'
import { cryptoReady, randomBytes } from '../../src/crypto/index.js'
import { encodeRelay, decodeRelay, RelayCommand } from '../../src/protocol/relay-payload.js'
import { BACKWARD_INNER_OFFSET, BackwardSealer } from '../../src/protocol/relay-layers.js'
import { backwardThrough, buildCircuit, forwardThrough, makeContext } from '../helpers/circuit.js'

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

t.test('a backward layer sealed into the received cell, or where the exit built its payload, gives the bytes of one sealed from a separate inner', async (t) => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 6 }), fc.uint8Array({ minLength: 1, maxLength: 200 }), (hops, data) => {
    const g = makeContext(hops, 1024).geometry
    const nonce = randomBytes(24)
    const keys = Array.from({ length: hops }, () => randomBytes(32))
    // Three sealers per hop with the same key, fed the same cells: separate inner, the mix's
    // received body (inner at offset 0 of out), the exit's payload built at BACKWARD_INNER_OFFSET.
    const sealers = (): BackwardSealer[] => keys.map((k, i) => new BackwardSealer(g, i + 1, Uint8Array.from(k)))
    const [apart, inBody, built] = [sealers(), sealers(), sealers()]
    const payload = encodeRelay(g.backwardPayloadBytes, 3, RelayCommand.DATA, data)
    let expected = apart[hops - 1]!.seal(payload, undefined, nonce)
    const exitBody = new Uint8Array(g.bodyBytes).fill(0xee)
    exitBody.set(payload, BACKWARD_INNER_OFFSET)
    const atExit = built[hops - 1]!.seal(exitBody.subarray(BACKWARD_INNER_OFFSET, BACKWARD_INNER_OFFSET + g.backwardPayloadBytes), exitBody, nonce)
    if (atExit !== exitBody || Buffer.compare(atExit, expected) !== 0) return false
    let received: Uint8Array = Uint8Array.from(expected)
    for (let i = hops - 2; i >= 0; i--) {
      expected = apart[i]!.seal(expected, undefined, nonce)
      received = inBody[i]!.seal(received, received, nonce)
      if (Buffer.compare(received, expected) !== 0) return false
    }
    return true
  }), { numRuns: 40 })
  t.pass('the same bytes, whichever way the inner layer came')
})
