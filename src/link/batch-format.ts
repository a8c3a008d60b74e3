/**
 * The link's wire format after the handshake (docs/PROTOCOL.md §8.4): batches of cells, each
 * sealed with two AEAD calls instead of one per cell.
 *
 *   batch  = header ‖ body
 *   header = ChaChaPoly(k, nonce n,     ad = empty, flags_count(2, BE) ‖ round(4, BE) ‖ span(1))   23 bytes
 *   body   = ChaChaPoly(k, nonce n + 1, ad = empty, cell_1 ‖ … ‖ cell_count)             count × CELL + 16
 *
 * with 1 ≤ count ≤ maxCellsPerBatch(CELL), so that a body fits one 65535-byte Noise message.
 * A write of N cells is cut greedily into full batches and one last, shorter one, so its size
 * on the wire depends on N alone (linkWriteBytes). The last batch of a write has the top bit
 * of flags_count set (WRITE_END_FLAG), and every batch of a write carries the round the
 * write belongs to (the sender's round number modulo 2^32): a shaped hop releases a round as
 * soon as its neighbours' writes of that round have arrived (PROTOCOL.md §12.1). `span` is
 * how many rounds before `round` the write also carries the schedule of (a catch-up or a
 * drain, §12.2), so that the next hop carries them on alike. All are inside the AEAD and tell
 * the peer only what the write's timing and size do. Pure sizes and the header codec; no I/O.
 */
import { AEAD_TAG_BYTES } from '../crypto/index.js'
import type { CipherState } from './noise/cipher-state.js'

const EMPTY = new Uint8Array(0)

/** The largest Noise transport message (rev. 34 §3): ciphertext and tag together. */
export const NOISE_MAX_MESSAGE_BYTES = 65535
/** The header's plaintext: the batch's cell count with the end-of-write flag, the write's round (big-endian), its span. */
export const BATCH_COUNT_BYTES = 2
export const BATCH_ROUND_BYTES = 4
export const BATCH_SPAN_BYTES = 1
export const BATCH_HEADER_PLAIN_BYTES = BATCH_COUNT_BYTES + BATCH_ROUND_BYTES + BATCH_SPAN_BYTES
/** The largest span a header holds; a sender clamps to it. */
export const MAX_WRITE_SPAN = 255
/** A sealed header: the plaintext and its tag. */
export const BATCH_HEADER_BYTES = BATCH_HEADER_PLAIN_BYTES + AEAD_TAG_BYTES
/** Set in the count field of a write's last batch. Counts stay below it (MAXB ≤ 10919 for the smallest cells). */
export const WRITE_END_FLAG = 0x8000
/** What a body adds to its cells: one tag. */
export const BATCH_BODY_OVERHEAD = AEAD_TAG_BYTES
/** What one batch adds to its cells on the wire: header and body tag (39 bytes). */
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
 * Seals and opens batch headers, the one place that knows their encoding. Each reader and
 * sealer makes one for its life: the plaintext lives in it, so a batch header costs no
 * allocation. After `open`, `endsWrite` and `round` hold what the header said.
 */
export class BatchHeaderCodec {
  private readonly plain = new Uint8Array(BATCH_HEADER_PLAIN_BYTES)
  private readonly view = new DataView(this.plain.buffer)
  /** The last opened header's end-of-write flag, round (modulo 2^32) and span. */
  endsWrite = false
  round = 0
  span = 0

  /** Seal the header of a batch of `count` cells into `out`, BATCH_HEADER_BYTES long; `span` is clamped to MAX_WRITE_SPAN. */
  seal (sender: CipherState, count: number, endsWrite: boolean, round: number, span: number, out: Uint8Array): void {
    this.view.setUint16(0, endsWrite ? count | WRITE_END_FLAG : count)
    this.view.setUint32(BATCH_COUNT_BYTES, round >>> 0)
    this.plain[BATCH_COUNT_BYTES + BATCH_ROUND_BYTES] = Math.min(MAX_WRITE_SPAN, Math.max(0, span))
    sender.encryptInto(out, EMPTY, this.plain)
  }

  /** The count a sealed header announces (not yet checked against the bounds); null if it does not authenticate. */
  open (receiver: CipherState, sealed: Uint8Array): number | null {
    if (!receiver.decryptInto(this.plain, EMPTY, sealed)) return null
    const field = this.view.getUint16(0)
    this.endsWrite = (field & WRITE_END_FLAG) !== 0
    this.round = this.view.getUint32(BATCH_COUNT_BYTES)
    this.span = this.plain[BATCH_COUNT_BYTES + BATCH_ROUND_BYTES]!
    return field & ~WRITE_END_FLAG
  }
}
