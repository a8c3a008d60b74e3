/**
 * Relay payloads: what the client and the exit say to each other inside the layers.
 *
 *   streamId(2, BE) ‖ relayCommand(1) ‖ length(2, BE) ‖ data(length) ‖ zeros
 *
 * The payload is forwardPayloadBytes long in forward cells and backwardPayloadBytes long in
 * backward ones (geometry.ts); the zero padding is checked. Stream 0 is the circuit itself
 * (circuit-level SENDME, DROP, LOOP). Only the client and the exit ever see these bytes.
 */
import { ProtocolError, ProtocolErrorCode } from './errors.js'
import { RELAY_HEADER_BYTES } from './geometry.js'
import { isEndReason } from './end-reason.js'

export const RelayCommand = {
  /** Open a stream: address (begin.ts) then optional first data (optimistic data). */
  BEGIN: 1,
  /** The exit connected; empty (the exit never reveals the address it used). */
  CONNECTED: 2,
  /** Stream bytes, at least one. */
  DATA: 3,
  /** Close a stream, or refuse a BEGIN: one reason byte (end-reason.ts). */
  END: 4,
  /** Flow-control credit for a stream, or for the circuit on stream 0. */
  SENDME: 5,
  /** Cover: discarded by the receiver. */
  DROP: 6,
  /** Cover that the exit echoes back; the data is opaque to the exit. */
  LOOP: 7,
  /** Half-close: the sender will send no more DATA on this stream (TCP FIN). */
  FINISH: 8,
  /** Look a name (or an address's name) up at the exit: an address (resolve.ts). */
  RESOLVE: 9,
  /** The exit's answer to RESOLVE: addresses or one name (resolve.ts); ends the stream. */
  RESOLVED: 10,
  /** Open a UDP association (SOCKS UDP ASSOCIATE) on this stream: empty; answered CONNECTED or END. */
  ASSOCIATE: 11,
  /** One UDP datagram of an association, either way: peer address, port, payload (datagram.ts). */
  DATAGRAM: 12,
} as const

export type RelayCommand = typeof RelayCommand[keyof typeof RelayCommand]

export const MAX_STREAM_ID = 0xffff
/** Stream 0 addresses the circuit itself. */
export const CIRCUIT_STREAM = 0

export interface RelayMessage {
  readonly streamId: number
  readonly command: RelayCommand
  /** A view into the decoded payload (not a copy). */
  readonly data: Uint8Array
}

const EMPTY = new Uint8Array(0)

/** Encode a relay message into a payload of `payloadBytes` (written into `out` if given). */
export function encodeRelay (payloadBytes: number, streamId: number, command: RelayCommand, data: Uint8Array = EMPTY, out?: Uint8Array): Uint8Array {
  checkStreamFor(command, streamId)
  if (data.length > payloadBytes - RELAY_HEADER_BYTES) {
    throw new ProtocolError(ProtocolErrorCode.RELAY_BAD_LENGTH, `relay data must be at most ${payloadBytes - RELAY_HEADER_BYTES} bytes, got ${data.length}`)
  }
  checkDataFor(command, data.length)
  const payload = out ?? new Uint8Array(payloadBytes)
  if (payload.length !== payloadBytes) throw new ProtocolError(ProtocolErrorCode.RELAY_BAD_LENGTH, `relay payload buffer must be ${payloadBytes} bytes`)
  payload[0] = streamId >>> 8
  payload[1] = streamId & 0xff
  payload[2] = command
  payload[3] = data.length >>> 8
  payload[4] = data.length & 0xff
  payload.set(data, RELAY_HEADER_BYTES)
  payload.fill(0, RELAY_HEADER_BYTES + data.length)
  return payload
}

/** Decode one relay payload; anything malformed throws `ProtocolError`. */
export function decodeRelay (payload: Uint8Array): RelayMessage {
  if (payload.length < RELAY_HEADER_BYTES) {
    throw new ProtocolError(ProtocolErrorCode.RELAY_BAD_LENGTH, 'relay payload shorter than its header')
  }
  const streamId = (payload[0]! << 8) | payload[1]!
  const command = payload[2]!
  const length = (payload[3]! << 8) | payload[4]!
  if (!isRelayCommand(command)) throw new ProtocolError(ProtocolErrorCode.RELAY_BAD_COMMAND, `unknown relay command ${command}`)
  if (length > payload.length - RELAY_HEADER_BYTES) {
    throw new ProtocolError(ProtocolErrorCode.RELAY_BAD_LENGTH, `relay length ${length} exceeds the payload`)
  }
  checkStreamFor(command, streamId)
  checkDataFor(command, length)
  const end = RELAY_HEADER_BYTES + length
  for (let i = end; i < payload.length; i++) {
    if (payload[i] !== 0) throw new ProtocolError(ProtocolErrorCode.RELAY_BAD_PADDING, 'relay padding must be zero')
  }
  const data = payload.subarray(RELAY_HEADER_BYTES, end)
  if (command === RelayCommand.END && !isEndReason(data[0]!)) {
    throw new ProtocolError(ProtocolErrorCode.RELAY_BAD_REASON, `unknown END reason ${data[0]}`)
  }
  return { streamId, command, data }
}

export function isRelayCommand (value: number): value is RelayCommand {
  return value >= RelayCommand.BEGIN && value <= RelayCommand.DATAGRAM
}

/** Commands about one stream need a stream; cover is circuit-level; SENDME may be either. */
function checkStreamFor (command: number, streamId: number): void {
  if (!Number.isInteger(streamId) || streamId < 0 || streamId > MAX_STREAM_ID) {
    throw new ProtocolError(ProtocolErrorCode.RELAY_BAD_LENGTH, 'stream ID must be a 16-bit unsigned integer')
  }
  const circuitLevel = command === RelayCommand.DROP || command === RelayCommand.LOOP
  const either = command === RelayCommand.SENDME
  if (!either && circuitLevel !== (streamId === CIRCUIT_STREAM)) {
    throw new ProtocolError(ProtocolErrorCode.RELAY_BAD_COMMAND, circuitLevel ? 'cover commands use stream 0' : 'stream commands need a non-zero stream ID')
  }
}

function checkDataFor (command: number, length: number): void {
  const ok = command === RelayCommand.DATA
    ? length >= 1
    : command === RelayCommand.END
      ? length === 1
      : command === RelayCommand.CONNECTED || command === RelayCommand.SENDME || command === RelayCommand.FINISH ||
        command === RelayCommand.ASSOCIATE
        ? length === 0
        : true // BEGIN: begin.ts; RESOLVE, RESOLVED: resolve.ts; DATAGRAM: datagram.ts; DROP and LOOP carry anything
  if (!ok) throw new ProtocolError(ProtocolErrorCode.RELAY_BAD_LENGTH, `bad data length ${length} for relay command ${command}`)
}
