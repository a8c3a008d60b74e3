/**
 * The HTTP CONNECT door's metrics: zeros without a door, counts by fixed status and code
 * labels with one, and anything outside the label sets under `other`.
 */
import t from 'tap'
import { MetricsRegistry } from '../../../src/base/metrics-registry.js'
import { parsePrometheusText, sampleValue } from '../../../src/base/metrics-text.js'
import { registerHttpMetrics } from '../../../src/client/http/http-metrics.js'
import type { HttpCountersSnapshot } from '../../../src/client/http/index.js'

t.test('no door: every series reads 0', async (t) => {
  const registry = new MetricsRegistry()
  registerHttpMetrics(registry, () => undefined)
  const m = parsePrometheusText(await registry.render())
  t.equal(sampleValue(m, 'mixgate_http_connections_total'), 0)
  t.equal(sampleValue(m, 'mixgate_http_rejected_total', { status: '403' }), 0)
})

t.test('a door: counts by status and code, unknown ones under other', async (t) => {
  const snapshot: HttpCountersSnapshot = {
    connections: 7, pending: 1, accepted: 3, rejected: { 403: 2, 502: 1, 418: 1 }, errors: { HTTP_HEAD_TOO_LARGE: 1, HTTP_SOMETHING_NEW: 2 }, warnings: {},
  }
  const registry = new MetricsRegistry()
  registerHttpMetrics(registry, () => snapshot)
  const m = parsePrometheusText(await registry.render())
  t.equal(sampleValue(m, 'mixgate_http_connections_total'), 7)
  t.equal(sampleValue(m, 'mixgate_http_pending'), 1)
  t.equal(sampleValue(m, 'mixgate_http_accepted_total'), 3)
  t.equal(sampleValue(m, 'mixgate_http_rejected_total', { status: '403' }), 2)
  t.equal(sampleValue(m, 'mixgate_http_rejected_total', { status: '502' }), 1)
  t.equal(sampleValue(m, 'mixgate_http_rejected_total', { status: 'other' }), 1)
  t.equal(sampleValue(m, 'mixgate_http_errors_total', { code: 'head_too_large' }), 1)
  t.equal(sampleValue(m, 'mixgate_http_errors_total', { code: 'other' }), 2)
})
