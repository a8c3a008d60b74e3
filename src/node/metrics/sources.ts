/**
 * The shapes node-metrics.ts reads: the fields of the nodes' own aggregate stats objects
 * (`HopStats`, `ExitStats`, `ClientStats`, `ListenerStats`, `SocksCountersSnapshot`) and the
 * getters beside them, written out here so that `src/node` does not import the roles it sits
 * below. The node objects themselves fit these (`MixNode` is a `MixSource`, `LinkListener` a
 * `ListenerSource`); test/node/metrics/sources.test.ts checks that at compile time, so a
 * renamed field breaks the build instead of silently exporting nothing.
 *
 * Everything is read at scrape time, through the object: getters such as `circuits` are
 * evaluated then, not when the metrics are registered. The one thing totals cannot give is
 * the round size histogram: a hop that offers `observeRounds` is handed a `RoundObserver`
 * and reports each round to it.
 */

/** The cascade direction: `forward` toward the exit, `backward` toward the client. */
export type CellDirection = 'forward' | 'backward'

/**
 * What a hop reports once per round and direction (src/hop/unshaped-rounds.ts, shaped-rounds.ts, src/mix/successor-output.ts). Calls never
 * throw: a bad value is ignored rather than break a round.
 */
export interface RoundObserver {
  /** The round released `cells` cells in `direction`, padding included; empty rounds too (0). */
  observeBatch (cells: number, direction: CellDirection): void
  /** Of those, `cells` were padding this hop added (a mix's PADDING, a hop's own PAD). */
  countPadding (cells: number, direction: CellDirection): void
}

/** `HopStats` (src/hop/hop-stats.ts): what every cascade hop counts. */
export interface HopCounters {
  readonly cellsIn: number
  readonly cellsOut: number
  readonly rounds: number
  readonly createsAccepted: number
  readonly createsRefusedAuth: number
  readonly createsRefusedReplay: number
  readonly createsRefusedFull: number
  readonly createsRefusedLimit: number
  /** Refused because too many CREATEs already waited for a later round (R17). */
  readonly createsRefusedBusy: number
  /** Carried to a later round: the round's CREATE budget was spent. */
  readonly createsCarried: number
  readonly relayAuthFailures: number
  readonly unknownCircuitCells: number
  readonly malformedCells: number
  readonly destroysIn: number
  readonly circuitsExpired: number
  readonly linksAccepted: number
  readonly linksClosed: number
  readonly linksClosedSlow: number
  /** Shaped circuits silenced early (DESTROY, fault, full queue), kept on schedule to their end (R5). */
  readonly circuitsSilenced: number
  /** Cells dropped because their circuit was silenced. */
  readonly cellsDroppedSilenced: number
  /** Cells dropped because their circuit's queue was at its bound. */
  readonly cellsDroppedOverQueue: number
  /** CREATEs refused because their circuit ID was quarantined. */
  readonly createsRefusedQuarantine: number
  /** Exceptions caught while handling a peer's input. */
  readonly inputExceptions: number
  /** CREATEs refused by the per-link or the global CREATE rate. */
  readonly createsRefusedRate: number
  /** Entry: client links closed for holding no circuit too long. */
  readonly linksClosedIdle: number
  /** Predecessor links that ended with an error. */
  readonly linksFailed: number
  /**
   * Optional (shaped cascades): finished slots by CREATEs accepted in them, one count per
   * bucket of CREATE_SLOT_BOUNDS (src/hop/create-hold.ts CREATE_SLOT_BUCKETS).
   */
  readonly createsPerSlot?: readonly number[]
}

/** Lower bounds of the CREATEs-per-slot buckets (the same as src/hop/create-hold.ts's). */
export const CREATE_SLOT_BOUNDS: readonly number[] = [0, 1, 2, 4, 8, 16, 32, 64]

/** A mix or the exit (`MixNode`, `ExitNode`). */
export interface HopSource {
  readonly stats: HopCounters
  /** Circuits open at this hop now. */
  readonly circuits: number
  /** Links from the predecessor (clients, at the entry) open now. */
  readonly predecessorLinks: number
  /** Rounds the hop's round clock skipped because the process was too busy. */
  readonly missedRounds: number
  /**
   * Optional: report every round to `observer` from now on (`undefined`: stop). Without
   * it the round size histogram stays empty and the padding counters at 0.
   */
  observeRounds? (observer: RoundObserver | undefined): void
}

/** A mix (`MixNode`). */
export interface MixSource extends HopSource {
  readonly successorUp: boolean
  readonly successorConnects: number
  readonly successorFailures: number
}

/** `ExitStats` (src/exit/exit-stats.ts). */
export interface ExitCounters {
  readonly streamsOpened: number
  readonly streamsRefused: number
  readonly streamsActive: number
  readonly relayMalformed: number
  readonly violations: number
  readonly loopsEchoed: number
  readonly bytesToHosts: number
  readonly bytesFromHosts: number
  /** Optional (shaped): LOOPs dropped because their circuit's echo queue was full. */
  readonly loopsDropped?: number
  /** The caps and windows (issue #10): optional, read as 0 where a stats object lacks them. */
  readonly refusedStreamsPerCircuit?: number
  readonly dnsQueries?: SlotCounts
  readonly outboundSockets?: SlotCounts
  readonly streamWindowOverruns?: number
  readonly circuitWindowOverruns?: number
}

/** A capped resource of the exit (`Slots`, src/exit/slots.ts): in use now, refusals at the cap. */
export interface SlotCounts {
  readonly active: number
  readonly refused: number
}

/** The exit (`ExitNode`). */
export interface ExitSource extends HopSource {
  readonly exitStats: ExitCounters
}

/** `ClientStats` (src/client/client-node.ts). */
export interface ClientCounters {
  readonly circuitsBuilt: number
  readonly circuitsActive: number
  readonly streamsRequested: number
  readonly streamsConnected: number
  readonly streamsRefused: number
  readonly streamsTimedOut: number
  readonly integrityFailures: number
  readonly silentCircuits: number
  readonly alarms: number
  readonly cellsOut: number
  readonly cellsIn: number
  readonly padsIn: number
  readonly entryConnects: number
  readonly entryFailures: number
  /** Optional: cover cells sent (DROP, LOOP), counted as forward padding. */
  readonly coverOut?: number
  /** Optional: exceptions caught while handling the entry's cells. */
  readonly inputExceptions?: number
}

/** `SocksCountersSnapshot` (src/client/socks/socks-counters.ts). */
export interface SocksCountersShape {
  readonly connections: number
  readonly pending: number
  readonly accepted: number
  /** Failure replies by REP code. */
  readonly rejected: Readonly<Record<number, number>>
  /** Handshake errors by SocksError code. */
  readonly errors: Readonly<Record<string, number>>
  /** Warnings by code. */
  readonly warnings: Readonly<Record<string, number>>
}

/** `ClientShapingStatus` (src/client/client-node.ts): the shaped client's aggregate figures. */
export interface ClientShapingShape {
  /** `off`, `strict` or `elastic`. */
  readonly profile: string
  /** Circuits at each rung of the ladder now. */
  readonly rungs: readonly number[]
  readonly loopsSent: number
  readonly loopsReturned: number
  readonly loopsLost: number
  readonly loopsLate: number
  readonly loopAlarms: number
  readonly failedClosed: boolean
  /** Loop RTT percentiles in ms, rounded up to whole rounds (NaN before any echo). */
  readonly rttMs: { readonly p50: number, readonly p90: number, readonly p99: number }
  /** The loop deadline an honest cascade meets (ms). */
  readonly rttExpectedMs: number
  readonly coverBytesOut: number
  readonly coverBytesIn: number
  /** Slots in which the client started circuits. */
  readonly creationSlots: number
  /** Rounds the client's round clock skipped (the process was too busy). */
  readonly roundsMissed: number
  /** What the entry mix reports, or undefined when its admin port is not reachable. */
  readonly entry: { readonly createsPerSlot: number, readonly clients: number } | undefined
}

/** The client (`ClientNode`). */
export interface ClientSource {
  readonly stats: ClientCounters
  readonly entryUp: boolean
  readonly socksCounters: SocksCountersShape
  /** Optional: shaping, loops and the anonymity set (issue #5). */
  readonly shaping?: ClientShapingShape
}

/** `ListenerStats` (src/link/listen.ts). */
export interface ListenerCounters {
  readonly connections: number
  readonly links: number
  readonly handshakeTimeouts: number
  readonly handshakeFailures: number
  readonly peersNotAllowed: number
  /** Connections reset before their handshake, by the limit they hit (src/link/admission.ts). */
  readonly refusedHandshakes: number
  readonly refusedHandshakesPerSource: number
  readonly refusedLinks: number
  readonly refusedLinksPerSource: number
  readonly refusedRate: number
  readonly refusedRatePerSource: number
}

/** A link listener (`LinkListener`). */
export interface ListenerSource {
  readonly stats: ListenerCounters
  readonly openLinks: number
  readonly handshakesInProgress: number
  /** Source addresses (IPv6: /64 prefixes) the listener keeps counts for now. */
  readonly trackedSources: number
}
