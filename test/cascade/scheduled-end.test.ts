/**
 * A shaped circuit ends on schedule whatever its streams do (PROTOCOL.md §12.7, CLIENT.md
 * "Lanes and lifetimes": a circuit kept alive for its streams would tell the observer there
 * were some). What the user gets then: the app's connection is reset (a FIN would make a cut
stream look complete to a reader to EOF), the client counts the
 * stream in `mixgate_streams_cut_by_schedule_total` and logs `circuit.streams_cut` with the
 * reason, instead of leaving a reset unexplained. Lifetimes here are a second or two (2
 * circuits, a creation every 2 slots of 500 ms), so a stream held open is cut soon.
 */
import t from 'tap'
import { createServer, type Socket } from 'node:net'
import { cryptoReady } from '../../src/crypto/index.js'
import { DEFAULT_SHAPING, type ShapingParams } from '../../src/protocol/shaping.js'
import { registerClientMetrics } from '../../src/client/client-metrics.js'
import { MetricsRegistry } from '../../src/base/metrics-registry.js'
import { parsePrometheusText, sampleValue } from '../../src/base/metrics-text.js'
import { memoryLogger, startCascade, waitFor } from '../helpers/cascade.js'
import { rawConnect } from '../helpers/raw-socks.js'

await cryptoReady()

// A server that accepts and holds every connection open, saying nothing.
const held = new Set<Socket>()
const server = createServer((socket) => { held.add(socket); socket.on('error', () => {}); socket.on('close', () => held.delete(socket)) })
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const port = (server.address() as { port: number }).port
t.teardown(() => { for (const s of held) s.destroy(); server.close() })

const shaping: ShapingParams = { ...DEFAULT_SHAPING.elastic, slotMs: 500, circuits: 2, circuitSlots: 4 }
const log = memoryLogger('test', 'info')
const cascade = await startCascade({ roundMs: 10, cellSize: 2048, shaping, logger: log.logger })
t.teardown(() => cascade.stop())

t.test('a stream open at its circuit\'s scheduled end: the app\'s connection closes, counted and logged', async (t) => {
  const stats = cascade.client.node.stats
  await waitFor(() => cascade.client.node.shaperState!.circuits().length === shaping.circuits, 'the client\'s circuits', 30_000)
  const { socket, rep } = await rawConnect({ socksPort: cascade.socksPort, host: '127.0.0.1', port })
  t.equal(rep, 0, 'the stream opened')
  t.equal(stats.streamsCutBySchedule, 0, 'nothing cut yet')
  let errorCode: string | undefined
  socket.on('error', (err: NodeJS.ErrnoException) => { errorCode = err.code })
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  await Promise.race([closed, new Promise((_resolve, reject) => setTimeout(() => reject(new Error('the stream outlived its circuit by 20 s')), 20_000))])
  t.equal(errorCode, 'ECONNRESET', 'with a reset, not a FIN: a cut stream must not look complete to a reader to EOF')
  t.equal(stats.streamsCutBySchedule, 1, 'counted as cut by the schedule')
  const metrics = registerClientMetrics(new MetricsRegistry(), cascade.client.node, { epoch: () => 0 })
  const scraped = parsePrometheusText(await metrics.registry.render())
  t.equal(sampleValue(scraped, 'mixgate_streams_cut_by_schedule_total'), 1, 'in /metrics')
  // The hops after the entry keep the circuit a grace past its end (R5): their last rounds of
  // it reach an entry that has ended it, which is normal and counted so.
  const entry = cascade.mixes[0]!.node.stats
  await waitFor(() => entry.cellsAfterEnd > 0, 'the second mix\'s last rounds of the ended circuit at the entry')
  t.equal(entry.unknownCircuitCells, 0, 'counted as after its end, not as cells of an unknown circuit')
  await cascade.client.stop() // flushes the aggregated warnings
  t.ok(log.lines.some((line) => line.includes('circuit.streams_cut') && line.includes('scheduled end')), 'logged with its reason')
})
