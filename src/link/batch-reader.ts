/**
 * The receiving half of a link: cuts the TCP byte stream into batches (batch-format.ts,
 * docs/PROTOCOL.md §8.4), opens each, and hands its cells on as one view.
 *
 * Memory is bounded whatever the peer sends: a header is read into a 23-byte buffer and
 * opened, its count checked (1..maxCellsPerBatch) before a byte of the body is buffered, so
 * the most ever held is one body of count × CELL + 16 ≤ 65535 bytes.
 *
 * No copy when a body lies wholly in one chunk: it is opened in place in that chunk (the
 * caller's, which nobody else writes), and its cells are views of it. A body that straddles
 * chunks is gathered, into a buffer of its exact length made for it (one allocation per such
 * batch, none per cell, not zero-filled). With Node's 64 KiB socket reads and full batches of
 * 63.5 KB (2 KiB cells) that is nearly every full batch. A view keeps its chunk or buffer (≤ 64 KiB)
 * alive as long as it is kept. A transient chunk (a read into the thread's shared buffer,
 * socket-reads.ts) is never opened in place: each body in it is decrypted into a buffer of
 * its own, so nothing handed on points into memory the next read overwrites.
 *
 * Any failure is reported once through `onError` and stops the reader: with implicit nonces
 * nothing after a bad header or body could be read anyway.
 */
import type { CipherState } from './noise/cipher-state.js'
import { BATCH_BODY_OVERHEAD, BATCH_HEADER_BYTES, BatchHeaderCodec, batchBodyBytes, maxCellsPerBatch } from './batch-format.js'
import { LinkError, LinkErrorCode } from './errors.js'

const EMPTY = new Uint8Array(0)

export interface BatchSink {
  /**
   * An opened batch: `cells` is count × cellSize bytes of plaintext, a plain Uint8Array view
   * nobody else writes; `endsWrite` if it is its write's last batch, the write's `round`
   * (modulo 2^32) and `span`. Return false to stop reading after it (paused, or closed).
   */
  onBatch (cells: Uint8Array, count: number, endsWrite: boolean, round: number, span: number): boolean
  /** The link must close: LINK_AUTH_FAILED, LINK_BAD_BATCH or LINK_NONCE_EXHAUSTED. */
  onError (error: LinkError): void
}

export class BatchReader {
  readonly cellSize: number
  readonly maxCellsPerBatch: number
  private readonly receiver: CipherState
  private readonly sink: BatchSink
  private readonly header = new Uint8Array(BATCH_HEADER_BYTES)
  private readonly headers = new BatchHeaderCodec()
  private headerFilled = 0
  /** Cells and sealed length of the batch whose header has opened; 0 between batches. */
  private count = 0
  private bodyLength = 0
  /** The straddling body being gathered, or null. */
  private body: Uint8Array | null = null
  private bodyFilled = 0
  private completed = 0

  constructor (cellSize: number, receiver: CipherState, sink: BatchSink) {
    this.cellSize = cellSize
    this.maxCellsPerBatch = maxCellsPerBatch(cellSize)
    this.receiver = receiver
    this.sink = sink
  }

  /** Bytes of the batch in progress held or already read (0 between batches). */
  get pendingBytes (): number {
    return this.bodyLength === 0 ? this.headerFilled : BATCH_HEADER_BYTES + this.bodyFilled
  }

  /** Batches opened so far. */
  get batchesRead (): number {
    return this.completed
  }

  /**
   * Feed one chunk. Returns the bytes consumed: `chunk.length`, unless the sink returned false
   * or a failure was reported, in which case it is the offset just after the last batch read.
   * `transient`: the chunk's memory is reused after this call (socket-reads.ts), so nothing is
   * opened in place in it: a body lying wholly in it is opened into a buffer of its own.
   */
  push (chunk: Uint8Array, transient = false): number {
    const length = chunk.length
    let at = 0
    for (;;) {
      if (this.bodyLength === 0) {
        if (this.headerFilled === 0 && length - at >= BATCH_HEADER_BYTES) {
          at += BATCH_HEADER_BYTES
          if (!this.openHeader(chunk.subarray(at - BATCH_HEADER_BYTES, at))) return at
        } else {
          const take = Math.min(BATCH_HEADER_BYTES - this.headerFilled, length - at)
          this.header.set(chunk.subarray(at, at + take), this.headerFilled)
          this.headerFilled += take
          at += take
          if (this.headerFilled < BATCH_HEADER_BYTES) return length
          this.headerFilled = 0
          if (!this.openHeader(this.header)) return at
        }
      }
      let sealed: Uint8Array
      if (this.body === null && length - at >= this.bodyLength) {
        sealed = chunk.subarray(at, at + this.bodyLength)
        at += this.bodyLength
        if (transient) {
          // Decrypted from the shared read buffer into the body's own: no copy of the
          // ciphertext first, and the cells handed on are views of memory nobody reuses.
          if (!this.openBody(sealed, Buffer.allocUnsafeSlow(this.bodyLength - BATCH_BODY_OVERHEAD))) return at
          continue
        }
      } else {
        // Nothing of the body here yet: the next chunk may hold all of it (then no copy).
        if (at === length) return length
        // Not zero-filled: the gather below writes every byte before the body is opened, and
        // with 64 KiB reads nearly every full batch (31 cells, 63.5 KB) straddles two chunks,
        // so zeroing cost a memset of every cell (docs/BENCH.md).
        if (this.body === null) this.body = Buffer.allocUnsafeSlow(this.bodyLength)
        const take = Math.min(this.bodyLength - this.bodyFilled, length - at)
        this.body.set(chunk.subarray(at, at + take), this.bodyFilled)
        this.bodyFilled += take
        at += take
        if (this.bodyFilled < this.bodyLength) return length
        sealed = this.body
        this.body = null
        this.bodyFilled = 0
      }
      if (!this.openBody(sealed)) return at
    }
  }

  /** Drop a batch in progress (the link closed). */
  reset (): void {
    this.headerFilled = 0
    this.count = 0
    this.bodyLength = 0
    this.body = null
    this.bodyFilled = 0
  }

  /** Open a header and check its count before anything of the body is kept. */
  private openHeader (sealed: Uint8Array): boolean {
    if (!this.canOpen()) return false
    const count = this.headers.open(this.receiver, sealed)
    if (count === null) return this.fail(LinkErrorCode.AUTH_FAILED, 'a batch header did not authenticate')
    if (count < 1 || count > this.maxCellsPerBatch) return this.fail(LinkErrorCode.BAD_BATCH, 'a batch header announced an impossible cell count')
    this.count = count
    this.bodyLength = batchBodyBytes(count, this.cellSize)
    return true
  }

  /** Open a body, in place or into `into` (count × cellSize bytes), and hand its cells on. */
  private openBody (sealed: Uint8Array, into: Uint8Array = sealed): boolean {
    if (!this.canOpen()) return false
    const count = this.count
    // A plain Uint8Array view, never a Buffer (whose slice() aliases): the cells handed on.
    const cells = new Uint8Array(into.buffer, into.byteOffset, count * this.cellSize)
    if (!this.receiver.decryptInto(cells, EMPTY, sealed)) return this.fail(LinkErrorCode.AUTH_FAILED, 'a batch body did not authenticate')
    this.count = 0
    this.bodyLength = 0
    this.completed++
    return this.sink.onBatch(cells, count, this.headers.endsWrite, this.headers.round, this.headers.span)
  }

  /** Nonce 2^64 − 1 is never used: the link closes first. */
  private canOpen (): boolean {
    if (!this.receiver.exhausted) return true
    return this.fail(LinkErrorCode.NONCE_EXHAUSTED, 'the receiving nonces are used up')
  }

  private fail (code: LinkErrorCode, message: string): false {
    this.reset()
    this.sink.onError(new LinkError(code, message))
    return false
  }
}
