/**
 * The exit gateway: the last hop of the cascade, whose forward output goes to TCP.
 *
 * It is a hop like every mix (hop-node.ts: CREATE, replay, rounds, failure semantics); where
 * a mix forwards a peeled cell, the exit reads the relay payload. BEGIN resolves with the
 * pinned resolver, checks every address against the exit policy, and connects to the checked
 * IP literal only (outbound.ts); the answer is CONNECTED or END with one reason. Streams are
 * carried by the endpoint code the client shares (flow control, half-close); LOOP is echoed.
 * Backward cells leave in rounds, like a mix's.
 *
 * A new circuit's forward payloads wait until its replay tag is durable (durable keys): they
 * reach the hosts as they arrive, not in rounds, so no round could hold them (hop-node.ts).
 *
 * Shaped cascades (docs/PROTOCOL.md §12): forward payloads still reach the hosts as they
 * arrive (once the circuit's CREATE has left the kMin hold); backward, each round carries
 * exactly the circuit's scheduled cells. A LOOP is echoed unchanged after a random 0..J rounds
 * (libsodium's RNG), ahead of queued data, in the circuit's next scheduled backward slot.
 */
import { randomUniform } from '../crypto/index.js'
import { decodeBegin } from '../protocol/begin.js'
import { roundAt } from '../protocol/shaping.js'
import { EndReason } from '../protocol/end-reason.js'
import { ProtocolError } from '../protocol/errors.js'
import { CIRCUIT_STREAM, decodeRelay, encodeRelay, RelayCommand, type RelayMessage } from '../protocol/relay-payload.js'
import { CircuitStreams } from '../endpoint/circuit-streams.js'
import type { StreamPipe } from '../endpoint/stream-pipe.js'
import { StreamViolation } from '../endpoint/violations.js'
import type { HopCircuit } from '../mix/hop-circuit.js'
import { HopNode, type HopOptions } from '../mix/hop-node.js'
import { DEFAULT_EXIT_LIMITS } from './limits.js'
import { openOutbound, type PolicyCheck } from './outbound.js'
import { QueryLimitedResolver } from './query-limit.js'
import type { HostResolver } from './resolver.js'
import { Slots } from './slots.js'

export interface ExitOptions extends HopOptions {
  readonly policy: PolicyCheck
  /** Builds the whole policy from operator rules (for `setExitPolicy`; runExit adds the cascade's own rules). */
  readonly policyFor?: (operatorRules: readonly string[]) => PolicyCheck
  readonly resolver: HostResolver
  readonly connectTimeoutMs?: number
  /** Caps (limits.ts); a BEGIN over one ends with RESOURCE_LIMIT. */
  readonly maxStreamsPerCircuit?: number
  readonly maxDnsQueries?: number
  readonly maxOutbound?: number
}

export class ExitStats {
  streamsOpened = 0
  streamsRefused = 0
  streamsActive = 0
  relayMalformed = 0
  violations = 0
  loopsEchoed = 0
  bytesToHosts = 0
  bytesFromHosts = 0
  /** Shaped: the most rounds a LOOP echo waited (jitter plus the wait for a slot). */
  loopEchoDelayMaxRounds = 0
  /** Shaped: rounds LOOP echoes waited, summed (mean = this / loopsEchoed). */
  loopEchoDelayTotalRounds = 0
  /** Shaped: LOOPs dropped because MAX_LOOPS_WAITING echoes already waited on their circuit. */
  loopsDropped = 0
  /** BEGINs refused because their circuit had maxStreamsPerCircuit streams open. */
  refusedStreamsPerCircuit = 0
  /** DNS queries in flight and outbound sockets (connecting or open), with refusals at their caps. */
  readonly dnsQueries = new Slots()
  readonly outboundSockets = new Slots()
  /** DATA beyond a stream's or the circuit's window (PROTOCOL.md §7.1); also in `violations`. */
  streamWindowOverruns = 0
  circuitWindowOverruns = 0

  countViolation (what: StreamViolation): void {
    this.violations++
    if (what === StreamViolation.STREAM_WINDOW_OVERRUN) this.streamWindowOverruns++
    else if (what === StreamViolation.CIRCUIT_WINDOW_OVERRUN) this.circuitWindowOverruns++
  }
}

export class ExitNode extends HopNode {
  readonly exitStats = new ExitStats()
  private policy: PolicyCheck
  private readonly policyFor: ExitOptions['policyFor']
  private readonly resolver: HostResolver
  private readonly connectTimeoutMs: number
  private readonly maxStreamsPerCircuit: number
  private readonly endpoints = new Map<HopCircuit, CircuitStreams>()
  private readonly exitRoundMs: number

  constructor (options: ExitOptions) {
    super(options)
    this.policy = options.policy
    this.policyFor = options.policyFor
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000
    this.maxStreamsPerCircuit = options.maxStreamsPerCircuit ?? DEFAULT_EXIT_LIMITS.maxStreamsPerCircuit
    this.exitStats.dnsQueries.limit = options.maxDnsQueries ?? DEFAULT_EXIT_LIMITS.maxDnsQueries
    this.exitStats.outboundSockets.limit = options.maxOutbound ?? DEFAULT_EXIT_LIMITS.maxOutbound
    this.resolver = new QueryLimitedResolver(options.resolver, this.exitStats.dnsQueries)
    this.exitRoundMs = options.roundMs
  }

  start (): void { this.startRounds() }

  /**
   * Stream bytes the exit holds in memory across all circuits (read from hosts and not yet
   * sent, or written toward hosts and not yet flushed): bounded by the flow-control windows.
   * Computed on demand, O(streams): for tests and metrics, not the data path.
   */
  get bufferedBytes (): number {
    let total = 0
    for (const streams of this.endpoints.values()) total += streams.bufferedBytes
    return total
  }

  async stop (): Promise<void> {
    await this.stopRounds()
    this.closePredecessors()
  }

  /**
   * Replace the operator's rules (SIGHUP reload): streams opened from now on are checked
   * against the new policy; streams already open are not cut. Throws `PolicyError` for a bad
   * rule, leaving the old policy in force.
   */
  setExitPolicy (rules: readonly string[]): void {
    if (this.policyFor === undefined) throw new TypeError('this exit was built without policyFor: it cannot reload its policy')
    this.policy = this.policyFor(rules)
  }

  /** The exit's forward output is TCP, written as cells arrive: a new circuit's payloads wait in `held`. */
  protected override get forwardLeavesAtOnce (): boolean { return true }

  protected onCreated (circuit: HopCircuit): boolean {
    const payloadBytes = this.geometry.backwardPayloadBytes
    const streams: CircuitStreams = new CircuitStreams(this.geometry.backwardDataBytes, {
      // Host sockets drive `send`: a bug they could trigger is caught like a peer's (input-faults.ts).
      send: (streamId, command, data) => {
        if (!this.guarded('host', () => this.queueBackward(circuit, encodeRelay(payloadBytes, streamId, command, data)))) this.faulted(circuit)
      },
      control: (message, stream) => this.control(circuit, streams, message, stream),
      streamClosed: (stream) => {
        if (stream.isAttached) this.exitStats.streamsActive--
        this.exitStats.bytesToHosts += stream.bytesIn
        this.exitStats.bytesFromHosts += stream.bytesOut
      },
      violation: (what) => { this.exitStats.countViolation(what) },
    })
    this.endpoints.set(circuit, streams)
    return true
  }

  protected peelForward (circuit: HopCircuit, body: Uint8Array): Uint8Array | null {
    return circuit.peeler.peel(body)
  }

  protected onForward (circuit: HopCircuit, payload: Uint8Array): void {
    const streams = this.endpoints.get(circuit)
    if (streams === undefined) return
    let message: RelayMessage
    try {
      message = decodeRelay(payload)
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err
      this.exitStats.relayMalformed++
      return
    }
    streams.handle(message)
  }

  protected onEnded (circuit: HopCircuit): void {
    const streams = this.endpoints.get(circuit)
    this.endpoints.delete(circuit)
    streams?.closeAll(EndReason.DESTROY, false)
  }

  /** Silenced (shaped, ended early): its streams close now; its backward schedule goes on with PADs. */
  protected override onSilenced (circuit: HopCircuit): void {
    this.onEnded(circuit)
  }

  /** Shaped: a due LOOP echo goes ahead of the queued data. */
  protected override nextBackward (circuit: HopCircuit, round: number): Uint8Array | undefined {
    const shape = circuit.shape!
    const loop = shape.loopsWaiting === 0 ? undefined : shape.takeLoop(round)
    if (loop === undefined) return shape.backward.shift()
    const waited = round - shape.lastLoopFirstRound
    this.exitStats.loopEchoDelayTotalRounds += waited
    if (waited > this.exitStats.loopEchoDelayMaxRounds) this.exitStats.loopEchoDelayMaxRounds = waited
    return loop
  }

  protected takeForward (): void {
    // The exit's forward output is TCP, written as cells arrive.
  }

  protected sendForward (): void {}

  private control (circuit: HopCircuit, streams: CircuitStreams, message: RelayMessage, stream: StreamPipe | undefined): void {
    switch (message.command) {
      case RelayCommand.BEGIN:
        this.begin(streams, message)
        return
      case RelayCommand.LOOP: {
        // The echo must fit a backward cell, whose data size is the smaller (PROTOCOL.md §7).
        if (message.data.length > this.geometry.loopDataBytes) { this.exitStats.violations++; return }
        const echo = encodeRelay(this.geometry.backwardPayloadBytes, CIRCUIT_STREAM, RelayCommand.LOOP, message.data)
        const shape = circuit.shape
        if (shape === null || this.shaping === null) {
          this.exitStats.loopsEchoed++
          this.queueBackward(circuit, echo)
          return
        }
        // The first round that could carry it is the next one; it waits 0..J more (R10).
        const first = roundAt(Date.now(), this.exitRoundMs) + 1
        if (shape.addLoop(echo, first, first + randomUniform(this.shaping.loopJitterRounds + 1))) this.exitStats.loopsEchoed++
        else this.exitStats.loopsDropped++
        return
      }
      case RelayCommand.END:
        // The client gave up on a stream that has not connected yet.
        stream?.close(null, false)
        return
      default:
        this.exitStats.violations++
    }
  }

  private begin (streams: CircuitStreams, message: RelayMessage): void {
    const { streamId } = message
    if (streams.has(streamId)) { this.exitStats.violations++; return }
    const stream = streams.open(streamId)
    // Over a cap: counted, and logged at debug only (one line per stream would let a client
    // write the exit's log; R19 keeps per-stream events out of it anyway).
    const overLimit = (limit: 'streams_per_circuit' | 'dns_queries' | 'outbound_sockets'): void => {
      this.logger.debug('stream.limited', { limit })
      this.exitStats.streamsRefused++
      stream.close(EndReason.RESOURCE_LIMIT, true)
    }
    if (streams.size > this.maxStreamsPerCircuit) {
      this.exitStats.refusedStreamsPerCircuit++
      overLimit('streams_per_circuit')
      return
    }
    let target
    try {
      target = decodeBegin(message.data)
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err
      this.exitStats.streamsRefused++
      stream.close(EndReason.PROTOCOL, true)
      return
    }
    // The socket's slot is taken before resolving, so DNS and connects in progress count too.
    const sockets = this.exitStats.outboundSockets
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
          this.exitStats.streamsRefused++
          stream.close(result.reason, true)
          return
        }
        const socket = result.socket
        socket.once('close', release)
        if (stream.isClosed) { socket.destroy(); return }
        this.exitStats.streamsOpened++
        this.exitStats.streamsActive++
        if (earlyData.length > 0) socket.write(earlyData)
        streams.sendRelay(streamId, RelayCommand.CONNECTED)
        stream.attach(socket)
      }, () => {
        release()
        this.exitStats.streamsRefused++
        stream.close(EndReason.INTERNAL, true)
      })
  }
}
