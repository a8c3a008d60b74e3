/**
 * Where a client's circuits come from and how their cells leave: one interface, two
 * implementations picked once, at construction, from the cascade's shaping profile.
 * Unshaped (`off`, unshaped-sender.ts) builds a circuit per isolation key on demand and sends
 * each cell as soon as it is made (every cell of one event-loop turn in one write). Shaped
 * (`strict`, `elastic`, shaping/shaper.ts) is the schedule: K circuits built in creation
 * slots, a fixed number of cells per round. docs/CLIENT.md has the picture.
 */
import type { Geometry } from '../protocol/geometry.js'
import type { RelayCommand, RelayMessage } from '../protocol/relay-payload.js'
import type { ClientCircuit } from './client-circuit.js'
import type { ClientShapingStatus, ClientStats, EntryReport } from './client-stats.js'
import type { IsolationFields } from './isolation.js'
import type { FailClosedEpisode } from './shaping/fail-closed-gate.js'

/**
 * Where a new stream goes: a circuit; `wait` for `circuitsReady` (shaped: none takes it
 * now); `wait-full`, the same because every circuit its key may use holds as many streams as
 * a circuit may (stream-bound.ts); `full`, refused because the client holds as many circuits
 * as it may (unshaped `maxCircuits`); `refuse` (failed closed); `no-keys` (the cascade has no
 * onion keys for this epoch: the caller may refresh it and ask again). The owner counts and
 * logs the two bounds (`mixgate_stream_limits_reached_total`).
 */
export type Placement = ClientCircuit | 'wait' | 'wait-full' | 'full' | 'refuse' | 'no-keys'

/** A circuit the host built and registered, its CREATE not sent yet. */
export interface BuiltCircuit {
  readonly circuit: ClientCircuit
  readonly create: Uint8Array
  /** When its onion keys' epoch ends (Unix ms): it must end by then. */
  readonly epochEndMs: number
}

/** What a sender needs from the client that owns it. */
export interface SenderHost {
  readonly geometry: Geometry
  readonly stats: ClientStats
  /** Every live circuit, by ID. */
  readonly circuits: ReadonlyMap<number, ClientCircuit>
  /** Whether the entry link is up (nothing is built or sent without it). */
  entryUp (): boolean
  /** Build and register a circuit with this epoch's keys (CREATE not sent), or say why not. */
  buildCircuit (isolationKey: string): BuiltCircuit | 'no-keys'
  /** Fetch the cascade again in the background, unless a fetch is running. */
  refreshKeys (): void
  /** Cells of round `round` to the entry link, in one write. */
  write (cells: Uint8Array[], round: number): void
  /** Fail the circuit's streams now (their apps get an error). */
  failStreams (circuit: ClientCircuit): void
  /**
   * The circuit is over here: its streams fail, its keys are wiped, it is forgotten.
   * `scheduled`: a shaped circuit's end on schedule (its open streams are counted as cut).
   */
  endCircuit (circuit: ClientCircuit, scheduled?: boolean): void
  /** New circuits may take the streams that wait (after a `wait` placement). */
  circuitsReady (): void
  /** A loop alarm (shaped), on this circuit if it is still known. */
  loopAlarm (circuit: ClientCircuit | undefined, kind: 'lost' | 'late'): void
  /** Loop alarms reached the limit: new streams are refused until the probes recover (fail-closed-gate.ts). */
  failClosed (episode: FailClosedEpisode): void
  /** Failed closed for `closedMs`, the probes came back on time: new streams are taken again. */
  recovered (closedMs: number): void
}

export interface CircuitSender {
  /** Whether loop alarms made the client refuse new streams (unshaped: never). */
  readonly failedClosed: boolean
  start (): void
  stop (): void
  /** What separates streams onto different circuits (R13). */
  isolationKey (request: IsolationFields): string
  /** A circuit for a new stream with this isolation key (it may be built for it). */
  place (key: string): Placement
  /** A relay payload (encoded, not sealed) for `circuit`: sent now, or in its next slot. */
  send (circuit: ClientCircuit, streamId: number, command: RelayCommand, payload: Uint8Array): void
  /** A backward PAD arrived on `circuit`. */
  receivedPad (circuit: ClientCircuit): void
  /** A backward relay message arrived on `circuit`: true if the sender consumed it (a LOOP echo). */
  received (circuit: ClientCircuit, message: RelayMessage): boolean
  /** The entry sent a DESTROY for `circuit`. */
  entryEnded (circuit: ClientCircuit): void
  /** The entry link is gone; the host has ended every circuit. */
  linkLost (): void
  /** The figures of `mixgate status` and /metrics. */
  status (entry: EntryReport | undefined): ClientShapingStatus
}
