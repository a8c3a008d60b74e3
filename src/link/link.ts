/**
 * A Link: one authenticated, encrypted TCP connection carrying fixed-size cells.
 *
 * Created by `dialLink` / `listenLinks` once the Noise handshake is done. What one send()
 * writes leaves as batches of cells, each a sealed 23-byte header carrying the count and one
 * sealed body of count × cellSize + 16 bytes (docs/PROTOCOL.md §8.4, batch-format.ts): two
 * AEAD calls per batch of up to maxCellsPerBatch cells, nonces implicit (a counter per
 * direction).
 *
 * Events (a typed EventEmitter):
 *   'cell'  (cell: Uint8Array)   an opened cell, cellSize bytes, in arrival order; `roundIn`
 *                                is the round its write carried (modulo 2^32)
 *   'roundEnd' (round, span)     the peer's write of `round` (modulo 2^32) has all arrived:
 *                                after its last cell, before anything of the next write;
 *                                `span`: rounds before it whose schedule it also carried
 *   'drain' ()                   the socket's write buffer emptied after send() returned false
 *   'close' (reason?: LinkError) once; reason is undefined only after our own close().
 *                                Emitted on setImmediate, so a handler attached right after
 *                                `await dialLink()` or in onLink cannot miss it; `closed` is
 *                                true (and no more cells arrive) from the moment of closing.
 * A link never emits 'error': any failure closes it and becomes the 'close' reason, so a peer
 * can never crash the process. Any AEAD failure closes the link at once (LINK_AUTH_FAILED):
 * with implicit nonces, nothing after a bad header or body could be read anyway.
 *
 * Rekeying in place (PROTOCOL.md §8.4): each end rekeys its sending key after
 * REKEY_AFTER_MESSAGES AEAD calls and at least once per rekeyMs (if it sent anything since),
 * with a REKEY control cell as the last cell of a batch sealed under the old key
 * (batch-sealer.ts); the receiver switches right after opening that batch. Circuits never
 * notice; control cells are never emitted.
 *
 * Incoming cells start flowing when the first 'cell' listener is attached (on the next tick,
 * as a Readable's 'data' does), so nothing is lost between `await dialLink()` and `on('cell')`.
 * Until then, and while pause()d, the socket is not read and TCP holds the peer back; a
 * batch opened before pause() keeps its undelivered cells until resume().
 *
 * Hot path: send() validates sizes, allocates one buffer for the whole write, copies the
 * cells into it and seals each batch there in place (the cells are only read: the caller may
 * reuse them once send() returns), and makes one socket.write — one round's cells leave in
 * one write. Receiving opens each body in place in the socket's chunk when it lies in one, and
 * in a buffer made for it when it straddles chunks or was read into the thread's shared read
 * buffer (a link this node dialled, socket-reads.ts; batch-reader.ts); the cells handed on are
 * views of that body, so a cell kept queued keeps its chunk or batch buffer (≤ 64 KiB) alive.
 * No allocation per cell but the views; one compare per cell for link control.
 */
import { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { CipherState } from './noise/cipher-state.js'
import type { TransportCiphers } from './noise/handshake.js'
import { BatchReader } from './batch-reader.js'
import { BatchSealer, NONCES_EXHAUSTED } from './batch-sealer.js'
import { copyOf, hasSharedReads, onChunks, SHARED_READ_BYTES } from '../base/socket-reads.js'
import { LinkError, LinkErrorCode } from './errors.js'
import { DEFAULT_REKEY_INTERVAL_MS, LINK_CONTROL_COMMAND, MAX_REKEY_TIMER_MS, MIN_LINK_CELL_BYTES, REKEY_AFTER_MESSAGES, isLinkControlCell, isWellFormedRekey } from './link-control.js'

export interface LinkEvents {
  cell: [cell: Uint8Array]
  roundEnd: [round: number, span: number]
  drain: []
  close: [reason: LinkError | undefined]
}

export interface LinkInit {
  readonly socket: Socket
  readonly cellSize: number
  readonly ciphers: TransportCiphers
  /** Bytes that arrived after the last handshake message (they are batches). */
  readonly leftover: Uint8Array
  readonly frameTimeoutMs: number
  /** Rekey the sending direction at least this often (default DEFAULT_REKEY_INTERVAL_MS). */
  readonly rekeyMs?: number
  /**
   * AEAD calls per sending key, two per batch, the REKEY's batch included: an even number ≥ 4
   * (default REKEY_AFTER_MESSAGES; tests set it small).
   */
  readonly rekeyAfterMessages?: number
}

export class Link extends EventEmitter<LinkEvents> {
  readonly cellSize: number
  /** The most cells one batch on the wire holds (31 for 2048-byte cells). */
  readonly maxCellsPerBatch: number
  /** Noise h: equal on both ends, public; identifies this session (e.g. for logs at debug level). */
  readonly handshakeHash: Uint8Array

  private readonly socket: Socket
  private readonly sealer: BatchSealer
  private readonly receiver: CipherState
  private readonly sender: CipherState
  private readonly reader: BatchReader
  private readonly frameTimeoutMs: number
  /** Received bytes not yet read (handshake leftover, or the rest of a chunk after pause()). */
  private pending: Uint8Array | null
  /** The opened batch whose cells pause() interrupted, and the next cell to deliver. */
  private held: Uint8Array | null = null
  private heldCount = 0
  private heldNext = 0
  /** The batch being delivered: its write's round (modulo 2^32), and whether it ends that write. */
  private batchRound = 0
  private batchSpan = 0
  private batchEndsWrite = false
  private started = false
  /** The socket reads into the shared buffer and is read ahead of the start (constructor). */
  private readonly readAhead: boolean
  private paused = false
  private isClosed = false
  private frameTimer: NodeJS.Timeout | null = null
  /** batchesRead when the current partial batch began, and when (ms, monotonic). */
  private partialBatchNumber = -1
  private partialSince = 0
  private inCount = 0
  private authFailureCount = 0
  private rekeyTimer: NodeJS.Timeout | null = null
  private rekeysIn = 0

  constructor (init: LinkInit) {
    super()
    this.cellSize = init.cellSize
    this.handshakeHash = init.ciphers.handshakeHash
    this.socket = init.socket
    this.sender = init.ciphers.send
    this.receiver = init.ciphers.receive
    this.frameTimeoutMs = init.frameTimeoutMs
    this.pending = init.leftover.length > 0 ? init.leftover : null
    const rekeyAfterMessages = init.rekeyAfterMessages ?? REKEY_AFTER_MESSAGES
    const rekeyMs = init.rekeyMs ?? DEFAULT_REKEY_INTERVAL_MS
    // dialLink and listenLinks check these first; a bad value here is a programming error.
    // Four calls at least: a key then seals one batch that is not the REKEY's, so a write
    // always makes progress even with one cell per batch.
    if (!Number.isInteger(rekeyAfterMessages) || rekeyAfterMessages < 4 || rekeyAfterMessages % 2 !== 0 ||
      this.cellSize < MIN_LINK_CELL_BYTES || !(rekeyMs > 0)) {
      throw new LinkError(LinkErrorCode.BAD_OPTIONS, 'unusable rekey options')
    }
    this.sealer = new BatchSealer(this.cellSize, this.sender, rekeyAfterMessages)
    this.maxCellsPerBatch = this.sealer.maxCellsPerBatch
    this.reader = new BatchReader(this.cellSize, this.receiver, { onBatch: this.onBatch, onError: this.onReadError })

    // Not read until the first 'cell' listener comes; a socket reading into the shared buffer
    // is read ahead by onChunk instead, so that a peer closing meanwhile is still seen.
    this.readAhead = hasSharedReads(this.socket)
    if (!this.readAhead) this.socket.pause()
    onChunks(this.socket, this.onChunk)
    this.socket.on('drain', this.onDrain)
    this.socket.on('end', this.onEnd)
    this.socket.on('error', this.onSocketError)
    this.socket.on('close', this.onSocketClose)
    // 'newListener' is EventEmitter's own event, outside the typed map.
    ;(this as EventEmitter).on('newListener', this.onNewListener)
    this.rekeyTimer = setInterval(this.onRekeyTimer, Math.min(rekeyMs, MAX_REKEY_TIMER_MS))
    this.rekeyTimer.unref()
  }

  /** Cells received and authenticated (REKEY cells included). */
  get cellsIn (): number { return this.inCount }
  /** Cells sealed and handed to the socket (REKEY cells included). */
  get cellsOut (): number { return this.sealer.cellsSealed }
  /** Batches received and authenticated. */
  get batchesIn (): number { return this.reader.batchesRead }
  /** Batches sealed and handed to the socket. */
  get batchesOut (): number { return this.sealer.batchesSealed }
  /** Times this end changed its sending key. */
  get rekeysSent (): number { return this.sealer.rekeysSent }
  /** Times the peer changed its sending key (and so this end its receiving key). */
  get rekeysReceived (): number { return this.rekeysIn }
  /** Rekeys in both directions: rekeysSent + rekeysReceived. */
  get rekeys (): number { return this.sealer.rekeysSent + this.rekeysIn }
  /** Headers or bodies that failed authentication (0 or 1: the first one closes the link). */
  get authFailures (): number { return this.authFailureCount }
  get closed (): boolean { return this.isClosed }
  /** Bytes queued in the socket, not yet handed to the kernel. */
  get writeBacklog (): number { return this.socket.writableLength }
  /** The round (modulo 2^32) that the write of the cell being delivered carried. */
  get roundIn (): number { return this.batchRound }

  /**
   * Seal every cell (each exactly cellSize bytes) and write them all in ONE socket.write,
   * marked as the write of `round` (the sender's round number; modulo 2^32 on the wire) that
   * also carries the schedule of the `span` rounds before it (PROTOCOL.md §8.4, §12.2).
   * Returns what write() returned: false means the socket is buffering, wait for 'drain'.
   * On a closed link nothing is sent and false is returned ('close' has already fired).
   * A cell of the wrong size throws LinkError('LINK_BAD_CELL_SIZE') before anything is sealed.
   */
  send (cells: readonly Uint8Array[], round = 0, span = 0): boolean {
    const count = cells.length
    for (let i = 0; i < count; i++) {
      if (cells[i]!.length !== this.cellSize) {
        throw new LinkError(LinkErrorCode.BAD_CELL_SIZE, `a cell must be exactly ${this.cellSize} bytes`)
      }
    }
    if (this.isClosed) return false
    if (count === 0) return !this.socket.writableNeedDrain
    // Nothing of the last write is still queued in the socket: its buffer may be sealed into again.
    const wire = this.sealer.seal(cells, round, span, this.socket.writableLength === 0)
    if (wire === NONCES_EXHAUSTED) return this.failExhausted()
    return this.socket.write(wire)
  }

  /** Stop delivering cells (and reading the socket) until resume(). */
  pause (): void {
    if (this.paused) return
    this.paused = true
    this.socket.pause()
  }

  /** Deliver cells again, starting on the next tick. */
  resume (): void {
    if (!this.paused) return
    this.paused = false
    process.nextTick(this.flow)
  }

  /**
   * Close the link: flush what send() queued, then close the connection. 'close' fires at once
   * with no reason. The socket is destroyed after frameTimeoutMs at the latest.
   */
  close (): void {
    if (this.isClosed) return
    const socket = this.socket
    this.shutDown(undefined)
    const force = setTimeout(() => socket.destroy(), this.frameTimeoutMs)
    force.unref()
    socket.end(() => {
      clearTimeout(force)
      socket.destroy()
    })
  }

  // --- rekeying -----------------------------------------------------------------------------

  /** Rekey now if anything was sealed under the current key: a batch of the REKEY alone. */
  private readonly onRekeyTimer = (): void => {
    if (this.isClosed || !this.sealer.keyUsed) return
    const wire = this.sealer.sealRekey()
    if (wire === NONCES_EXHAUSTED) return void this.failExhausted()
    this.socket.write(wire)
  }

  /** Close rather than use the reserved nonce 2^64 − 1; nothing of the write was sealed. */
  private failExhausted (): false {
    this.fail(new LinkError(LinkErrorCode.NONCE_EXHAUSTED, 'the sending nonces are used up'))
    return false
  }

  /**
   * An authenticated control cell: a REKEY, as its batch's last cell, switches the receiving
   * key (the next header is opened under Rekey(k)); anything else closes.
   */
  private onControlCell (cell: Uint8Array, lastOfBatch: boolean): boolean {
    if (!lastOfBatch || !isWellFormedRekey(cell)) {
      this.fail(new LinkError(LinkErrorCode.BAD_CONTROL, lastOfBatch ? 'a link-control cell was malformed' : 'a REKEY was not the last cell of its batch'))
      return false
    }
    this.receiver.rekey()
    this.rekeysIn++
    return true
  }

  // --- incoming ---------------------------------------------------------------------------

  private readonly onNewListener = (event: string | symbol): void => {
    if (event !== 'cell' || this.started) return
    this.started = true
    process.nextTick(this.flow)
  }

  private readonly flow = (): void => {
    if (this.isClosed || this.paused || !this.started) return
    if (this.held !== null) {
      const cells = this.held
      this.held = null
      if (!this.deliver(cells, this.heldCount, this.heldNext)) return
    }
    if (this.pending !== null) {
      const chunk = this.pending
      this.pending = null
      this.consume(chunk, false)
      if (this.isClosed || this.paused) return
    }
    // A partial batch held while we were not reading gets a fresh deadline.
    this.partialBatchNumber = -1
    this.armFrameTimer()
    this.socket.resume()
  }

  /** A chunk read from the socket; `transient`: reused memory, copied if kept (socket-reads.ts). */
  private readonly onChunk = (chunk: Uint8Array, transient: boolean): void => {
    if (this.isClosed) return
    if (this.paused || !this.started || this.pending !== null) {
      // In the tick where pause() was called, or read ahead before the start: kept in order,
      // and read no further once a shared read buffer's worth is kept.
      this.pending = this.pending === null ? (transient ? copyOf(chunk) : chunk) : Buffer.concat([this.pending, chunk])
      if (this.readAhead && this.pending.length >= SHARED_READ_BYTES) this.socket.pause()
      return
    }
    this.consume(chunk, transient)
  }

  private consume (chunk: Uint8Array, transient: boolean): void {
    const consumed = this.reader.push(chunk, transient)
    if (this.isClosed) return
    if (consumed < chunk.length) this.pending = transient ? copyOf(chunk.subarray(consumed)) : chunk.subarray(consumed)
    this.armFrameTimer()
  }

  private readonly onBatch = (cells: Uint8Array, count: number, endsWrite: boolean, round: number, span: number): boolean => {
    this.batchRound = round
    this.batchSpan = span
    this.batchEndsWrite = endsWrite
    return this.deliver(cells, count, 0)
  }

  /**
   * Emit the cells of an opened batch from `from` on, each a view of it, then 'roundEnd' if
   * the batch ends its write. Returns whether reading may go on; if pause() came in between,
   * the rest is held for flow() (and the round's end with it).
   */
  private deliver (cells: Uint8Array, count: number, from: number): boolean {
    const size = this.cellSize
    for (let i = from; i < count; i++) {
      const cell = cells.subarray(i * size, i * size + size)
      this.inCount++
      if (cell[4] === LINK_CONTROL_COMMAND && isLinkControlCell(cell)) {
        if (!this.onControlCell(cell, i === count - 1)) return false
        continue
      }
      this.emit('cell', cell)
      if (this.isClosed) return false
      if (this.paused) {
        if (i + 1 < count || this.batchEndsWrite) {
          this.held = cells
          this.heldCount = count
          this.heldNext = i + 1
        }
        return false
      }
    }
    if (this.batchEndsWrite) {
      this.batchEndsWrite = false
      this.emit('roundEnd', this.batchRound, this.batchSpan)
      if (this.isClosed || this.paused) return false
    }
    return true
  }

  private readonly onReadError = (error: LinkError): void => {
    if (error.code === LinkErrorCode.AUTH_FAILED) this.authFailureCount++
    this.fail(error)
  }

  /** Start the deadline of a partial batch the first time we see it; one timer at most. */
  private armFrameTimer (): void {
    if (this.reader.pendingBytes === 0 || this.paused) return
    const batchNumber = this.reader.batchesRead
    if (batchNumber !== this.partialBatchNumber) {
      this.partialBatchNumber = batchNumber
      this.partialSince = performance.now()
    }
    if (this.frameTimer === null) this.frameTimer = setTimeout(this.checkFrameDeadline, this.frameTimeoutMs)
  }

  private readonly checkFrameDeadline = (): void => {
    this.frameTimer = null
    if (this.isClosed || this.paused || this.reader.pendingBytes === 0) return
    const elapsed = performance.now() - this.partialSince
    if (elapsed >= this.frameTimeoutMs) {
      this.fail(new LinkError(LinkErrorCode.FRAME_TIMEOUT, 'a batch was not completed in time'))
    } else {
      this.frameTimer = setTimeout(this.checkFrameDeadline, this.frameTimeoutMs - elapsed)
    }
  }

  // --- socket events and closing ------------------------------------------------------------

  private readonly onDrain = (): void => {
    if (!this.isClosed) this.emit('drain')
  }

  private readonly onEnd = (): void => {
    this.fail(new LinkError(LinkErrorCode.CLOSED, 'the peer closed the link'))
  }

  private readonly onSocketError = (err: Error & { code?: string }): void => {
    this.fail(new LinkError(LinkErrorCode.SOCKET_ERROR, 'the link connection failed', { detail: err.code ?? err.message }))
  }

  private readonly onSocketClose = (): void => {
    this.fail(new LinkError(LinkErrorCode.CLOSED, 'the link connection closed'))
  }

  private fail (reason: LinkError): void {
    if (this.isClosed) return
    this.shutDown(reason)
    this.socket.destroy()
  }

  private shutDown (reason: LinkError | undefined): void {
    this.isClosed = true
    if (this.frameTimer !== null) clearTimeout(this.frameTimer)
    this.frameTimer = null
    if (this.rekeyTimer !== null) clearInterval(this.rekeyTimer)
    this.rekeyTimer = null
    this.pending = null
    this.held = null
    this.reader.reset()
    this.sender.wipe()
    this.receiver.wipe()
    setImmediate(() => this.emit('close', reason))
  }
}
