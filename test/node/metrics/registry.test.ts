/**
 * The Prometheus registry: byte-exact text format 0.0.4 for counters, gauges and histograms,
 * escaping, values read at scrape time, and the refusals that keep metrics aggregate (R19).
 */
import t, { type Test } from 'tap'
import { MetricsError } from '../../../src/node/metrics/errors.js'
import { escapeHelp, escapeLabelValue, formatValue, MetricsRegistry } from '../../../src/node/metrics/registry.js'

function code (t: Test, fn: () => unknown, expected: string): void {
  try {
    fn()
    t.fail(`expected ${expected}`)
  } catch (err) {
    t.ok(err instanceof MetricsError, 'a MetricsError')
    t.equal((err as MetricsError).code, expected)
  }
}

t.test('a counter with labels, a gauge and two histograms render byte-exact', async (t) => {
  const registry = new MetricsRegistry()
  const refused = registry.counter('mixgate_creates_refused_total', 'CREATEs refused.', { reason: ['auth', 'replay'] })
  refused.inc(2, { reason: 'replay' })
  registry.gaugeFrom('mixgate_circuits', 'Circuits open now.', () => 7)
  const batches = registry.histogram('mixgate_batch_cells', 'Cells per round.', [0, 4, 16], { direction: ['forward'] })
  for (const cells of [0, 3, 4, 100]) batches.observe(cells, { direction: 'forward' })
  const wait = registry.histogram('mixgate_wait_seconds', 'Wait.', [1.5])
  wait.observe(0.25)
  t.equal(registry.render(), [
    '# HELP mixgate_creates_refused_total CREATEs refused.',
    '# TYPE mixgate_creates_refused_total counter',
    'mixgate_creates_refused_total{reason="auth"} 0',
    'mixgate_creates_refused_total{reason="replay"} 2',
    '# HELP mixgate_circuits Circuits open now.',
    '# TYPE mixgate_circuits gauge',
    'mixgate_circuits 7',
    '# HELP mixgate_batch_cells Cells per round.',
    '# TYPE mixgate_batch_cells histogram',
    'mixgate_batch_cells_bucket{direction="forward",le="0"} 1',
    'mixgate_batch_cells_bucket{direction="forward",le="4"} 3',
    'mixgate_batch_cells_bucket{direction="forward",le="16"} 3',
    'mixgate_batch_cells_bucket{direction="forward",le="+Inf"} 4',
    'mixgate_batch_cells_sum{direction="forward"} 107',
    'mixgate_batch_cells_count{direction="forward"} 4',
    '# HELP mixgate_wait_seconds Wait.',
    '# TYPE mixgate_wait_seconds histogram',
    'mixgate_wait_seconds_bucket{le="1.5"} 1',
    'mixgate_wait_seconds_bucket{le="+Inf"} 1',
    'mixgate_wait_seconds_sum 0.25',
    'mixgate_wait_seconds_count 1',
    '',
  ].join('\n'))
})

t.test('every declared label combination renders from the start, in declaration order', async (t) => {
  const registry = new MetricsRegistry()
  registry.counter('mixgate_x_total', 'X.', { direction: ['forward', 'backward'], kind: ['a', 'b'] })
  t.equal(registry.render(), [
    '# HELP mixgate_x_total X.',
    '# TYPE mixgate_x_total counter',
    'mixgate_x_total{direction="forward",kind="a"} 0',
    'mixgate_x_total{direction="forward",kind="b"} 0',
    'mixgate_x_total{direction="backward",kind="a"} 0',
    'mixgate_x_total{direction="backward",kind="b"} 0',
    '',
  ].join('\n'))
})

t.test('label values and help text are escaped', async (t) => {
  t.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd')
  t.equal(escapeHelp('a\\b"c\nd'), 'a\\\\b"c\\nd')
  const registry = new MetricsRegistry()
  registry.gauge('mixgate_odd', 'Line one\nline "two" \\ three.', { reason: ['say "hi"\\\n'] }).set(1, { reason: 'say "hi"\\\n' })
  t.equal(registry.render(), [
    '# HELP mixgate_odd Line one\\nline "two" \\\\ three.',
    '# TYPE mixgate_odd gauge',
    'mixgate_odd{reason="say \\"hi\\"\\\\\\n"} 1',
    '',
  ].join('\n'))
})

t.test('special values are written as Prometheus spells them', async (t) => {
  t.equal(formatValue(Infinity), '+Inf')
  t.equal(formatValue(-Infinity), '-Inf')
  t.equal(formatValue(NaN), 'NaN')
  t.equal(formatValue(0.1), '0.1')
  t.equal(formatValue(-0), '-0')
  t.equal(formatValue(2 ** 53), '9007199254740992')
})

t.test('callbacks are read at every scrape; booleans render as 1 and 0', async (t) => {
  const registry = new MetricsRegistry()
  const stats = { cellsIn: 1 }
  let up = true
  registry.counterFrom('mixgate_cells_in_total', 'Cells.', () => stats.cellsIn)
  registry.gaugeFrom('mixgate_successor_up', 'Up.', () => up)
  t.match(registry.render(), /^mixgate_cells_in_total 1$/m)
  t.match(registry.render(), /^mixgate_successor_up 1$/m)
  stats.cellsIn = 42
  up = false
  t.match(registry.render(), /^mixgate_cells_in_total 42$/m)
  t.match(registry.render(), /^mixgate_successor_up 0$/m)
})

t.test('stored counters and gauges move as told; value() reads either kind', async (t) => {
  const registry = new MetricsRegistry()
  const c = registry.counter('mixgate_c_total', 'C.')
  c.inc()
  c.inc(4)
  t.equal(c.value(), 5)
  const g = registry.gauge('mixgate_g', 'G.', { direction: ['forward', 'backward'] })
  g.set(10, { direction: 'backward' })
  g.inc(2, { direction: 'backward' })
  g.dec(5, { direction: 'backward' })
  t.equal(g.value({ direction: 'backward' }), 7)
  t.equal(g.value({ direction: 'forward' }), 0)
  const h = registry.histogram('mixgate_h', 'H.', [1])
  h.observe(3)
  h.observe(4)
  t.equal(h.sum(), 7)
  t.equal(h.count(), 2)
})

t.test('names must be mixgate_*, counters end in _total, and nothing is registered twice', async (t) => {
  const registry = new MetricsRegistry()
  code(t, () => registry.gauge('node_cells', 'X.'), 'METRICS_BAD_NAME')
  code(t, () => registry.gauge('mixgate_Cells', 'X.'), 'METRICS_BAD_NAME')
  code(t, () => registry.counter('mixgate_cells', 'X.'), 'METRICS_BAD_NAME')
  code(t, () => registry.gauge('mixgate_cells', ' '), 'METRICS_BAD_NAME')
  registry.gauge('mixgate_cells', 'X.')
  code(t, () => registry.gauge('mixgate_cells', 'X.'), 'METRICS_DUPLICATE')
  registry.histogram('mixgate_batch', 'X.', [1])
  code(t, () => registry.gauge('mixgate_batch_count', 'X.'), 'METRICS_DUPLICATE')
  code(t, () => registry.histogram('mixgate_le', 'X.', [1], { le: ['1'] }), 'METRICS_BAD_NAME')
})

t.test('labels that would hold circuit- or address-level data are refused', async (t) => {
  const registry = new MetricsRegistry()
  for (const label of ['circuit', 'circuit_id', 'stream', 'peer', 'remote_addr', 'host', 'ip', 'client', 'dest_port', 'user']) {
    code(t, () => registry.counter(`mixgate_l_${label}_total`, 'X.', { [label]: ['a'] }), 'METRICS_BAD_NAME')
  }
  code(t, () => registry.counter('mixgate_bad_total', 'X.', { Direction: ['a'] }), 'METRICS_BAD_NAME')
  registry.counter('mixgate_ok_total', 'X.', { direction: ['forward'], reason: ['x'], kind: ['y'], role: ['mix'] })
  t.pass('direction, reason, kind and role are fine')
})

t.test('label values must come from the declared set, all labels given', async (t) => {
  const registry = new MetricsRegistry()
  const c = registry.counter('mixgate_c_total', 'C.', { reason: ['auth', 'replay'] })
  code(t, () => c.inc(1, { reason: 'other' } as never), 'METRICS_BAD_LABELS')
  code(t, () => c.inc(1), 'METRICS_BAD_LABELS')
  code(t, () => c.inc(1, { reason: 'auth', extra: 'x' } as never), 'METRICS_BAD_LABELS')
  const plain = registry.counter('mixgate_p_total', 'P.')
  code(t, () => plain.inc(1, { reason: 'auth' } as never), 'METRICS_BAD_LABELS')
  code(t, () => registry.counter('mixgate_e_total', 'E.', { reason: [] }), 'METRICS_BAD_LABELS')
  code(t, () => registry.counter('mixgate_d_total', 'D.', { reason: ['a', 'a'] }), 'METRICS_BAD_LABELS')
  const many = Array.from({ length: 17 }, (_, i) => `v${i}`)
  code(t, () => registry.counter('mixgate_m_total', 'M.', { reason: many }), 'METRICS_BAD_LABELS')
  const nine = Array.from({ length: 9 }, (_, i) => `v${i}`)
  code(t, () => registry.counter('mixgate_n_total', 'N.', { reason: nine, kind: nine }), 'METRICS_BAD_LABELS')
})

t.test('counters never go down; a series read from a callback cannot also be stored', async (t) => {
  const registry = new MetricsRegistry()
  const c = registry.counter('mixgate_c_total', 'C.', { reason: ['a', 'b'] })
  code(t, () => c.inc(-1, { reason: 'a' }), 'METRICS_BAD_VALUE')
  code(t, () => c.inc(NaN, { reason: 'a' }), 'METRICS_BAD_VALUE')
  c.from(() => 3, { reason: 'b' })
  code(t, () => c.inc(1, { reason: 'b' }), 'METRICS_BOUND')
  code(t, () => c.from(() => 4, { reason: 'b' }), 'METRICS_DUPLICATE')
  c.inc(1, { reason: 'a' })
  t.match(registry.render(), /reason="a"\} 1\n.*reason="b"\} 3\n/)
})

t.test('histogram buckets must be finite and strictly increasing; NaN is not observed', async (t) => {
  const registry = new MetricsRegistry()
  code(t, () => registry.histogram('mixgate_h1', 'H.', []), 'METRICS_BAD_BUCKETS')
  code(t, () => registry.histogram('mixgate_h2', 'H.', [1, 1]), 'METRICS_BAD_BUCKETS')
  code(t, () => registry.histogram('mixgate_h3', 'H.', [2, 1]), 'METRICS_BAD_BUCKETS')
  code(t, () => registry.histogram('mixgate_h4', 'H.', [1, Infinity]), 'METRICS_BAD_BUCKETS')
  code(t, () => registry.histogram('mixgate_h5', 'H.', Array.from({ length: 17 }, (_, i) => i)), 'METRICS_BAD_BUCKETS')
  const h = registry.histogram('mixgate_h6', 'H.', [1])
  code(t, () => h.observe(NaN), 'METRICS_BAD_VALUE')
  t.equal(h.count(), 0)
})
