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
 * authentication, or a circuit that stays silent, raises an alarm (log + counter), marks the
 * circuit unusable for new streams, and fails its app streams after a timeout. The client
 * sends no DESTROY and rebuilds nothing because of it. Only a whole entry link failing ends
 * every circuit at once.
 */
import { CellCommand, cellCircuitId, cellCommand, encodeCell, encodeDestroy, DestroyReason, randomCircuitId } from '../protocol/cell.js'
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

  constructor (options: ClientOptions) {
    this.options = options
    this.cascade = options.cascade
    const first = options.cascade.current()
    this.geometry = first.geometry
    this.cascadeId = first.id
    this.logger = options.logger
    this.streamTimeoutMs = options.streamTimeoutMs ?? 30_000
    this.failTimeoutMs = options.failTimeoutMs ?? 10_000
    this.dirtinessMs = options.circuitDirtinessMs ?? 10 * 60_000
    this.maxCircuits = options.maxCircuits ?? 64
    this.keepaliveMs = options.keepaliveMs ?? 60_000
    this.front = new SocksFront({
      host: options.socks.host,
      port: options.socks.port,
      auth: options.socks.auth,
      safeSocks: options.socks.safeSocks ?? false,
      onConnect: (request, pending) => this.connect(request, pending),
      onWarning: (code) => this.logger.warn('socks.unsafe_request', { code }),
      onError: (err) => { this.logger.info('socks.bad_request', { code: err.code }); this.logger.debug('socks.bad_request.cause', { error: err.cause }) },
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

  /** Listen for apps and connect to the entry; resolves with the SOCKS address. */
  async start (): Promise<{ host: string, port: number }> {
    this.running = true
    const address = await this.front.listen()
    this.dial()
    this.sweepTimer = setInterval(() => this.sweep(), 5000)
    this.sweepTimer.unref()
    return address
  }

  async stop (): Promise<void> {
    this.running = false
    if (this.redialTimer !== undefined) clearTimeout(this.redialTimer)
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer)
    await this.front.close()
    this.endAll()
    this.entry?.close()
    this.entry = null
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
      onCell: (cell) => this.fromEntry(cell),
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
    const key = isolationKey(request)
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
      this.logger.warn('circuit.no_epoch_keys', { epoch: this.epochNow(), reason: 'the cascade has no onion keys for the current epoch: refresh its descriptor, or check this clock' })
      pending.reject(Rep.GENERAL_FAILURE)
      return
    }
    if (circuit === null) {
      this.stats.streamsRefused++
      pending.reject(Rep.GENERAL_FAILURE)
      return
    }
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
        this.logger.warn('cascade.refresh_failed', { code: (err as { code?: string }).code ?? 'ERROR' })
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
      this.logger.error('cascade.changed', { reason: 'the cascade source now names another cascade; restart the client to use it' })
      return undefined
    }
    return cascade
  }

  private buildCircuit (key: string): ClientCircuit | 'no-keys' {
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
    this.queueCell(encodeCell(this.geometry, id, CellCommand.CREATE, onion.header))
    return circuit
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

  /** Raise an alarm about a circuit and stop giving it new streams (nothing goes on the wire). */
  private alarm (circuit: ClientCircuit, event: string): void {
    this.stats.alarms++
    if (event === 'circuit.silent') this.stats.silentCircuits++
    this.logger.warn(event)
    if (circuit.suspect) return
    circuit.suspect = true
    const timer = setTimeout(() => {
      circuit.streams.closeAll(EndReason.MISC, false)
    }, this.failTimeoutMs)
    timer.unref()
  }

  // --- cells ----------------------------------------------------------------------------

  private sendRelay (circuit: ClientCircuit, streamId: number, command: RelayCommand, data?: Uint8Array, payloadBytes = this.geometry.forwardPayloadBytes): void {
    if (circuit.ended) return
    const body = circuit.sealer.seal(encodeRelay(payloadBytes, streamId, command, data))
    const cell = new Uint8Array(this.geometry.cellSize)
    cell.set(body, CELL_HEADER_BYTES)
    cell[0] = circuit.id >>> 24; cell[1] = (circuit.id >>> 16) & 0xff; cell[2] = (circuit.id >>> 8) & 0xff; cell[3] = circuit.id & 0xff
    cell[4] = CellCommand.RELAY
    circuit.lastSent = Date.now()
    this.queueCell(cell)
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
      this.endCircuit(circuit, false)
      return
    }
    if (command !== CellCommand.RELAY) return
    const opened = circuit.opener.open(cell.subarray(CELL_HEADER_BYTES))
    if (opened === null) {
      this.stats.integrityFailures++
      this.alarm(circuit, 'circuit.integrity_failure')
      return
    }
    if (opened.kind === 'pad') { this.stats.padsIn++; return }
    let message: RelayMessage
    try {
      message = decodeRelay(opened.payload)
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err
      this.alarm(circuit, 'circuit.malformed_payload')
      return
    }
    circuit.streams.handle(message)
  }

  // --- circuit lifetime -----------------------------------------------------------------

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
