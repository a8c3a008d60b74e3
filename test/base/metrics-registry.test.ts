/**
 * The registry over prom-client: what a scraper gets (byte-exact, so a prom-client upgrade
 * that changes the text shows here), every declared series from the start, values read at
 * scrape time, one prom-client Registry per node, default process metrics on request, and the
 * refusals that keep metrics aggregate (R19). The format's escaping and number spelling are
 * prom-client's; the parser's tests read them back (parse-text.test.ts).
 */
import t, { type Test } from 'tap'
import { MetricsError } from '../../src/base/metrics-errors.js'
import { register as globalRegistry } from 'prom-client'
import { MetricsRegistry, PROMETHEUS_CONTENT_TYPE } from '../../src/base/metrics-registry.js'

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
  t.equal(await registry.render(), [
    '# HELP mixgate_creates_refused_total CREATEs refused.',
    '# TYPE mixgate_creates_refused_total counter',
    'mixgate_creates_refused_total{reason="auth"} 0',
    'mixgate_creates_refused_total{reason="replay"} 2',
    '',
    '# HELP mixgate_circuits Circuits open now.',
    '# TYPE mixgate_circuits gauge',
    'mixgate_circuits 7',
    '',
    '# HELP mixgate_batch_cells Cells per round.',
    '# TYPE mixgate_batch_cells histogram',
    'mixgate_batch_cells_bucket{le="0",direction="forward"} 1',
    'mixgate_batch_cells_bucket{le="4",direction="forward"} 3',
    'mixgate_batch_cells_bucket{le="16",direction="forward"} 3',
    'mixgate_batch_cells_bucket{le="+Inf",direction="forward"} 4',
    'mixgate_batch_cells_sum{direction="forward"} 107',
    'mixgate_batch_cells_count{direction="forward"} 4',
    '',
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
  t.equal(await registry.render(), [
    '# HELP mixgate_x_total X.',
    '# TYPE mixgate_x_total counter',
    'mixgate_x_total{direction="forward",kind="a"} 0',
    'mixgate_x_total{direction="forward",kind="b"} 0',
    'mixgate_x_total{direction="backward",kind="a"} 0',
    'mixgate_x_total{direction="backward",kind="b"} 0',
    '',
  ].join('\n'))
})

t.test('each registry is its own prom-client Registry; default metrics only when asked', async (t) => {
  const a = new MetricsRegistry()
  const b = new MetricsRegistry({ defaultMetrics: true })
  a.gaugeFrom('mixgate_circuits', 'Circuits open now.', () => 1)
  b.gaugeFrom('mixgate_circuits', 'Circuits open now.', () => 2)
  t.match(await a.render(), /^mixgate_circuits 1$/m, 'two nodes in one process keep their own values')
  t.notMatch(await a.render(), /process_|nodejs_/)
  const text = await b.render()
  t.match(text, /^mixgate_circuits 2$/m)
  for (const name of ['process_cpu_seconds_total', 'process_start_time_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
    t.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name)
  }
  t.equal(await globalRegistry.metrics(), '\n', 'nothing is registered in prom-client\'s global registry')
  t.equal(PROMETHEUS_CONTENT_TYPE, 'text/plain; version=0.0.4; charset=utf-8')
})

t.test('callbacks are read at every scrape; booleans render as 1 and 0', async (t) => {
  const registry = new MetricsRegistry()
  const stats = { cellsIn: 1 }
  let up = true
  registry.counterFrom('mixgate_cells_in_total', 'Cells.', () => stats.cellsIn)
  registry.gaugeFrom('mixgate_successor_up', 'Up.', () => up)
  t.match(await registry.render(), /^mixgate_cells_in_total 1$/m)
  t.match(await registry.render(), /^mixgate_successor_up 1$/m)
  stats.cellsIn = 42
  up = false
  t.match(await registry.render(), /^mixgate_cells_in_total 42$/m)
  t.match(await registry.render(), /^mixgate_successor_up 0$/m)
})

t.test('stored counters, gauges and histograms move as told; children skip the label check', async (t) => {
  const registry = new MetricsRegistry()
  const c = registry.counter('mixgate_c_total', 'C.')
  c.inc()
  c.inc(4)
  const g = registry.gauge('mixgate_g', 'G.', { direction: ['forward', 'backward'] })
  g.set(10, { direction: 'backward' })
  g.inc(2, { direction: 'backward' })
  g.dec(5, { direction: 'backward' })
  const h = registry.histogram('mixgate_h', 'H.', [1])
  h.observe(3)
  h.observe(4)
  const hd = registry.histogram('mixgate_hd', 'HD.', [1], { direction: ['forward', 'backward'] })
  const observe = hd.child({ direction: 'backward' })
  observe(1)
  observe(2)
  const cd = registry.counter('mixgate_cd_total', 'CD.', { direction: ['forward'] })
  const inc = cd.child({ direction: 'forward' })
  inc(3)
  code(t, () => inc(-1), 'METRICS_BAD_VALUE')
  code(t, () => observe(NaN), 'METRICS_BAD_VALUE')
  const text = await registry.render()
  t.match(text, /^mixgate_c_total 5$/m)
  t.match(text, /^mixgate_g\{direction="backward"\} 7$/m)
  t.match(text, /^mixgate_g\{direction="forward"\} 0$/m)
  t.match(text, /^mixgate_h_sum 7$/m)
  t.match(text, /^mixgate_h_count 2$/m)
  t.match(text, /^mixgate_hd_bucket\{le="1",direction="backward"\} 1$/m)
  t.match(text, /^mixgate_hd_count\{direction="backward"\} 2$/m)
  t.match(text, /^mixgate_hd_count\{direction="forward"\} 0$/m)
  t.match(text, /^mixgate_cd_total\{direction="forward"\} 3$/m)
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

t.test('counters never go down; a family read from callbacks cannot also be stored', async (t) => {
  const registry = new MetricsRegistry()
  const c = registry.counter('mixgate_c_total', 'C.', { reason: ['a', 'b'] })
  code(t, () => c.inc(-1, { reason: 'a' }), 'METRICS_BAD_VALUE')
  code(t, () => c.inc(NaN, { reason: 'a' }), 'METRICS_BAD_VALUE')
  c.from(() => 3, { reason: 'b' })
  code(t, () => c.inc(1, { reason: 'b' }), 'METRICS_BOUND')
  code(t, () => c.inc(1, { reason: 'a' }), 'METRICS_BOUND')
  code(t, () => c.from(() => 4, { reason: 'b' }), 'METRICS_DUPLICATE')
  t.match(await registry.render(), /reason="a"\} 0\n.*reason="b"\} 3\n/, 'a series without a reader reads 0')
  t.match(await registry.render(), /reason="a"\} 0\n.*reason="b"\} 3\n/, 'and a read counter is not added up over scrapes')
  const stored = registry.gauge('mixgate_s', 'S.')
  stored.set(1)
  code(t, () => stored.from(() => 2), 'METRICS_BOUND')
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
  t.match(await registry.render(), /^mixgate_h6_count 0$/m)
})
