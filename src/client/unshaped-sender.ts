/**
 * The unshaped client (profile `off`): circuits per isolation key, built when a stream
 * needs one (a key's first, or when its circuits are full: 256 streams each, stream-bound.ts)
 * and taking new streams for `circuitDirtinessMs` (Tor's MaxCircuitDirtiness);
 * every cell leaves as soon as it is made, those of one event-loop turn in one write (a new
 * circuit's CREATE and its first BEGIN leave together: zero round trips). Idle circuits are
 * retired with a DESTROY; a circuit with streams gets a DROP after `keepaliveMs` without
 * cells, so the hops keep it. New circuits keep to the entry's CREATE budget per link (1 a
 * second, a burst of 32: entry-create-budget.ts): past it the entry drops a CREATE without a
 * word, so a stream that would need one waits for the next token instead (at most a second).
 */
import { DestroyReason, encodeDestroy } from '../protocol/cell.js'
import { roundAt } from '../protocol/shaping.js'
import { CIRCUIT_STREAM, encodeRelay, RelayCommand, type RelayMessage } from '../protocol/relay-payload.js'
import type { CircuitSender, Placement, SenderHost } from './circuit-sender.js'
import type { ClientCircuit } from './client-circuit.js'
import type { ClientShapingStatus, EntryReport } from './client-stats.js'
import { isolationKey, type IsolationFields } from './isolation.js'
import { TokenBucket } from '../link/token-bucket.js'
import { ENTRY_LINK_CREATE_BURST, ENTRY_LINK_CREATE_RATE_PER_S } from '../protocol/entry-create-budget.js'

export interface UnshapedOptions {
  readonly roundMs: number
  /** A circuit takes new streams for this long. */
  readonly dirtinessMs: number
  readonly maxCircuits: number
  /** Streams open at once on one circuit (stream-bound.ts); a key's further streams get another circuit. */
  readonly streamsPerCircuit: number
  /** Send a DROP on a circuit with open streams after this long without cells. */
  readonly keepaliveMs: number
}

/** How often idle circuits are retired and keepalives checked. */
const SWEEP_MS = 5000

export class UnshapedSender implements CircuitSender {
  readonly failedClosed = false
  private readonly host: SenderHost
  private readonly options: UnshapedOptions
  private outbox: Uint8Array[] = []
  private flushScheduled = false
  private sweepTimer: NodeJS.Timeout | undefined
  /** The entry's CREATE budget for this link, kept here too (a new link starts it full). */
  private createTokens = newCreateBucket()
  /** Set while streams wait for a CREATE token: fires `circuitsReady` when the next one is due. */
  private tokenTimer: NodeJS.Timeout | undefined

  constructor (host: SenderHost, options: UnshapedOptions) {
    this.host = host
    this.options = options
  }

  start (): void {
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_MS)
    this.sweepTimer.unref()
  }

  stop (): void {
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer)
    if (this.tokenTimer !== undefined) clearTimeout(this.tokenTimer)
    this.outbox = []
  }

  isolationKey (request: IsolationFields): string { return isolationKey(request) }

  /**
   * A young circuit with this key that has room (fewer than `streamsPerCircuit` streams), or
   * a new one, retiring idle ones to make room; at `maxCircuits`, `full`: the stream is
   * refused at once (the app gets 0x01, the owner counts and logs it), no other is touched.
   */
  place (key: string): Placement {
    const now = Date.now()
    for (const circuit of this.host.circuits.values()) {
      if (circuit.isolationKey === key && !circuit.suspect && !circuit.unanswered && now - circuit.createdAt < this.options.dirtinessMs &&
        circuit.streams.size < this.options.streamsPerCircuit) return circuit
    }
    if (!this.createTokens.canTake(now)) return this.waitForToken()
    if (this.host.circuits.size >= this.options.maxCircuits) this.retireIdle(true)
    if (this.host.circuits.size >= this.options.maxCircuits) return 'full'
    const built = this.host.buildCircuit(key)
    if (built === 'no-keys') return built
    this.createTokens.take()
    this.queue(built.create)
    return built.circuit
  }

  /** No CREATE token now: the stream waits, and the waiting ones are placed when the next is due. */
  private waitForToken (): Placement {
    if (this.tokenTimer === undefined) {
      this.tokenTimer = setTimeout(() => {
        this.tokenTimer = undefined
        this.host.circuitsReady()
      }, Math.ceil(1000 / ENTRY_LINK_CREATE_RATE_PER_S))
      this.tokenTimer.unref()
    }
    return 'wait'
  }

  send (circuit: ClientCircuit, _streamId: number, _command: RelayCommand, payload: Uint8Array): void {
    circuit.lastSent = Date.now()
    this.queue(circuit.sealer.sealCell(circuit.id, payload))
  }

  receivedPad (_circuit: ClientCircuit): void {}

  /** Every backward message goes to the circuit's streams. */
  received (_circuit: ClientCircuit, _message: RelayMessage): boolean { return false }

  /** The entry ended it (link-local): its streams cannot continue. */
  entryEnded (circuit: ClientCircuit): void {
    this.host.endCircuit(circuit)
  }

  linkLost (): void {
    this.outbox = []
    this.createTokens = newCreateBucket()
  }

  status (entry: EntryReport | undefined): ClientShapingStatus {
    const cell = this.host.geometry.cellSize
    return {
      profile: 'off',
      rungs: [],
      rungsForward: [],
      loopsSent: 0,
      loopsReturned: 0,
      loopsLost: 0,
      loopsLate: 0,
      loopAlarms: 0,
      loopIncidents: 0,
      failedClosed: false,
      failClosedEpisodes: 0,
      failClosedRecoveries: 0,
      failClosedHoldMs: 0,
      rttMs: { p50: NaN, p90: NaN, p99: NaN },
      rungsLimited: 0,
      congestions: { busy: 0, slow_echo: 0 },
      capacityCells: NaN,
      rttExpectedMs: NaN,
      coverBytesOut: this.host.stats.coverOut * cell,
      coverBytesIn: this.host.stats.padsIn * cell,
      creationSlots: 0,
      roundsMissed: 0,
      entry,
    }
  }

  /** Cells made in one turn of the event loop leave in one write. */
  private queue (cell: Uint8Array): void {
    this.outbox.push(cell)
    if (this.flushScheduled) return
    this.flushScheduled = true
    setImmediate(this.flush)
  }

  private readonly flush = (): void => {
    this.flushScheduled = false
    const cells = this.outbox
    this.outbox = []
    if (!this.host.entryUp() || cells.length === 0) return
    this.host.write(cells, roundAt(Date.now(), this.options.roundMs))
  }

  /** Retire circuits without streams that are too old (or suspect); keep the others alive. */
  private sweep (): void {
    this.retireIdle(false)
    const now = Date.now()
    for (const circuit of this.host.circuits.values()) {
      if (circuit.streams.size > 0 && now - circuit.lastSent > this.options.keepaliveMs) {
        this.send(circuit, CIRCUIT_STREAM, RelayCommand.DROP, encodeRelay(this.host.geometry.forwardPayloadBytes, CIRCUIT_STREAM, RelayCommand.DROP))
        this.host.stats.coverOut++
      }
    }
  }

  private retireIdle (evenYoung: boolean): void {
    const now = Date.now()
    for (const circuit of [...this.host.circuits.values()]) {
      if (circuit.streams.size > 0) continue
      if (circuit.suspect) this.host.endCircuit(circuit) // no reaction on the wire (R3)
      else if (evenYoung || now - circuit.createdAt >= this.options.dirtinessMs) this.retire(circuit)
    }
  }

  /** End a circuit that served its time, and tell the entry (DESTROY, FINISHED). */
  private retire (circuit: ClientCircuit): void {
    this.host.endCircuit(circuit)
    if (this.host.entryUp()) this.queue(encodeDestroy(this.host.geometry, circuit.id, DestroyReason.FINISHED))
  }
}

function newCreateBucket (): TokenBucket {
  return new TokenBucket(ENTRY_LINK_CREATE_RATE_PER_S, ENTRY_LINK_CREATE_BURST, Date.now())
}
