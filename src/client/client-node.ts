/**
 * The client: doors for apps (SOCKS5/4/4a, and HTTP CONNECT when configured: front-doors.ts),
 * and circuits through the cascade behind them. A CONNECT, a RESOLVE and a UDP ASSOCIATE each
 * become one stream (opening-streams.ts; an association's datagrams: udp-relay.ts), on one
 * circuit chosen by its isolation key (R13); the reply waits for the exit's answer (a request
 * left unanswered is retried on another circuit: stream-request.ts).
 * Which circuits exist and when their cells leave is the CircuitSender's, picked once from
 * the cascade's shaping profile (circuit-sender.ts): unshaped-sender.ts for `off`, the
 * Shaper's schedule for `strict` and `elastic`.
 *
 * Anomalies never show on the wire (DESIGN goal 3, R3): a backward cell that fails
 * authentication, or a silent circuit, raises an alarm (counted, logged as a count per
 * interval: client-log.ts, R19), takes no new streams, and fails its streams after a timeout.
 * Only a whole entry link failing ends every circuit at once. docs/CLIENT.md has the rest.
 */
import { InputFaults } from '../base/input-faults.js'
import { CellCommand, cellCircuitId, cellCommand, encodeCell, randomCircuitId } from '../protocol/cell.js'
import { EndReason } from '../protocol/end-reason.js'
import { ProtocolError } from '../protocol/errors.js'
import { flowWindows, type FlowWindows } from '../protocol/flow-control.js'
import { clientStreamsPerCircuit, SHAPED_STREAMS_PER_CIRCUIT, UNSHAPED_STREAMS_PER_CIRCUIT } from '../protocol/stream-bound.js'
import { CELL_HEADER_BYTES, type Geometry } from '../protocol/geometry.js'
import { BackwardOpener, ForwardSealer } from '../protocol/relay-layers.js'
import { decodeRelay, encodeRelay, RelayCommand, type RelayMessage } from '../protocol/relay-payload.js'
import { CircuitStreams } from '../endpoint/circuit-streams.js'
import type { CellLink, CellLinkHandlers } from '../link/cell-link.js'
import type { Logger } from '../base/logger.js'
import type { BuiltCircuit, CircuitSender, SenderHost } from './circuit-sender.js'
import { ClientCircuit } from './client-circuit.js'
import { ClientLog } from './client-log.js'
import { logFailClosed, logRecovered } from './loop-events.js'
import { ClientStats, type ClientShapingStatus, type EntryReport } from './client-stats.js'
import { EpochKeys } from './epoch-keys.js'
import { fail, OpeningStreams, type StreamOpening } from './opening-streams.js'
import { RETRIED_LOG_FIELDS } from './stream-request.js'
import { Shaper } from './shaping/shaper.js'
import { UnshapedSender } from './unshaped-sender.js'
import { Rep, type AssociateRequest, type PendingAssociate, type SocksCountersSnapshot } from './socks/index.js'
import { UdpRelay } from './udp-relay.js'
import { FrontDoors, type DoorAddresses } from './front-doors.js'
import type { HttpCountersSnapshot } from './http/index.js'
import { Redial } from '../link/redial.js'
import type { ClientOptions } from './client-options.js'

export { ClientStats, type ClientShapingStatus, type EntryReport } from './client-stats.js'
export type { ClientOptions } from './client-options.js'

/** What the log says when a stream meets a bound (one line per interval, client-log.ts). */
const CIRCUIT_LIMIT_FIELDS = { reason: `the client holds as many circuits as it may (maxCircuits), each with ${UNSHAPED_STREAMS_PER_CIRCUIT} streams or of another isolation key: the stream is refused (0x01)` }
const CIRCUITS_FULL_FIELDS = { reason: `every circuit this isolation key may use holds ${SHAPED_STREAMS_PER_CIRCUIT} streams and no spare is left: the stream waits for the next creation slot (docs/PROTOCOL.md §12.6)` }

export class ClientNode {
  readonly stats = new ClientStats()
  /** The schedule's state, for tests and metrics (undefined with profile `off`). */
  readonly shaperState: Shaper | undefined
  private readonly options: ClientOptions
  private readonly geometry: Geometry
  private readonly windows: FlowWindows
  private readonly keys: EpochKeys
  private readonly logger: Logger
  /** Exceptions escaping the handling of the entry's cells, caught and counted. */
  private readonly faults: InputFaults
  /** Events that repeat per circuit, stream or request: counted, not logged one by one (R19). */
  private readonly events: ClientLog
  private readonly doors: FrontDoors
  private readonly sender: CircuitSender
  private readonly circuits = new Map<number, ClientCircuit>()
  private readonly opening: OpeningStreams
  private entry: CellLink | null = null
  private running = false
  private readonly redial = new Redial(() => this.dial())
  private readonly failTimeoutMs: number
  private entryReport: EntryReport | undefined

  constructor (options: ClientOptions) {
    this.options = options
    const first = options.cascade.current()
    this.geometry = first.geometry
    this.windows = flowWindows(first.params.shaping.profile)
    this.logger = options.logger
    this.faults = new InputFaults(options.logger)
    this.events = new ClientLog(options.logger, options.logIntervalMs)
    this.keys = new EpochKeys(options.cascade, this.events)
    this.failTimeoutMs = options.failTimeoutMs ?? 10_000
    this.opening = new OpeningStreams({
      stats: this.stats,
      dataBytes: this.geometry.forwardDataBytes,
      timeoutMs: options.streamTimeoutMs ?? 30_000,
      attachTimeoutMs: options.streamAttachTimeoutMs,
      sendRelay: (circuit, streamId, command, data) => this.sendRelay(circuit, streamId, command, data),
      silent: (circuit) => this.alarm(circuit, 'circuit.silent'),
      malformed: (circuit) => this.alarm(circuit, 'circuit.malformed_payload'),
      retry: (opening) => { this.events.notices.count('stream.retried', RETRIED_LOG_FIELDS); this.connect(opening, true) },
    })
    const host = this.senderHost()
    if (first.params.shaping.profile === 'off') {
      this.shaperState = undefined
      this.sender = new UnshapedSender(host, {
        roundMs: first.params.roundMs,
        dirtinessMs: options.circuitDirtinessMs ?? 10 * 60_000,
        maxCircuits: options.maxCircuits ?? 64,
        streamsPerCircuit: clientStreamsPerCircuit('off'),
        keepaliveMs: options.keepaliveMs ?? 60_000,
      })
    } else {
      this.sender = this.shaperState = new Shaper(host, {
        params: first.params.shaping,
        roundMs: first.params.roundMs,
        hops: first.hops.length,
        alarmLimit: options.alarmLimit ?? 3,
        ...(options.failClosed === undefined ? {} : { failClosed: options.failClosed }),
        ...(options.loopMarginMs === undefined ? {} : { loopMarginMs: options.loopMarginMs }),
        ...(options.shapingTimers === undefined ? {} : { timers: options.shapingTimers }),
      })
    }
    this.doors = new FrontDoors({
      socks: options.socks,
      ...(options.http === undefined ? {} : { http: options.http }),
      onConnect: (request, pending) => this.connect({ kind: 'connect', request, pending }),
      onResolve: (request, pending) => this.connect({ kind: 'resolve', request, pending }),
      onAssociate: (request, pending) => this.associate(request, pending),
      events: this.events,
      logger: options.logger,
    })
  }

  get entryUp (): boolean { return this.entry !== null }

  /**
   * Stream bytes the client holds in memory across all circuits (read from apps and not yet
   * sent, or written toward apps and not yet flushed): bounded by the flow-control windows.
   * Computed on demand, O(streams): for tests and metrics, not the data path.
   */
  get bufferedBytes (): number {
    let total = 0
    for (const circuit of this.circuits.values()) total += circuit.streams.bufferedBytes
    return total
  }

  get socksCounters (): SocksCountersSnapshot { return this.doors.socksCounters }

  /** Undefined without an HTTP CONNECT door. */
  get httpCounters (): HttpCountersSnapshot | undefined { return this.doors.httpCounters }

  /** Whether loop alarms made this client refuse new streams. */
  get failedClosed (): boolean { return this.sender.failedClosed }

  /** Record what the entry's admin port said (run-client polls it); undefined: unreachable. */
  setEntryReport (report: EntryReport | undefined): void { this.entryReport = report }

  /** Shaping figures for status and metrics. */
  get shaping (): ClientShapingStatus { return this.sender.status(this.entryReport) }

  /** Listen for apps and connect to the entry; resolves with the doors' addresses. */
  async start (): Promise<DoorAddresses> {
    this.running = true
    const address = await this.doors.listen()
    this.dial()
    this.sender.start()
    return address
  }

  async stop (): Promise<void> {
    this.running = false
    this.redial.stop()
    this.sender.stop()
    this.opening.stop()
    await this.doors.close()
    this.endAll()
    this.entry?.close()
    this.entry = null
    this.events.close()
  }

  /** Resolves once the entry link is up (for `up` and tests). */
  async waitForEntry (timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (this.entry === null) {
      if (Date.now() > deadline) throw new Error('the entry mix did not accept a link in time')
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  /** What the sender may ask of this client. */
  private senderHost (): SenderHost {
    return {
      geometry: this.geometry,
      stats: this.stats,
      circuits: this.circuits,
      entryUp: () => this.entry !== null,
      buildCircuit: (key) => this.buildCircuit(key),
      refreshKeys: () => this.keys.refreshSoon(),
      write: (cells, round) => this.write(cells, round),
      failStreams: (circuit) => this.failStreams(circuit),
      endCircuit: (circuit, scheduled) => this.endCircuit(circuit, scheduled),
      circuitsReady: () => { if (this.entry !== null) this.opening.placeAwaiting(this.sender) },
      loopAlarm: (circuit, kind) => this.loopAlarm(circuit, kind),
      failClosed: (episode) => logFailClosed(this.events, episode),
      recovered: (closedMs) => logRecovered(this.events, closedMs),
    }
  }

  // --- entry link -----------------------------------------------------------------------

  private dial (): void {
    if (!this.running) return
    const handlers: CellLinkHandlers = {
      onCell: (cell) => {
        try {
          this.fromEntry(cell)
          return
        } catch (err) {
          // A bug a peer could trigger: count it, and treat the circuit like one that failed.
          this.faults.record('entry', err)
        }
        this.stats.inputExceptions = this.faults.caught
        const circuit = this.circuits.get(cellCircuitId(cell))
        if (circuit !== undefined) this.alarm(circuit, 'circuit.input_exception')
      },
      onClose: (reason) => this.entryLost(reason),
    }
    this.options.connectEntry(handlers).then((link) => {
      if (!this.running) { link.close(); return }
      this.entry = link
      this.redial.succeeded()
      this.stats.entryConnects++
      this.logger.info('entry.connected')
    }, (err: Error) => {
      this.stats.entryFailures++
      this.logger.warn('entry.unreachable', { code: (err as { code?: string }).code ?? 'ERROR', retryMs: this.redial.nextMs })
      if (this.running) this.redial.schedule()
    })
  }

  private entryLost (reason: string): void {
    if (this.entry === null) return
    this.entry = null
    this.stats.entryFailures++
    this.logger.warn('entry.lost', { reason, circuits: this.circuits.size })
    this.endAll()
    this.sender.linkLost()
    if (this.running) this.redial.schedule()
  }

  /** Every circuit ends alike (the entry link is gone, or the client stops). */
  private endAll (): void {
    for (const circuit of [...this.circuits.values()]) this.endCircuit(circuit)
  }

  /** One write to the entry link (a round's cells, or one event-loop turn's). */
  private write (cells: Uint8Array[], round: number): void {
    if (this.entry === null) return
    this.options.observeWrites?.(cells, round)
    this.entry.send(cells, round)
    this.stats.cellsOut += cells.length
  }

  // --- app streams ----------------------------------------------------------------------

  /** A request from a door, placed by its isolation key or refused; `again`: keys refreshed, or a retry (not counted twice). */
  private connect (opening: StreamOpening, again = false): void {
    const { request } = opening
    if (!again) this.stats.streamsRequested++
    if (this.opening.answeredHere(opening)) return
    if (this.entry === null) {
      this.stats.streamsRefused++
      fail(opening, Rep.GENERAL_FAILURE)
      return
    }
    const key = this.sender.isolationKey(request)
    const placed = this.sender.place(key)
    if (placed === 'no-keys') {
      if (!again && this.keys.canRefresh) {
        // The keys of this epoch may be published by now: fetch them once, then try again.
        this.keys.refresh().then(() => {
          if (this.running) this.connect(opening, true)
          else fail(opening, Rep.GENERAL_FAILURE)
        }, () => fail(opening, Rep.GENERAL_FAILURE))
        return
      }
      this.stats.streamsRefused++
      this.stats.streamsNoKeys++
      this.events.warnings.count('circuit.no_epoch_keys', { epoch: this.keys.epochNow(), reason: 'the cascade has no onion keys for the current epoch: refresh its descriptor, or check this clock' })
      fail(opening, Rep.GENERAL_FAILURE)
    } else if (placed === 'refuse') {
      this.stats.streamsRefused++
      fail(opening, Rep.GENERAL_FAILURE)
    } else if (placed === 'full') {
      // A configured bound, as Tor answers a resource limit: 0x01 at once, nothing else touched.
      this.stats.streamsRefused++
      this.stats.streamsOverCircuitLimit++
      this.events.warnings.count('stream.circuit_limit', CIRCUIT_LIMIT_FIELDS)
      fail(opening, Rep.GENERAL_FAILURE)
    } else if (placed === 'wait' || placed === 'wait-full') {
      if (placed === 'wait-full') {
        this.stats.streamsWaitedCircuitsFull++
        this.events.notices.count('stream.circuits_full', CIRCUITS_FULL_FIELDS)
      }
      this.opening.awaitCircuit(opening, key)
    } else {
      this.opening.open(placed, opening)
    }
  }

  /** A UDP ASSOCIATE: its relay socket is bound first (its address is the reply), then it is placed as a stream. */
  private associate (request: AssociateRequest, pending: PendingAssociate): void {
    UdpRelay.bind({ host: this.options.socks.host, control: pending.socket, appPort: request.port, maxBodyBytes: this.geometry.forwardDataBytes, counters: this.stats })
      .then((relay) => this.connect({ kind: 'associate', request, pending, relay }), () => pending.reject(Rep.GENERAL_FAILURE))
  }

  /**
   * Raise an alarm about a circuit and stop giving it new streams. Nothing goes on the wire:
   * its cells, LOOPs included, carry on until its scheduled end (R3). The log has a count
   * per interval, never which circuit or when (R19).
   */
  private alarm (circuit: ClientCircuit, event: string, fields?: Record<string, string>): void {
    this.stats.alarms++
    if (event === 'circuit.silent') this.stats.silentCircuits++
    this.events.warnings.count(event, fields)
    if (circuit.suspect) return
    circuit.suspect = true
    const timer = setTimeout(() => {
      circuit.streams.closeAll(EndReason.MISC, false)
    }, this.failTimeoutMs)
    timer.unref()
  }

  /** A loop alarm (shaped): like any alarm, and the log says what kind, never which circuit or when. */
  private loopAlarm (circuit: ClientCircuit | undefined, kind: 'lost' | 'late'): void {
    if (circuit !== undefined) { this.alarm(circuit, 'loop.alarm', { kind }); return }
    this.stats.alarms++
    this.events.warnings.count('loop.alarm', { kind })
  }

  // --- circuits and cells ---------------------------------------------------------------

  /** Build and register a circuit with the keys of the current epoch; its CREATE is the caller's to send. */
  private buildCircuit (key: string): BuiltCircuit | 'no-keys' {
    const made = this.keys.onion()
    if (made === 'no-keys') return made
    const { onion, epoch } = made
    const id = randomCircuitId((candidate) => this.circuits.has(candidate))
    const circuit = new ClientCircuit(id, key,
      new ForwardSealer(this.geometry, onion.hopKeys), new BackwardOpener(this.geometry, onion.hopKeys), Date.now(), epoch)
    this.stats.lastCircuitEpoch = epoch
    circuit.streams = new CircuitStreams(this.geometry.forwardDataBytes, {
      send: (streamId, command, data) => this.sendRelay(circuit, streamId, command, data),
      control: (message, stream) => this.opening.control(message, stream),
      streamClosed: (stream) => this.opening.forget(stream, Rep.GENERAL_FAILURE),
      violation: (what) => this.logger.debug('circuit.violation', { what }),
    }, this.windows)
    this.circuits.set(id, circuit)
    this.stats.circuitsBuilt++
    this.stats.circuitsActive = this.circuits.size
    return { circuit, create: encodeCell(this.geometry, id, CellCommand.CREATE, onion.header), epochEndMs: made.epochEndMs }
  }

  private sendRelay (circuit: ClientCircuit, streamId: number, command: RelayCommand, data?: Uint8Array): void {
    if (circuit.ended) return
    this.sender.send(circuit, streamId, command, encodeRelay(this.geometry.forwardPayloadBytes, streamId, command, data))
  }

  private fromEntry (cell: Uint8Array): void {
    this.stats.cellsIn++
    const command = cellCommand(cell)
    if (command === CellCommand.PADDING) return
    const circuit = this.circuits.get(cellCircuitId(cell))
    if (circuit === undefined) return
    if (command === CellCommand.DESTROY) {
      // The entry ended this circuit (link-local): its streams cannot continue.
      this.sender.entryEnded(circuit)
      return
    }
    if (command !== CellCommand.RELAY) return
    const opened = circuit.opener.open(cell.subarray(CELL_HEADER_BYTES))
    if (opened === null) {
      this.stats.integrityFailures++
      this.alarm(circuit, 'circuit.integrity_failure')
      return
    }
    if (opened.kind === 'pad') {
      this.stats.padsIn++
      this.sender.receivedPad(circuit)
      return
    }
    let message: RelayMessage
    try {
      message = decodeRelay(opened.payload)
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err
      this.alarm(circuit, 'circuit.malformed_payload')
      return
    }
    if (this.sender.received(circuit, message)) return
    circuit.streams.handle(message)
  }

  /** The entry ended the circuit, or it is about to end here: its streams fail now. */
  private failStreams (circuit: ClientCircuit): void {
    for (const stream of circuit.streams.all()) this.opening.forget(stream, Rep.GENERAL_FAILURE)
    circuit.streams.closeAll(EndReason.DESTROY, false)
  }

  private endCircuit (circuit: ClientCircuit, scheduled = false): void {
    if (circuit.ended) return
    const open = circuit.streams.size
    if (scheduled && open > 0) {
      // The app sees a reset; say why once a minute rather than leave it to guess.
      this.stats.streamsCutBySchedule += open
      this.events.warnings.count('circuit.streams_cut', { reason: 'a shaped circuit reached its scheduled end with streams open: a stream is placed on a circuit with at least its drain time left (docs/CLIENT.md "Lanes and lifetimes")' })
    }
    this.failStreams(circuit)
    circuit.ended = true
    circuit.sealer.wipe()
    circuit.opener.wipe()
    this.circuits.delete(circuit.id)
    this.stats.circuitsActive = this.circuits.size
  }
}
