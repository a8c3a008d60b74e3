/**
 * A Link: one authenticated, encrypted TCP connection carrying fixed-size cells.
 *
 * Created by `dialLink` / `listenLinks` once the Noise handshake is done. Every frame on the
 * wire is one cell sealed with the Noise transport cipher: exactly cellSize + 16 bytes, no
 * length field, nonces implicit (a counter per direction).
 *
 * Events (a typed EventEmitter):
 *   'cell'  (cell: Uint8Array)   an opened cell, cellSize bytes, in arrival order
 *   'drain' ()                   the socket's write buffer emptied after send() returned false
 *   'close' (reason?: LinkError) once; reason is undefined only after our own close().
 *                                Emitted on setImmediate, so a handler attached right after
 *                                `await dialLink()` or in onLink cannot miss it; `closed` is
 *                                true (and no more cells arrive) from the moment of closing.
 * A link never emits 'error': any failure closes it and becomes the 'close' reason, so a peer
 * can never crash the process. Any AEAD failure closes the link at once (LINK_AUTH_FAILED):
 * with implicit nonces, nothing after a bad frame could be read anyway.
 *
 * Rekeying in place (PROTOCOL.md §8.4): each end rekeys its sending key after
 * REKEY_AFTER_FRAMES frames and at least once per rekeyMs (if it sent anything since), by
 * sealing a REKEY control cell under the old key and switching right after; the receiver
 * switches right after opening it. Circuits never notice; control cells are never emitted.
 *
 * Incoming cells start flowing when the first 'cell' listener is attached (on the next tick,
 * as a Readable's 'data' does), so nothing is lost between `await dialLink()` and `on('cell')`.
 * Until then, and while pause()d, the socket is not read and TCP holds the peer back.
 *
 * Hot path: send() validates sizes, allocates one buffer for the whole batch, seals each cell
 * straight into it (the cells are only read: the caller may reuse them once send() returns)
 * and makes one socket.write — one round's cells leave in one write. Receiving opens each
 * frame in place in the socket's chunk when it lies in one (the cell handed on is a view of
 * that chunk, which nobody else writes; a cell kept queued keeps its chunk alive), and into a
 * fresh cell when it straddles chunks (see FrameDecoder). No allocation per cell but the
 * views. Rekeying adds one compare per batch on send (against `sealBudget`) and two per frame
 * on receive (the nonce's end, the command byte); a batch that crosses a rekey, and the
 * timer's lone REKEY frame, take a slow path that allocates.
 */
import { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { CipherState } from './noise/cipher-state.js'
import type { TransportCiphers } from './noise/handshake.js'
import { FrameDecoder } from './frame-decoder.js'
import { FRAME_OVERHEAD } from './constants.js'
import { LinkError, LinkErrorCode } from './errors.js'
import { DEFAULT_REKEY_INTERVAL_MS, LINK_CONTROL_COMMAND, MAX_REKEY_TIMER_MS, MIN_LINK_CELL_BYTES, REKEY_AFTER_FRAMES, encodeRekeyCell, isLinkControlCell, isWellFormedRekey } from './link-control.js'

const EMPTY = new Uint8Array(0)

export interface LinkEvents {
  cell: [cell: Uint8Array]
  drain: []
  close: [reason: LinkError | undefined]
}

export interface LinkInit {
  readonly socket: Socket
  readonly cellSize: number
  readonly ciphers: TransportCiphers
  /** Bytes that arrived after the last handshake message (they are frames). */
  readonly leftover: Uint8Array
  readonly frameTimeoutMs: number
  /** Rekey the sending direction at least this often (default DEFAULT_REKEY_INTERVAL_MS). */
  readonly rekeyMs?: number
  /** Frames per sending key, the REKEY cell included (default REKEY_AFTER_FRAMES; tests set it small). */
  readonly rekeyAfterFrames?: number
}

export class Link extends EventEmitter<LinkEvents> {
  readonly cellSize: number
  readonly frameSize: number
  /** Noise h: equal on both ends, public; identifies this session (e.g. for logs at debug level). */
  readonly handshakeHash: Uint8Array

  private readonly socket: Socket
  private readonly sender: CipherState
  private readonly receiver: CipherState
  private readonly decoder: FrameDecoder
  private readonly frameTimeoutMs: number
  /** Received bytes not yet fed to the decoder (handshake leftover, or the rest of a chunk after pause()). */
  private pending: Uint8Array | null
  private started = false
  private paused = false
  private isClosed = false
  private frameTimer: NodeJS.Timeout | null = null
  /** framesDecoded when the current partial frame began, and when (ms, monotonic). */
  private partialFrameNumber = -1
  private partialSince = 0
  private inCount = 0
  private outCount = 0
  private authFailureCount = 0
  /** Cells a key may seal before its REKEY cell (rekeyAfterFrames − 1). */
  private readonly cellsPerKey: number
  /** Cells sealed under the current sending key. */
  private cellsUnderKey = 0
  /**
   * Cells send() may seal on the fast path: min(cells left under this key, nonces left).
   * Recomputed after every slow path; a batch larger than it takes the slow path.
   */
  private sealBudget: number
  private rekeyTimer: NodeJS.Timeout | null = null
  private rekeysOut = 0
  private rekeysIn = 0

  constructor (init: LinkInit) {
    super()
    this.cellSize = init.cellSize
    this.frameSize = init.cellSize + FRAME_OVERHEAD
    this.handshakeHash = init.ciphers.handshakeHash
    this.socket = init.socket
    this.sender = init.ciphers.send
    this.receiver = init.ciphers.receive
    this.frameTimeoutMs = init.frameTimeoutMs
    this.decoder = new FrameDecoder(this.frameSize, this.onFrame)
    this.pending = init.leftover.length > 0 ? init.leftover : null
    const rekeyAfterFrames = init.rekeyAfterFrames ?? REKEY_AFTER_FRAMES
    const rekeyMs = init.rekeyMs ?? DEFAULT_REKEY_INTERVAL_MS
    // dialLink and listenLinks check these first; a bad value here is a programming error.
    if (!Number.isInteger(rekeyAfterFrames) || rekeyAfterFrames < 2 || this.cellSize < MIN_LINK_CELL_BYTES || !(rekeyMs > 0)) {
      throw new LinkError(LinkErrorCode.BAD_OPTIONS, 'unusable rekey options')
    }
    this.cellsPerKey = rekeyAfterFrames - 1
    this.sealBudget = this.computeSealBudget()

    this.socket.pause()
    this.socket.on('data', this.onData)
    this.socket.on('drain', this.onDrain)
    this.socket.on('end', this.onEnd)
    this.socket.on('error', this.onSocketError)
    this.socket.on('close', this.onSocketClose)
    // 'newListener' is EventEmitter's own event, outside the typed map.
    ;(this as EventEmitter).on('newListener', this.onNewListener)
    this.rekeyTimer = setInterval(this.onRekeyTimer, Math.min(rekeyMs, MAX_REKEY_TIMER_MS))
    this.rekeyTimer.unref()
  }

  /** Frames received and authenticated (REKEY cells included). */
  get framesIn (): number { return this.inCount }
  /** Frames sealed and handed to the socket (REKEY cells included). */
  get framesOut (): number { return this.outCount }
  /** Times this end changed its sending key. */
  get rekeysSent (): number { return this.rekeysOut }
  /** Times the peer changed its sending key (and so this end its receiving key). */
  get rekeysReceived (): number { return this.rekeysIn }
  /** Rekeys in both directions: rekeysSent + rekeysReceived. */
  get rekeys (): number { return this.rekeysOut + this.rekeysIn }
  /** Frames that failed authentication (0 or 1: the first one closes the link). */
  get authFailures (): number { return this.authFailureCount }
  get closed (): boolean { return this.isClosed }
  /** Bytes queued in the socket, not yet handed to the kernel. */
  get writeBacklog (): number { return this.socket.writableLength }

  /**
   * Seal every cell (each exactly cellSize bytes) and write them all in ONE socket.write.
   * Returns what write() returned: false means the socket is buffering, wait for 'drain'.
   * On a closed link nothing is sent and false is returned ('close' has already fired).
   * A cell of the wrong size throws LinkError('LINK_BAD_CELL_SIZE') before anything is sealed.
   */
  send (cells: readonly Uint8Array[]): boolean {
    const count = cells.length
    for (let i = 0; i < count; i++) {
      if (cells[i]!.length !== this.cellSize) {
        throw new LinkError(LinkErrorCode.BAD_CELL_SIZE, `a cell must be exactly ${this.cellSize} bytes`)
      }
    }
    if (this.isClosed) return false
    if (count === 0) return !this.socket.writableNeedDrain
    if (count > this.sealBudget) return this.sendAcrossRekeys(cells)
    const frameSize = this.frameSize
    const out = Buffer.allocUnsafe(count * frameSize)
    const sender = this.sender
    for (let i = 0, at = 0; i < count; i++, at += frameSize) {
      sender.encryptInto(out.subarray(at, at + frameSize), EMPTY, cells[i]!)
    }
    this.sealBudget -= count
    this.cellsUnderKey += count
    this.outCount += count
    return this.socket.write(out)
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

  // --- rekeying (slow path) ----------------------------------------------------------------

  /**
   * send() for a batch that needs a REKEY cell before one of its cells, or runs into the end
   * of the nonces: frame by frame, still one write. Nothing is written if the link fails.
   */
  private sendAcrossRekeys (cells: readonly Uint8Array[]): boolean {
    const frames: Uint8Array[] = []
    for (const cell of cells) {
      if (this.cellsUnderKey >= this.cellsPerKey && !this.sealRekey(frames)) return false
      if (!this.sealCell(cell, frames)) return false
      this.cellsUnderKey++
    }
    this.sealBudget = this.computeSealBudget()
    this.outCount += frames.length
    return this.socket.write(Buffer.concat(frames))
  }

  /** Rekey now if anything was sealed under the current key: the REKEY cell leaves alone. */
  private readonly onRekeyTimer = (): void => {
    if (this.isClosed || this.cellsUnderKey === 0) return
    const frames: Uint8Array[] = []
    if (!this.sealRekey(frames)) return
    this.sealBudget = this.computeSealBudget()
    this.outCount++
    this.socket.write(frames[0]!)
  }

  /** Seal a REKEY cell under the current key, then switch to Rekey(k) (the old k is wiped). */
  private sealRekey (frames: Uint8Array[]): boolean {
    if (!this.sealCell(encodeRekeyCell(this.cellSize), frames)) return false
    this.sender.rekey()
    this.cellsUnderKey = 0
    this.rekeysOut++
    return true
  }

  /** Seal one frame, or close the link rather than use the reserved nonce 2^64-1. */
  private sealCell (cell: Uint8Array, frames: Uint8Array[]): boolean {
    if (this.sender.exhausted) {
      this.fail(new LinkError(LinkErrorCode.NONCE_EXHAUSTED, 'the sending nonces are used up'))
      return false
    }
    frames.push(this.sender.encryptWithAd(EMPTY, cell))
    return true
  }

  private computeSealBudget (): number {
    return Math.min(this.cellsPerKey - this.cellsUnderKey, this.sender.nonceHeadroom)
  }

  /** An authenticated control cell: a REKEY switches the receiving key; anything else closes. */
  private onControlCell (cell: Uint8Array): boolean {
    if (!isWellFormedRekey(cell)) {
      this.fail(new LinkError(LinkErrorCode.BAD_CONTROL, 'a link-control cell was malformed'))
      return false
    }
    this.receiver.rekey()
    this.rekeysIn++
    return !this.paused
  }

  // --- incoming ---------------------------------------------------------------------------

  private readonly onNewListener = (event: string | symbol): void => {
    if (event !== 'cell' || this.started) return
    this.started = true
    process.nextTick(this.flow)
  }

  private readonly flow = (): void => {
    if (this.isClosed || this.paused || !this.started) return
    if (this.pending !== null) {
      const chunk = this.pending
      this.pending = null
      this.consume(chunk)
      if (this.isClosed || this.paused) return
    }
    // A partial frame held while we were not reading gets a fresh deadline.
    this.partialFrameNumber = -1
    this.armFrameTimer()
    this.socket.resume()
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.isClosed) return
    if (this.paused || this.pending !== null) {
      // Only possible in the tick where pause() was called; keep order, bounded by one chunk.
      this.pending = this.pending === null ? chunk : Buffer.concat([this.pending, chunk])
      return
    }
    this.consume(chunk)
  }

  private consume (chunk: Uint8Array): void {
    const consumed = this.decoder.push(chunk)
    if (this.isClosed) return
    if (consumed < chunk.length) this.pending = chunk.subarray(consumed)
    this.armFrameTimer()
  }

  private readonly onFrame = (frame: Uint8Array, reassembled: boolean): boolean => {
    if (this.receiver.exhausted) {
      this.fail(new LinkError(LinkErrorCode.NONCE_EXHAUSTED, 'the receiving nonces are used up'))
      return false
    }
    // In place in the chunk (ours alone), or out of the decoder's reused buffer into a fresh
    // cell. A plain Uint8Array view either way, never a Buffer (whose slice() aliases).
    const cell = reassembled ? new Uint8Array(this.cellSize) : new Uint8Array(frame.buffer, frame.byteOffset, this.cellSize)
    if (!this.receiver.decryptInto(cell, EMPTY, frame)) {
      this.authFailureCount++
      this.fail(new LinkError(LinkErrorCode.AUTH_FAILED, 'a link frame did not authenticate'))
      return false
    }
    this.inCount++
    if (cell[4] === LINK_CONTROL_COMMAND && isLinkControlCell(cell)) return this.onControlCell(cell)
    this.emit('cell', cell)
    return !this.isClosed && !this.paused
  }

  /** Start the deadline of a partial frame the first time we see it; one timer at most. */
  private armFrameTimer (): void {
    if (this.decoder.pendingBytes === 0 || this.paused) return
    const frameNumber = this.decoder.framesDecoded
    if (frameNumber !== this.partialFrameNumber) {
      this.partialFrameNumber = frameNumber
      this.partialSince = performance.now()
    }
    if (this.frameTimer === null) this.frameTimer = setTimeout(this.checkFrameDeadline, this.frameTimeoutMs)
  }

  private readonly checkFrameDeadline = (): void => {
    this.frameTimer = null
    if (this.isClosed || this.paused || this.decoder.pendingBytes === 0) return
    const elapsed = performance.now() - this.partialSince
    if (elapsed >= this.frameTimeoutMs) {
      this.fail(new LinkError(LinkErrorCode.FRAME_TIMEOUT, 'a frame was not completed in time'))
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
    this.decoder.reset()
    this.sender.wipe()
    this.receiver.wipe()
    setImmediate(() => this.emit('close', reason))
  }
}
