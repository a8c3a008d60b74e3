/**
 * Cells: the fixed-size unit every link carries.
 *
 *   circuitId(4, big-endian) ‖ command(1) ‖ body(CELL − 5)
 *
 * Circuit IDs are local to one link and drawn at random (0 is reserved for PADDING).
 * CREATE and RELAY bodies are opaque here (onion.ts and relay-layers.ts give them meaning);
 * DESTROY carries a one-byte reason, PADDING nothing: their remaining bytes must be zero.
 *
 * The hot path reads a cell in place with `cellCircuitId` / `cellCommand` / `cellBody`
 * (views, no copies); `decodeCell` is the full validating decoder.
 */
import { randomUint32 } from '../crypto/index.js'
import { ProtocolError, ProtocolErrorCode } from './errors.js'
import { CELL_HEADER_BYTES, type Geometry } from './geometry.js'

export const CellCommand = {
  /** Link padding: circuit 0, discarded by the receiver. */
  PADDING: 0,
  /** Circuit setup: the body is the onion header (onion.ts). */
  CREATE: 1,
  /** Data in either direction: the body is layered relay crypto (relay-layers.ts). */
  RELAY: 2,
  /** Link-local teardown of one circuit; never relayed across a hop (R5). */
  DESTROY: 3,
} as const

export type CellCommand = typeof CellCommand[keyof typeof CellCommand]

/**
 * Reserved for the link layer, never a CellCommand: a cell on circuit 0 with this command is
 * a link-control cell (a rekey, docs/PROTOCOL.md §8.4). The link consumes it; no node ever
 * sees one, and decodeCell refuses it as an unknown command.
 */
export const LINK_CONTROL_COMMAND = 0xff

/** Why a DESTROY was sent (informational; link-local only). */
export const DestroyReason = {
  NONE: 0,
  PROTOCOL: 1,
  INTERNAL: 2,
  RESOURCE_LIMIT: 3,
  FINISHED: 4,
} as const

export const MAX_CIRCUIT_ID = 0xffffffff

/**
 * A fresh circuit ID for a link: uniform over 1..2^32−1 from the CSPRNG, never sequential and
 * never derived from input order (R9). `inUse` rejects collisions on that link.
 */
export function randomCircuitId (inUse: (id: number) => boolean): number {
  for (;;) {
    const id = randomUint32()
    if (id !== 0 && !inUse(id)) return id
  }
}

export interface Cell {
  readonly circuitId: number
  readonly command: CellCommand
  /** A view into the decoded bytes (not a copy). */
  readonly body: Uint8Array
}

/** Encode a cell; `body` may be shorter than the body size (the rest is zero-filled). */
export function encodeCell (geometry: Geometry, circuitId: number, command: CellCommand, body?: Uint8Array, out?: Uint8Array): Uint8Array {
  checkCircuitFor(command, circuitId)
  const cell = out ?? new Uint8Array(geometry.cellSize)
  if (cell.length !== geometry.cellSize) throw new ProtocolError(ProtocolErrorCode.CELL_BAD_LENGTH, `cell buffer must be ${geometry.cellSize} bytes`)
  if (body !== undefined && body.length > geometry.bodyBytes) {
    throw new ProtocolError(ProtocolErrorCode.CELL_BAD_LENGTH, `cell body must be at most ${geometry.bodyBytes} bytes, got ${body.length}`)
  }
  writeCellHeader(cell, circuitId, command)
  if (body !== undefined) cell.set(body, CELL_HEADER_BYTES)
  cell.fill(0, CELL_HEADER_BYTES + (body?.length ?? 0))
  return cell
}

/** Write just the header of a cell whose body is already in place. */
export function writeCellHeader (cell: Uint8Array, circuitId: number, command: CellCommand): void {
  cell[0] = circuitId >>> 24
  cell[1] = (circuitId >>> 16) & 0xff
  cell[2] = (circuitId >>> 8) & 0xff
  cell[3] = circuitId & 0xff
  cell[4] = command
}

export function encodeDestroy (geometry: Geometry, circuitId: number, reason: number): Uint8Array {
  return encodeCell(geometry, circuitId, CellCommand.DESTROY, Uint8Array.of(reason))
}

export function encodePadding (geometry: Geometry): Uint8Array {
  return encodeCell(geometry, 0, CellCommand.PADDING)
}

/**
 * Decode exactly one cell, validating everything the cell layer can validate.
 * Anything else throws `ProtocolError`; the returned body is a view into `bytes`.
 */
export function decodeCell (geometry: Geometry, bytes: Uint8Array): Cell {
  if (bytes.length !== geometry.cellSize) {
    throw new ProtocolError(ProtocolErrorCode.CELL_BAD_LENGTH, `a cell is ${geometry.cellSize} bytes, got ${bytes.length}`)
  }
  const circuitId = cellCircuitId(bytes)
  const command = bytes[4]!
  if (!isCellCommand(command)) throw new ProtocolError(ProtocolErrorCode.CELL_BAD_COMMAND, `unknown cell command ${command}`)
  checkCircuitFor(command, circuitId)
  const body = bytes.subarray(CELL_HEADER_BYTES)
  if (command === CellCommand.PADDING && !allZero(body, 0)) {
    throw new ProtocolError(ProtocolErrorCode.CELL_BAD_PADDING, 'PADDING body must be zero')
  }
  if (command === CellCommand.DESTROY && !allZero(body, 1)) {
    throw new ProtocolError(ProtocolErrorCode.CELL_BAD_PADDING, 'DESTROY body after the reason must be zero')
  }
  return { circuitId, command, body }
}

export function cellCircuitId (cell: Uint8Array): number {
  return ((cell[0]! << 24) | (cell[1]! << 16) | (cell[2]! << 8) | cell[3]!) >>> 0
}

export function cellCommand (cell: Uint8Array): number {
  return cell[4]!
}

export function cellBody (cell: Uint8Array): Uint8Array {
  return cell.subarray(CELL_HEADER_BYTES)
}

export function isCellCommand (value: number): value is CellCommand {
  return value >= CellCommand.PADDING && value <= CellCommand.DESTROY
}

function checkCircuitFor (command: number, circuitId: number): void {
  if (!Number.isInteger(circuitId) || circuitId < 0 || circuitId > MAX_CIRCUIT_ID) {
    throw new ProtocolError(ProtocolErrorCode.CELL_BAD_CIRCUIT, 'circuit ID must be a 32-bit unsigned integer')
  }
  if ((command === CellCommand.PADDING) !== (circuitId === 0)) {
    throw new ProtocolError(ProtocolErrorCode.CELL_BAD_CIRCUIT, command === CellCommand.PADDING ? 'PADDING must use circuit 0' : 'circuit 0 is reserved for PADDING')
  }
}

function allZero (bytes: Uint8Array, from: number): boolean {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== 0) return false
  return true
}
