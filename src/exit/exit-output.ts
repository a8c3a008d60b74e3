/**
 * The exit's forward output: TCP streams (docs/HOP.md "The exit"). A peeled forward cell is a
 * relay payload: BEGIN resolves with the pinned resolver, checks every address against the
 * exit policy and connects to the checked IP literal only (outbound.ts), answering CONNECTED
 * or END with one reason; RESOLVE is looked up under the same policy and answered RESOLVED or
 * END (resolve-answer.ts); ASSOCIATE opens a UDP association (udp-association.ts) whose
 * DATAGRAMs leave from the exit's own UDP sockets under the same policy; DATA and the rest go
 * to the circuit's streams (src/endpoint, shared with the client); LOOP is echoed on stream 0
 * (shaped: after 0..J rounds, R10). Payloads reach the hosts as they arrive; what the hosts
 * send goes back through the hop core's rounds.
 */
import { randomUniform } from '../crypto/index.js'
import { decodeBegin } from '../protocol/begin.js'
import { SHAPED_WINDOWS, UNSHAPED_WINDOWS } from '../protocol/flow-control.js'
import { roundAt } from '../protocol/shaping.js'
import { EndReason } from '../protocol/end-reason.js'
import { ProtocolError } from '../protocol/errors.js'
import { decodeResolve, type ResolveQuery } from '../protocol/resolve.js'
import { decodeDatagram } from '../protocol/datagram.js'
import { CIRCUIT_STREAM, decodeRelay, encodeRelay, RelayCommand, type RelayMessage } from '../protocol/relay-payload.js'
import { CELL_HEADER_BYTES } from '../protocol/geometry.js'
import { BACKWARD_INNER_OFFSET } from '../protocol/relay-layers.js'
import { CircuitStreams } from '../endpoint/circuit-streams.js'
import type { StreamPipe } from '../endpoint/stream-pipe.js'
import type { ForwardOutput } from '../hop/forward-output.js'
import type { HopCircuit } from '../hop/hop-circuit.js'
import type { HopCore } from '../hop/hop-core.js'
import { BackwardCells } from './backward-cells.js'
import { ExitStats } from './exit-stats.js'
import { DEFAULT_EXIT_LIMITS, UDP_LIMITS, type UdpLimits } from './limits.js'
import { UdpAssociation } from './udp-association.js'
import { openOutbound, type PolicyCheck } from './outbound.js'
import { QueryLimitedResolver } from './query-limit.js'
import type { HostResolver, ReverseResolver } from './resolver.js'
import { answerResolve, type AddressCheck } from './resolve-answer.js'

/** Where a backward relay payload lies in the cell the exit seals it in (relay-layers.ts). */
const PAYLOAD_AT = CELL_HEADER_BYTES + BACKWARD_INNER_OFFSET

/** The whole exit policy: for BEGIN (outbound.ts) and RESOLVE (resolve-answer.ts); ExitPolicy fits. */
export type ExitPolicyCheck = PolicyCheck & AddressCheck

export interface ExitOutputOptions {
  readonly policy: ExitPolicyCheck
  /** A resolver without `reverse` answers every RESOLVE_PTR with RESOLVE_FAILED. */
  readonly resolver: HostResolver & Partial<ReverseResolver>
  readonly connectTimeoutMs?: number
  /** Caps (limits.ts); a BEGIN over one ends with RESOURCE_LIMIT. */
  readonly maxStreamsPerCircuit?: number
  readonly maxDnsQueries?: number
  readonly maxOutbound?: number
  /** UDP association bounds (tests; default UDP_LIMITS). */
  readonly udp?: Partial<UdpLimits>
}

export class ExitOutput implements ForwardOutput {
  /** TCP is written as cells arrive: a new circuit's payloads wait in `held` while it waits. */
  readonly leavesAtOnce = true
  readonly stats = new ExitStats()
  /** The whole exit policy; replaced on a reload (streams already open are not cut). */
  policy: ExitPolicyCheck
  private readonly core: HopCore
  private readonly resolver: QueryLimitedResolver
  private readonly connectTimeoutMs: number
  private readonly maxStreamsPerCircuit: number
  private readonly udp: UdpLimits
  private readonly endpoints = new Map<HopCircuit, CircuitStreams>()
  /** The streams that are UDP associations, and how many each circuit has open. */
  private readonly associations = new WeakMap<StreamPipe, UdpAssociation>()
  private readonly associationsOpen = new WeakMap<CircuitStreams, number>()
  /** Backward cells reused once an unshaped round has written them (backward-cells.ts). */
  private readonly cells: BackwardCells
  readonly recycleBackward = (cells: readonly Uint8Array[]): void => { this.cells.giveBack(cells) }

  constructor (core: HopCore, options: ExitOutputOptions) {
    this.core = core
    this.policy = options.policy
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000
    this.maxStreamsPerCircuit = options.maxStreamsPerCircuit ?? DEFAULT_EXIT_LIMITS.maxStreamsPerCircuit
    this.udp = { ...UDP_LIMITS, ...options.udp }
    this.stats.dnsQueries.limit = options.maxDnsQueries ?? DEFAULT_EXIT_LIMITS.maxDnsQueries
    this.stats.outboundSockets.limit = options.maxOutbound ?? DEFAULT_EXIT_LIMITS.maxOutbound
    this.resolver = new QueryLimitedResolver(options.resolver, this.stats.dnsQueries)
    this.cells = new BackwardCells(core.geometry.cellSize)
  }

  /** Stream bytes held in memory across all circuits; O(streams), for tests and metrics. */
  get bufferedBytes (): number {
    let total = 0
    for (const streams of this.endpoints.values()) total += streams.bufferedBytes
    return total
  }

  /** Backward cells waiting for reuse (backward-cells.ts), for tests. */
  get reusableBackwardCells (): number { return this.cells.available }

  /** Open streams of each circuit that has any; O(circuits), for tests. */
  openStreamsPerCircuit (): number[] {
    const counts: number[] = []
    for (const streams of this.endpoints.values()) if (streams.size > 0) counts.push(streams.size)
    return counts
  }

  created (circuit: HopCircuit): boolean {
    const core = this.core
    const { backwardPayloadBytes: payloadBytes } = core.geometry
    const streams: CircuitStreams = new CircuitStreams(core.geometry.backwardDataBytes, {
      // Host sockets drive `send`: a bug they could trigger is caught like a peer's (input-faults.ts).
      send: (streamId, command, data) => {
        try {
          // Built in the cell it leaves in, where this hop's layer seals it: no copy after.
          const cell = this.cells.take()
          const payload = encodeRelay(payloadBytes, streamId, command, data, cell.subarray(PAYLOAD_AT, PAYLOAD_AT + payloadBytes))
          core.queueBackward(circuit, payload, cell)
        } catch (err) { core.faulted('host', err, circuit) }
      },
      control: (message, stream) => this.control(circuit, streams, message, stream),
      streamClosed: (stream) => {
        if (stream.isAttached) this.stats.streamsActive--
        this.stats.bytesToHosts += stream.bytesIn
        this.stats.bytesFromHosts += stream.bytesOut
      },
      violation: (what) => { this.stats.countViolation(what) },
    }, core.shaping === null ? UNSHAPED_WINDOWS : SHAPED_WINDOWS)
    this.endpoints.set(circuit, streams)
    return true
  }

  /** Peeled in place: the payload is a view of the received cell, which nothing else holds. */
  peel (circuit: HopCircuit, body: Uint8Array): Uint8Array | null {
    return circuit.peeler.peel(body, body)
  }

  forward (circuit: HopCircuit, payload: Uint8Array): void {
    const streams = this.endpoints.get(circuit)
    if (streams === undefined) return
    let message: RelayMessage
    try {
      message = decodeRelay(payload)
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err
      this.stats.relayMalformed++
      return
    }
    streams.handle(message)
  }

  ended (circuit: HopCircuit): void {
    const streams = this.endpoints.get(circuit)
    this.endpoints.delete(circuit)
    streams?.closeAll(EndReason.DESTROY, false)
  }

  /** Silenced (shaped, ended early): its streams close now; its backward schedule goes on with PADs. */
  silenced (circuit: HopCircuit): void {
    this.ended(circuit)
  }

  /** Shaped: a due LOOP echo goes ahead of the queued data. */
  nextBackward (circuit: HopCircuit, round: number): Uint8Array | undefined {
    const shape = circuit.shape!
    const loop = shape.loopsWaiting === 0 ? undefined : shape.takeLoop(round)
    if (loop === undefined) return shape.backward.shift()
    const waited = round - shape.lastLoopFirstRound
    this.stats.loopEchoDelayTotalRounds += waited
    if (waited > this.stats.loopEchoDelayMaxRounds) this.stats.loopEchoDelayMaxRounds = waited
    return loop
  }

  /** The exit's forward output is TCP, written as cells arrive: its rounds send nothing forward. */
  sendRound (): void {}
  sendShapedRound (): void {}

  private control (circuit: HopCircuit, streams: CircuitStreams, message: RelayMessage, stream: StreamPipe | undefined): void {
    switch (message.command) {
      case RelayCommand.BEGIN:
        this.begin(streams, message)
        return
      case RelayCommand.RESOLVE:
        this.resolve(streams, message)
        return
      case RelayCommand.ASSOCIATE:
        this.associate(streams, message.streamId)
        return
      case RelayCommand.DATAGRAM:
        this.datagram(stream, message.data)
        return
      case RelayCommand.LOOP:
        this.loop(circuit, message.data)
        return
      case RelayCommand.END:
        // The client gave up on a stream that has not connected yet.
        stream?.close(null, false)
        return
      default:
        this.stats.violations++
    }
  }

  /** Echo a LOOP's data on stream 0; shaped, from a random 0..J rounds after the next one (R10). */
  private loop (circuit: HopCircuit, data: Uint8Array): void {
    const { geometry, shaping } = this.core
    // The echo must fit a backward cell, whose data size is the smaller (PROTOCOL.md §7).
    if (data.length > geometry.loopDataBytes) { this.stats.violations++; return }
    const echo = encodeRelay(geometry.backwardPayloadBytes, CIRCUIT_STREAM, RelayCommand.LOOP, data)
    const shape = circuit.shape
    if (shape === null || shaping === null) {
      this.stats.loopsEchoed++
      this.core.queueBackward(circuit, echo)
      return
    }
    const first = roundAt(Date.now(), this.core.roundMs) + 1
    if (shape.addLoop(echo, first, first + randomUniform(shaping.loopJitterRounds + 1))) this.stats.loopsEchoed++
    else this.stats.loopsDropped++
  }

  /**
   * Open the stream a BEGIN, RESOLVE or ASSOCIATE names, within the per-circuit cap; undefined when the
   * ID is taken (a violation) or the cap refused it (answered already).
   */
  private openStream (streams: CircuitStreams, streamId: number): StreamPipe | undefined {
    if (streams.has(streamId)) { this.stats.violations++; return undefined }
    const stream = streams.open(streamId)
    if (streams.size > this.maxStreamsPerCircuit) {
      this.stats.refusedStreamsPerCircuit++
      this.overLimit(stream, 'streams_per_circuit')
      return undefined
    }
    return stream
  }

  /**
   * Over a cap: counted, and logged at debug only (one line per stream would let a client
   * write the exit's log; R19 keeps per-stream events out of it anyway).
   */
  private overLimit (stream: StreamPipe, limit: 'streams_per_circuit' | 'dns_queries' | 'outbound_sockets' | 'udp_associations_per_circuit'): void {
    this.core.logger.debug('stream.limited', { limit })
    this.stats.streamsRefused++
    stream.close(EndReason.RESOURCE_LIMIT, true)
  }

  /**
   * A RESOLVE: looked up on its own stream (so the client can give up with END, and the
   * stream cap counts it), answered with RESOLVED or END; either way the stream is then gone.
   */
  private resolve (streams: CircuitStreams, message: RelayMessage): void {
    const { streamId } = message
    const stream = this.openStream(streams, streamId)
    if (stream === undefined) return
    let query: ResolveQuery
    try {
      query = decodeResolve(message.data)
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err
      this.stats.resolvesRefused++
      stream.close(EndReason.PROTOCOL, true)
      return
    }
    answerResolve(query, this.policy, this.resolver, this.core.geometry.backwardDataBytes)
      .then((outcome) => {
        if (stream.isClosed) return // the client gave up first
        if (!outcome.ok) {
          if (outcome.reason === EndReason.RESOURCE_LIMIT) { this.overLimit(stream, 'dns_queries'); return }
          this.stats.resolvesRefused++
          stream.close(outcome.reason, true)
          return
        }
        this.stats.resolvesAnswered++
        streams.sendRelay(streamId, RelayCommand.RESOLVED, outcome.body)
        stream.close(null, false)
      }, () => {
        this.stats.resolvesRefused++
        stream.close(EndReason.INTERNAL, true)
      })
  }

  /** A UDP association on its own stream: answered CONNECTED at once (sockets open lazily). */
  private associate (streams: CircuitStreams, streamId: number): void {
    const stream = this.openStream(streams, streamId)
    if (stream === undefined) return
    const open = this.associationsOpen.get(streams) ?? 0
    if (open >= this.udp.maxAssociationsPerCircuit) {
      this.stats.refusedUdpAssociations++
      this.overLimit(stream, 'udp_associations_per_circuit')
      return
    }
    this.associationsOpen.set(streams, open + 1)
    const association = new UdpAssociation({
      // The policy in force when a destination is first sent to (a reload applies to new ones).
      policy: { allows: (ip, port) => this.policy.allows(ip, port) },
      resolver: this.resolver,
      sockets: this.stats.outboundSockets,
      maxDestinations: this.udp.maxDestinations,
      idleMs: this.udp.idleMs,
      maxBodyBytes: this.core.geometry.backwardDataBytes,
      counters: this.stats,
      send: (body) => streams.sendDatagram(streamId, body),
      ended: (reason) => stream.close(reason, true),
    })
    this.associations.set(stream, association)
    stream.closedSignal.addEventListener('abort', () => {
      association.close()
      this.associationsOpen.set(streams, (this.associationsOpen.get(streams) ?? 1) - 1)
    }, { once: true })
    this.stats.udpAssociations++
    streams.sendRelay(streamId, RelayCommand.CONNECTED)
  }

  /** A DATAGRAM for an association; for any other stream, or malformed, a violation (dropped). */
  private datagram (stream: StreamPipe | undefined, body: Uint8Array): void {
    const association = stream === undefined ? undefined : this.associations.get(stream)
    if (association === undefined) { this.stats.violations++; return }
    let decoded
    try {
      decoded = decodeDatagram(body)
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err
      this.stats.violations++
      return
    }
    association.datagram(decoded)
  }

  private begin (streams: CircuitStreams, message: RelayMessage): void {
    const { streamId } = message
    const stream = this.openStream(streams, streamId)
    if (stream === undefined) return
    const overLimit = (limit: 'dns_queries' | 'outbound_sockets'): void => { this.overLimit(stream, limit) }
    let target
    try {
      target = decodeBegin(message.data)
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err
      this.stats.streamsRefused++
      stream.close(EndReason.PROTOCOL, true)
      return
    }
    // The socket's slot is taken before resolving, so DNS and connects in progress count too.
    const sockets = this.stats.outboundSockets
    if (!sockets.tryTake()) { overLimit('outbound_sockets'); return }
    let holding = true
    const release = (): void => { if (holding) { holding = false; sockets.release() } }
    const earlyData = Buffer.from(target.earlyData)
    openOutbound({
      host: target.host,
      port: target.port,
      policy: this.policy,
      resolver: this.resolver,
      connectTimeoutMs: this.connectTimeoutMs,
      signal: stream.closedSignal,
    })
      .then((result) => {
        if (!result.ok) {
          release()
          if (stream.isClosed) return // the client gave up first
          if (result.reason === EndReason.RESOURCE_LIMIT) { overLimit('dns_queries'); return }
          this.stats.streamsRefused++
          stream.close(result.reason, true)
          return
        }
        const socket = result.socket
        socket.once('close', release)
        if (stream.isClosed) { socket.destroy(); return }
        this.stats.streamsOpened++
        this.stats.streamsActive++
        if (earlyData.length > 0) socket.write(earlyData)
        streams.sendRelay(streamId, RelayCommand.CONNECTED)
        stream.attach(socket)
      }, () => {
        release()
        this.stats.streamsRefused++
        stream.close(EndReason.INTERNAL, true)
      })
  }
}
