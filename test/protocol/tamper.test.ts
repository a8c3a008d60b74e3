/**
 * Integrity properties of the layers: tampering, replay, reordering and truncation are all
 * caught at the next hop, and nothing unauthenticated crosses a hop (R4, R5, R7).
 */
import t from 'tap'
import fc from 'fast-check'
import { cryptoReady, randomBytes } from '../../src/crypto/index.js'
import { ProtocolError, ProtocolErrorCode } from '../../src/protocol/errors.js'
import { openOnion } from '../../src/protocol/onion.js'
import { encodeRelay, RelayCommand } from '../../src/protocol/relay-payload.js'
import { buildCircuit } from '../helpers/circuit.js'

await cryptoReady()

function flipBit (bytes: Uint8Array, bit: number): Uint8Array {
  const copy = Uint8Array.from(bytes)
  copy[bit >>> 3]! ^= 1 << (bit & 7)
  return copy
}

function codeOf (fn: () => unknown): string | undefined {
  try { fn() } catch (err) { return err instanceof ProtocolError ? err.code : `not a ProtocolError: ${String(err)}` }
  return undefined
}

t.test('any single flipped bit anywhere in a CREATE header is refused by the hop that reads it', async (t) => {
  const circuit = buildCircuit(3, 512)
  const { context, hops, header } = circuit
  const bits = header.length * 8
  // every bit of hop 1's layer (the whole body), exhaustively
  for (let bit = 0; bit < bits; bit++) {
    const code = codeOf(() => openOnion(hops[0]!, 1, flipBit(header, bit), context))
    if (code !== ProtocolErrorCode.ONION_AUTH_FAILED && code !== ProtocolErrorCode.ONION_BAD_POINT) {
      t.fail(`bit ${bit} was not detected (${code})`)
      return
    }
  }
  // and bits of hop 2's layer in what hop 1 forwards
  const next = openOnion(hops[0]!, 1, header, context).next!
  const layer2 = context.geometry.onionLayerBytes(2) * 8
  fc.assert(fc.property(fc.integer({ min: 0, max: layer2 - 1 }), (bit) => {
    const code = codeOf(() => openOnion(hops[1]!, 2, flipBit(next, bit), context))
    return code === ProtocolErrorCode.ONION_AUTH_FAILED || code === ProtocolErrorCode.ONION_BAD_POINT
  }), { numRuns: 300 })
  t.pass(`all ${bits} bits of layer 1 and sampled bits of layer 2 detected`)
})

t.test('a header opened at the wrong position, epoch or cascade does not authenticate', async (t) => {
  const circuit = buildCircuit(3, 512)
  const { context, hops, header } = circuit
  t.equal(codeOf(() => openOnion(hops[0]!, 2, header, context)), ProtocolErrorCode.ONION_AUTH_FAILED)
  t.equal(codeOf(() => openOnion(hops[0]!, 1, header, { ...context, epoch: 43 })), ProtocolErrorCode.ONION_AUTH_FAILED)
  t.equal(codeOf(() => openOnion(hops[0]!, 1, header, { ...context, cascadeId: randomBytes(32) })), ProtocolErrorCode.ONION_AUTH_FAILED)
  t.equal(codeOf(() => openOnion(hops[1]!, 1, header, context)), ProtocolErrorCode.ONION_AUTH_FAILED, 'another hop\'s key')
  t.equal(codeOf(() => openOnion(hops[0]!, 1, header.subarray(1), context)), ProtocolErrorCode.ONION_BAD_LENGTH)
})

t.test('a replayed CREATE header gives the same replay tag; a fresh one a different tag', async (t) => {
  const circuit = buildCircuit(2, 512)
  const first = openOnion(circuit.hops[0]!, 1, circuit.header, circuit.context)
  const again = openOnion(circuit.hops[0]!, 1, Uint8Array.from(circuit.header), circuit.context)
  t.same(Buffer.from(again.replayTag), Buffer.from(first.replayTag))
  t.equal(first.replayTag.length, 16)
  const other = buildCircuit(2, 512)
  const otherTag = openOnion(other.hops[0]!, 1, other.header, other.context).replayTag
  t.notSame(Buffer.from(otherTag), Buffer.from(first.replayTag))
})

t.test('the 7 small-order X25519 points, an all-zero key and non-canonical encodings give a typed error', async (t) => {
  const p = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'))
  const smallOrder = [
    '0000000000000000000000000000000000000000000000000000000000000000',
    '0100000000000000000000000000000000000000000000000000000000000000',
    'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
    '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  ].map(p)
  const circuit = buildCircuit(3, 512)
  for (const point of [...smallOrder, new Uint8Array(32)]) {
    const header = Uint8Array.from(circuit.header)
    header.set(point, 0)
    t.equal(codeOf(() => openOnion(circuit.hops[0]!, 1, header, circuit.context)), ProtocolErrorCode.ONION_BAD_POINT, Buffer.from(point).toString('hex'))
  }
  // bit 255 set: the same point for X25519, so refused before it can alias
  const header = Uint8Array.from(circuit.header)
  header[31]! |= 0x80
  t.equal(codeOf(() => openOnion(circuit.hops[0]!, 1, header, circuit.context)), ProtocolErrorCode.ONION_BAD_POINT)
})

t.test('any single flipped bit anywhere in a RELAY cell is detected at the next hop', async (t) => {
  const circuit = buildCircuit(3, 512)
  const g = circuit.context.geometry
  const payload = encodeRelay(g.forwardPayloadBytes, 1, RelayCommand.DATA, randomBytes(100))
  fc.assert(fc.property(fc.integer({ min: 0, max: g.bodyBytes * 8 - 1 }), (bit) => {
    const fresh = buildCircuit(3, 512)
    const body = fresh.forwardSealer.seal(payload)
    return fresh.peelers[0]!.peel(flipBit(body, bit)) === null
  }), { numRuns: 200 })
  // forward, at hop 2: any bit of its authenticated prefix
  fc.assert(fc.property(fc.integer({ min: 0, max: g.forwardLayerBytes(2) * 8 - 1 }), (bit) => {
    const fresh = buildCircuit(3, 512)
    const afterHop1 = fresh.peelers[0]!.peel(fresh.forwardSealer.seal(payload))!
    return fresh.peelers[1]!.peel(flipBit(afterHop1, bit)) === null
  }), { numRuns: 200 })
  // backward: any bit of what reaches the client
  const back = encodeRelay(g.backwardPayloadBytes, 1, RelayCommand.DATA, randomBytes(100))
  fc.assert(fc.property(fc.integer({ min: 0, max: g.bodyBytes * 8 - 1 }), (bit) => {
    const fresh = buildCircuit(3, 512)
    let body = back
    for (let i = 2; i >= 0; i--) body = fresh.sealers[i]!.seal(body)
    return fresh.backwardOpener.open(flipBit(body, bit)) === null
  }), { numRuns: 200 })
  t.pass('forward and backward flips detected')
})

t.test('a replayed, reordered or dropped RELAY cell fails at the next hop', async (t) => {
  const circuit = buildCircuit(3, 512)
  const g = circuit.context.geometry
  const cells = [0, 1, 2].map((i) => circuit.forwardSealer.seal(encodeRelay(g.forwardPayloadBytes, 1, RelayCommand.DATA, Uint8Array.of(i))))
  const hop1 = circuit.peelers[0]!
  t.ok(hop1.peel(cells[0]!), 'first cell accepted')
  t.equal(hop1.peel(cells[0]!), null, 'replay refused')
  t.equal(hop1.peel(cells[2]!), null, 'cell 2 before cell 1 refused (reorder / drop)')
  t.ok(hop1.peel(cells[1]!), 'the counter did not move on failures: cell 1 still accepted')
  t.throws(() => hop1.peel(cells[2]!.subarray(1)), { code: ProtocolErrorCode.LAYER_BAD_LENGTH }, 'truncated cell')
  // backward reorder
  const backs = [0, 1].map((i) => {
    let body = encodeRelay(g.backwardPayloadBytes, 1, RelayCommand.DATA, Uint8Array.of(i))
    for (let h = 2; h >= 0; h--) body = circuit.sealers[h]!.seal(body)
    return body
  })
  t.equal(circuit.backwardOpener.open(backs[1]!), null, 'backward cell 1 before cell 0 refused')
  t.equal(circuit.backwardOpener.open(backs[0]!)?.kind, 'data')
  t.equal(circuit.backwardOpener.open(backs[0]!), null, 'backward replay refused')
})

t.test('a hop\'s forward output beyond its plaintext is all zeros whatever the input\'s tail held', async (t) => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 17, maxLength: 17 }), fc.uint8Array({ minLength: 34, maxLength: 34 }), (tail1, tail2) => {
    const circuit = buildCircuit(3, 512)
    const g = circuit.context.geometry
    const body = circuit.forwardSealer.seal(encodeRelay(g.forwardPayloadBytes, 1, RelayCommand.DATA, randomBytes(50)))
    const afterHop1 = circuit.peelers[0]!.peel(body)!
    const prefix2 = g.forwardLayerBytes(2)
    if (!afterHop1.subarray(prefix2).every((b) => b === 0)) return false
    // garbage in the tail hop 2 does not read must not reach hop 3
    afterHop1.set(tail1, prefix2)
    const afterHop2 = circuit.peelers[1]!.peel(afterHop1)!
    const prefix3 = g.forwardLayerBytes(3)
    if (afterHop2.length !== g.bodyBytes) return false
    if (!afterHop2.subarray(prefix3).every((b) => b === 0)) return false
    afterHop2.set(tail2, prefix3)
    return circuit.peelers[2]!.peel(afterHop2) !== null
  }), { numRuns: 50 })
  // a backward hop never copies its successor's slack either
  const circuit = buildCircuit(3, 512)
  const g = circuit.context.geometry
  let body = circuit.sealers[2]!.seal(encodeRelay(g.backwardPayloadBytes, 1, RelayCommand.DATA, Uint8Array.of(1)))
  body.fill(0xaa, g.backwardLayerBytes(3))
  body = circuit.sealers[1]!.seal(body)
  t.ok(body.subarray(g.backwardLayerBytes(2)).every((b) => b === 0), 'backward slack is zero')
  t.equal(circuit.backwardOpener.open(circuit.sealers[0]!.seal(body))?.kind, 'data')
})

t.test('the same cell\'s bytes before and after a hop share no 16-byte window', async (t) => {
  const windows = (bytes: Uint8Array): Set<string> => {
    const set = new Set<string>()
    for (let i = 0; i + 16 <= bytes.length; i++) set.add(Buffer.from(bytes.subarray(i, i + 16)).toString('hex'))
    return set
  }
  const shares = (a: Uint8Array, b: Uint8Array): boolean => {
    const seen = windows(a)
    for (let i = 0; i + 16 <= b.length; i++) if (seen.has(Buffer.from(b.subarray(i, i + 16)).toString('hex'))) return true
    return false
  }
  fc.assert(fc.property(fc.integer({ min: 1, max: 5 }), fc.uint8Array({ minLength: 1, maxLength: 200 }), (hops, data) => {
    const circuit = buildCircuit(hops, 1024)
    const g = circuit.context.geometry
    // forward: compare what each hop reads with what it emits (its zero fill is fixed, not data)
    let body: Uint8Array = circuit.forwardSealer.seal(encodeRelay(g.forwardPayloadBytes, 1, RelayCommand.DATA, data))
    for (let i = 0; i < hops - 1; i++) {
      const out = circuit.peelers[i]!.peel(body)!
      if (shares(body.subarray(0, g.forwardLayerBytes(i + 1)), out.subarray(0, g.forwardLayerBytes(i + 2)))) return false
      body = out
    }
    // backward
    let back: Uint8Array = encodeRelay(g.backwardPayloadBytes, 1, RelayCommand.DATA, data)
    for (let i = hops - 1; i >= 0; i--) {
      const out = circuit.sealers[i]!.seal(back)
      const innerBytes = g.backwardInnerBytes(i + 1)
      if (i < hops - 1 && shares(back.subarray(0, innerBytes), out.subarray(0, g.backwardLayerBytes(i + 1)))) return false
      back = out
    }
    return true
  }), { numRuns: 25 })
  t.pass('no shared windows')
})
