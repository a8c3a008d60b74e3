/**
 * The sending half of a link: seals the cells of one write into batches (batch-format.ts,
 * docs/PROTOCOL.md §8.4) in one buffer, and keeps the sending key's schedule.
 *
 * Why batches: sealing each cell by itself cost a native call, a nonce and a tag per cell;
 * one body per batch pays those once for up to maxCellsPerBatch cells. The cells are copied
 * into the write buffer and sealed there in place (the caller's cells are only read).
 *
 * Rekeying: a key seals at most batchesPerKey batches (messagesPerKey / 2 AEAD calls). The
 * key's last batch carries a REKEY cell as its last cell, in the place of one of the write's
 * cells, and the next batch is sealed under Rekey(k). The write is still cut greedily into
 * full batches, so its size stays a function of its cell count (REKEY included).
 */
import type { CipherState } from './noise/cipher-state.js'
import { BATCH_BODY_OVERHEAD, BATCH_HEADER_BYTES, BATCH_OVERHEAD, BatchHeaderCodec, maxCellsPerBatch } from './batch-format.js'
import { encodeRekeyCell } from './link-control.js'

const EMPTY = new Uint8Array(0)
/** seal()'s answer when the write would need the reserved nonce 2^64 − 1: nothing was sealed. */
export const NONCES_EXHAUSTED = null

export class BatchSealer {
  readonly cellSize: number
  readonly maxCellsPerBatch: number
  private readonly sender: CipherState
  private readonly batchesPerKey: number
  private readonly rekeyCell: Uint8Array
  private readonly headers = new BatchHeaderCodec()
  /** Batches sealed under the current key. */
  private batchesUnderKey = 0
  private rekeys = 0
  private cells = 0
  private batches = 0
  /**
   * The last write's buffer, for `seal(…, reuse)`: a round's write then costs no allocation.
   * Held weakly: kept between writes until the isolate's next full collection. Why: a burst
   * (9,000 BEGINs in a round) grows it to megabytes, and a link that goes quiet after it would
   * hold them for good; a busy link loses it once per full collection and makes one anew.
   */
  private spare: WeakRef<Buffer> | null = null

  /** `messagesPerKey`: AEAD calls a key may make, an even number ≥ 4 (checked by the Link). */
  constructor (cellSize: number, sender: CipherState, messagesPerKey: number) {
    this.cellSize = cellSize
    this.maxCellsPerBatch = maxCellsPerBatch(cellSize)
    this.sender = sender
    this.batchesPerKey = messagesPerKey / 2
    this.rekeyCell = encodeRekeyCell(cellSize)
  }

  /** Times the sending key changed. */
  get rekeysSent (): number { return this.rekeys }
  /** Cells sealed, REKEY cells included. */
  get cellsSealed (): number { return this.cells }
  get batchesSealed (): number { return this.batches }
  /** Whether the current key has sealed anything (the rekey timer skips a key that has not). */
  get keyUsed (): boolean { return this.batchesUnderKey > 0 }

  /**
   * The wire bytes of `cells` (each cellSize bytes, count ≥ 1) and whatever REKEY cells the
   * schedule puts among them, in one buffer, every header carrying `round` and `span` and the last one
   * the end-of-write flag; NONCES_EXHAUSTED if they would need nonce 2^64 − 1 (then nothing
   * is sealed and the keys are unchanged).
   *
   * `reuse`: the caller no longer needs what the last seal returned (the socket has handed it
   * to the kernel), so its buffer may be written again. Why: a fresh buffer for every round's
   * write (up to megabytes at a busy mix) is fresh pages, and their faults cost a mix about a
   * quarter of its time per cell (docs/BENCH.md "Where one mix's time per cell goes"). The
   * buffer kept grows with the writes and is let go at the next full collection (see `spare`).
   */
  seal (cells: readonly Uint8Array[], round = 0, span = 0, reuse = false): Uint8Array | typeof NONCES_EXHAUSTED {
    const count = cells.length
    const { batches, rekeys } = this.plan(count)
    if (2 * batches > this.sender.nonceHeadroom) return NONCES_EXHAUSTED
    const out = this.buffer((count + rekeys) * this.cellSize + batches * BATCH_OVERHEAD, reuse)
    const max = this.maxCellsPerBatch
    let at = 0
    // With one cell per batch, a key's last batch is the REKEY alone (take 0): `from` waits.
    for (let from = 0; from < count;) {
      const lastOfKey = this.batchesUnderKey === this.batchesPerKey - 1
      const take = Math.min(count - from, lastOfKey ? max - 1 : max)
      from += take
      at = this.sealBatch(out, at, cells, from - take, take, lastOfKey, from === count, round, span)
    }
    this.cells += count + rekeys
    return out
  }

  /**
   * `bytes` to seal a write into: the last write's buffer when `reuse` allows and it fits, else
   * a new one kept for next time, of the next power of two: the writes of a download vary in
   * size, and a buffer of the exact size made each larger write a fresh one (a 64 MiB download
   * through `up --shaping off`: 150–300 fresh buffers, 170–250 MB, in the hops' thread).
   */
  private buffer (bytes: number, reuse: boolean): Buffer {
    const spare = this.spare?.deref()
    if (reuse && spare !== undefined && spare.length >= bytes) return spare.subarray(0, bytes)
    const fresh = Buffer.allocUnsafeSlow(2 ** Math.ceil(Math.log2(bytes)))
    this.spare = new WeakRef(fresh)
    return fresh.subarray(0, bytes)
  }

  /** A batch of the REKEY cell alone (the rekey timer's, part of no round's write); NONCES_EXHAUSTED as seal(). */
  sealRekey (): Uint8Array | typeof NONCES_EXHAUSTED {
    if (this.sender.nonceHeadroom < 2) return NONCES_EXHAUSTED
    const out = Buffer.allocUnsafe(this.cellSize + BATCH_OVERHEAD)
    this.sealBatch(out, 0, [], 0, 0, true, false, 0, 0)
    this.cells++
    return out
  }

  /** Batches and REKEY cells a write of `count` cells takes from here (the loop of seal(), dry). */
  private plan (count: number): { batches: number, rekeys: number } {
    const max = this.maxCellsPerBatch
    let batches = 0
    let rekeys = 0
    let underKey = this.batchesUnderKey
    for (let left = count; left > 0;) {
      const lastOfKey = underKey === this.batchesPerKey - 1
      left -= Math.min(left, lastOfKey ? max - 1 : max)
      batches++
      if (lastOfKey) { rekeys++; underKey = 0 } else underKey++
    }
    return { batches, rekeys }
  }

  /**
   * Seal header and body of one batch at `at`: cells[from .. from+take), then the REKEY cell
   * if `endsKey` (and switch keys after it). Returns where the next batch starts.
   */
  private sealBatch (out: Uint8Array, at: number, cells: readonly Uint8Array[], from: number, take: number, endsKey: boolean, endsWrite: boolean, round: number, span: number): number {
    const cellSize = this.cellSize
    const count = take + (endsKey ? 1 : 0)
    const sender = this.sender
    this.headers.seal(sender, count, endsWrite, round, span, out.subarray(at, at + BATCH_HEADER_BYTES))
    const bodyAt = at + BATCH_HEADER_BYTES
    let end = bodyAt
    for (let i = from; i < from + take; i++, end += cellSize) out.set(cells[i]!, end)
    if (endsKey) {
      out.set(this.rekeyCell, end)
      end += cellSize
    }
    // In place: the body's plaintext is already where its ciphertext goes.
    sender.encryptInto(out.subarray(bodyAt, end + BATCH_BODY_OVERHEAD), EMPTY, out.subarray(bodyAt, end))
    this.batches++
    if (endsKey) {
      sender.rekey()
      this.batchesUnderKey = 0
      this.rekeys++
    } else {
      this.batchesUnderKey++
    }
    return end + BATCH_BODY_OVERHEAD
  }
}
