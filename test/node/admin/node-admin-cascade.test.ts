/**
 * startNodeAdmin on a real cascade on loopback (2 mixes, exit, client), an admin port on every
 * node: after one request through the SOCKS port, each node's counters have moved and every
 * node is healthy.
 */
import t, { type Test } from 'tap'
import { Client, request } from 'undici'
import { cryptoReady } from '../../../src/crypto/index.js'
import { startNodeAdmin, type NodeAdmin, type NodeAdminOptions } from '../../../src/node/admin/node-admin.js'
import { parsePrometheusText, sampleValue, sumSamples, type ParsedMetrics } from '../../../src/base/metrics-text.js'
import type { MixSource } from '../../../src/mix/mix-metrics.js'
import { memoryLogger, startCascade, waitFor } from '../../helpers/cascade.js'
import { startHttpTarget } from '../../helpers/targets.js'
import { curlThrough } from '../../cli/spawn-cli.js'

await cryptoReady()

type Short<T> = T extends unknown ? Omit<T, 'logger' | 'address'> : never

async function admin (t: Test, options: Short<NodeAdminOptions>): Promise<NodeAdmin> {
  const started = await startNodeAdmin({ address: { host: '127.0.0.1', port: 0 }, logger: memoryLogger().logger, ...options })
  t.teardown(() => started.close())
  return started
}

async function get (t: Test, base: string, path: string): Promise<{ status: number, text: string }> {
  const client = new Client(base)
  t.teardown(() => client.destroy())
  const response = await request(base + path, { dispatcher: client })
  return { status: response.statusCode, text: await response.body.text() }
}

async function scrape (t: Test, base: string): Promise<ParsedMetrics> {
  const response = await get(t, base, '/metrics')
  t.equal(response.status, 200, '/metrics answers 200')
  return parsePrometheusText(response.text)
}

t.test('on a real cascade, every node\'s counters move after a request through the SOCKS port', async (t) => {
  const cascade = await startCascade({ mixes: 2 })
  t.teardown(() => cascade.stop())
  const [mix1, mix2] = cascade.mixes
  const hops = cascade.mixes.length + 1
  const admins = {
    mix1: await admin(t, { role: 'mix', node: mix1!.node, position: 1, listener: mix1!.listener, epoch: () => 1 }),
    mix2: await admin(t, { role: 'mix', node: mix2!.node, position: 2, listener: mix2!.listener, epoch: () => 1 }),
    exit: await admin(t, { role: 'exit', node: cascade.exit.node, position: hops, listener: cascade.exit.listener, epoch: () => 1 }),
    client: await admin(t, { role: 'client', node: cascade.client.node, epoch: () => 1 }),
  }
  const before = await scrape(t, admins.mix1.url)
  const target = await startHttpTarget(t)
  const body = await curlThrough(`127.0.0.1:${cascade.socksPort}`, `http://127.0.0.1:${target.port}/bytes/5000`)
  t.equal(body.length, 5000, 'the request went through')

  const mix1After = await scrape(t, admins.mix1.url)
  t.ok(sampleValue(mix1After, 'mixgate_cells_in_total')! > sampleValue(before, 'mixgate_cells_in_total')!, 'entry mix: cells in moved')
  t.ok(sampleValue(mix1After, 'mixgate_cells_out_total')! > sampleValue(before, 'mixgate_cells_out_total')!, 'entry mix: cells out moved')
  t.ok(sampleValue(mix1After, 'mixgate_creates_accepted_total')! >= 1, 'entry mix: a CREATE accepted')
  t.ok(sampleValue(mix1After, 'mixgate_rounds_total')! > 0, 'entry mix: rounds run')
  t.ok(sampleValue(mix1After, 'mixgate_links_open')! >= 1, 'entry mix: the client link is open')
  t.ok(sampleValue(mix1After, 'mixgate_link_connections_total')! >= 1, 'entry mix: the listener counted the client')
  t.equal(sampleValue(mix1After, 'mixgate_successor_up'), 1)
  t.equal(sumSamples(mix1After, 'mixgate_authentication_failures_total'), 0, 'no authentication failures')
  t.equal(sampleValue(mix1After, 'mixgate_replays_dropped_total'), 0)
  const rounds = sampleValue(mix1After, 'mixgate_batch_cells_count', { direction: 'forward' })!
  if (typeof (mix1!.node as MixSource).observeRounds === 'function') t.ok(rounds > 0, 'the mix reports its rounds: the histogram fills')
  else t.equal(rounds, 0, 'the mix does not report rounds yet: the histogram stays empty')

  const mix2After = await scrape(t, admins.mix2.url)
  t.ok(sampleValue(mix2After, 'mixgate_cells_in_total')! > 0, 'middle mix: cells in')
  t.equal(sampleValue(mix2After, 'mixgate_position'), 2)

  // The exit adds a stream's bytes to its totals when the stream closes, a moment after curl is done.
  await waitFor(() => cascade.exit.node.exitStats.bytesFromHosts >= 5000, 'the exit to close the stream')
  const exit = await scrape(t, admins.exit.url)
  t.ok(sampleValue(exit, 'mixgate_streams_opened_total')! >= 1, 'exit: a stream opened')
  t.ok(sampleValue(exit, 'mixgate_bytes_total', { direction: 'backward' })! >= 5000, 'exit: bytes from the host counted')
  t.ok(sampleValue(exit, 'mixgate_cells_out_total')! > 0, 'exit: cells out')

  const client = await scrape(t, admins.client.url)
  t.ok(sampleValue(client, 'mixgate_circuits_built_total')! >= 1, 'client: a circuit built')
  t.ok(sampleValue(client, 'mixgate_streams_opened_total')! >= 1, 'client: a stream opened')
  t.ok(sampleValue(client, 'mixgate_socks_accepted_total')! >= 1, 'client: a SOCKS CONNECT accepted')
  t.ok(sampleValue(client, 'mixgate_cells_in_total')! > 0, 'client: cells in')
  t.equal(sampleValue(client, 'mixgate_successor_up'), 1, 'client: entry link up')

  for (const [name, started] of Object.entries(admins)) {
    const health = await get(t, started.url, '/healthz')
    t.equal(health.status, 200, `${name} is healthy`)
  }
})
