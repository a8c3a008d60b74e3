/**
 * The exit's caps on what hostile clients can make it hold (issue #10): concurrent DNS
 * queries and outbound sockets across all circuits, and streams per circuit. A BEGIN over a
 * cap is answered END(RESOURCE_LIMIT) and counted; nothing else is disturbed. The defaults
 * are the exit config's (man/mixgate.conf.5). The per-circuit cap is never below the
 * protocol's floor (stream-bound.ts), the most a client keeps on one circuit.
 */
import { EXIT_MIN_STREAMS_PER_CIRCUIT } from '../protocol/stream-bound.js'

export interface ExitLimits {
  /** DNS queries in flight at once, all circuits together. */
  readonly maxDnsQueries: number
  /** Outbound TCP sockets at once, connecting or open, all circuits together. */
  readonly maxOutbound: number
  /** Streams open at once on one circuit. */
  readonly maxStreamsPerCircuit: number
}

export const DEFAULT_EXIT_LIMITS: ExitLimits = Object.freeze({
  maxDnsQueries: 256,
  maxOutbound: 4096,
  maxStreamsPerCircuit: EXIT_MIN_STREAMS_PER_CIRCUIT,
})

/**
 * Bounds of one UDP association (udp-association.ts, PROTOCOL.md §11.3): not configurable;
 * its sockets count against `maxOutbound` and its names against `maxDnsQueries`.
 */
export interface UdpLimits {
  readonly maxAssociationsPerCircuit: number
  readonly maxDestinations: number
  readonly idleMs: number
}

export const UDP_LIMITS: UdpLimits = Object.freeze({
  /** Associations open at once on one circuit (also streams: maxStreamsPerCircuit counts them too). */
  maxAssociationsPerCircuit: 16,
  /** Distinct destinations (host as named, port) one association may send to. */
  maxDestinations: 64,
  /** An association without a datagram either way for this long ends (END(DONE)). */
  idleMs: 120_000,
})
