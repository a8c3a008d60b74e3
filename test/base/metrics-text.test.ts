/**
 * The text parser `mixgate status` uses reads back exactly what the registry (prom-client)
 * renders (property: random counter and gauge values, random label values), files histogram samples
 * under their histogram, and refuses lines outside the subset with their line number.
 */
import t from 'tap'
import fc from 'fast-check'
import { MetricsError } from '../../src/base/metrics-errors.js'
import { parsePrometheusText, sampleValue, sumSamples } from '../../src/base/metrics-text.js'
import { MetricsRegistry } from '../../src/base/metrics-registry.js'

t.test('counter and gauge values round-trip through render and parse', async (t) => {
  // Counters are finite (prom-client refuses to add Infinity); prom-client writes -0 as 0.
  await fc.assert(fc.asyncProperty(
    fc.oneof(fc.nat(), fc.maxSafeNat(), fc.double({ min: 0, noNaN: true, noDefaultInfinity: true })),
    fc.nat(),
    fc.double(),
    async (a, b, g) => {
      const registry = new MetricsRegistry()
      registry.counter('mixgate_cells_dropped_total', 'Cells dropped.', { reason: ['unknown_circuit', 'malformed'] })
        .from(() => a, { reason: 'unknown_circuit' })
        .from(() => b, { reason: 'malformed' })
      registry.counterFrom('mixgate_rounds_total', 'Rounds.', () => b)
      registry.gaugeFrom('mixgate_padding_ratio', 'Ratio.', () => g)
      const parsed = parsePrometheusText(await registry.render())
      return Object.is(sampleValue(parsed, 'mixgate_cells_dropped_total', { reason: 'unknown_circuit' }), a) &&
        sampleValue(parsed, 'mixgate_cells_dropped_total', { reason: 'malformed' }) === b &&
        sampleValue(parsed, 'mixgate_rounds_total') === b &&
        Object.is(sampleValue(parsed, 'mixgate_padding_ratio'), Object.is(g, -0) ? 0 : g) &&
        parsed.get('mixgate_cells_dropped_total')?.type === 'counter' &&
        parsed.get('mixgate_padding_ratio')?.help === 'Ratio.'
    },
  ), { numRuns: 300 })
  t.pass('300 random registries read back exactly')
})

t.test('label values and help text round-trip, escapes included', async (t) => {
  await fc.assert(fc.asyncProperty(
    fc.uniqueArray(fc.string({ unit: 'grapheme', maxLength: 12 }), { minLength: 1, maxLength: 4 }),
    fc.string({ minLength: 1, maxLength: 40 }).filter((help) => help.trim() !== ''),
    async (values, help) => {
      const registry = new MetricsRegistry()
      const counter = registry.counter('mixgate_odd_total', help, { reason: values })
      values.forEach((reason, i) => counter.inc(i + 1, { reason }))
      const family = parsePrometheusText(await registry.render()).get('mixgate_odd_total')
      return family !== undefined && family.help === help &&
        family.samples.length === values.length &&
        family.samples.every((sample, i) => sample.labels['reason'] === values[i] && sample.value === i + 1)
    },
  ), { numRuns: 300 })
  t.pass('300 random label sets read back exactly')
})

t.test('histogram samples are filed under their histogram', async (t) => {
  const registry = new MetricsRegistry()
  const h = registry.histogram('mixgate_batch_cells', 'Cells per round.', [0, 4], { direction: ['forward', 'backward'] })
  h.observe(3, { direction: 'backward' })
  const parsed = parsePrometheusText(await registry.render())
  t.same([...parsed.keys()], ['mixgate_batch_cells'])
  const family = parsed.get('mixgate_batch_cells')!
  t.equal(family.type, 'histogram')
  t.equal(family.samples.length, 2 * (3 + 2))
  t.equal(sampleValue(parsed, 'mixgate_batch_cells_bucket', { direction: 'backward', le: '4' }), 1)
  t.equal(sampleValue(parsed, 'mixgate_batch_cells_bucket', { direction: 'backward', le: '+Inf' }), 1)
  t.equal(sampleValue(parsed, 'mixgate_batch_cells_sum', { direction: 'backward' }), 3)
  t.equal(sumSamples(parsed, 'mixgate_batch_cells_count'), 1)
  t.equal(sumSamples(parsed, 'mixgate_absent'), undefined)
  t.equal(sampleValue(parsed, 'mixgate_absent'), undefined)
})

t.test('other comments, blank lines, timestamps and special values are read', async (t) => {
  const parsed = parsePrometheusText([
    '# a comment',
    '',
    '# TYPE mixgate_a gauge',
    'mixgate_a{x="1",} +Inf 1700000000000',
    'mixgate_b -Inf',
    'mixgate_c NaN',
    'mixgate_d 1.5e3',
    'mixgate_e Nan',
    'mixgate_f inf',
  ].join('\n'))
  t.equal(sampleValue(parsed, 'mixgate_a', { x: '1' }), Infinity)
  t.equal(sampleValue(parsed, 'mixgate_b'), -Infinity)
  t.ok(Number.isNaN(sampleValue(parsed, 'mixgate_c')))
  t.equal(sampleValue(parsed, 'mixgate_d'), 1500)
  t.ok(Number.isNaN(sampleValue(parsed, 'mixgate_e')), 'prom-client writes NaN as Nan; Prometheus reads any case')
  t.equal(sampleValue(parsed, 'mixgate_f'), Infinity)
  t.equal(parsed.get('mixgate_b')?.type, 'untyped')
})

t.test('lines outside the subset are refused with their line number', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['mixgate_a', /line 1: expected a space/],
    ['ok 1\n{x="1"} 2', /line 2: expected a metric name/],
    ['mixgate_a{x=1} 2', /line 1: expected ="/],
    ['mixgate_a{x="1} 2', /line 1: unterminated/],
    ['mixgate_a{x="\\t"} 2', /line 1: unknown escape/],
    ['mixgate_a{x="1" y="2"} 2', /line 1: expected , or \}/],
    ['mixgate_a{x="1",x="2"} 2', /line 1: a label appears twice/],
    ['mixgate_a{1="2"} 2', /line 1: expected a label name/],
    ['mixgate_a 0x10', /line 1: expected a number/],
    ['mixgate_a 1 2 3', /line 1: expected a value and an optional timestamp/],
    ['mixgate_a 1 soon', /line 1: expected a value and an optional timestamp/],
    ['# TYPE mixgate_a widget', /line 1: unknown metric type/],
  ]
  for (const [text, message] of cases) {
    let error: unknown
    try { parsePrometheusText(text) } catch (err) { error = err }
    t.ok(error instanceof MetricsError && error.code === 'METRICS_PARSE', `${JSON.stringify(text)} is refused`)
    t.match((error as Error).message, message)
  }
})
