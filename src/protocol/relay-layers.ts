/**
 * Layered RELAY crypto, both directions (DESIGN "RELAY layers", R2, R7).
 *
 * Every hop i of a circuit has its own forward and backward key (hop-keys.ts).
 *
 * Forward (client → exit), ChaCha20-Poly1305-IETF with an implicit counter:
 *   nonce_i = 0x01 ‖ i(1) ‖ 0x0000 ‖ ctr(8, LE)          ad_i = "mixgate/v1" ‖ 0x01 ‖ i ‖ RELAY
 *   layer_H = AEAD(kf_H, control(1) ‖ payload)           layer_i = AEAD(kf_i, control(1) ‖ layer_{i+1})
 * Hop i opens exactly the first forwardLayerBytes(i) bytes of the body, ignores the rest, and
 * outputs layer_{i+1} followed by zeros up to the body size. The control byte is a per-hop
 * signal, 0 in this version (reserved for shaping requests).
 *
 * Backward (exit → client), XChaCha20-Poly1305 with a fresh random nonce per cell, so a
 * replayed circuit can never reuse a keystream (R2), and the counter in the associated data
 * so order is still enforced:
 *   out_i = nonce(24) ‖ AEAD(kb_i, nonce, ad_i ‖ ctr(8, LE), kind(1) ‖ inner_i)
 *   ad_i  = "mixgate/v1" ‖ 0x02 ‖ i ‖ RELAY
 * where inner_H is the exit's relay payload and inner_i (i < H) is the first
 * backwardInnerBytes(i) bytes of what hop i+1 sent; kind is DATA, or PAD for a cell that hop i
 * made up itself (the client discards it). The rest of the body is zero.
 *
 * No hop ever copies a byte it did not authenticate (forward) or encrypt (backward).
 * Counters advance only on success; a circuit ends before a counter reaches 2^32.
 *
 * Data path (docs/HOP.md "Cost of a cell"): every layer is sealed and opened with the
 * into-buffer AEAD calls, in place where the bytes already lie, into buffers allocated once
 * per circuit (the client's sealer and a hop's backward sealer each keep one body-sized work
 * buffer with its views made up front; the exit builds its payload where its layer is
 * sealed). Per cell there is no allocation but a few array views of the caller's body; the
 * calls that take no `out` allocate, for tests and vectors.
 */
import { aeadOpenInto, aeadSealInto, AEAD_NONCE_BYTES, AEAD_TAG_BYTES, memzero, randomFill, xaeadOpenInto, xaeadSealInto, XAEAD_NONCE_BYTES } from '../crypto/index.js'
import { CellCommand, writeCellHeader } from './cell.js'
import { ProtocolError, ProtocolErrorCode } from './errors.js'
import { CELL_HEADER_BYTES, LAYER_CONTROL_BYTES, type Geometry } from './geometry.js'
import type { HopKeys } from './hop-keys.js'
import { PROTOCOL_LABEL } from './labels.js'

export const Direction = { FORWARD: 1, BACKWARD: 2 } as const

/** The kind byte of a backward layer. */
export const BackwardKind = {
  /** The layer carries its successor's output (or, at the exit, a relay payload). */
  DATA: 0,
  /** Cover made up by this hop; the client discards it after opening this layer. */
  PAD: 1,
} as const

/** A circuit's counters stop here (R7): the circuit must end before. */
export const MAX_LAYER_COUNTER = 2 ** 32

/** Associated data of a forward layer, or the fixed prefix of a backward one. */
function layerAd (direction: number, position: number, extra: number): Uint8Array {
  const ad = new Uint8Array(PROTOCOL_LABEL.length + 3 + extra)
  ad.set(PROTOCOL_LABEL, 0)
  ad[PROTOCOL_LABEL.length] = direction
  ad[PROTOCOL_LABEL.length + 1] = position
  ad[PROTOCOL_LABEL.length + 2] = CellCommand.RELAY
  return ad
}

/** Writes a 64-bit little-endian counter at `offset` (counters stay below 2^32). */
function writeCounter (out: Uint8Array, offset: number, counter: number): void {
  out[offset] = counter & 0xff
  out[offset + 1] = (counter >>> 8) & 0xff
  out[offset + 2] = (counter >>> 16) & 0xff
  out[offset + 3] = (counter >>> 24) & 0xff
  // bytes offset+4..offset+7 stay zero
}

function forwardNonce (position: number): Uint8Array {
  const nonce = new Uint8Array(AEAD_NONCE_BYTES)
  nonce[0] = Direction.FORWARD
  nonce[1] = position
  return nonce
}

function checkCounter (counter: number): void {
  if (counter >= MAX_LAYER_COUNTER) {
    throw new ProtocolError(ProtocolErrorCode.LAYER_COUNTER_EXHAUSTED, 'circuit counter exhausted: the circuit must end')
  }
}

/** One hop's forward layer at that hop: opens exactly its prefix. */
export class ForwardPeeler {
  private readonly geometry: Geometry
  private readonly position: number
  private readonly key: Uint8Array
  private readonly nonce: Uint8Array
  private readonly ad: Uint8Array
  private readonly layerBytes: number
  private counter = 0
  /** The control byte of the last cell that authenticated. */
  lastControl = 0

  constructor (geometry: Geometry, position: number, forwardKey: Uint8Array) {
    this.geometry = geometry
    this.position = position
    this.key = forwardKey
    this.nonce = forwardNonce(position)
    this.ad = layerAd(Direction.FORWARD, position, 0)
    this.layerBytes = geometry.forwardLayerBytes(position)
  }

  get isExit (): boolean { return this.position === this.geometry.hops }

  /**
   * Peel one forward RELAY body. At a mix, returns the body for the next hop; at the exit, the
   * relay payload. With `out` (bodyBytes long; it may be `body` itself: peeled in place) the
   * result is written there and nothing is allocated, the exit's payload being a view of
   * `out`; without it, into fresh memory and `body` is left as it was.
   * Returns `null` if the layer does not authenticate (the counter does not advance; `out`'s
   * content is then unspecified).
   */
  peel (body: Uint8Array, out?: Uint8Array): Uint8Array | null {
    const g = this.geometry
    if (body.length !== g.bodyBytes) {
      throw new ProtocolError(ProtocolErrorCode.LAYER_BAD_LENGTH, `a RELAY body is ${g.bodyBytes} bytes, got ${body.length}`)
    }
    if (out !== undefined && out.length !== g.bodyBytes) {
      throw new ProtocolError(ProtocolErrorCode.LAYER_BAD_LENGTH, `a peeled body is ${g.bodyBytes} bytes, got ${out.length}`)
    }
    checkCounter(this.counter)
    writeCounter(this.nonce, 4, this.counter)
    const plainBytes = this.layerBytes - AEAD_TAG_BYTES
    const next = out ?? new Uint8Array(g.bodyBytes)
    if (!aeadOpenInto(next.subarray(0, plainBytes), this.key, this.nonce, this.ad, body.subarray(0, this.layerBytes))) return null
    this.counter++
    this.lastControl = next[0]!
    if (this.isExit) return next.subarray(LAYER_CONTROL_BYTES, plainBytes)
    next.copyWithin(0, LAYER_CONTROL_BYTES, plainBytes)
    next.fill(0, plainBytes - LAYER_CONTROL_BYTES)
    return next
  }

  get cellsPeeled (): number { return this.counter }

  /** Erase the key (circuit end). */
  wipe (): void { memzero(this.key) }
}

/** The client's forward side: wraps a relay payload in every hop's layer. */
export class ForwardSealer {
  private readonly geometry: Geometry
  private readonly keys: Uint8Array[]
  private readonly nonces: Uint8Array[]
  private readonly ads: Uint8Array[]
  /**
   * The body being built: the payload at offset `hops`, then each layer sealed in place one
   * byte further out (hop i's layer starts at i − 1: its control byte, then layer i+1).
   */
  private readonly work: Uint8Array
  /** Per hop (0-based): the plaintext view (control ‖ layer i+1) and the sealed view. */
  private readonly plainViews: Uint8Array[]
  private readonly sealedViews: Uint8Array[]
  private counter = 0

  constructor (geometry: Geometry, hopKeys: readonly HopKeys[]) {
    if (hopKeys.length !== geometry.hops) throw new ProtocolError(ProtocolErrorCode.ONION_BAD_PATH, 'one key set per hop is required')
    this.geometry = geometry
    this.keys = hopKeys.map((k) => k.forward)
    this.nonces = hopKeys.map((_, i) => forwardNonce(i + 1))
    this.ads = hopKeys.map((_, i) => layerAd(Direction.FORWARD, i + 1, 0))
    this.work = new Uint8Array(geometry.bodyBytes)
    this.plainViews = hopKeys.map((_, i) => this.work.subarray(i, i + geometry.forwardLayerBytes(i + 1) - AEAD_TAG_BYTES))
    this.sealedViews = hopKeys.map((_, i) => this.work.subarray(i, i + geometry.forwardLayerBytes(i + 1)))
  }

  /**
   * Seal a relay payload (exactly forwardPayloadBytes) into a RELAY body (bodyBytes): into
   * `out` when given (bodyBytes long; nothing allocated), else into a fresh array.
   */
  seal (payload: Uint8Array, control = 0, out?: Uint8Array): Uint8Array {
    const g = this.geometry
    if (out !== undefined && out.length !== g.bodyBytes) {
      throw new ProtocolError(ProtocolErrorCode.LAYER_BAD_LENGTH, `a RELAY body is ${g.bodyBytes} bytes, got ${out.length}`)
    }
    this.sealWork(payload, control)
    const body = out ?? new Uint8Array(g.bodyBytes)
    body.set(this.work)
    return body
  }

  /** A whole RELAY cell on circuit `circuitId`: the one allocation is the cell itself. */
  sealCell (circuitId: number, payload: Uint8Array, control = 0): Uint8Array {
    this.sealWork(payload, control)
    const cell = new Uint8Array(this.geometry.cellSize)
    writeCellHeader(cell, circuitId, CellCommand.RELAY)
    cell.set(this.work, CELL_HEADER_BYTES)
    return cell
  }

  private sealWork (payload: Uint8Array, control: number): void {
    const g = this.geometry
    if (payload.length !== g.forwardPayloadBytes) {
      throw new ProtocolError(ProtocolErrorCode.LAYER_BAD_LENGTH, `a forward relay payload is ${g.forwardPayloadBytes} bytes, got ${payload.length}`)
    }
    checkCounter(this.counter)
    const work = this.work
    work.set(payload, g.hops)
    for (let i = g.hops - 1; i >= 0; i--) {
      work[i] = control
      writeCounter(this.nonces[i]!, 4, this.counter)
      aeadSealInto(this.sealedViews[i]!, this.keys[i]!, this.nonces[i]!, this.ads[i]!, this.plainViews[i]!)
    }
    this.counter++
  }

  get cellsSealed (): number { return this.counter }

  /** Erase every hop's forward key and the last body's plaintext traces (circuit end). */
  wipe (): void {
    for (const k of this.keys) memzero(k)
    this.work.fill(0)
  }
}

/**
 * Where a backward layer's plaintext starts in the body a hop emits: after the random nonce
 * and the kind byte. A caller that builds the inner layer there (the exit's relay payload)
 * has it sealed where it lies, without a copy.
 */
export const BACKWARD_INNER_OFFSET = XAEAD_NONCE_BYTES + LAYER_CONTROL_BYTES

/** One hop's backward layer at that hop: seals what its successor sent, or a PAD. */
export class BackwardSealer {
  private readonly geometry: Geometry
  private readonly key: Uint8Array
  private readonly ad: Uint8Array
  private readonly adCounterOffset: number
  private readonly innerBytes: number
  /** This hop's output as it is built: nonce(24) ‖ kind(1) ‖ inner, sealed in place after the nonce. */
  private readonly work: Uint8Array
  private readonly nonceView: Uint8Array
  private readonly plainView: Uint8Array
  private readonly sealedView: Uint8Array
  private counter = 0

  constructor (geometry: Geometry, position: number, backwardKey: Uint8Array) {
    this.geometry = geometry
    this.key = backwardKey
    this.ad = layerAd(Direction.BACKWARD, position, 8)
    this.adCounterOffset = this.ad.length - 8
    this.innerBytes = geometry.backwardInnerBytes(position)
    this.work = new Uint8Array(geometry.backwardLayerBytes(position))
    this.nonceView = this.work.subarray(0, XAEAD_NONCE_BYTES)
    this.plainView = this.work.subarray(XAEAD_NONCE_BYTES, BACKWARD_INNER_OFFSET + this.innerBytes)
    this.sealedView = this.work.subarray(XAEAD_NONCE_BYTES)
  }

  /**
   * Seal `inner` — at the exit the relay payload (backwardPayloadBytes), at a mix the body
   * received from the next hop (only its first backwardInnerBytes are sealed; the rest is
   * never copied) — or, when `inner` is null, a PAD of this hop's own. Returns the body for
   * the previous hop, written into `out` when given (bodyBytes; it may be `inner` itself):
   * nothing allocated then. A payload the caller built at BACKWARD_INNER_OFFSET of `out` (the
   * exit's) is sealed where it lies; anything else is sealed in the work buffer and copied
   * out. `nonce` fixes the random nonce (test vectors only).
   */
  seal (inner: Uint8Array | null, out?: Uint8Array, nonce?: Uint8Array): Uint8Array {
    const g = this.geometry
    checkCounter(this.counter)
    if (out !== undefined && out.length !== g.bodyBytes) {
      throw new ProtocolError(ProtocolErrorCode.LAYER_BAD_LENGTH, `a RELAY body is ${g.bodyBytes} bytes, got ${out.length}`)
    }
    if (inner !== null && inner.length < this.innerBytes) {
      throw new ProtocolError(ProtocolErrorCode.LAYER_BAD_LENGTH, `a backward inner layer is ${this.innerBytes} bytes, got ${inner.length}`)
    }
    const body = out ?? new Uint8Array(g.bodyBytes)
    const work = this.work
    if (nonce === undefined) randomFill(this.nonceView)
    else this.nonceView.set(nonce)
    writeCounter(this.ad, this.adCounterOffset, this.counter)
    if (inner !== null && inner.buffer === body.buffer && inner.byteOffset === body.byteOffset + BACKWARD_INNER_OFFSET) {
      // The exit built its payload where this layer seals it: no copy.
      body[XAEAD_NONCE_BYTES] = BackwardKind.DATA
      xaeadSealInto(body.subarray(XAEAD_NONCE_BYTES, work.length), this.key, this.nonceView, this.ad, body.subarray(XAEAD_NONCE_BYTES, work.length - AEAD_TAG_BYTES))
      body.set(this.nonceView, 0)
    } else {
      // Anything else is sealed in the work buffer and copied out: for a mix's body that is
      // faster than moving it 25 bytes along in place and sealing it there (the AEAD then
      // runs on unaligned memory; docs/HOP.md "Cost of a cell").
      if (inner === null) {
        work[XAEAD_NONCE_BYTES] = BackwardKind.PAD
        work.fill(0, BACKWARD_INNER_OFFSET)
      } else {
        work[XAEAD_NONCE_BYTES] = BackwardKind.DATA
        work.set(inner.length === this.innerBytes ? inner : inner.subarray(0, this.innerBytes), BACKWARD_INNER_OFFSET)
      }
      xaeadSealInto(this.sealedView, this.key, this.nonceView, this.ad, this.plainView)
      body.set(work, 0)
    }
    this.counter++
    body.fill(0, work.length)
    return body
  }

  get cellsSealed (): number { return this.counter }

  /** Erase the key (circuit end). */
  wipe (): void {
    memzero(this.key)
    this.work.fill(0)
  }
}

export type BackwardResult =
  | { readonly kind: 'data', readonly payload: Uint8Array }
  | { readonly kind: 'pad', readonly position: number }

/** The client's backward side: opens every hop's layer in path order. */
export class BackwardOpener {
  private readonly geometry: Geometry
  private readonly keys: Uint8Array[]
  private readonly ads: Uint8Array[]
  private readonly counters: number[]
  /** One PAD result per hop and one data result, reused: `open` allocates none. */
  private readonly pads: BackwardResult[]
  private readonly data: { kind: 'data', payload: Uint8Array }

  constructor (geometry: Geometry, hopKeys: readonly HopKeys[]) {
    if (hopKeys.length !== geometry.hops) throw new ProtocolError(ProtocolErrorCode.ONION_BAD_PATH, 'one key set per hop is required')
    this.geometry = geometry
    this.keys = hopKeys.map((k) => k.backward)
    this.ads = hopKeys.map((_, i) => layerAd(Direction.BACKWARD, i + 1, 8))
    this.counters = hopKeys.map(() => 0)
    this.pads = hopKeys.map((_, i) => Object.freeze({ kind: 'pad' as const, position: i + 1 }))
    this.data = { kind: 'data', payload: new Uint8Array(0) }
  }

  /**
   * Open a backward RELAY body in place: the exit's payload (a view of `body`), a PAD from
   * some hop, or `null` on failure. `body` is overwritten with plaintext (or zeros where a
   * layer failed). The result object is reused by the next call: read it before.
   */
  open (body: Uint8Array): BackwardResult | null {
    const g = this.geometry
    if (body.length !== g.bodyBytes) {
      throw new ProtocolError(ProtocolErrorCode.LAYER_BAD_LENGTH, `a RELAY body is ${g.bodyBytes} bytes, got ${body.length}`)
    }
    // Layer i starts at offset (i − 1) × (nonce + kind): each opened in place, its kind byte
    // just before the next layer.
    let start = 0
    for (let i = 0; i < g.hops; i++) {
      const layerEnd = start + g.backwardLayerBytes(i + 1)
      const sealedStart = start + XAEAD_NONCE_BYTES
      const ad = this.ads[i]!
      writeCounter(ad, ad.length - 8, this.counters[i]!)
      const opened = xaeadOpenInto(body.subarray(sealedStart, layerEnd - AEAD_TAG_BYTES), this.keys[i]!, body.subarray(start, sealedStart), ad, body.subarray(sealedStart, layerEnd))
      if (!opened) return null
      this.counters[i]!++
      const kind = body[sealedStart]
      if (kind === BackwardKind.PAD) return this.pads[i]!
      if (kind !== BackwardKind.DATA) return null
      start = sealedStart + LAYER_CONTROL_BYTES
    }
    this.data.payload = body.subarray(start, start + g.backwardPayloadBytes)
    return this.data
  }

  /** Erase every hop's backward key (circuit end). */
  wipe (): void { for (const k of this.keys) memzero(k) }
}
