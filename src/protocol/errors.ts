/**
 * The one error type of the pure protocol layer.
 *
 * Every decoder and every layer operation in `src/protocol` that rejects its input throws a
 * `ProtocolError` with one of the stable codes below, and nothing else: a peer can make us
 * refuse a cell, never crash. Authentication failures on the data path are the exception:
 * they return `null` (they are expected, and must take one uniform, cheap path — R16).
 */
import { MixgateError } from '../errors.js'

export const ProtocolErrorCode = {
  GEOMETRY_INVALID: 'PROTO_GEOMETRY_INVALID',
  CELL_BAD_LENGTH: 'PROTO_CELL_BAD_LENGTH',
  CELL_BAD_COMMAND: 'PROTO_CELL_BAD_COMMAND',
  CELL_BAD_CIRCUIT: 'PROTO_CELL_BAD_CIRCUIT',
  CELL_BAD_PADDING: 'PROTO_CELL_BAD_PADDING',
  ONION_BAD_LENGTH: 'PROTO_ONION_BAD_LENGTH',
  ONION_BAD_POINT: 'PROTO_ONION_BAD_POINT',
  ONION_AUTH_FAILED: 'PROTO_ONION_AUTH_FAILED',
  ONION_BAD_PARAMS: 'PROTO_ONION_BAD_PARAMS',
  ONION_BAD_PATH: 'PROTO_ONION_BAD_PATH',
  LAYER_BAD_LENGTH: 'PROTO_LAYER_BAD_LENGTH',
  LAYER_COUNTER_EXHAUSTED: 'PROTO_LAYER_COUNTER_EXHAUSTED',
  RELAY_BAD_LENGTH: 'PROTO_RELAY_BAD_LENGTH',
  RELAY_BAD_COMMAND: 'PROTO_RELAY_BAD_COMMAND',
  RELAY_BAD_PADDING: 'PROTO_RELAY_BAD_PADDING',
  RELAY_BAD_ADDRESS: 'PROTO_RELAY_BAD_ADDRESS',
  RELAY_BAD_REASON: 'PROTO_RELAY_BAD_REASON',
  SHAPING_BAD_PARAMS: 'PROTO_SHAPING_BAD_PARAMS',
} as const

export type ProtocolErrorCode = typeof ProtocolErrorCode[keyof typeof ProtocolErrorCode]

export class ProtocolError extends MixgateError {
  declare readonly code: ProtocolErrorCode

  constructor (code: ProtocolErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
  }
}
