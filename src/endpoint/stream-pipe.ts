/**
 * One TCP stream carried on a circuit, as either endpoint sees it (client: the app's socket;
 * exit: the socket to the destination host).
 *
 * Socket → circuit: bytes are cut into DATA cells as they arrive, each spending one cell of
 * stream credit and one of circuit credit; without credit the socket is paused, so at most a
 * window of data is ever queued (memory stays bounded whatever the peer or the app does).
 * Circuit → socket: DATA is written to the socket, and credit goes back (SENDME) only once the
 * socket has taken it without backpressure: a slow reader at either end stops the sender.
 * The circuit's credit follows the same deliveries (StreamCircuit.cellsDone); cells a closed
 * stream drops count as done too, so a reset never leaks circuit credit.
 * Half-close travels both ways: a socket's FIN becomes FINISH, a FINISH becomes `socket.end()`.
 */
import type { Socket } from 'node:net'
import { EndReason, endReasonForErrno } from '../protocol/end-reason.js'
import type { FlowWindows } from '../protocol/flow-control.js'
import { RelayCommand } from '../protocol/relay-payload.js'
import { copyOf, onChunks } from '../base/socket-reads.js'

/** What a stream needs from the circuit that carries it. */
export interface StreamCircuit {
  /** Maximum DATA bytes per cell in this endpoint's sending direction. */
  readonly dataBytes: number
  /** The cascade's flow-control windows (flow-control.ts). */
  readonly windows: FlowWindows
  /**
   * Queue one relay message toward the other endpoint. `data` is valid only during the call
   * (it may be a view of a reused read buffer): whatever is kept of it is copied.
   */
  sendRelay (streamId: number, command: RelayCommand, data?: Uint8Array): void
  /** Spend one cell of circuit credit; `false` means the stream must wait (it is woken later). */
  takeCircuitCredit (stream: StreamPipe): boolean
  /** The stream is gone: forget it. */
  streamClosed (stream: StreamPipe, reason: EndReason | null): void
  /**
   * `cells` DATA cells of this stream left our memory: taken by the socket without
   * backpressure, or dropped with the stream. Circuit credit goes back for them.
   */
  cellsDone (cells: number): void
}

export class StreamPipe {
  readonly id: number
  private readonly circuit: StreamCircuit
  private socket: Socket | null = null
  /** DATA cells we may still send before the peer's SENDME. */
  private packageWindow: number
  /** DATA cells the peer may still send before we owe it credit. */
  private deliverWindow: number
  /** Cells the socket took without backpressure, not yet acknowledged with a SENDME. */
  private delivered = 0
  /** Cells written while the socket was backpressured; acknowledged on 'drain'. */
  private awaitingDrain = 0
  private readonly pending: Uint8Array[] = []
  private pendingBytes = 0
  private socketEnded = false
  private finishSent = false
  private finishReceived = false
  private closed = false
  /** Made on first use (the exit's pending connect listens to it): aborted when the stream ends. */
  private closing: AbortController | null = null
  /** The socket is corked until the end of this tick (see onData). */
  private corked = false
  /** Made once per stream, so corking allocates nothing per cell. */
  private readonly uncork = (): void => {
    this.corked = false
    const socket = this.socket
    if (socket !== null && !socket.destroyed) socket.uncork()
  }
  bytesIn = 0
  bytesOut = 0

  constructor (id: number, circuit: StreamCircuit) {
    this.id = id
    this.circuit = circuit
    this.packageWindow = this.deliverWindow = circuit.windows.stream
  }

  get isClosed (): boolean { return this.closed }
  /** Aborted when the stream ends, for work done on its behalf (the exit's DNS and connect). */
  get closedSignal (): AbortSignal {
    this.closing ??= new AbortController()
    if (this.closed) this.closing.abort()
    return this.closing.signal
  }
  get isAttached (): boolean { return this.socket !== null }
  /**
   * Bytes this stream holds in memory: read from the socket and not yet sent in cells, plus
   * written to the socket and not yet taken by the kernel. Flow control keeps it bounded
   * (about one window, whatever the reader at either end does); tests and metrics read it.
   */
  get bufferedBytes (): number { return this.pendingBytes + (this.socket?.writableLength ?? 0) }

  /** Queue bytes read from the socket before it was attached (optimistic data beyond BEGIN). */
  prepend (chunks: readonly Uint8Array[]): void {
    for (const chunk of chunks) {
      if (chunk.length === 0) continue
      this.pending.push(chunk)
      this.pendingBytes += chunk.length
    }
  }

  /** Start carrying `socket`: from now on its bytes flow both ways. */
  attach (socket: Socket): void {
    this.socket = socket
    socket.setNoDelay(true)
    // Half-close is this class's job (FIN ⇄ FINISH): Node's default for a socket it dialled
    // (the exit's outbound socket) ends our write side the moment the peer's FIN arrives,
    // which cut off everything the other end still had to send. Node reads the flag when
    // 'end' fires, so setting it here is enough.
    socket.allowHalfOpen = true
    onChunks(socket, (chunk, transient) => { this.fromSocket(chunk, transient) })
    socket.on('end', () => { this.socketEnded = true; this.pump() })
    socket.on('drain', () => this.drained())
    socket.on('error', (err: NodeJS.ErrnoException) => this.close(endReasonForErrno(err.code), true))
    socket.on('close', () => {
      // A socket that closes after both FINs is a clean end; anything else resets the stream.
      if (!this.closed) this.close(this.finishSent && this.finishReceived ? null : EndReason.DONE, true)
    })
    if (this.finishReceived) socket.end()
    // The app may have sent its FIN before the stream was attached: with optimistic data the
    // SOCKS front reads everything up to EOF, so 'end' has fired already and never fires
    // again. Without this the FIN was lost and a server reading to EOF waited forever.
    if (socket.readableEnded) this.socketEnded = true
    socket.resume()
    if (this.pendingBytes > 0 || this.socketEnded) this.pump()
  }

  // --- socket → circuit -----------------------------------------------------------------

  /**
   * Bytes read; `transient`: a view of the thread's shared read buffer (socket-reads.ts). It
   * is sent like any chunk (sendRelay copies each cell's data), and whatever of it credit did
   * not let out is copied: the read buffer is overwritten by the next read.
   */
  private fromSocket (chunk: Uint8Array, transient: boolean): void {
    this.pending.push(chunk)
    this.pendingBytes += chunk.length
    this.pump()
    // pump() takes from the front, so what is left of this chunk is the last pending entry.
    const last = this.pending.length - 1
    if (transient && last >= 0) this.pending[last] = copyOf(this.pending[last]!)
  }

  /** Send as much pending data as credit allows; pause the socket when credit runs out. */
  pump (): void {
    if (this.closed) return
    const max = this.circuit.dataBytes
    while (this.pendingBytes > 0 && this.packageWindow > 0 && this.circuit.takeCircuitCredit(this)) {
      const cell = this.take(Math.min(max, this.pendingBytes))
      this.packageWindow--
      this.bytesOut += cell.length
      this.circuit.sendRelay(this.id, RelayCommand.DATA, cell)
    }
    if (this.pendingBytes > 0) {
      this.socket?.pause()
    } else {
      if (this.socketEnded && !this.finishSent) {
        this.finishSent = true
        this.circuit.sendRelay(this.id, RelayCommand.FINISH)
        this.closeIfDone()
      }
      if (!this.closed) this.socket?.resume()
    }
  }

  private take (n: number): Uint8Array {
    this.pendingBytes -= n
    const first = this.pending[0]!
    if (first.length === n) return this.pending.shift()!
    if (first.length > n) {
      this.pending[0] = first.subarray(n)
      return first.subarray(0, n)
    }
    const out = Buffer.allocUnsafe(n)
    let filled = 0
    while (filled < n) {
      const head = this.pending[0]!
      const part = Math.min(head.length, n - filled)
      out.set(head.subarray(0, part), filled)
      filled += part
      if (part === head.length) this.pending.shift()
      else this.pending[0] = head.subarray(part)
    }
    return out
  }

  // --- circuit → socket -----------------------------------------------------------------

  /** A DATA cell for this stream. Returns false if the peer overran its window. */
  onData (data: Uint8Array): boolean {
    if (this.closed) { this.circuit.cellsDone(1); return true }
    const socket = this.socket
    if (this.deliverWindow <= 0 || this.finishReceived || socket === null) return false
    this.deliverWindow--
    this.bytesIn += data.length
    // The cells of one link read arrive in one tick; corking until the next tick turns their
    // writes into one writev instead of one syscall per cell (the largest cost at the
    // endpoints in `npm run bench`'s profile). write() still reports backpressure as usual.
    // Safe because every DATA payload is a fresh buffer from the layer decryption.
    if (!this.corked) {
      this.corked = true
      socket.cork()
      process.nextTick(this.uncork)
    }
    if (socket.write(data)) {
      this.delivered++
      this.circuit.cellsDone(1)
      this.acknowledge()
    } else {
      this.awaitingDrain++
    }
    return true
  }

  private drained (): void {
    const cells = this.awaitingDrain
    this.delivered += cells
    this.awaitingDrain = 0
    if (cells > 0) this.circuit.cellsDone(cells)
    this.acknowledge()
    if (!this.closed) this.closeIfDone()
  }

  private acknowledge (): void {
    const increment = this.circuit.windows.streamIncrement
    while (this.delivered >= increment && !this.closed) {
      this.delivered -= increment
      this.deliverWindow += increment
      this.circuit.sendRelay(this.id, RelayCommand.SENDME)
    }
  }

  onSendme (): boolean {
    const { stream, streamIncrement } = this.circuit.windows
    if (this.packageWindow + streamIncrement > stream) return false
    this.packageWindow += streamIncrement
    this.pump()
    return true
  }

  /** The peer will send no more: pass the FIN on. */
  onFinish (): void {
    if (this.closed || this.finishReceived) return
    this.finishReceived = true
    this.socket?.end()
    this.closeIfDone()
  }

  /** The peer ended the stream: drop the socket at once. */
  onEnd (): void {
    if (this.closed) return
    this.close(null, false)
  }

  private closeIfDone (): void {
    if (this.finishSent && this.finishReceived && this.awaitingDrain === 0) {
      // Both directions are done; the socket closes on its own once flushed.
      this.closed = true
      this.closing?.abort()
      this.circuit.streamClosed(this, null)
    }
  }

  /**
   * End the stream. `reason` is sent to the peer in an END when `notifyPeer` is set (and the
   * stream did not end cleanly); the socket is destroyed.
   */
  close (reason: EndReason | null, notifyPeer: boolean): void {
    if (this.closed) return
    this.closed = true
    this.closing?.abort()
    if (notifyPeer && reason !== null) this.circuit.sendRelay(this.id, RelayCommand.END, Uint8Array.of(reason))
    this.pending.length = 0
    this.pendingBytes = 0
    if (this.socket !== null) resetSocket(this.socket)
    // Cells still in the socket's buffer are dropped with it: their circuit credit goes back.
    const dropped = this.awaitingDrain
    this.awaitingDrain = 0
    if (dropped > 0) this.circuit.cellsDone(dropped)
    this.circuit.streamClosed(this, reason)
  }
}

/**
 * Drop a socket with a TCP reset, not a FIN: a stream that did not end cleanly (an END, a
 * circuit that ended under it) must not look like a complete one to the app or the host. With
 * a FIN, a reader that reads to EOF (HTTP/1.0 bodies, `nc`, a file transfer without a length)
 * took a cut stream for the whole of it.
 */
function resetSocket (socket: Socket): void {
  if (socket.destroyed) return
  // resetAndDestroy() needs an open TCP handle; without one (still connecting, or not TCP) it
  // would emit an error or throw, so such a socket is only destroyed.
  const handle = (socket as unknown as { _handle?: unknown })._handle
  if (socket.connecting || handle === null || handle === undefined) { socket.destroy(); return }
  try {
    socket.resetAndDestroy()
  } catch {
    socket.destroy()
  }
}
