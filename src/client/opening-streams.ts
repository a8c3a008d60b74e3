/**
 * App streams between the SOCKS request and the SOCKS reply: waiting for a circuit that
 * takes them (shaped: until the next creation slot), then for the exit's answer to their
 * BEGIN. The reply is sent when the exit answers: CONNECTED → 0x00, END → Tor's table
 * (PROTOCOL.md §7, §11.4); bytes the app sent with its request ride in the BEGIN as far as
 * they fit (optimistic data), the rest follows CONNECTED. Each wait ends at the stream
 * timeout (SOCKS 0x06); a BEGIN without an answer also raises an alarm on its circuit.
 */
import { encodeBegin } from '../protocol/begin.js'
import { EndReason, socksReplyForEnd } from '../protocol/end-reason.js'
import { ProtocolError } from '../protocol/errors.js'
import { CIRCUIT_STREAM, RelayCommand, type RelayMessage } from '../protocol/relay-payload.js'
import type { StreamPipe } from '../endpoint/stream-pipe.js'
import type { Placement } from './circuit-sender.js'
import { ClientCircuit } from './client-circuit.js'
import type { ClientStats } from './client-stats.js'
import { Rep, type ConnectRequest, type PendingConnect } from './socks/index.js'

export interface OpeningStreamsHost {
  readonly stats: ClientStats
  /** Data bytes in one forward relay payload. */
  readonly dataBytes: number
  readonly timeoutMs: number
  sendRelay (circuit: ClientCircuit, streamId: number, command: RelayCommand, data: Uint8Array): void
  /** The exit never answered a BEGIN on this circuit. */
  silent (circuit: ClientCircuit): void
}

/** A stream waiting for a circuit that takes it (a `wait` placement). */
interface AwaitingCircuit {
  readonly request: ConnectRequest
  readonly pending: PendingConnect
  readonly key: string
  readonly timer: NodeJS.Timeout
}

/** A stream whose BEGIN left, waiting for the exit's answer. */
interface AwaitingExit {
  readonly pending: PendingConnect
  readonly timer: NodeJS.Timeout
  readonly leftover: Buffer[]
}

export class OpeningStreams {
  private readonly host: OpeningStreamsHost
  private readonly forCircuit: AwaitingCircuit[] = []
  private readonly forExit = new Map<StreamPipe, AwaitingExit>()

  constructor (host: OpeningStreamsHost) {
    this.host = host
  }

  /** Wait for a circuit that takes this stream, up to the stream timeout. */
  awaitCircuit (request: ConnectRequest, pending: PendingConnect, key: string): void {
    const timer = setTimeout(() => {
      const i = this.forCircuit.findIndex((w) => w.pending === pending)
      if (i < 0) return
      this.forCircuit.splice(i, 1)
      this.host.stats.streamsTimedOut++
      pending.reject(Rep.TTL_EXPIRED)
    }, this.host.timeoutMs)
    timer.unref()
    this.forCircuit.push({ request, pending, key, timer })
  }

  /** New circuits: open the streams that waited for one, in order, where `sender` places them. */
  placeAwaiting (sender: { place (key: string): Placement }): void {
    for (const waiting of [...this.forCircuit]) {
      const placed = sender.place(waiting.key)
      if (placed === 'refuse') break
      if (!(placed instanceof ClientCircuit)) continue
      this.forCircuit.splice(this.forCircuit.indexOf(waiting), 1)
      clearTimeout(waiting.timer)
      this.open(placed, waiting.request, waiting.pending)
    }
  }

  /** Open a stream on `circuit`: its BEGIN carries what optimistic data fits. */
  open (circuit: ClientCircuit, request: ConnectRequest, pending: PendingConnect): void {
    const stats = this.host.stats
    const streamId = circuit.allocateStreamId()
    if (streamId === 0) {
      stats.streamsRefused++
      pending.reject(Rep.GENERAL_FAILURE)
      return
    }
    const early = Buffer.concat(pending.takeEarlyData())
    const room = this.host.dataBytes - encodeBegin(request).length
    const first = early.subarray(0, Math.max(0, room))
    const leftover = early.length > first.length ? [early.subarray(first.length)] : []
    let begin: Uint8Array
    try {
      begin = encodeBegin(request, first)
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err
      stats.streamsRefused++
      pending.reject(Rep.ADDRESS_TYPE_NOT_SUPPORTED)
      return
    }
    const stream = circuit.streams.open(streamId)
    const timer = setTimeout(() => this.timedOut(circuit, stream), this.host.timeoutMs)
    timer.unref()
    this.forExit.set(stream, { pending, timer, leftover })
    this.host.sendRelay(circuit, streamId, RelayCommand.BEGIN, begin)
  }

  /** A control message for a stream (CircuitStreams): the exit's answer to a BEGIN. */
  control (message: RelayMessage, stream: StreamPipe | undefined): void {
    if (message.streamId === CIRCUIT_STREAM) return // LOOP echoes are measured by the sender
    if (stream === undefined) return
    const waiting = this.forExit.get(stream)
    if (message.command === RelayCommand.CONNECTED && waiting !== undefined) {
      this.forExit.delete(stream)
      clearTimeout(waiting.timer)
      if (!waiting.pending.accept()) { stream.close(EndReason.DONE, true); return }
      this.host.stats.streamsConnected++
      stream.prepend(waiting.leftover)
      stream.attach(waiting.pending.socket)
    } else if (message.command === RelayCommand.END && waiting !== undefined) {
      this.forExit.delete(stream)
      clearTimeout(waiting.timer)
      this.host.stats.streamsRefused++
      waiting.pending.reject(socksReplyForEnd(message.data[0]!))
      stream.close(null, false)
    }
    // Anything else for a stream that is not waiting is a peer's mistake: ignored.
  }

  /** The stream ended before the exit answered: its app gets `rep`. */
  forget (stream: StreamPipe, rep: number): void {
    const waiting = this.forExit.get(stream)
    if (waiting === undefined) return
    this.forExit.delete(stream)
    clearTimeout(waiting.timer)
    waiting.pending.reject(rep)
  }

  /** The client stops: the streams waiting for a circuit fail. */
  stop (): void {
    for (const waiting of this.forCircuit.splice(0)) {
      clearTimeout(waiting.timer)
      waiting.pending.reject(Rep.GENERAL_FAILURE)
    }
  }

  private timedOut (circuit: ClientCircuit, stream: StreamPipe): void {
    if (!this.forExit.has(stream)) return
    this.host.stats.streamsTimedOut++
    this.host.silent(circuit)
    this.forget(stream, Rep.TTL_EXPIRED)
    stream.close(EndReason.TIMEOUT, true)
  }
}
