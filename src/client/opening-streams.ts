/**
 * App streams between the request and the reply: waiting for a circuit that takes them
 * (shaped: until the next creation slot), then for the exit's answer. A CONNECT sends BEGIN
 * and its reply is sent when the exit answers: CONNECTED → 0x00, END → Tor's table
 * (PROTOCOL.md §7, §11.4); bytes the app sent with its request ride in the BEGIN as far as
 * they fit (optimistic data), the rest follows CONNECTED. A RESOLVE sends RESOLVE and its
 * reply carries the exit's RESOLVED answer, or END's REP (§7.2). A UDP ASSOCIATE sends
 * ASSOCIATE; on CONNECTED its relay (udp-relay.ts) is handed the stream, and the stream's
 * DATAGRAMs are routed to it from then on (§7.3). A request the exit has not answered
 * within the attach timeout is tried again on another circuit (stream-request.ts; the first
 * circuit takes no new streams, and a late answer there is ended, never passed on). The
 * stream timeout from the app's request bounds every wait and try (SOCKS 0x06); a request
 * left without an answer until then raises an alarm on its circuit.
 */
import { isIP } from 'node:net'
import { encodeBegin } from '../protocol/begin.js'
import { EndReason, socksReplyForEnd } from '../protocol/end-reason.js'
import { ProtocolError } from '../protocol/errors.js'
import { AddressType } from '../protocol/relay-address.js'
import { CIRCUIT_STREAM, RelayCommand, type RelayMessage } from '../protocol/relay-payload.js'
import { decodeResolved, encodeResolve } from '../protocol/resolve.js'
import type { StreamPipe } from '../endpoint/stream-pipe.js'
import type { Placement } from './circuit-sender.js'
import { ClientCircuit } from './client-circuit.js'
import type { ClientStats } from './client-stats.js'
import { Rep, type AssociateRequest, type ConnectRequest, type PendingAssociate, type PendingConnect, type PendingResolve, type ResolveRequest } from './socks/index.js'
import { DEFAULT_ATTACH_TIMEOUT_MS, StreamRequest } from './stream-request.js'
import type { UdpRelay } from './udp-relay.js'

export interface OpeningStreamsHost {
  readonly stats: ClientStats
  /** Data bytes in one forward relay payload. */
  readonly dataBytes: number
  readonly timeoutMs: number
  /** How long a try waits for the exit's answer before the request moves to another circuit (default 10 s). */
  readonly attachTimeoutMs: number | undefined
  sendRelay (circuit: ClientCircuit, streamId: number, command: RelayCommand, data: Uint8Array): void
  /** The exit never answered a request on this circuit. */
  silent (circuit: ClientCircuit): void
  /** The exit answered a request with something that does not answer it. */
  malformed (circuit: ClientCircuit): void
  /** Place the request again (its circuit no longer takes streams): counted, and logged as a count. */
  retry (opening: StreamOpening): void
}

/** What a stream is opened for: a CONNECT (a TCP stream follows), a RESOLVE (one answer) or a UDP ASSOCIATE (datagrams follow). */
export type StreamOpening =
  | { readonly kind: 'connect', readonly request: ConnectRequest, readonly pending: PendingConnect }
  | { readonly kind: 'resolve', readonly request: ResolveRequest, readonly pending: PendingResolve }
  | { readonly kind: 'associate', readonly request: AssociateRequest, readonly pending: PendingAssociate, readonly relay: UdpRelay }

/** The message that opens a stream, and the app's bytes that did not fit in it. */
interface FirstMessage {
  readonly command: RelayCommand
  readonly body: Uint8Array
  readonly leftover: Buffer[]
}

/** A stream waiting for a circuit that takes it (a `wait` placement). */
interface AwaitingCircuit {
  readonly opening: StreamOpening
  readonly key: string
  readonly timer: NodeJS.Timeout
}

/** A stream whose BEGIN, RESOLVE or ASSOCIATE left, waiting for the exit's answer. */
interface AwaitingExit {
  readonly opening: StreamOpening
  readonly request: StreamRequest
  readonly circuit: ClientCircuit
  timer: NodeJS.Timeout
  readonly leftover: Buffer[]
  /** Its timer is the attach timeout (a retry follows), not the deadline. */
  readonly attachWait: boolean
  /** The request moved to another circuit: an answer here ends the stream, the app never sees it. */
  abandoned: boolean
}

export class OpeningStreams {
  private readonly host: OpeningStreamsHost
  private readonly forCircuit: AwaitingCircuit[] = []
  private readonly forExit = new Map<StreamPipe, AwaitingExit>()
  /** Streams that are open UDP associations. */
  private readonly relays = new WeakMap<StreamPipe, UdpRelay>()
  /** Each app request's deadline, retries and optimistic data, across its tries. */
  private readonly requests = new WeakMap<StreamOpening, StreamRequest>()

  private readonly attachTimeoutMs: number

  constructor (host: OpeningStreamsHost) {
    this.host = host
    this.attachTimeoutMs = host.attachTimeoutMs ?? DEFAULT_ATTACH_TIMEOUT_MS
  }

  /**
   * A RESOLVE of an IP literal is answered with the literal itself, as Tor does: nothing to
   * look up, so nothing goes out. True when `opening` was answered here.
   */
  answeredHere (opening: StreamOpening): boolean {
    if (opening.kind !== 'resolve' || opening.request.reverse || isIP(opening.request.host) === 0) return false
    opening.pending.answer(opening.request.host)
    return true
  }

  /** Wait for a circuit that takes this stream, up to the request's deadline. */
  awaitCircuit (opening: StreamOpening, key: string): void {
    const timer = setTimeout(() => {
      const i = this.forCircuit.findIndex((w) => w.opening === opening)
      if (i < 0) return
      this.forCircuit.splice(i, 1)
      this.host.stats.streamsTimedOut++
      fail(opening, Rep.TTL_EXPIRED)
    }, this.request(opening).remainingMs(Date.now()))
    timer.unref()
    this.forCircuit.push({ opening, key, timer })
  }

  /** New circuits: open the streams that waited for one, in order, where `sender` places them. */
  placeAwaiting (sender: { place (key: string): Placement }): void {
    for (const waiting of [...this.forCircuit]) {
      const placed = sender.place(waiting.key)
      if (placed === 'refuse' || placed === 'full') break
      if (!(placed instanceof ClientCircuit)) continue
      this.forCircuit.splice(this.forCircuit.indexOf(waiting), 1)
      clearTimeout(waiting.timer)
      this.open(placed, waiting.opening)
    }
  }

  /** Open a stream on `circuit`: a BEGIN with what optimistic data fits, a RESOLVE or an ASSOCIATE. */
  open (circuit: ClientCircuit, opening: StreamOpening): void {
    const stats = this.host.stats
    const request = this.request(opening)
    const streamId = circuit.allocateStreamId()
    if (streamId === 0) {
      stats.streamsRefused++
      fail(opening, Rep.GENERAL_FAILURE)
      return
    }
    let first: FirstMessage
    try {
      first = opening.kind === 'connect'
        ? this.begin(opening.request, opening.pending, request)
        : opening.kind === 'resolve'
          ? { command: RelayCommand.RESOLVE, body: encodeResolve(opening.request.host), leftover: [] }
          : { command: RelayCommand.ASSOCIATE, body: new Uint8Array(0), leftover: [] }
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err
      stats.streamsRefused++
      fail(opening, Rep.ADDRESS_TYPE_NOT_SUPPORTED)
      return
    }
    const stream = circuit.streams.open(streamId)
    const now = Date.now()
    const attachWait = request.retriesAfter(this.attachTimeoutMs, now)
    const timer = setTimeout(() => this.unanswered(stream), attachWait ? this.attachTimeoutMs : request.remainingMs(now))
    timer.unref()
    this.forExit.set(stream, { opening, request, circuit, timer, leftover: first.leftover, attachWait, abandoned: false })
    this.host.sendRelay(circuit, streamId, first.command, first.body)
  }

  /** A control message for a stream (CircuitStreams): the exit's answer to a request, or an association's DATAGRAM. */
  control (message: RelayMessage, stream: StreamPipe | undefined): void {
    if (message.streamId === CIRCUIT_STREAM) return // LOOP echoes are measured by the sender
    if (stream === undefined) return
    if (message.command === RelayCommand.DATAGRAM) { this.relays.get(stream)?.fromExit(message.data); return }
    const waiting = this.forExit.get(stream)
    // Anything for a stream that is not waiting is a peer's mistake: ignored.
    if (waiting === undefined) return
    if (waiting.abandoned) { this.lateAnswer(stream, waiting, message.command); return }
    const { opening } = waiting
    if (message.command === RelayCommand.END) {
      this.settle(stream, waiting)
      this.host.stats.streamsRefused++
      fail(opening, socksReplyForEnd(message.data[0]!))
      stream.close(null, false)
    } else if (message.command === RelayCommand.CONNECTED && opening.kind === 'connect') {
      this.settle(stream, waiting)
      if (!opening.pending.accept()) { stream.close(EndReason.DONE, true); return }
      this.host.stats.streamsConnected++
      stream.prepend(waiting.leftover)
      stream.attach(opening.pending.socket)
    } else if (message.command === RelayCommand.CONNECTED && opening.kind === 'associate') {
      this.settle(stream, waiting)
      this.associated(waiting.circuit, stream, opening.pending, opening.relay)
    } else if (message.command === RelayCommand.RESOLVED && opening.kind === 'resolve') {
      this.settle(stream, waiting)
      const answer = resolvedAnswer(message.data, opening.request.reverse)
      if (answer === undefined) this.malformed(waiting)
      else opening.pending.answer(answer)
      stream.close(null, false)
    } else if (message.command === RelayCommand.CONNECTED || message.command === RelayCommand.RESOLVED) {
      // The answer to the other request: the exit is broken or hostile.
      this.settle(stream, waiting)
      this.malformed(waiting)
      stream.close(null, false)
    }
  }

  /** The stream ended before the exit answered: its app gets `rep`. */
  forget (stream: StreamPipe, rep: number): void {
    const waiting = this.forExit.get(stream)
    if (waiting === undefined) return
    this.settle(stream, waiting)
    if (!waiting.abandoned) fail(waiting.opening, rep)
  }

  /** The client stops: the streams waiting for a circuit fail. */
  stop (): void {
    for (const waiting of this.forCircuit.splice(0)) {
      clearTimeout(waiting.timer)
      fail(waiting.opening, Rep.GENERAL_FAILURE)
    }
  }

  /** The exit took the association: the app gets the relay's address; each end closes the other. */
  private associated (circuit: ClientCircuit, stream: StreamPipe, pending: PendingAssociate, relay: UdpRelay): void {
    // The app may have closed (or half-closed) its connection while the exit was answering.
    if (relay.isClosed) pending.reject(Rep.GENERAL_FAILURE)
    if (relay.isClosed || !pending.accept(relay.address)) { relay.close(); stream.close(EndReason.DONE, true); return }
    this.host.stats.streamsConnected++
    this.relays.set(stream, relay)
    relay.attach((body) => circuit.streams.sendDatagram(stream.id, body))
    relay.whenClosed(() => stream.close(EndReason.DONE, true))
    stream.closedSignal.addEventListener('abort', () => relay.close(), { once: true })
  }

  /** The request's state across its tries, made on its first. */
  private request (opening: StreamOpening): StreamRequest {
    let request = this.requests.get(opening)
    if (request === undefined) {
      request = new StreamRequest(Date.now(), this.host.timeoutMs)
      this.requests.set(opening, request)
    }
    return request
  }

  /** A BEGIN with the app's first bytes; a retry's carries the same ones and what came since. */
  private begin (request: ConnectRequest, pending: PendingConnect, state: StreamRequest): FirstMessage {
    state.addEarly(pending.takeEarlyData())
    const early = state.early
    const room = this.host.dataBytes - encodeBegin(request).length
    const first = early.subarray(0, Math.max(0, room))
    const leftover = early.length > first.length ? [early.subarray(first.length)] : []
    return { command: RelayCommand.BEGIN, body: encodeBegin(request, first), leftover }
  }

  private settle (stream: StreamPipe, waiting: AwaitingExit): void {
    this.forExit.delete(stream)
    clearTimeout(waiting.timer)
  }

  /** A wrong answer: the app gets 0x01, the circuit an alarm (nothing goes on the wire, R3). */
  private malformed (waiting: AwaitingExit): void {
    this.host.stats.streamsRefused++
    fail(waiting.opening, Rep.GENERAL_FAILURE)
    this.host.malformed(waiting.circuit)
  }

  /**
   * No answer yet. At the attach timeout the circuit takes no new streams (Tor marks it
   * dirty; no alarm: the exit may just be slow) and the request is placed again, its stream
   * here kept to catch a late answer. At the deadline the app gets 0x06 (unless its request
   * moved on) and the circuit an alarm: it never answered.
   */
  private unanswered (stream: StreamPipe): void {
    const waiting = this.forExit.get(stream)
    if (waiting === undefined) return
    if (waiting.abandoned || !waiting.attachWait || !waiting.request.takeRetry()) {
      this.timedOut(stream, waiting)
      return
    }
    waiting.circuit.unanswered = true
    waiting.abandoned = true
    waiting.timer = setTimeout(() => this.unanswered(stream), waiting.request.remainingMs(Date.now()))
    waiting.timer.unref()
    this.host.stats.streamsRetried++
    this.host.retry(waiting.opening)
  }

  private timedOut (stream: StreamPipe, waiting: AwaitingExit): void {
    this.settle(stream, waiting)
    if (!waiting.abandoned) {
      this.host.stats.streamsTimedOut++
      fail(waiting.opening, Rep.TTL_EXPIRED)
    }
    this.host.silent(waiting.circuit)
    stream.close(EndReason.TIMEOUT, true)
  }

  /**
   * The exit answered a request that has moved to another circuit: the stream here ends (an
   * END tells the exit to close what it opened), and nothing of it reaches the app.
   */
  private lateAnswer (stream: StreamPipe, waiting: AwaitingExit, command: RelayCommand): void {
    if (command !== RelayCommand.CONNECTED && command !== RelayCommand.END && command !== RelayCommand.RESOLVED) return
    this.settle(stream, waiting)
    if (command === RelayCommand.CONNECTED) stream.close(EndReason.DONE, true)
    else stream.close(null, false)
  }
}

/** The request failed before it was answered: the app gets `rep` (an association's relay closes). */
export function fail (opening: StreamOpening, rep: number): void {
  opening.pending.reject(rep)
  if (opening.kind === 'associate') opening.relay.close()
}

/**
 * The answer a RESOLVED gives the app: the first address (the exit orders IPv4 first) for a
 * name, the name for an address; undefined if the body is malformed or answers the wrong question.
 */
export function resolvedAnswer (data: Uint8Array, reverse: boolean): string | undefined {
  let answers
  try {
    answers = decodeResolved(data)
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err
    return undefined
  }
  const first = answers[0]!
  return (first.addressType === AddressType.HOSTNAME) === reverse ? first.host : undefined
}
