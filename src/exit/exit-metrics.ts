/**
 * The exit's metrics (docs/METRICS.md): everything a hop exports (src/hop/hop-metrics.ts;
 * backward rounds only, its forward output is TCP) and its streams, caps and relay faults,
 * read from its `ExitStats` at scrape time.
 */
import type { MetricsRegistry } from '../base/metrics-registry.js'
import { registerHopMetrics, type HopMetrics, type HopMetricsOptions, type HopSource } from '../hop/hop-metrics.js'
import type { ExitStats } from './exit-stats.js'
import type { Slots } from './slots.js'

/** A capped resource of the exit (`Slots`): in use now, refusals at the cap. */
export type SlotCounts = Readonly<Pick<Slots, 'active' | 'refused'>>

/**
 * The fields of `ExitStats` read here, with the class's own types; the optional ones (the
 * caps and windows of issue #10, shaped LOOP drops) are read as 0 where a stats object lacks them.
 */
export type ExitCounters = Readonly<Pick<ExitStats, 'streamsOpened' | 'streamsRefused' | 'streamsActive' | 'relayMalformed' |
  'violations' | 'loopsEchoed' | 'bytesToHosts' | 'bytesFromHosts'> &
  Partial<Pick<ExitStats, 'loopsDropped' | 'refusedStreamsPerCircuit' | 'streamWindowOverruns' | 'circuitWindowOverruns' |
    'resolvesAnswered' | 'resolvesRefused' | 'udpAssociations' | 'refusedUdpAssociations' | 'datagramsToHosts' | 'datagramsFromHosts' | 'datagramsDropped'>> &
  { readonly dnsQueries?: SlotCounts, readonly outboundSockets?: SlotCounts }>

/** The exit (`ExitNode` fits). */
export interface ExitSource extends HopSource {
  readonly exitStats: ExitCounters
}

/** The exit: the last hop, whose forward output goes to TCP. */
export function registerExitMetrics (registry: MetricsRegistry, exit: ExitSource, options: HopMetricsOptions): HopMetrics {
  const metrics = registerHopMetrics(registry, 'exit', exit, options, ['backward'])
  const s = (): ExitCounters => exit.exitStats
  registry.counterFrom('mixgate_streams_opened_total', 'Streams opened (exit: TCP connected; client: CONNECTED received).', () => s().streamsOpened)
  registry.counterFrom('mixgate_streams_refused_total', 'Streams refused (policy, resolution, connection failure).', () => s().streamsRefused)
  registry.gaugeFrom('mixgate_streams', 'Streams open now.', () => s().streamsActive)
  registry.counter('mixgate_exit_limit_refusals_total', 'Streams refused with RESOURCE_LIMIT at a cap (also in streams_refused).',
    { limit: ['streams_per_circuit', 'dns_queries', 'outbound_sockets', 'udp_associations_per_circuit'] })
    .from(() => s().refusedStreamsPerCircuit ?? 0, { limit: 'streams_per_circuit' })
    .from(() => s().refusedUdpAssociations ?? 0, { limit: 'udp_associations_per_circuit' })
    .from(() => s().dnsQueries?.refused ?? 0, { limit: 'dns_queries' })
    .from(() => s().outboundSockets?.refused ?? 0, { limit: 'outbound_sockets' })
  registry.counter('mixgate_exit_resolves_total', 'RESOLVEs (SOCKS RESOLVE, RESOLVE_PTR) answered, or refused with END (a cap\'s refusals are in limit_refusals).',
    { result: ['answered', 'refused'] })
    .from(() => s().resolvesAnswered ?? 0, { result: 'answered' })
    .from(() => s().resolvesRefused ?? 0, { result: 'refused' })
  registry.counterFrom('mixgate_exit_udp_associations_total', 'UDP associations (SOCKS UDP ASSOCIATE) opened.', () => s().udpAssociations ?? 0)
  registry.counter('mixgate_datagrams_total', 'UDP datagrams of SOCKS UDP ASSOCIATE: forward = to hosts (client: from apps), backward = the reverse.',
    { direction: ['forward', 'backward'] })
    .from(() => s().datagramsToHosts ?? 0, { direction: 'forward' })
    .from(() => s().datagramsFromHosts ?? 0, { direction: 'backward' })
  registry.counterFrom('mixgate_datagrams_dropped_total', 'UDP datagrams dropped (policy, bounds, strangers, no circuit credit).', () => s().datagramsDropped ?? 0)
  registry.gaugeFrom('mixgate_exit_dns_queries', 'DNS queries in flight now (cap: maxDnsQueries).', () => s().dnsQueries?.active ?? 0)
  registry.gaugeFrom('mixgate_exit_outbound_sockets', 'Outbound sockets now, connecting or open (cap: maxOutbound).', () => s().outboundSockets?.active ?? 0)
  registry.counter('mixgate_window_overruns_total', 'DATA cells beyond a flow-control window: the stream was ended with END(PROTOCOL) (also in relay_violations).',
    { window: ['stream', 'circuit'] })
    .from(() => s().streamWindowOverruns ?? 0, { window: 'stream' })
    .from(() => s().circuitWindowOverruns ?? 0, { window: 'circuit' })
  registry.counterFrom('mixgate_relay_malformed_total', 'Authenticated relay payloads that did not parse.', () => s().relayMalformed)
  registry.counterFrom('mixgate_relay_violations_total', 'Relay protocol violations (e.g. a reused stream ID).', () => s().violations)
  registry.counterFrom('mixgate_loops_echoed_total', 'LOOP cover cells echoed back to clients.', () => s().loopsEchoed)
  registry.counterFrom('mixgate_loops_dropped_total', 'LOOPs dropped because their circuit\'s echo queue was full (shaped).', () => s().loopsDropped ?? 0)
  registry.counter('mixgate_bytes_total', 'Stream bytes: forward = to hosts (exit) or from apps (client), backward = the reverse.',
    { direction: ['forward', 'backward'] })
    .from(() => s().bytesToHosts, { direction: 'forward' })
    .from(() => s().bytesFromHosts, { direction: 'backward' })
  return metrics
}
