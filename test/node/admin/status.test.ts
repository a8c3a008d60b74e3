/**
 * `fetchStatus` reads a real admin server's /healthz and /metrics (healthy and not), reports
 * unreachable nodes and answers that are not an admin server's, and `formatStatus` puts the
 * key numbers of each role in a short summary without passing on control characters.
 */
import t, { type Test } from 'tap'
import { createServer, type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ClientStats } from '../../../src/client/client-node.js'
import { ExitStats } from '../../../src/exit/exit-node.js'
import { HopStats } from '../../../src/hop/hop-stats.js'
import { AdminServer } from '../../../src/node/admin/admin-server.js'
import { StatusError } from '../../../src/node/admin/errors.js'
import { mixHealth } from '../../../src/node/admin/health.js'
import { fetchStatus, formatDuration, formatStatus, type NodeStatus } from '../../../src/node/admin/status.js'
import { registerClientMetrics } from '../../../src/client/client-metrics.js'
import { registerExitMetrics } from '../../../src/exit/exit-metrics.js'
import { registerMixMetrics } from '../../../src/mix/mix-metrics.js'
import { parsePrometheusText } from '../../../src/base/metrics-text.js'
import { MetricsRegistry } from '../../../src/base/metrics-registry.js'

function busyMix () {
  const stats = Object.assign(new HopStats(), {
    cellsIn: 123456, cellsOut: 123450, rounds: 9876, createsRefusedAuth: 1, relayAuthFailures: 2, createsRefusedReplay: 5,
  })
  return { stats, circuits: 42, predecessorLinks: 3, missedRounds: 0, successorUp: true, successorConnects: 1, successorFailures: 0 }
}

async function adminFor (t: Test, mix: ReturnType<typeof busyMix>): Promise<string> {
  const registry = new MetricsRegistry()
  registerMixMetrics(registry, mix, { position: 1, epoch: () => 17, uptimeS: () => 3725 })
  const server = new AdminServer({ host: '127.0.0.1', port: 0, role: 'mix', metrics: registry, health: mixHealth(mix), uptimeS: () => 3725 })
  const { port } = await server.start()
  t.teardown(() => server.close())
  return `http://127.0.0.1:${port}`
}

/** A plain HTTP server that is not an admin server. */
async function impostor (t: Test, handler: RequestListener): Promise<string> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections() }))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

async function statusError (t: Test, promise: Promise<unknown>, code: string): Promise<void> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof StatusError, 'a StatusError')
  t.equal((err as StatusError).code, code)
}

function lineOf (text: string, label: string): string | undefined {
  return text.split('\n').find((line) => line.startsWith(label + ' '))
}

t.test('fetchStatus reads a healthy mix and formatStatus shows its key numbers', async (t) => {
  const url = await adminFor(t, busyMix())
  const status = await fetchStatus(url + '/')
  t.equal(status.httpStatus, 200)
  t.same(status.health, { status: 'ok', role: 'mix', uptimeS: 3725 })
  const text = formatStatus(status)
  t.equal(lineOf(text, 'role'), 'role           mix, position 1')
  t.equal(lineOf(text, 'health'), 'health         ok')
  t.equal(lineOf(text, 'uptime'), 'uptime         1h 2m 5s')
  t.equal(lineOf(text, 'epoch'), 'epoch          17')
  t.equal(lineOf(text, 'circuits'), 'circuits       42')
  t.equal(lineOf(text, 'cells'), 'cells          123456 in, 123450 out')
  t.equal(lineOf(text, 'rounds'), 'rounds         9876')
  t.equal(lineOf(text, 'auth failures'), 'auth failures  3')
  t.equal(lineOf(text, 'replays'), 'replays        5 dropped')
  t.equal(lineOf(text, 'links'), 'links          3 open, successor up')
  t.ok(text.endsWith('\n'))
})

t.test('a mix that missed rounds says so on its rounds line', async (t) => {
  const mix = busyMix()
  mix.missedRounds = 12
  const text = formatStatus(await fetchStatus(await adminFor(t, mix)))
  t.equal(lineOf(text, 'rounds'), 'rounds         9876, 12 missed (the node was too busy)')
})

t.test('a mix without its successor is a status to show, not an error', async (t) => {
  const mix = busyMix()
  mix.successorUp = false
  const status = await fetchStatus(await adminFor(t, mix))
  t.equal(status.httpStatus, 503)
  const text = formatStatus(status)
  t.equal(lineOf(text, 'health'), 'health         unhealthy (successor_down)')
  t.equal(lineOf(text, 'links'), 'links          3 open, successor down')
})

t.test('a node that cannot be reached is STATUS_UNREACHABLE', async (t) => {
  const server = new AdminServer({ host: '127.0.0.1', port: 0, role: 'mix', metrics: { render: () => '' } })
  const { port } = await server.start()
  await server.close()
  await statusError(t, fetchStatus(`http://127.0.0.1:${port}`, { timeoutMs: 2000 }), 'STATUS_UNREACHABLE')
})

t.test('a URL that is not http(s) is STATUS_BAD_URL', async (t) => {
  await statusError(t, fetchStatus('127.0.0.1:9100'), 'STATUS_BAD_URL')
  await statusError(t, fetchStatus('not a url'), 'STATUS_BAD_URL')
  await statusError(t, fetchStatus('file:///etc/passwd'), 'STATUS_BAD_URL')
})

t.test('answers that are not an admin server\'s are STATUS_BAD_RESPONSE or STATUS_BAD_METRICS', async (t) => {
  const healthy = JSON.stringify({ status: 'ok', role: 'mix', uptimeS: 1 })
  const cases: Array<[string, RequestListener]> = [
    ['STATUS_BAD_RESPONSE', (_req, res) => res.end('hello')],
    ['STATUS_BAD_RESPONSE', (_req, res) => res.end('{"status":"ok"}')],
    ['STATUS_BAD_RESPONSE', (_req, res) => { res.statusCode = 404; res.end('no') }],
    ['STATUS_BAD_RESPONSE', (req, res) => {
      if (req.url === '/healthz') { res.end(healthy); return }
      res.setHeader('content-type', 'text/html')
      res.end('<html>')
    }],
    ['STATUS_BAD_METRICS', (req, res) => {
      if (req.url === '/healthz') { res.end(healthy); return }
      res.setHeader('content-type', 'text/plain; version=0.0.4')
      res.end('mixgate_x{oops} 1\n')
    }],
  ]
  for (const [code, handler] of cases) await statusError(t, fetchStatus(await impostor(t, handler)), code)
})

t.test('formatStatus summarises a client and an exit with the lines they have', async (t) => {
  const clientRegistry = new MetricsRegistry()
  const stats = Object.assign(new ClientStats(), { circuitsActive: 4, cellsIn: 10, cellsOut: 20, streamsConnected: 7, streamsRefused: 1 })
  registerClientMetrics(clientRegistry, {
    stats, entryUp: true, socksCounters: { connections: 0, pending: 0, accepted: 0, rejected: {}, errors: {}, warnings: {} },
  }, { epoch: () => 2 })
  const client = formatStatus({ httpStatus: 200, health: { status: 'ok', role: 'client', uptimeS: 59 }, metrics: parsePrometheusText(await clientRegistry.render()) })
  t.equal(lineOf(client, 'role'), 'role           client')
  t.equal(lineOf(client, 'uptime'), 'uptime         59s')
  t.equal(lineOf(client, 'circuits'), 'circuits       4')
  t.equal(lineOf(client, 'links'), 'links          successor up')
  t.equal(lineOf(client, 'streams'), 'streams        7 opened, 1 refused')
  t.equal(lineOf(client, 'rounds'), undefined, 'a client has no rounds')
  t.equal(lineOf(client, 'replays'), undefined, 'nor a replay table')

  const exitRegistry = new MetricsRegistry()
  const exitStats = Object.assign(new ExitStats(), { streamsActive: 2, streamsOpened: 30, streamsRefused: 3 })
  registerExitMetrics(exitRegistry, { stats: new HopStats(), exitStats, circuits: 1, predecessorLinks: 1, missedRounds: 0 }, { position: 4, epoch: () => 2 })
  const exit = formatStatus({ httpStatus: 200, health: { status: 'ok', role: 'exit', uptimeS: 90061 }, metrics: parsePrometheusText(await exitRegistry.render()) })
  t.equal(lineOf(exit, 'role'), 'role           exit, position 4')
  t.equal(lineOf(exit, 'uptime'), 'uptime         1d 1h 1m 1s')
  t.equal(lineOf(exit, 'streams'), 'streams        2 open, 30 opened, 3 refused')
  t.equal(lineOf(exit, 'links'), 'links          1 open')
})

t.test('formatStatus prints nothing from the node but plain words and numbers', async (t) => {
  const status: NodeStatus = {
    httpStatus: 503,
    health: { status: 'unhealthy', role: 'mix\u001b]0;pwned\u0007', uptimeS: -1, reason: '\u001b[2J' },
    metrics: parsePrometheusText('mixgate_epoch 1e+21\nmixgate_circuits NaN\n'),
  }
  const text = formatStatus(status)
  t.notMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f]/, 'no control characters')
  t.equal(lineOf(text, 'role'), 'role           mix]0pwned', 'ESC and BEL removed')
  t.equal(lineOf(text, 'health'), 'health         unhealthy ([2J)')
  t.equal(lineOf(text, 'uptime'), 'uptime         unknown')
  t.equal(lineOf(text, 'epoch'), 'epoch          1e+21')
  t.equal(lineOf(text, 'circuits'), 'circuits       NaN')
})

t.test('formatDuration writes the largest units present', async (t) => {
  t.equal(formatDuration(0), '0s')
  t.equal(formatDuration(61.9), '1m 1s')
  t.equal(formatDuration(3600), '1h 0m 0s')
  t.equal(formatDuration(86400), '1d 0h 0m 0s')
  t.equal(formatDuration(NaN), 'unknown')
})
