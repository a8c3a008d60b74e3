/**
 * What the client reports: aggregate counters and coarse shaping figures only (R19, R21),
 * read by `mixgate status` and /metrics (client-metrics.ts `ClientSource`).
 */

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
  /** Circuits at each rung of the ladder now, backward (strict: one rung). */
  readonly rungs: readonly number[]
  /** The same forward (elastic: each direction has its own rung). */
  readonly rungsForward: readonly number[]
  readonly loopsSent: number
  readonly loopsReturned: number
  readonly loopsLost: number
  readonly loopsLate: number
  readonly loopAlarms: number
  /** Loop incidents: alarms about probes that were in the cascade together count once (fail-closed-gate.ts). */
  readonly loopIncidents: number
  /** Whether loop alarms close the client to new streams now. */
  readonly failedClosed: boolean
  /** Times it failed closed, and times it re-opened since (fail-closed-gate.ts). */
  readonly failClosedEpisodes: number
  readonly failClosedRecoveries: number
  /** The quiet time (ms) with probes on time it needs now to re-open: 0 while open, Infinity until restart. */
  readonly failClosedHoldMs: number
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
  /** Elastic: rung requests cut down to fit the client rate (rung-budget.ts); 0 otherwise. */
  readonly rungsLimited: number
  /** Elastic: times congestion halved the client's capacity (rung-budget.ts), by its sign; 0 otherwise. */
  readonly congestions: { readonly busy: number, readonly slow_echo: number }
  /** Elastic: the capacity now, in cells per round (at most the client rate); NaN otherwise. */
  readonly capacityCells: number
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
  /** Requests tried again on another circuit after the attach timeout (stream-request.ts). */
  streamsRetried = 0
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
  /** Open streams cut because their shaped circuit reached its scheduled end (CLIENT.md "Lanes and lifetimes"). */
  streamsCutBySchedule = 0
  /** Streams refused because the unshaped client held `maxCircuits` circuits, none with room (issue #17). */
  streamsOverCircuitLimit = 0
  /** Shaped streams that had to wait for a creation slot because every circuit their key may use was full. */
  streamsWaitedCircuitsFull = 0
  /** Streams failed because the cascade had no onion keys for the current epoch. */
  streamsNoKeys = 0
  /** The epoch whose keys built the last circuit (-1 before the first). */
  lastCircuitEpoch = -1
  /** UDP associations: datagrams taken from apps, passed to apps, dropped (source, size, credit, malformed). */
  datagramsFromApps = 0
  datagramsToApps = 0
  datagramsDropped = 0
  /** Exceptions caught while handling a cell from the entry (input-faults.ts). */
  inputExceptions = 0
}
