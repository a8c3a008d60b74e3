/**
 * The geometry: every size in the protocol, derived from two numbers.
 *
 * A cascade fixes its cell size (CELL) and its hop count (mixes + exit). Everything else —
 * the cell body, the size of each onion layer, how much each hop opens or seals, how many
 * payload bytes a relay cell carries in each direction — follows from those two numbers
 * here, and is checked once, at construction. No other file hard-codes a size.
 *
 *   cell       = circuitId(4) ‖ command(1) ‖ body(CELL − 5)
 *   CREATE     body = onion layer 1; layer i is ONION_HOP_BYTES shorter than layer i−1
 *   RELAY fwd  body = layer 1 ‖ nothing; hop i opens the first forwardLayerBytes(i) bytes
 *   RELAY bwd  body = hop 1's sealed output; hop i seals backwardLayerBytes(i) bytes
 *
 * docs/PROTOCOL.md §2 gives the same formulas and the numbers for 3 and 5 hops.
 */
import { AEAD_TAG_BYTES, X25519_KEY_BYTES, XAEAD_NONCE_BYTES } from '../crypto/index.js'
import { ProtocolError, ProtocolErrorCode } from './errors.js'

/** circuitId(4) ‖ command(1). */
export const CELL_HEADER_BYTES = 5
export const MIN_CELL_BYTES = 512
/** 32768: the largest power of two whose one-cell link batch body (CELL + 16) fits one Noise message (65535 bytes). */
export const MAX_CELL_BYTES = 32768
export const DEFAULT_CELL_BYTES = 2048
export const MIN_HOPS = 1
export const MAX_HOPS = 8

/** Per-hop parameters inside each onion layer: version, position, hops, flags, reserved(4). */
export const ONION_PARAMS_BYTES = 8
/** What each hop strips from the CREATE header: ephemeral ‖ AEAD tag ‖ params. */
export const ONION_HOP_BYTES = X25519_KEY_BYTES + AEAD_TAG_BYTES + ONION_PARAMS_BYTES
/** The one-byte hop control (forward) or kind (backward) inside every relay layer. */
export const LAYER_CONTROL_BYTES = 1
/** Forward layer overhead per hop: control byte + AEAD tag (the nonce is implicit). */
export const FORWARD_HOP_OVERHEAD = LAYER_CONTROL_BYTES + AEAD_TAG_BYTES
/** Backward layer overhead per hop: random 24-byte nonce + kind byte + AEAD tag (R2). */
export const BACKWARD_HOP_OVERHEAD = XAEAD_NONCE_BYTES + LAYER_CONTROL_BYTES + AEAD_TAG_BYTES
/** Relay payload header: streamId(2) ‖ relayCommand(1) ‖ length(2). */
export const RELAY_HEADER_BYTES = 5
/** The largest BEGIN body: atyp(1) ‖ nameLength(1) ‖ name(255) ‖ port(2). */
export const MAX_BEGIN_ADDRESS_BYTES = 1 + 1 + 255 + 2
/** Smallest backward payload worth having: a relay header plus some data. */
const MIN_BACKWARD_PAYLOAD = RELAY_HEADER_BYTES + 64

export interface GeometryParams {
  /** CELL: total bytes of one cell, a power of two in [512, 65536]. */
  readonly cellSize: number
  /** Number of hops: mixes plus the exit, in [1, 8]. */
  readonly hops: number
}

export class Geometry implements GeometryParams {
  readonly cellSize: number
  readonly hops: number
  /** CELL − 5: the body of every cell. */
  readonly bodyBytes: number
  /** Relay payload bytes the exit sees in a forward cell. */
  readonly forwardPayloadBytes: number
  /** Relay payload bytes the exit can send in a backward cell. */
  readonly backwardPayloadBytes: number
  /** Most DATA bytes one forward relay cell carries. */
  readonly forwardDataBytes: number
  /** Most DATA bytes one backward relay cell carries. */
  readonly backwardDataBytes: number
  /**
   * Most data one LOOP may carry: the exit echoes it unchanged in a backward cell, so it must
   * fit both directions (the backward payload is the smaller: its layers carry a nonce each).
   */
  readonly loopDataBytes: number

  constructor (params: GeometryParams) {
    const { cellSize, hops } = params
    if (!Number.isInteger(cellSize) || cellSize < MIN_CELL_BYTES || cellSize > MAX_CELL_BYTES || (cellSize & (cellSize - 1)) !== 0) {
      throw new ProtocolError(ProtocolErrorCode.GEOMETRY_INVALID, `cell size must be a power of two from ${MIN_CELL_BYTES} to ${MAX_CELL_BYTES}, got ${cellSize}`)
    }
    if (!Number.isInteger(hops) || hops < MIN_HOPS || hops > MAX_HOPS) {
      throw new ProtocolError(ProtocolErrorCode.GEOMETRY_INVALID, `hop count must be an integer from ${MIN_HOPS} to ${MAX_HOPS}, got ${hops}`)
    }
    this.cellSize = cellSize
    this.hops = hops
    this.bodyBytes = cellSize - CELL_HEADER_BYTES
    this.forwardPayloadBytes = this.bodyBytes - hops * FORWARD_HOP_OVERHEAD
    this.backwardPayloadBytes = this.bodyBytes - hops * BACKWARD_HOP_OVERHEAD
    this.forwardDataBytes = this.forwardPayloadBytes - RELAY_HEADER_BYTES
    this.backwardDataBytes = this.backwardPayloadBytes - RELAY_HEADER_BYTES
    this.loopDataBytes = Math.min(this.forwardDataBytes, this.backwardDataBytes)
    // The innermost onion layer must still hold its own ephemeral, tag and params.
    if (this.onionLayerBytes(hops) < ONION_HOP_BYTES) {
      throw new ProtocolError(ProtocolErrorCode.GEOMETRY_INVALID, `a ${cellSize}-byte cell cannot hold a ${hops}-hop CREATE header`)
    }
    if (this.forwardPayloadBytes < RELAY_HEADER_BYTES + MAX_BEGIN_ADDRESS_BYTES) {
      throw new ProtocolError(ProtocolErrorCode.GEOMETRY_INVALID, `a ${cellSize}-byte cell cannot carry a BEGIN through ${hops} hops`)
    }
    if (this.backwardPayloadBytes < MIN_BACKWARD_PAYLOAD) {
      throw new ProtocolError(ProtocolErrorCode.GEOMETRY_INVALID, `a ${cellSize}-byte cell leaves too little backward payload through ${hops} hops`)
    }
    Object.freeze(this)
  }

  /** Size of onion layer i (1-based): what hop i reads from the front of the CREATE body. */
  onionLayerBytes (position: number): number {
    return this.bodyBytes - (position - 1) * ONION_HOP_BYTES
  }

  /** Bytes hop i authenticates at the front of a forward RELAY body (the rest is ignored). */
  forwardLayerBytes (position: number): number {
    return this.forwardPayloadBytes + (this.hops + 1 - position) * FORWARD_HOP_OVERHEAD
  }

  /** Bytes hop i emits at the front of a backward RELAY body (the rest is zero). */
  backwardLayerBytes (position: number): number {
    return this.backwardPayloadBytes + (this.hops + 1 - position) * BACKWARD_HOP_OVERHEAD
  }

  /** The meaningful input prefix hop i seals backward: hop i+1's output, or the exit's payload. */
  backwardInnerBytes (position: number): number {
    return position === this.hops ? this.backwardPayloadBytes : this.backwardLayerBytes(position + 1)
  }

  /** A short fingerprint of the geometry, for logs and config checks. */
  toString (): string {
    return `cell=${this.cellSize} hops=${this.hops}`
  }
}
