/**
 * The link's wire format after the handshake (docs/PROTOCOL.md §8.4): batches of cells, each
 * sealed with two AEAD calls instead of one per cell.
 *
 *   batch  = header ‖ body
 *   header = ChaChaPoly(k, nonce n,     ad = empty, count(2, BE))             18 bytes
 *   body   = ChaChaPoly(k, nonce n + 1, ad = empty, cell_1 ‖ … ‖ cell_count)  count × CELL + 16
 *
 * with 1 ≤ count ≤ maxCellsPerBatch(CELL), so that a body fits one 65535-byte Noise message.
 * A write of N cells is cut greedily into full batches and one last, shorter one, so its size
 * on the wire depends on N alone (linkWriteBytes). Pure sizes and the count codec; no I/O.
 */
import { AEAD_TAG_BYTES } from '../crypto/index.js'

/** The largest Noise transport message (rev. 34 §3): ciphertext and tag together. */
export const NOISE_MAX_MESSAGE_BYTES = 65535
/** The header's plaintext: the batch's cell count, big-endian. */
export const BATCH_COUNT_BYTES = 2
/** A sealed header: the count and its tag. */
export const BATCH_HEADER_BYTES = BATCH_COUNT_BYTES + AEAD_TAG_BYTES
/** What a body adds to its cells: one tag. */
export const BATCH_BODY_OVERHEAD = AEAD_TAG_BYTES
/** What one batch adds to its cells on the wire: header and body tag (34 bytes). */
export const BATCH_OVERHEAD = BATCH_HEADER_BYTES + BATCH_BODY_OVERHEAD
/** A batch body of one cell must fit a Noise message, so a cell can be at most 65535 − 16. */
export const MAX_LINK_CELL_BYTES = NOISE_MAX_MESSAGE_BYTES - BATCH_BODY_OVERHEAD

/** The most cells one batch holds: floor((65535 − 16) / CELL), 31 for 2048-byte cells. */
export function maxCellsPerBatch (cellSize: number): number {
  return Math.floor(MAX_LINK_CELL_BYTES / cellSize)
}

/** The sealed body of a batch of `count` cells. */
export function batchBodyBytes (count: number, cellSize: number): number {
  return count * cellSize + BATCH_BODY_OVERHEAD
}

/** Batches a write of `cells` cells is cut into. */
export function batchesInWrite (cells: number, cellSize: number): number {
  return Math.ceil(cells / maxCellsPerBatch(cellSize))
}

/** Bytes a write of `cells` cells (REKEY cells included) puts on the wire: a function of the count alone. */
export function linkWriteBytes (cells: number, cellSize: number): number {
  return cells * cellSize + batchesInWrite(cells, cellSize) * BATCH_OVERHEAD
}

/** Write `count` into a header plaintext. */
export function encodeBatchCount (count: number, out: Uint8Array): void {
  out[0] = count >>> 8
  out[1] = count & 0xff
}

/** The count an opened header announces (not yet checked against the bounds). */
export function decodeBatchCount (plain: Uint8Array): number {
  return (plain[0]! << 8) | plain[1]!
}
