/**
 * The client: a SOCKS5 front for apps, and circuits through the cascade behind it.
 *
 * Each app stream rides one circuit (never split), chosen by its isolation key — the SOCKS
 * credentials and the destination host, as Tor's IsolateSOCKSAuth + IsolateDestAddr — so
 * streams with different keys never share a circuit (R13). A new circuit costs no round
 * trip: its CREATE and the first BEGIN leave together, since the client knows every hop's
 * keys at once. The SOCKS reply waits for the exit's answer and maps END reasons with Tor's
 * table; bytes the app sent with its request ride in the BEGIN (optimistic data).
 *
 * Onion keys rotate per epoch: each new circuit is built with the keys of the epoch current
 * at that moment, from the `CascadeSource`. If the cascade has none for it, the source is
 * asked to refresh once; if it still has none, the stream fails (and the log says why).
 * Circuits built earlier are untouched by the boundary: the hops keep the previous key for a
 * grace window, and a circuit's layer keys do not depend on the onion key once it exists.
 *
 * Anomalies never show on the wire (DESIGN goal 3, R3): a backward cell that fails
 * authentication, or a circuit that stays silent, raises an alarm (a counter, and a count in
 * the log once per interval: client-log.ts, R19), marks the circuit unusable for new
 * streams, and fails its app streams after a timeout. The client sends no DESTROY and
 * rebuilds nothing because of it, and the circuit keeps its schedule, LOOPs included. Only a
 * whole entry link failing ends every circuit at once.
 *
 * Under a shaping profile (`strict`, `elastic`: the cascade's `shaping`), the Shaper owns
 * the schedule (shaping/shaper.ts): K circuits built in creation slots, a fixed number of
 * cells per round, real cells queued until their slot, LOOPs and their alarms. Streams then
 * go to a circuit bound to their isolation key while it takes streams, else to an unbound
 * one, else wait for the next circuit; after `alarmLimit` loop alarms the client fails
 * closed (new streams are refused, cover goes on). With `off` nothing of this runs.
 */
import { InputFaults } from '../node/input-faults.js'
import { CellCommand, cellCircuitId, cellCommand, encodeDestroy, DestroyReason, randomCircuitId } from '../protocol/cell.js'
import { encodeBegin } from '../protocol/begin.js'
import { EndReason, socksReplyForEnd } from '../protocol/end-reason.js'
import { ProtocolError } from '../protocol/errors.js'
import { CELL_HEADER_BYTES, type Geometry } from '../protocol/geometry.js'
import { createOnion } from '../protocol/onion.js'
import { BackwardOpener, ForwardSealer } from '../protocol/relay-layers.js'
import { CIRCUIT_STREAM, decodeRelay, encodeRelay, RelayCommand, type RelayMessage } from '../protocol/relay-payload.js'
import { CircuitStreams } from '../endpoint/circuit-streams.js'
import type { StreamPipe } from '../endpoint/stream-pipe.js'
import type { CellLink, CellLinkHandlers } from '../link/cell-link.js'
import type { Logger } from '../node/logger.js'
import { equal } from '../crypto/index.js'
import { cascadeEpochAt, onionKeysFor, type Cascade, type CascadeSource } from '../directory/cascade.js'
import { ClientCircuit } from './client-circuit.js'
import { ClientLog } from './client-log.js'
import { Shaper, createCell, type BuiltCircuit } from './shaping/shaper.js'
import type { WallTimers } from './shaping/wall-round-clock.js'
import { cascadeSchedule } from '../directory/cascade.js'
import { epochEndS } from '../node/keys/epoch.js'
import { roundAt } from '../protocol/shaping.js'
import { Rep, SocksFront, type ConnectRequest, type PendingConnect } from './socks/index.js'

export interface ClientOptions {
  /** The cascade, whose onion keys change per epoch; its geometry and ID must not. */
  readonly cascade: CascadeSource
  /** Open the NK link to the entry mix; the handlers receive its cells and its end. */
  readonly connectEntry: (handlers: CellLinkHandlers) => Promise<CellLink>
  readonly socks: { readonly host: string, readonly port: number, readonly auth: { readonly none: boolean, readonly userPass: boolean }, readonly safeSocks?: boolean }
  readonly logger: Logger
  /** How long a stream waits for the exit's answer before its app is told TTL expired. */
  readonly streamTimeoutMs?: number
  /** After an integrity failure, how long the circuit's streams live on before they fail. */
  readonly failTimeoutMs?: number
  /** A circuit takes new streams for this long (Tor's MaxCircuitDirtiness). */
  readonly circuitDirtinessMs?: number
  readonly maxCircuits?: number
  /** Send a DROP on a circuit with open streams after this long without cells, so hops keep it. */
  readonly keepaliveMs?: number
  /** Shaped profiles: loop alarms before failing closed (default 3). */
  readonly alarmLimit?: number
  /** Shaped profiles: slack on every loop deadline for this process's timers (ms). */
  readonly loopMarginMs?: number
  /** Shaped profiles: the round clock's time and timers (tests). */
  readonly shapingTimers?: WallTimers
  /** How often repeated events (alarms, refused requests) are logged as counts (default 60 s). */
  readonly logIntervalMs?: number
  /** Test only: sees the cells of every write to the entry link (before link encryption). */
  readonly observeWrites?: (cells: readonly Uint8Array[], round: number) => void
}

/** What the entry mix's admin port says about the anonymity set (fetched by run-client). */
export interface EntryReport {
  /** CREATEs per creation slot at the entry, all clients: the median bucket's lower bound (1, 2, 4, 8 …). */
  readonly createsPerSlot: number
  /** Client links open at the entry. */
  readonly clients: number
}

/** The shaping figures of `mixgate status` and /metrics: aggregate and coarse (R19, R21). */
export interface ClientShapingStatus {
  readonly profile: string
  /** Circuits at each rung of the ladder now (strict: one rung). */
  readonly rungs: readonly number[]
  readonly loopsSent: number
  readonly loopsReturned: number
  readonly loopsLost: number
  readonly loopsLate: number
  readonly loopAlarms: number
  readonly failedClosed: boolean
  /** Loop RTT percentiles (ms, rounded up to whole rounds; NaN before any echo). */
  readonly rttMs: { readonly p50: number, readonly p90: number, readonly p99: number }
  /** The deadline an honest cascade meets (ms). */
  readonly rttExpectedMs: number
  readonly coverBytesOut: number
  readonly coverBytesIn: number
  /** Slots in which this client started circuits. */
  readonly creationSlots: number
  /** Rounds its round clock skipped because this process was too busy (the schedule broke). */
  readonly roundsMissed: number
  /** The entry's report, or undefined when its admin port cannot be reached from here. */
  readonly entry: EntryReport | undefined
}

/** Aggregate counters only (R19). */
export class ClientStats {
  circuitsBuilt = 0
  circuitsActive = 0
  streamsRequested = 0
  streamsConnected = 0
  streamsRefused = 0
  streamsTimedOut = 0
  integrityFailures = 0
  silentCircuits = 0
  alarms = 0
  cellsOut = 0
  cellsIn = 0
  padsIn = 0
  /** Cover cells sent (DROP), counted as forward padding in the metrics. */
  coverOut = 0
  entryConnects = 0
  entryFailures = 0
  /** Streams failed because the cascade had no onion keys for the current epoch. */
  streamsNoKeys = 0
  /** The epoch whose keys built the last circuit (-1 before the first). */
  lastCircuitEpoch = -1
  /** Exceptions caught while handling a cell from the entry (input-faults.ts). */
  inputExceptions = 0
}

/** A stream waiting for a circuit that takes it (shaped profiles). */
interface StreamAwaitingCircuit {
  readonly request: ConnectRequest
  readonly pending: PendingConnect
  readonly key: string
  readonly timer: NodeJS.Timeout
}

interface WaitingStream {
  readonly pending: PendingConnect
  readonly timer: NodeJS.Timeout
  readonly leftover: Buffer[]
}

export class ClientNode {
  readonly stats = new ClientStats()
  private readonly options: ClientOptions
  private readonly geometry: Geometry
  private readonly cascadeId: Uint8Array
  private readonly cascade: CascadeSource
  private refreshing: Promise<void> | null = null
  private readonly logger: Logger
  /** Exceptions escaping the handling of the entry's cells, caught and counted. */
  private readonly faults: InputFaults
  /** Events that repeat per circuit, stream or request: counted, not logged one by one (R19). */
  private readonly events: ClientLog
  private readonly front: SocksFront
  private readonly circuits = new Map<number, ClientCircuit>()
  private readonly waiting = new Map<StreamPipe, WaitingStream>()
  private entry: CellLink | null = null
  private outbox: Uint8Array[] = []
  private flushScheduled = false
  private running = false
  private redialMs = 100
  private redialTimer: NodeJS.Timeout | undefined
  private sweepTimer: NodeJS.Timeout | undefined
  private readonly streamTimeoutMs: number
  private readonly failTimeoutMs: number
  private readonly dirtinessMs: number
  private readonly maxCircuits: number
  private readonly keepaliveMs: number
  private readonly shaper: Shaper | undefined
  private readonly roundMs: number
  private readonly awaitingCircuit: StreamAwaitingCircuit[] = []
  private entryReport: EntryReport | undefined

  constructor (options: ClientOptions) {
    this.options = options
    this.cascade = options.cascade
    const first = options.cascade.current()
    this.geometry = first.geometry
    this.cascadeId = first.id
    this.logger = options.logger
    this.faults = new InputFaults(options.logger)
    this.events = new ClientLog(options.logger, options.logIntervalMs)
    this.streamTimeoutMs = options.streamTimeoutMs ?? 30_000
    this.failTimeoutMs = options.failTimeoutMs ?? 10_000
    this.dirtinessMs = options.circuitDirtinessMs ?? 10 * 60_000
    this.maxCircuits = options.maxCircuits ?? 64
    this.keepaliveMs = options.keepaliveMs ?? 60_000
    this.roundMs = first.roundMs
    if (first.shaping.profile !== 'off') {
      this.shaper = new Shaper({
        geometry: this.geometry,
        logger: this.logger,
        entryUp: () => this.entry !== null,
        buildCircuit: () => this.buildShapedCircuit(),
        writeCells: (cells, round) => this.writeCells(cells, round),
        retireCircuit: (circuit) => this.endCircuit(circuit, false),
        circuitsReady: () => this.placeAwaiting(),
        loopAlarm: (circuit, kind) => this.loopAlarm(circuit, kind),
        failClosed: () => this.events.errors.count('loop.fail_closed', { reason: 'loop alarms reached the limit: new streams are refused, cover continues; check the cascade and restart the client' }),
      }, {
        params: first.shaping,
        roundMs: first.roundMs,
        hops: first.hops.length,
        alarmLimit: options.alarmLimit ?? 3,
        ...(options.loopMarginMs === undefined ? {} : { loopMarginMs: options.loopMarginMs }),
        ...(options.shapingTimers === undefined ? {} : { timers: options.shapingTimers }),
      })
    }
    this.front = new SocksFront({
      host: options.socks.host,
      port: options.socks.port,
      auth: options.socks.auth,
      safeSocks: options.socks.safeSocks ?? false,
      onConnect: (request, pending) => this.connect(request, pending),
      onWarning: (code) => this.events.warnings.count('socks.unsafe_request', { code }),
      onError: (err) => { this.events.notices.count('socks.bad_request', { code: err.code }); this.logger.debug('socks.bad_request.cause', { error: err.cause }) },
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

  get socksCounters (): ReturnType<SocksFront['counters']> { return this.front.counters() }

  /** Whether loop alarms made this client refuse new streams. */
  get failedClosed (): boolean { return this.shaper?.monitor.failedClosed ?? false }

  /** The schedule's state, for tests and metrics (undefined with profile `off`). */
  get shaperState (): Shaper | undefined { return this.shaper }

  /** Record what the entry's admin port said (run-client polls it); undefined: unreachable. */
  setEntryReport (report: EntryReport | undefined): void { this.entryReport = report }

  /** Shaping figures for status and metrics. */
  get shaping (): ClientShapingStatus {
    const shaper = this.shaper
    const roundMs = this.roundMs
    const coarse = (ms: number): number => Number.isNaN(ms) ? ms : Math.ceil(ms / roundMs) * roundMs
    const cell = this.geometry.cellSize
    const monitor = shaper?.monitor
    return {
      profile: shaper?.params.profile ?? 'off',
      rungs: shaper?.rungCounts() ?? [],
      loopsSent: monitor?.sent ?? 0,
      loopsReturned: monitor?.returned ?? 0,
      loopsLost: monitor?.lost ?? 0,
      loopsLate: monitor?.late ?? 0,
      loopAlarms: monitor?.alarms ?? 0,
      failedClosed: monitor?.failedClosed ?? false,
      rttMs: { p50: coarse(monitor?.rttQuantile(0.5) ?? NaN), p90: coarse(monitor?.rttQuantile(0.9) ?? NaN), p99: coarse(monitor?.rttQuantile(0.99) ?? NaN) },
      rttExpectedMs: monitor?.deadline(false) ?? NaN,
      coverBytesOut: (shaper?.counters.coverCellsOut ?? this.stats.coverOut) * cell,
      coverBytesIn: (shaper?.counters.coverCellsIn ?? this.stats.padsIn) * cell,
      creationSlots: shaper?.counters.creationSlots ?? 0,
      roundsMissed: shaper?.missedRounds ?? 0,
      entry: this.entryReport,
    }
  }

  /** Listen for apps and connect to the entry; resolves with the SOCKS address. */
  async start (): Promise<{ host: string, port: number }> {
    this.running = true
    const address = await this.front.listen()
    this.dial()
    this.sweepTimer = setInterval(() => this.sweep(), 5000)
    this.sweepTimer.unref()
    this.shaper?.start()
    return address
  }

  async stop (): Promise<void> {
    this.running = false
    if (this.redialTimer !== undefined) clearTimeout(this.redialTimer)
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer)
    this.shaper?.stop()
    for (const waiting of this.awaitingCircuit.splice(0)) {
      clearTimeout(waiting.timer)
      waiting.pending.reject(Rep.GENERAL_FAILURE)
    }
    await this.front.close()
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

  // --- entry link -----------------------------------------------------------------------

  private dial (): void {
    if (!this.running) return
    const handlers: CellLinkHandlers = {
      onCell: (cell) => {
        if (this.faults.guard('entry', () => this.fromEntry(cell))) return
        // A bug a peer could trigger: count it, and treat the circuit like one that failed.
        this.stats.inputExceptions = this.faults.caught
        const circuit = this.circuits.get(cellCircuitId(cell))
        if (circuit !== undefined) this.alarm(circuit, 'circuit.input_exception')
      },
      onClose: (reason) => this.entryLost(reason),
    }
    this.options.connectEntry(handlers).then((link) => {
      if (!this.running) { link.close(); return }
      this.entry = link
      this.redialMs = 100
      this.stats.entryConnects++
      this.logger.info('entry.connected')
    }, (err: Error) => {
      this.stats.entryFailures++
      this.logger.warn('entry.unreachable', { code: (err as { code?: string }).code ?? 'ERROR', retryMs: this.redialMs })
      this.scheduleRedial()
    })
  }

  private scheduleRedial (): void {
    if (!this.running) return
    this.redialTimer = setTimeout(() => this.dial(), this.redialMs)
    this.redialTimer.unref()
    this.redialMs = Math.min(5000, this.redialMs * 2)
  }

  private entryLost (reason: string): void {
    if (this.entry === null) return
    this.entry = null
    this.stats.entryFailures++
    this.logger.warn('entry.lost', { reason, circuits: this.circuits.size })
    this.endAll()
    this.shaper?.linkLost()
    this.scheduleRedial()
  }

  /** Every circuit ends alike (the entry link is gone). */
  private endAll (): void {
    for (const circuit of [...this.circuits.values()]) this.endCircuit(circuit, false)
    this.outbox = []
  }

  // --- app streams ----------------------------------------------------------------------

  private connect (request: ConnectRequest, pending: PendingConnect, refreshed = false): void {
    if (!refreshed) this.stats.streamsRequested++
    if (this.entry === null) {
      this.stats.streamsRefused++
      pending.reject(Rep.GENERAL_FAILURE)
      return
    }
    // Shaped, a client has exactly K circuits: isolating by destination too would leave a
    // page's third-party hosts waiting for a creation slot, so only credentials isolate
    // (Tor's IsolateSOCKSAuth; a browser gives each site its own, as Tor Browser does).
    const key = this.shaper === undefined ? isolationKey(request) : credentialsKey(request)
    if (this.shaper !== undefined) {
      this.connectShaped(request, pending, key)
      return
    }
    const circuit = this.circuitFor(key)
    if (circuit === 'no-keys') {
      if (!refreshed && this.cascade.refresh !== undefined) {
        // The keys of this epoch may be published by now: fetch them once, then try again.
        this.refreshCascade().then(() => {
          if (this.running) this.connect(request, pending, true)
          else pending.reject(Rep.GENERAL_FAILURE)
        }, () => pending.reject(Rep.GENERAL_FAILURE))
        return
      }
      this.stats.streamsRefused++
      this.stats.streamsNoKeys++
      this.events.warnings.count('circuit.no_epoch_keys', { epoch: this.epochNow(), reason: 'the cascade has no onion keys for the current epoch: refresh its descriptor, or check this clock' })
      pending.reject(Rep.GENERAL_FAILURE)
      return
    }
    if (circuit === null) {
      this.stats.streamsRefused++
      pending.reject(Rep.GENERAL_FAILURE)
      return
    }
    this.openStream(circuit, request, pending)
  }

  /**
   * Shaped profiles: refuse when failed closed; else a circuit the schedule has for this key,
   * or wait for one (the next circuit is built in the next creation slot), up to the stream
   * timeout.
   */
  private connectShaped (request: ConnectRequest, pending: PendingConnect, key: string): void {
    if (this.failedClosed) {
      this.stats.streamsRefused++
      pending.reject(Rep.GENERAL_FAILURE)
      return
    }
    const circuit = this.shaper!.place(key)
    if (circuit !== null) {
      this.openStream(circuit, request, pending)
      return
    }
    const timer = setTimeout(() => {
      const i = this.awaitingCircuit.findIndex((w) => w.pending === pending)
      if (i < 0) return
      this.awaitingCircuit.splice(i, 1)
      this.stats.streamsTimedOut++
      pending.reject(Rep.TTL_EXPIRED)
    }, this.streamTimeoutMs)
    timer.unref()
    this.awaitingCircuit.push({ request, pending, key, timer })
  }

  /** New circuits: place the streams that waited for one, in order. */
  private placeAwaiting (): void {
    for (const waiting of [...this.awaitingCircuit]) {
      if (this.failedClosed || this.entry === null) break
      const circuit = this.shaper!.place(waiting.key)
      if (circuit === null) continue
      this.awaitingCircuit.splice(this.awaitingCircuit.indexOf(waiting), 1)
      clearTimeout(waiting.timer)
      this.openStream(circuit, waiting.request, waiting.pending)
    }
  }

  /** Open a stream on `circuit`: its BEGIN carries what optimistic data fits. */
  private openStream (circuit: ClientCircuit, request: ConnectRequest, pending: PendingConnect): void {
    const streamId = circuit.allocateStreamId()
    if (streamId === 0) {
      this.stats.streamsRefused++
      pending.reject(Rep.GENERAL_FAILURE)
      return
    }
    // Optimistic data: as much as fits rides in the BEGIN, the rest follows CONNECTED.
    const early = Buffer.concat(pending.takeEarlyData())
    const room = this.geometry.forwardDataBytes - encodeBegin(request).length
    const first = early.subarray(0, Math.max(0, room))
    const leftover = early.length > first.length ? [early.subarray(first.length)] : []
    let begin: Uint8Array
    try {
      begin = encodeBegin(request, first)
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err
      this.stats.streamsRefused++
      pending.reject(Rep.ADDRESS_TYPE_NOT_SUPPORTED)
      return
    }
    const stream = circuit.streams.open(streamId)
    const timer = setTimeout(() => this.streamTimedOut(circuit, stream), this.streamTimeoutMs)
    timer.unref()
    this.waiting.set(stream, { pending, timer, leftover })
    this.sendRelay(circuit, streamId, RelayCommand.BEGIN, begin)
  }

  /** One refresh at a time; its failure is logged, and the caller sees the keys still missing. */
  private refreshCascade (): Promise<void> {
    if (this.refreshing !== null) return this.refreshing
    const run = (async () => {
      try {
        await this.cascade.refresh!()
      } catch (err) {
        this.events.warnings.count('cascade.refresh_failed', { code: (err as { code?: string }).code ?? 'ERROR' })
      } finally {
        this.refreshing = null
      }
    })()
    this.refreshing = run
    return run
  }

  private epochNow (): number {
    try {
      return cascadeEpochAt(this.cascade.current())
    } catch {
      return -1
    }
  }

  /** A usable circuit for this isolation key: an existing young one, or a new one. */
  private circuitFor (key: string): ClientCircuit | null | 'no-keys' {
    const now = Date.now()
    for (const circuit of this.circuits.values()) {
      if (circuit.isolationKey === key && !circuit.suspect && now - circuit.createdAt < this.dirtinessMs) return circuit
    }
    if (this.circuits.size >= this.maxCircuits) this.retireIdle(true)
    if (this.circuits.size >= this.maxCircuits) return null
    return this.buildCircuit(key)
  }

  /** The cascade now, if it is still the one this client started with (same ID and geometry). */
  private currentCascade (): Cascade | undefined {
    const cascade = this.cascade.current()
    if (!equal(cascade.id, this.cascadeId) || cascade.geometry.cellSize !== this.geometry.cellSize || cascade.hops.length !== this.geometry.hops) {
      this.events.errors.count('cascade.changed', { reason: 'the cascade source now names another cascade; restart the client to use it' })
      return undefined
    }
    return cascade
  }

  private buildCircuit (key: string): ClientCircuit | 'no-keys' {
    const built = this.makeCircuit(key)
    if (built === 'no-keys') return built
    this.queueCell(built.create)
    return built.circuit
  }

  /** A shaped lane's circuit: no isolation key yet (the first stream placed on it binds one). */
  private buildShapedCircuit (): BuiltCircuit | 'no-keys' {
    const built = this.makeCircuit('')
    if (built === 'no-keys') {
      // Fetch this epoch's keys for the rounds to come; the lane tries again meanwhile.
      if (this.cascade.refresh !== undefined && this.refreshing === null) void this.refreshCascade()
      return built
    }
    return built
  }

  /** Build a circuit with the keys of the current epoch and register it; its CREATE is the caller's to send. */
  private makeCircuit (key: string): BuiltCircuit | 'no-keys' {
    const cascade = this.currentCascade()
    if (cascade === undefined) return 'no-keys'
    let epoch: number
    try {
      epoch = cascadeEpochAt(cascade)
    } catch {
      return 'no-keys' // the clock is before the schedule's genesis
    }
    const hopKeys = onionKeysFor(cascade, epoch)
    if (hopKeys === undefined) return 'no-keys'
    const id = randomCircuitId((candidate) => this.circuits.has(candidate))
    const onion = createOnion(hopKeys, { geometry: this.geometry, cascadeId: this.cascadeId, epoch })
    const circuit = new ClientCircuit(id, key,
      new ForwardSealer(this.geometry, onion.hopKeys), new BackwardOpener(this.geometry, onion.hopKeys), Date.now(), epoch)
    this.stats.lastCircuitEpoch = epoch
    const payloadBytes = this.geometry.forwardPayloadBytes
    circuit.streams = new CircuitStreams(this.geometry.forwardDataBytes, {
      send: (streamId, command, data) => this.sendRelay(circuit, streamId, command, data, payloadBytes),
      control: (message, stream) => this.control(message, stream),
      streamClosed: (stream) => this.forgetWaiting(stream, Rep.GENERAL_FAILURE),
      violation: (what) => this.logger.debug('circuit.violation', { what }),
    })
    this.circuits.set(id, circuit)
    this.stats.circuitsBuilt++
    this.stats.circuitsActive = this.circuits.size
    return { circuit, create: createCell(this.geometry, id, onion.header), epochEndMs: epochEndS(cascadeSchedule(cascade), epoch) * 1000 }
  }

  private control (message: RelayMessage, stream: StreamPipe | undefined): void {
    if (message.streamId === CIRCUIT_STREAM) return // LOOP echoes are measured by the shaping layer
    if (stream === undefined) return
    const waiting = this.waiting.get(stream)
    if (message.command === RelayCommand.CONNECTED && waiting !== undefined) {
      this.waiting.delete(stream)
      clearTimeout(waiting.timer)
      if (!waiting.pending.accept()) { stream.close(EndReason.DONE, true); return }
      this.stats.streamsConnected++
      stream.prepend(waiting.leftover)
      stream.attach(waiting.pending.socket)
    } else if (message.command === RelayCommand.END && waiting !== undefined) {
      this.waiting.delete(stream)
      clearTimeout(waiting.timer)
      this.stats.streamsRefused++
      waiting.pending.reject(socksReplyForEnd(message.data[0]!))
      stream.close(null, false)
    }
    // Anything else for a stream that is not waiting is a peer's mistake: ignored.
  }

  private forgetWaiting (stream: StreamPipe, rep: number): void {
    const waiting = this.waiting.get(stream)
    if (waiting === undefined) return
    this.waiting.delete(stream)
    clearTimeout(waiting.timer)
    waiting.pending.reject(rep)
  }

  private streamTimedOut (circuit: ClientCircuit, stream: StreamPipe): void {
    if (!this.waiting.has(stream)) return
    this.stats.streamsTimedOut++
    this.alarm(circuit, 'circuit.silent')
    this.forgetWaiting(stream, Rep.TTL_EXPIRED)
    stream.close(EndReason.TIMEOUT, true)
  }

  /**
   * Raise an alarm about a circuit and stop giving it new streams. Nothing goes on the wire:
   * the schedule, LOOPs included, carries on until the circuit's scheduled end (R3). The log
   * has a count per interval, never which circuit or when (R19).
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
    if (circuit === undefined) {
      this.stats.alarms++
      this.events.warnings.count('loop.alarm', { kind })
      return
    }
    this.alarm(circuit, 'loop.alarm', { kind })
  }

  // --- cells ----------------------------------------------------------------------------

  private sendRelay (circuit: ClientCircuit, streamId: number, command: RelayCommand, data?: Uint8Array, payloadBytes = this.geometry.forwardPayloadBytes): void {
    if (circuit.ended) return
    if (circuit.shaped !== undefined) {
      // Shaped: the cell waits for one of the circuit's scheduled slots.
      this.shaper!.enqueue(circuit, streamId, command, encodeRelay(payloadBytes, streamId, command, data))
      return
    }
    const body = circuit.sealer.seal(encodeRelay(payloadBytes, streamId, command, data))
    const cell = new Uint8Array(this.geometry.cellSize)
    cell.set(body, CELL_HEADER_BYTES)
    cell[0] = circuit.id >>> 24; cell[1] = (circuit.id >>> 16) & 0xff; cell[2] = (circuit.id >>> 8) & 0xff; cell[3] = circuit.id & 0xff
    cell[4] = CellCommand.RELAY
    circuit.lastSent = Date.now()
    this.queueCell(cell)
  }

  /** A shaped round's cells: one write. */
  private writeCells (cells: Uint8Array[], round: number): void {
    if (this.entry === null) return
    this.options.observeWrites?.(cells, round)
    this.entry.send(cells)
    this.stats.cellsOut += cells.length
  }

  /** Cells made in one turn of the event loop leave in one write. */
  private queueCell (cell: Uint8Array): void {
    this.outbox.push(cell)
    if (this.flushScheduled) return
    this.flushScheduled = true
    setImmediate(() => {
      this.flushScheduled = false
      const cells = this.outbox
      this.outbox = []
      if (this.entry === null || cells.length === 0) return
      this.options.observeWrites?.(cells, roundAt(Date.now(), this.roundMs))
      this.entry.send(cells)
      this.stats.cellsOut += cells.length
    })
  }

  private fromEntry (cell: Uint8Array): void {
    this.stats.cellsIn++
    const command = cellCommand(cell)
    if (command === CellCommand.PADDING) return
    const circuit = this.circuits.get(cellCircuitId(cell))
    if (circuit === undefined) return
    if (command === CellCommand.DESTROY) {
      // The entry ended this circuit (link-local): its streams cannot continue.
      if (circuit.shaped !== undefined) this.circuitDied(circuit)
      else this.endCircuit(circuit, false)
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
      if (circuit.shaped !== undefined) this.shaper!.received(circuit, 'pad')
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
    if (circuit.shaped !== undefined) {
      const cover = message.streamId === CIRCUIT_STREAM && (message.command === RelayCommand.LOOP || message.command === RelayCommand.DROP)
      this.shaper!.received(circuit, cover ? 'cover' : 'real')
      if (message.streamId === CIRCUIT_STREAM && message.command === RelayCommand.LOOP) {
        this.shaper!.loopEcho(circuit, message.data)
        return
      }
    }
    circuit.streams.handle(message)
  }

  // --- circuit lifetime -----------------------------------------------------------------

  /**
   * A shaped circuit the entry ended: its streams fail now, and it keeps its cover until its
   * scheduled end (the schedule never changes because of a failure).
   */
  private circuitDied (circuit: ClientCircuit): void {
    circuit.suspect = true
    for (const stream of circuit.streams.all()) this.forgetWaiting(stream, Rep.GENERAL_FAILURE)
    circuit.streams.closeAll(EndReason.DESTROY, false)
    circuit.shaped!.queue.clear()
  }

  private endCircuit (circuit: ClientCircuit, sendDestroy: boolean): void {
    if (circuit.ended) return
    for (const stream of circuit.streams.all()) this.forgetWaiting(stream, Rep.GENERAL_FAILURE)
    circuit.streams.closeAll(EndReason.DESTROY, false)
    circuit.ended = true
    if (sendDestroy && this.entry !== null) this.queueCell(encodeDestroy(this.geometry, circuit.id, DestroyReason.FINISHED))
    circuit.sealer.wipe()
    circuit.opener.wipe()
    this.circuits.delete(circuit.id)
    this.stats.circuitsActive = this.circuits.size
  }

  /** Retire circuits without streams that are too old (or suspect); keep the others alive. */
  private sweep (): void {
    if (this.shaper !== undefined) return // the schedule retires circuits and carries cover
    this.retireIdle(false)
    const now = Date.now()
    for (const circuit of this.circuits.values()) {
      if (circuit.streams.size > 0 && now - circuit.lastSent > this.keepaliveMs) {
        this.sendRelay(circuit, CIRCUIT_STREAM, RelayCommand.DROP)
        this.stats.coverOut++
      }
    }
  }

  private retireIdle (evenYoung: boolean): void {
    const now = Date.now()
    for (const circuit of [...this.circuits.values()]) {
      if (circuit.streams.size > 0) continue
      if (circuit.suspect) this.endCircuit(circuit, false) // no reaction on the wire (R3)
      else if (evenYoung || now - circuit.createdAt >= this.dirtinessMs) this.endCircuit(circuit, true)
    }
  }
}

/** Streams share a circuit only with the same credentials and destination host (R13). */
function isolationKey (request: ConnectRequest): string {
  return JSON.stringify([request.username ?? null, request.password ?? null, request.host.toLowerCase()])
}

/** Under shaping: streams share a circuit only with the same SOCKS credentials. */
function credentialsKey (request: ConnectRequest): string {
  return JSON.stringify([request.username ?? null, request.password ?? null])
}
