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
 * on the wire depends on N alone (linkWriteBytes). Pure sizes and the header codec; no I/O.
 */
import { AEAD_TAG_BYTES } from '../crypto/index.js'
import type { CipherState } from './noise/cipher-state.js'

const EMPTY = new Uint8Array(0)

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

/**
 * Seals and opens batch headers, the one place that knows the count's encoding. Each reader
 * and sealer makes one for its life: the count's plaintext lives in it, so a batch header
 * costs no allocation.
 */
export class BatchHeaderCodec {
  private readonly plain = new Uint8Array(BATCH_COUNT_BYTES)

  /** Seal the header of a batch of `count` cells into `out`, BATCH_HEADER_BYTES long. */
  seal (sender: CipherState, count: number, out: Uint8Array): void {
    this.plain[0] = count >>> 8
    this.plain[1] = count & 0xff
    sender.encryptInto(out, EMPTY, this.plain)
  }

  /** The count a sealed header announces (not yet checked against the bounds); null if it does not authenticate. */
  open (receiver: CipherState, sealed: Uint8Array): number | null {
    if (!receiver.decryptInto(this.plain, EMPTY, sealed)) return null
    return (this.plain[0]! << 8) | this.plain[1]!
  }
}
