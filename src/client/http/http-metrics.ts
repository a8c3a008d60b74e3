/**
 * The HTTP CONNECT door's metrics (docs/METRICS.md "Client"), registered whether or not the
 * door is open (all zero without it), so a dashboard's queries need no guard. Statuses and
 * error codes are mapped onto fixed label sets (R19); anything outside adds up under `other`.
 */
import type { MetricsRegistry } from '../../base/metrics-registry.js'
import type { HttpCountersSnapshot } from './http-front.js'
import { byLabel } from '../socks/socks-metrics.js'

/** The failure statuses the door sends (connect-head.ts, http-status.ts), as label values. */
export const HTTP_STATUS_LABELS = ['400', '403', '405', '408', '431', '502', '503', '504', '505', 'other'] as const
/** HttpFrontError codes a request head can end with, as label values. */
export const HTTP_ERROR_LABELS = [
  'malformed', 'method_not_allowed', 'version_unsupported', 'head_too_large', 'bad_credentials', 'truncated',
  'handshake_timeout', 'handler_failed', 'other',
] as const

const NONE: HttpCountersSnapshot = { connections: 0, pending: 0, accepted: 0, rejected: {}, errors: {}, warnings: {} }

export function registerHttpMetrics (registry: MetricsRegistry, snapshot: () => HttpCountersSnapshot | undefined): void {
  const read = (): HttpCountersSnapshot => snapshot() ?? NONE
  registry.counterFrom('mixgate_http_connections_total', 'Connections apps opened to the HTTP CONNECT port.', () => read().connections)
  registry.gaugeFrom('mixgate_http_pending', 'HTTP CONNECT requests in their head or waiting for a circuit now.', () => read().pending)
  registry.counterFrom('mixgate_http_accepted_total', 'HTTP CONNECTs answered 200.', () => read().accepted)
  const rejected = registry.counter('mixgate_http_rejected_total', 'HTTP CONNECT failure responses, by status.', { status: HTTP_STATUS_LABELS })
  for (const status of HTTP_STATUS_LABELS) rejected.from(() => byLabel(read().rejected, String, HTTP_STATUS_LABELS, status), { status })
  const errors = registry.counter('mixgate_http_errors_total', 'HTTP CONNECT request heads that ended in an error, by code.', { code: HTTP_ERROR_LABELS })
  for (const code of HTTP_ERROR_LABELS) errors.from(() => byLabel(read().errors, httpLabel, HTTP_ERROR_LABELS, code), { code })
}

/** `HTTP_HEAD_TOO_LARGE` → `head_too_large`. */
function httpLabel (code: string): string {
  return code.toLowerCase().replace(/^http_/, '')
}
