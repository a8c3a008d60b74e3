/**
 * Issue #17 on a real cascade (profile off): one isolation key's streams fill a circuit (256)
 * and go on to a second; with `maxCircuits` 2 both full, the next request is answered 0x01 at
 * once, counted in mixgate_stream_limits_reached_total, logged as one line per interval (with
 * its count), and every stream already open still carries bytes.
 */
import t from 'tap'
import { openHeldStreams, startEchoHolder } from '../../bench/held-streams.js'
import { registerClientMetrics } from '../../src/client/client-metrics.js'
import { MetricsRegistry } from '../../src/base/metrics-registry.js'
import { cryptoReady } from '../../src/crypto/index.js'
import { UNSHAPED_STREAMS_PER_CIRCUIT } from '../../src/protocol/stream-bound.js'
import { memoryLogger, startCascade } from '../helpers/cascade.js'

await cryptoReady()

t.test('at maxCircuits with every circuit full: 0x01 at once, counted, logged once, the others untouched', async (t) => {
  const holder = await startEchoHolder()
  t.teardown(() => holder.close())
  const { logger, lines } = memoryLogger('test', 'info')
  // The counts are written when the interval ends or the client stops: here, when it stops.
  const cascade = await startCascade({ mixes: 1, logger, client: { maxCircuits: 2, logIntervalMs: 3_600_000 } })
  let stopped = false
  t.teardown(async () => { if (!stopped) await cascade.stop() })
  const full = 2 * UNSHAPED_STREAMS_PER_CIRCUIT

  const held = await openHeldStreams({ socksPort: cascade.socksPort, targetPort: holder.port, count: full })
  t.teardown(() => held.close())
  t.equal(held.result.served, full, `${full} streams of one key served, over two circuits`)
  t.equal(cascade.client.node.stats.circuitsActive, 2, 'two circuits')

  const over = await openHeldStreams({ socksPort: cascade.socksPort, targetPort: holder.port, count: 10, inFlight: 1, giveUpAfter: 3 })
  t.teardown(() => over.close())
  t.same(over.result.replies, { 1: 3 }, 'three more: each answered 0x01 (general failure, as Tor answers a resource limit)')
  t.equal(over.result.skipped, 7, 'and the opener stopped asking after three failures in a row')
  const stats = cascade.client.node.stats
  t.equal(stats.streamsOverCircuitLimit, 3, 'each counted')
  const registry = new MetricsRegistry()
  registerClientMetrics(registry, cascade.client.node, {})
  t.match(await registry.render(), /mixgate_stream_limits_reached_total\{limit="circuits"\} 3\n/, 'in /metrics')

  t.equal(await held.echoEach(), full, 'every stream already open still echoes')
  t.notOk(lines.some((line) => line.includes('stream.circuit_limit')), 'nothing logged per refusal')
  stopped = true
  await cascade.stop()
  const logged = lines.filter((line) => line.includes('stream.circuit_limit'))
  t.equal(logged.length, 1, 'one log line for the three, when the interval ends (here: the client stops)')
  t.match(logged[0], /count=3/, 'with their count')
})
