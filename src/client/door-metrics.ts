/**
 * The doors' shared bound on app connections (door-cap.ts) in /metrics (docs/METRICS.md
 * "Client"): connections open now per door, the cap both doors share, and refusals by door
 * and reason. A door that is not configured (HTTP, by default) reads as zero.
 */
import type { MetricsRegistry } from '../base/metrics-registry.js'
import type { SocksCountersSnapshot } from './socks/socks-counters.js'
import { RefusalReason } from './door-cap.js'

export const DOOR_LABELS = ['socks', 'http'] as const
export const REFUSAL_LABELS = [RefusalReason.CAP, RefusalReason.ACCEPT_FAILED] as const

type Door = typeof DOOR_LABELS[number]

export function registerDoorMetrics (registry: MetricsRegistry, snapshots: Readonly<Record<Door, () => SocksCountersSnapshot | undefined>>): void {
  const open = registry.gauge('mixgate_door_connections_open', 'App connections open now (in their handshake, refused, or carrying a stream), by door.', { door: DOOR_LABELS })
  const refused = registry.counter('mixgate_door_connections_refused_total',
    'App connections refused before they were served, by door and reason: cap (maxConnections open; answered SOCKS 0x01 / HTTP 503, or closed at once), accept_failed (EMFILE: closed unanswered).',
    { door: DOOR_LABELS, reason: REFUSAL_LABELS })
  for (const door of DOOR_LABELS) {
    open.from(() => snapshots[door]()?.open ?? 0, { door })
    for (const reason of REFUSAL_LABELS) refused.from(() => snapshots[door]()?.refused?.[reason] ?? 0, { door, reason })
  }
  registry.gaugeFrom('mixgate_door_connections_max', 'The cap on app connections open at once, both doors together (maxConnections).',
    () => snapshots.socks()?.maxOpen ?? 0)
}
