/**
 * The link listener's metrics (docs/METRICS.md "Links"): connections, failed handshakes by
 * reason, connections reset at a listener limit, handshakes in progress, tracked sources, and
 * the rekeys of the links it accepted.
 * Registered by the hop that owns the listener (src/hop/hop-metrics.ts), read from
 * `LinkListener` at scrape time.
 */
import type { MetricsRegistry } from '../base/metrics-registry.js'
import type { ListenerStats } from './listen.js'

/** What is read of a listener (`LinkListener` fits; tests give plain objects). */
export interface ListenerSource {
  readonly stats: ListenerStats
  readonly openLinks: number
  readonly handshakesInProgress: number
  /** Source addresses (IPv6: /64 prefixes) the listener keeps counts for now. */
  readonly trackedSources: number
  /** Optional: rekeys of the links handed out, closed ones included (read as 0 without). */
  readonly linkRekeys?: number
}

/** The listener limits a connection can be refused by (`mixgate_link_connections_refused_total`). */
export const LINK_REFUSAL_LABELS = ['handshakes', 'handshakes_per_source', 'links', 'links_per_source', 'rate', 'rate_per_source'] as const

export function registerListenerMetrics (registry: MetricsRegistry, listener: ListenerSource): void {
  const l = (): ListenerStats => listener.stats
  registry.counterFrom('mixgate_link_connections_total', 'TCP connections accepted by the link listener.', () => l().connections)
  registry.counter('mixgate_link_handshake_failures_total', 'Link handshakes that failed, by reason.', { reason: ['failed', 'timeout', 'not_allowed'] })
    .from(() => l().handshakeFailures, { reason: 'failed' })
    .from(() => l().handshakeTimeouts, { reason: 'timeout' })
    .from(() => l().peersNotAllowed, { reason: 'not_allowed' })
  registry.counter('mixgate_link_connections_refused_total', 'TCP connections reset before their handshake because a listener limit was reached, by limit.',
    { reason: LINK_REFUSAL_LABELS })
    .from(() => l().refusedHandshakes, { reason: 'handshakes' })
    .from(() => l().refusedHandshakesPerSource, { reason: 'handshakes_per_source' })
    .from(() => l().refusedLinks, { reason: 'links' })
    .from(() => l().refusedLinksPerSource, { reason: 'links_per_source' })
    .from(() => l().refusedRate, { reason: 'rate' })
    .from(() => l().refusedRatePerSource, { reason: 'rate_per_source' })
  registry.gaugeFrom('mixgate_link_handshakes_in_progress', 'Link handshakes in progress now.', () => listener.handshakesInProgress)
  registry.counterFrom('mixgate_link_rekeys_total', 'Rekeys of the links from the predecessor (both directions, closed links included).', () => listener.linkRekeys ?? 0)
  registry.gaugeFrom('mixgate_link_sources', 'Source addresses (IPv6: /64 prefixes) the link listener keeps counts for now.', () => listener.trackedSources)
}
