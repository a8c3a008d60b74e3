/**
 * Test helper: a whole circuit's worth of protocol state (hop key pairs, onion, layer
 * objects) built with the real protocol code, for tests that push cells through every hop.
 */
import { randomBytes, x25519KeyPair, type KeyPair } from '../../src/crypto/index.js'
import { Geometry } from '../../src/protocol/geometry.js'
import { createOnion, openOnion, type OnionContext } from '../../src/protocol/onion.js'
import { BackwardOpener, BackwardSealer, ForwardPeeler, ForwardSealer } from '../../src/protocol/relay-layers.js'

export interface TestCircuit {
  readonly context: OnionContext
  readonly hops: KeyPair[]
  readonly header: Uint8Array
  readonly forwardSealer: ForwardSealer
  readonly backwardOpener: BackwardOpener
  readonly peelers: ForwardPeeler[]
  readonly sealers: BackwardSealer[]
}

export function makeContext (hops: number, cellSize = 2048): OnionContext {
  return { geometry: new Geometry({ cellSize, hops }), cascadeId: randomBytes(32), epoch: 42 }
}

/** Build a circuit end to end: every hop opens its layer of the real CREATE header. */
export function buildCircuit (hops: number, cellSize = 2048): TestCircuit {
  const context = makeContext(hops, cellSize)
  const keyPairs = Array.from({ length: hops }, () => x25519KeyPair())
  const onion = createOnion(keyPairs.map((k) => k.publicKey), context)
  const peelers: ForwardPeeler[] = []
  const sealers: BackwardSealer[] = []
  let body: Uint8Array | null = onion.header
  for (let i = 0; i < hops; i++) {
    const opened = openOnion(keyPairs[i]!, i + 1, body!, context)
    peelers.push(new ForwardPeeler(context.geometry, i + 1, opened.keys.forward))
    sealers.push(new BackwardSealer(context.geometry, i + 1, opened.keys.backward))
    body = opened.next
  }
  return {
    context,
    hops: keyPairs,
    header: onion.header,
    forwardSealer: new ForwardSealer(context.geometry, onion.hopKeys),
    backwardOpener: new BackwardOpener(context.geometry, onion.hopKeys),
    peelers,
    sealers,
  }
}

/** Push one forward body through every hop; returns the exit's payload, or null where a hop refused. */
export function forwardThrough (circuit: TestCircuit, body: Uint8Array): Uint8Array | null {
  let current: Uint8Array | null = body
  for (const peeler of circuit.peelers) {
    current = peeler.peel(current!)
    if (current === null) return null
  }
  return current
}

/** Seal a backward payload at the exit and through every mix, back to the client's body. */
export function backwardThrough (circuit: TestCircuit, payload: Uint8Array): Uint8Array {
  let body: Uint8Array = payload
  for (let i = circuit.sealers.length - 1; i >= 0; i--) body = circuit.sealers[i]!.seal(body)
  return body
}
