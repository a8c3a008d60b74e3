/**
 * The SOCKS front's metrics (docs/METRICS.md "Client"): connections, pending handshakes,
 * successes, and failures by REP code, handshake errors and warnings by code. Codes are mapped
 * onto fixed label sets (R19); anything outside them adds up under `other`.
 */
import type { MetricsRegistry } from '../../base/metrics-registry.js'
import type { SocksCountersSnapshot } from './socks-counters.js'

/** SocksError codes (socks-error.ts) a handshake can end with, as label values. */
export const SOCKS_ERROR_LABELS = [
  'bad_version', 'field_too_long', 'malformed', 'no_acceptable_method', 'auth_failed', 'command_unsupported',
  'address_type_unsupported', 'bad_address', 'truncated', 'handshake_timeout', 'handler_failed', 'other',
] as const
/** SOCKS5 failure REP codes (RFC 1928 §6) as label values. */
export const SOCKS_REP_LABELS = ['1', '2', '3', '4', '5', '6', '7', '8', 'other'] as const
export const SOCKS_WARNING_LABELS = ['unsafe_ip_literal', 'other'] as const

export function registerSocksMetrics (registry: MetricsRegistry, snapshot: () => SocksCountersSnapshot): void {
  registry.counterFrom('mixgate_socks_connections_total', 'Connections apps opened to the SOCKS port.', () => snapshot().connections)
  registry.gaugeFrom('mixgate_socks_pending', 'SOCKS connections in their handshake or waiting for a circuit now.', () => snapshot().pending)
  registry.counterFrom('mixgate_socks_accepted_total', 'SOCKS CONNECTs answered with success.', () => snapshot().accepted)
  registry.counterFrom('mixgate_socks_resolved_total', 'SOCKS RESOLVE and RESOLVE_PTR requests answered with success.', () => snapshot().resolved ?? 0)
  const rejected = registry.counter('mixgate_socks_rejected_total', 'SOCKS failure replies, by REP code.', { rep: SOCKS_REP_LABELS })
  for (const rep of SOCKS_REP_LABELS) {
    rejected.from(() => byLabel(snapshot().rejected, (key) => String(key), SOCKS_REP_LABELS, rep), { rep })
  }
  const errors = registry.counter('mixgate_socks_errors_total', 'SOCKS handshakes that ended in an error, by code.', { code: SOCKS_ERROR_LABELS })
  for (const code of SOCKS_ERROR_LABELS) {
    errors.from(() => byLabel(snapshot().errors, socksLabel, SOCKS_ERROR_LABELS, code), { code })
  }
  const warnings = registry.counter('mixgate_socks_warnings_total', 'SOCKS requests warned about, by code.', { code: SOCKS_WARNING_LABELS })
  for (const code of SOCKS_WARNING_LABELS) {
    warnings.from(() => byLabel(snapshot().warnings, socksLabel, SOCKS_WARNING_LABELS, code), { code })
  }
}

/** `SOCKS_BAD_VERSION` → `bad_version`. */
function socksLabel (code: string): string {
  return code.toLowerCase().replace(/^socks_/, '')
}

/**
 * The count for `label` in a by-code record; codes outside the fixed set add up under `other`.
 * The HTTP CONNECT door's metrics use it too (http-metrics.ts).
 */
export function byLabel (counts: Readonly<Record<string | number, number>>, toLabel: (key: string) => string,
  labels: readonly string[], label: string): number {
  let total = 0
  for (const [key, count] of Object.entries(counts)) {
    const mapped = toLabel(key)
    const known = mapped !== 'other' && labels.includes(mapped)
    if (known ? mapped === label : label === 'other') total += count
  }
  return total
}
