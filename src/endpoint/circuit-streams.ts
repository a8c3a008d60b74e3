/**
 * The streams of one circuit, at either endpoint: dispatches incoming relay messages to their
 * streams, keeps the circuit-level credit windows, and wakes streams that waited for circuit
 * credit in turn (round robin), so one bulk stream cannot starve the others for long.
 *
 * Receiving, the circuit window is enforced here: a DATA cell beyond it is dropped and its
 * stream ended with END(PROTOCOL); circuit credit goes back per 100 cells *delivered* (or
 * dropped), never merely received, so one circuit holds at most a circuit window of cells.
 *
 * Datagrams (UDP associations) spend and return circuit credit like DATA cells, but have no
 * stream window: each is handed to `control` as it comes.
 *
 * What differs between the client and the exit (BEGIN, CONNECTED, LOOP) goes to the `events`
 * callbacks; everything both share lives here.
 */
import { EndReason } from '../protocol/end-reason.js'
import { SHAPED_WINDOWS, type FlowWindows } from '../protocol/flow-control.js'
import { CIRCUIT_STREAM, RelayCommand, type RelayMessage } from '../protocol/relay-payload.js'
import { StreamPipe, type StreamCircuit } from './stream-pipe.js'
import { StreamViolation } from './violations.js'

export interface CircuitStreamEvents {
  /** Encode, seal and queue one relay message toward the other endpoint. */
  send (streamId: number, command: RelayCommand, data: Uint8Array | undefined): void
  /** A relay message this endpoint does not handle generically (BEGIN, CONNECTED, LOOP, END before attach). */
  control (message: RelayMessage, stream: StreamPipe | undefined): void
  /** A stream ended (cleanly when `reason` is null). */
  streamClosed? (stream: StreamPipe, reason: EndReason | null): void
  /** The peer broke the protocol (overran a window, unknown stream data …): counted, never fatal to the circuit. */
  violation? (what: StreamViolation): void
}

export class CircuitStreams implements StreamCircuit {
  readonly dataBytes: number
  readonly windows: FlowWindows
  private readonly events: CircuitStreamEvents
  private readonly streams = new Map<number, StreamPipe>()
  /** DATA cells we may still send before the peer's circuit SENDME. */
  private packageWindow: number
  /** DATA cells the peer may still send before our next circuit SENDME. */
  private deliverWindow: number
  /** Cells delivered or dropped, not yet acknowledged with a circuit SENDME. */
  private done = 0
  /** closeAll is running: credit for the cells it drops is not sent (the circuit may be gone). */
  private ending = false
  /**
   * Streams waiting for circuit credit, in the order they are woken (a Set keeps insertion
   * order): adding, finding and removing one costs O(1), not O(waiting streams), so a circuit
   * with thousands of streams pays nothing per cell or per close for their number.
   */
  private readonly waiting = new Set<StreamPipe>()
  private waking = false

  constructor (dataBytes: number, events: CircuitStreamEvents, windows: FlowWindows = SHAPED_WINDOWS) {
    this.dataBytes = dataBytes
    this.events = events
    this.windows = windows
    this.packageWindow = windows.circuit
    this.deliverWindow = windows.circuit
  }

  get size (): number { return this.streams.size }

  /** Streams waiting for circuit credit now (tests). */
  get waitingForCredit (): number { return this.waiting.size }

  has (streamId: number): boolean { return this.streams.has(streamId) }

  get (streamId: number): StreamPipe | undefined { return this.streams.get(streamId) }

  /** Create the stream with this ID (the caller has checked it is free). */
  open (streamId: number): StreamPipe {
    const stream = new StreamPipe(streamId, this)
    this.streams.set(streamId, stream)
    return stream
  }

  /** Every open stream, e.g. to end them all when the circuit goes away. */
  all (): StreamPipe[] { return [...this.streams.values()] }

  /** Bytes all streams of this circuit hold in memory (StreamPipe.bufferedBytes): O(streams). */
  get bufferedBytes (): number {
    let total = 0
    for (const stream of this.streams.values()) total += stream.bufferedBytes
    return total
  }

  // --- StreamCircuit --------------------------------------------------------------------

  sendRelay (streamId: number, command: RelayCommand, data?: Uint8Array): void {
    this.events.send(streamId, command, data)
  }

  /**
   * Send one DATAGRAM (a UDP association's, PROTOCOL.md §7.3) if the circuit has credit.
   * Datagrams spend circuit credit only (there is no stream window for them), and one that
   * finds none is dropped, never queued: UDP may lose it, and memory stays bounded.
   */
  sendDatagram (streamId: number, body: Uint8Array): boolean {
    if (this.packageWindow <= 0) return false
    this.packageWindow--
    this.events.send(streamId, RelayCommand.DATAGRAM, body)
    return true
  }

  takeCircuitCredit (stream: StreamPipe): boolean {
    if (this.packageWindow > 0) {
      this.packageWindow--
      return true
    }
    this.waiting.add(stream)
    return false
  }

  cellsDone (cells: number): void {
    this.done += cells
    const increment = this.windows.circuitIncrement
    while (this.done >= increment && !this.ending) {
      this.done -= increment
      this.deliverWindow += increment
      this.events.send(CIRCUIT_STREAM, RelayCommand.SENDME, undefined)
    }
  }

  streamClosed (stream: StreamPipe, reason: EndReason | null): void {
    if (this.streams.get(stream.id) === stream) this.streams.delete(stream.id)
    this.waiting.delete(stream)
    this.events.streamClosed?.(stream, reason)
  }

  // --- incoming -------------------------------------------------------------------------

  /** Handle one relay message from the other endpoint. */
  handle (message: RelayMessage): void {
    const { streamId, command } = message
    if (streamId === CIRCUIT_STREAM) {
      if (command === RelayCommand.SENDME) this.circuitSendme()
      else if (command !== RelayCommand.DROP) this.events.control(message, undefined)
      return
    }
    const stream = this.streams.get(streamId)
    switch (command) {
      case RelayCommand.DATA:
        if (this.deliverWindow <= 0) {
          // Beyond the window: not ours to hold, and not owed any credit.
          this.events.violation?.(StreamViolation.CIRCUIT_WINDOW_OVERRUN)
          stream?.close(EndReason.PROTOCOL, true)
          return
        }
        this.deliverWindow--
        if (stream === undefined || !stream.isAttached) {
          this.cellsDone(1)
          if (stream === undefined) this.events.violation?.(StreamViolation.DATA_UNKNOWN_STREAM)
          else { this.events.violation?.(StreamViolation.DATA_BEFORE_CONNECTED); stream.close(EndReason.PROTOCOL, true) }
          return
        }
        if (!stream.onData(message.data)) {
          this.cellsDone(1)
          this.events.violation?.(StreamViolation.STREAM_WINDOW_OVERRUN)
          stream.close(EndReason.PROTOCOL, true)
        }
        return
      case RelayCommand.DATAGRAM:
        if (this.deliverWindow <= 0) {
          this.events.violation?.(StreamViolation.CIRCUIT_WINDOW_OVERRUN)
          stream?.close(EndReason.PROTOCOL, true)
          return
        }
        // Delivered (or dropped) at once: a datagram is never held, so its credit goes back now.
        this.deliverWindow--
        this.cellsDone(1)
        if (stream === undefined) this.events.violation?.(StreamViolation.DATA_UNKNOWN_STREAM)
        else this.events.control(message, stream)
        return
      case RelayCommand.SENDME:
        if (stream !== undefined && !stream.onSendme()) {
          this.events.violation?.(StreamViolation.STREAM_SENDME_OVERFLOW)
          stream.close(EndReason.PROTOCOL, true)
        }
        return
      case RelayCommand.FINISH:
        stream?.onFinish()
        return
      case RelayCommand.END:
        if (stream !== undefined && stream.isAttached) stream.onEnd()
        else this.events.control(message, stream)
        return
      default:
        this.events.control(message, stream)
    }
  }

  private circuitSendme (): void {
    if (this.packageWindow + this.windows.circuitIncrement > this.windows.circuit) {
      this.events.violation?.(StreamViolation.CIRCUIT_SENDME_OVERFLOW)
      return
    }
    this.packageWindow += this.windows.circuitIncrement
    if (this.waking) return
    this.waking = true
    // Wake waiting streams in turn; each takes what credit it can, the rest wait again (a
    // stream that ran out of credit while pumping is back in `waiting` already, ahead of
    // those not reached). One closed meanwhile (by another's pump) is not kept.
    const queue = [...this.waiting]
    this.waiting.clear()
    for (const stream of queue) {
      if (stream.isClosed) continue
      if (this.packageWindow <= 0) { this.waiting.add(stream); continue }
      stream.pump()
    }
    this.waking = false
  }

  /** End every stream (the circuit is going away); peers are told when `notifyPeer`. */
  closeAll (reason: EndReason, notifyPeer: boolean): void {
    this.ending = true
    for (const stream of [...this.streams.values()]) stream.close(reason, notifyPeer)
    this.ending = false
  }
}
