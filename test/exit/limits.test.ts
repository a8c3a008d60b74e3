/**
 * The exit's caps (issue #10, src/exit/limits.ts) through a real exit and mix on loopback:
 * a BEGIN over a cap is answered END(RESOURCE_LIMIT) and counted, the streams already open
 * keep working, and the slot comes back when a stream ends. Caps are set tiny to hit them.
 */
import t, { type Test } from 'tap'
import { cryptoReady } from '../../src/crypto/index.js'
import { MetricsRegistry } from '../../src/base/metrics-registry.js'
import { registerExitMetrics } from '../../src/exit/exit-metrics.js'
import { EndReason } from '../../src/protocol/end-reason.js'
import { RelayCommand } from '../../src/protocol/relay-payload.js'
import { waitFor } from '../helpers/cascade.js'
import { startTcpTarget } from '../helpers/targets.js'
import { startDnsServer } from './helpers/dns-server.js'
import { startExitCascade, type RawStreams } from './helpers/exit-cascade.js'

await cryptoReady()

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)

/** Send `text` on `streamId` and wait for the echo target to send it back. */
async function echoes (t: Test, streams: RawStreams, streamId: number, text: string): Promise<void> {
  const before = streams.data(streamId)
  streams.send(streamId, RelayCommand.DATA, bytes(text))
  await waitFor(() => streams.data(streamId) === before + text, `the echo on stream ${streamId}`)
  t.pass(`stream ${streamId} still carries data`)
}

t.test('a BEGIN over maxOutbound gets RESOURCE_LIMIT; open streams go on; an ended stream frees its socket', async (t) => {
  const target = await startTcpTarget(t, (socket) => socket.pipe(socket))
  const c = await startExitCascade({ limits: { maxOutbound: 2 } })
  t.teardown(() => c.stop())
  const stats = c.exit.node.exitStats
  const streams = await c.open()

  streams.begin(1, '127.0.0.1', target.port)
  streams.begin(2, '127.0.0.1', target.port)
  t.equal(await streams.answer(1), 'connected')
  t.equal(await streams.answer(2), 'connected')
  streams.begin(3, '127.0.0.1', target.port)
  t.equal(await streams.answer(3), EndReason.RESOURCE_LIMIT, 'the third socket is over the cap')
  t.equal(stats.outboundSockets.refused, 1)
  t.equal(stats.outboundSockets.active, 2)
  await echoes(t, streams, 1, 'one')
  await echoes(t, streams, 2, 'two')

  // Another client's circuit is under the same global cap.
  const other = await c.open()
  other.begin(1, '127.0.0.1', target.port)
  t.equal(await other.answer(1), EndReason.RESOURCE_LIMIT, 'the cap is the exit\'s, not the circuit\'s')

  streams.send(1, RelayCommand.END, Uint8Array.of(EndReason.DONE))
  await waitFor(() => stats.outboundSockets.active === 1, 'the ended stream\'s socket to close')
  streams.begin(4, '127.0.0.1', target.port)
  t.equal(await streams.answer(4), 'connected', 'its slot is free again')
  await echoes(t, streams, 4, 'four')

  const registry = new MetricsRegistry()
  registerExitMetrics(registry, c.exit.node, { position: 2, epoch: () => 0 })
  const text = await registry.render()
  t.match(text, /mixgate_exit_limit_refusals_total\{limit="outbound_sockets"\} 2/)
  t.match(text, /mixgate_exit_outbound_sockets 2/)
})

t.test('a BEGIN over maxStreamsPerCircuit gets RESOURCE_LIMIT; the circuit\'s other streams go on', async (t) => {
  const target = await startTcpTarget(t, (socket) => socket.pipe(socket))
  const c = await startExitCascade({ limits: { maxStreamsPerCircuit: 2 } })
  t.teardown(() => c.stop())
  const streams = await c.open()
  streams.begin(1, '127.0.0.1', target.port)
  streams.begin(2, '127.0.0.1', target.port)
  t.equal(await streams.answer(1), 'connected')
  t.equal(await streams.answer(2), 'connected')
  streams.begin(3, '127.0.0.1', target.port)
  t.equal(await streams.answer(3), EndReason.RESOURCE_LIMIT)
  t.equal(c.exit.node.exitStats.refusedStreamsPerCircuit, 1)
  await echoes(t, streams, 1, 'still here')

  const other = await c.open()
  other.begin(1, '127.0.0.1', target.port)
  t.equal(await other.answer(1), 'connected', 'another circuit has its own count')
})

t.test('a BEGIN over maxDnsQueries gets RESOURCE_LIMIT; IP literals need no query and still connect', async (t) => {
  const target = await startTcpTarget(t, (socket) => socket.pipe(socket))
  const dns = await startDnsServer({ 'fast.mixgate.example': { a: ['127.0.0.1'] } }, { drop: ['slow.mixgate.example'] })
  t.teardown(() => dns.close())
  const c = await startExitCascade({ dnsServers: [dns.server], limits: { maxDnsQueries: 1 } })
  t.teardown(() => c.stop())
  const stats = c.exit.node.exitStats
  const streams = await c.open()

  streams.begin(1, 'slow.mixgate.example', target.port) // never answered: holds the one query slot
  await waitFor(() => stats.dnsQueries.active === 1, 'the slow query')
  streams.begin(2, 'fast.mixgate.example', target.port)
  t.equal(await streams.answer(2), EndReason.RESOURCE_LIMIT, 'a second query is over the cap')
  t.equal(stats.dnsQueries.refused, 1)
  streams.begin(3, '127.0.0.1', target.port)
  t.equal(await streams.answer(3), 'connected', 'an IP literal takes no query slot')
  await echoes(t, streams, 3, 'literal')

  // The slow query times out (the resolver's deadline) and gives its slot back.
  t.equal(await streams.answer(1), EndReason.RESOLVE_FAILED)
  t.equal(stats.dnsQueries.active, 0)
  streams.begin(4, 'fast.mixgate.example', target.port)
  t.equal(await streams.answer(4), 'connected')
})
