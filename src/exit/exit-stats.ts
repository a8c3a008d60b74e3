/**
 * The exit's own counters, beside the hop's (`HopStats`): streams, bytes, LOOP echoes, caps.
 * Aggregates only (R19); exit-metrics.ts reads them by these names (`ExitCounters`).
 */
import { StreamViolation } from '../endpoint/violations.js'
import { Slots } from './slots.js'

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
  /** RESOLVEs answered with RESOLVED, and refused with END (a cap's refusals count in streamsRefused). */
  resolvesAnswered = 0
  resolvesRefused = 0
  /** UDP associations opened; datagrams sent to hosts, passed back from them, and dropped (policy, bounds, no credit). */
  udpAssociations = 0
  /** ASSOCIATEs refused because their circuit had maxAssociationsPerCircuit open (also in streamsRefused). */
  refusedUdpAssociations = 0
  datagramsToHosts = 0
  datagramsFromHosts = 0
  datagramsDropped = 0
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
