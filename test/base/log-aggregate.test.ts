/**
 * The log aggregator (R19): repeated events leave one line per event kind per interval, with
 * the count since the last line; each event is written at debug only; memory is bounded.
 */
import t from 'tap'
import { Writable } from 'node:stream'
import { createLogger, type LogLevel } from '../../src/base/logger.js'
import { LogAggregator, OVERFLOW_EVENT } from '../../src/base/log-aggregate.js'

/** A JSON logger writing into an array of parsed lines. */
function capture (level: LogLevel): { logger: ReturnType<typeof createLogger>, lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write (chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>)
      done()
    },
  })
  return { logger: createLogger({ role: 'client', format: 'json', level, stream }), lines }
}

const HOUR = 3_600_000

t.test('N events: nothing above debug until the interval ends, then one line with count N', async (t) => {
  const { logger, lines } = capture('info')
  const agg = new LogAggregator(logger, { level: 'warn', intervalMs: HOUR })
  t.teardown(() => agg.close())
  for (let i = 0; i < 7; i++) agg.count('circuit.integrity_failure')
  t.same(lines, [], 'no line per event')
  agg.flush()
  t.equal(lines.length, 1)
  t.match(lines[0], { level: 'warn', event: 'circuit.integrity_failure', count: 7, intervalS: 3600 })
  agg.flush()
  t.equal(lines.length, 1, 'an interval without events writes nothing')
})

t.test('fields from small vocabularies are part of the key; each event is a debug line', async (t) => {
  const { logger, lines } = capture('debug')
  const agg = new LogAggregator(logger, { level: 'warn', intervalMs: HOUR })
  agg.count('loop.alarm', { kind: 'lost' })
  agg.count('loop.alarm', { kind: 'late' })
  agg.count('loop.alarm', { kind: 'lost' })
  agg.count('socks.unsafe_request', { code: 'SOCKS_IP_DESTINATION' })
  t.same(lines.map((l) => [l.level, l.event, l.kind ?? l.code]), [
    ['debug', 'loop.alarm', 'lost'], ['debug', 'loop.alarm', 'late'], ['debug', 'loop.alarm', 'lost'], ['debug', 'socks.unsafe_request', 'SOCKS_IP_DESTINATION'],
  ], 'every event at debug, as it happens')
  lines.length = 0
  agg.close()
  t.same(lines.map((l) => [l.level, l.event, l.kind ?? l.code, l.count]), [
    ['warn', 'loop.alarm', 'lost', 2], ['warn', 'loop.alarm', 'late', 1], ['warn', 'socks.unsafe_request', 'SOCKS_IP_DESTINATION', 1],
  ], 'close() flushes: one line per key')
  t.notOk(lines.some((l) => 'time' in l && Object.keys(l).some((k) => /circuit|round|sent/i.test(k))), 'no circuit, round or time fields')
  lines.length = 0
  agg.count('loop.alarm', { kind: 'lost' })
  agg.flush()
  t.same(lines.map((l) => l.level), ['debug'], 'after close: debug only')
})

t.test('the same fields in any order make one key', async (t) => {
  const { logger, lines } = capture('warn')
  const agg = new LogAggregator(logger, { level: 'warn', intervalMs: HOUR })
  agg.count('e', { a: 1, b: 'x' })
  agg.count('e', { b: 'x', a: 1 })
  agg.close()
  t.equal(lines.length, 1)
  t.match(lines[0], { event: 'e', a: 1, b: 'x', count: 2 })
})

t.test('memory is bounded: keys past maxKeys are counted in one overflow line', async (t) => {
  const { logger, lines } = capture('warn')
  const agg = new LogAggregator(logger, { level: 'warn', intervalMs: HOUR, maxKeys: 2 })
  for (let i = 0; i < 10; i++) agg.count('e', { code: `C${i}` })
  agg.count('e', { code: 'C0' })
  agg.close()
  t.same(lines.map((l) => [l.event, l.code, l.count]), [['e', 'C0', 2], ['e', 'C1', 1], [OVERFLOW_EVENT, undefined, 8]])
})

t.test('the timer writes the counts once per interval on its own', async (t) => {
  const { logger, lines } = capture('warn')
  const agg = new LogAggregator(logger, { level: 'error', intervalMs: 20 })
  t.teardown(() => agg.close())
  agg.count('loop.fail_closed')
  agg.count('loop.fail_closed')
  const deadline = Date.now() + 10_000
  while (lines.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
  t.match(lines, [{ level: 'error', event: 'loop.fail_closed', count: 2 }])
})

t.test('options are checked', async (t) => {
  const { logger } = capture('warn')
  t.throws(() => new LogAggregator(logger, { level: 'warn', intervalMs: 0 }), TypeError)
  t.throws(() => new LogAggregator(logger, { level: 'warn', maxKeys: 0 }), TypeError)
})
