/**
 * Flow-control windows both circuit endpoints (client and exit) agree on (PROTOCOL.md §7.1).
 *
 * SENDME-like credit, counted in DATA cells, as Tor's fixed windows: a sender may have at most
 * `stream` unacknowledged DATA cells on one stream and `circuit` on one circuit. The receiver
 * enforces both (a cell beyond either ends its stream with END(PROTOCOL)) and returns one
 * increment of credit each time it has *delivered* that many cells to its sockets (cells it
 * dropped count too, for the circuit): so a slow reader stops the sender, and nobody buffers
 * more than a stream window per stream or a circuit window per circuit.
 *
 * The windows depend on the cascade's shaping profile, which both endpoints know (it is
 * signed in every descriptor). Shaped, a circuit's rate is its schedule's, and a hop queues a
 * circuit's cells up to a bound sized for the circuit window (hop-options.ts): the small
 * windows. Unshaped, a window must cover the bandwidth-delay product of one circuit: a round
 * trip is about 7 rounds of waiting (the exit forwards at once) plus crypto, 40–80 ms with
 * 10 ms rounds, so 40 MB/s needs 1.6–3.2 MB in flight: the large windows (4 MiB a stream,
 * 8 MiB a circuit with 2 KiB cells). An unshaped hop queues nothing beyond one round.
 */
export interface FlowWindows {
  /** DATA cells in flight per circuit, and the credit a circuit SENDME returns. */
  readonly circuit: number
  readonly circuitIncrement: number
  /** DATA cells in flight per stream, and the credit a stream SENDME returns. */
  readonly stream: number
  readonly streamIncrement: number
}

/** Profiles `strict` and `elastic`: Tor's windows. */
export const SHAPED_WINDOWS: FlowWindows = { circuit: 1000, circuitIncrement: 100, stream: 500, streamIncrement: 50 }
/** Profile `off`: windows for the bandwidth-delay product of an unshaped cascade. */
export const UNSHAPED_WINDOWS: FlowWindows = { circuit: 4000, circuitIncrement: 200, stream: 2000, streamIncrement: 100 }

/** The windows of a cascade with this shaping profile. */
export function flowWindows (profile: string): FlowWindows {
  return profile === 'off' ? UNSHAPED_WINDOWS : SHAPED_WINDOWS
}

export const CIRCUIT_WINDOW = SHAPED_WINDOWS.circuit
export const CIRCUIT_SENDME_INCREMENT = SHAPED_WINDOWS.circuitIncrement
export const STREAM_WINDOW = SHAPED_WINDOWS.stream
export const STREAM_SENDME_INCREMENT = SHAPED_WINDOWS.streamIncrement
