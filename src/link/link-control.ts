/**
 * Link-control cells and the rekey schedule (docs/PROTOCOL.md §8.4).
 *
 *   control cell = circuitId 0 (4) ‖ LINK_CONTROL_COMMAND (1) ‖ type (1) ‖ zeros (CELL − 6)
 *
 * A control cell rides in a batch like any cell, so on the wire a rekey looks like one more
 * cell. The only type is REKEY, always the last cell of its batch: the sender switches its
 * sending key right after sealing that batch, the receiver its receiving key right after
 * opening it. Pure codec and constants, no I/O.
 */
import { LINK_CONTROL_COMMAND } from '../protocol/cell.js'
import { badOptions, checkTimeout } from './options.js'

export { LINK_CONTROL_COMMAND }

export const LinkControlType = {
  /** "Every batch after this one is sealed under Rekey(k)." */
  REKEY: 1,
} as const

/** Header (5) + type (1): a link cannot signal a rekey in smaller cells. */
export const MIN_LINK_CELL_BYTES = 6
/**
 * A sending key makes at most this many AEAD calls (two per batch: 2^19 batches), the last
 * batch ending with the REKEY cell.
 */
export const REKEY_AFTER_MESSAGES = 2 ** 20
/** Rekey at least this often when nodes do not pass their epoch length (the default epoch). */
export const DEFAULT_REKEY_INTERVAL_MS = 3_600_000
/** setInterval refuses longer delays (it fires after 1 ms instead): rekey at least this often. */
export const MAX_REKEY_TIMER_MS = 2 ** 31 - 1

/** A fresh REKEY control cell of `cellSize` bytes (allocated: rekeys are rare). */
export function encodeRekeyCell (cellSize: number): Uint8Array {
  const cell = new Uint8Array(cellSize)
  cell[4] = LINK_CONTROL_COMMAND
  cell[5] = LinkControlType.REKEY
  return cell
}

/**
 * Whether an opened cell is a link-control cell (circuit 0 and the reserved command). The
 * caller tests `cell[4] === LINK_CONTROL_COMMAND` first, so a data cell costs one compare.
 */
export function isLinkControlCell (cell: Uint8Array): boolean {
  return cell[4] === LINK_CONTROL_COMMAND && cell[0] === 0 && cell[1] === 0 && cell[2] === 0 && cell[3] === 0
}

/** Whether a link-control cell is a well-formed REKEY (known type, zeros after it). */
export function isWellFormedRekey (cell: Uint8Array): boolean {
  if (cell[5] !== LinkControlType.REKEY) return false
  for (let i = 6; i < cell.length; i++) if (cell[i] !== 0) return false
  return true
}

/** Options shared by dialers and listeners: the cell must hold a control cell, the interval be positive. */
export function checkRekeyOptions (cellSize: number, rekeyMs: number): void {
  if (cellSize < MIN_LINK_CELL_BYTES) throw badOptions(`cellSize must be at least ${MIN_LINK_CELL_BYTES} to carry a rekey`)
  checkTimeout(rekeyMs, 'rekeyMs')
}
