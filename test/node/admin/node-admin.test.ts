/**
 * startNodeAdmin on simple objects that fit the source interfaces: metrics read at scrape
 * time, health per role, /descriptor and /cascade from providers, the round observer attached
 * and detached, non-loopback addresses refused. (node-admin-cascade.test.ts runs it on a real
 * cascade.)
 */
import t, { type Test } from 'tap'
import { Writable } from 'node:stream'
import { Client, request } from 'undici'
import { cryptoReady } from '../../../src/crypto/index.js'
import { AdminError } from '../../../src/node/admin/errors.js'
import { startNodeAdmin, type NodeAdmin, type NodeAdminOptions } from '../../../src/node/admin/node-admin.js'
import { ConfigError } from '../../../src/base/config-error.js'
import { parsePrometheusText, sampleValue, type ParsedMetrics } from '../../../src/node/metrics/parse-text.js'
import type { ClientCounters, ExitCounters, HopCounters, RoundObserver } from '../../../src/node/metrics/sources.js'
import { createLogger, type Logger } from '../../../src/base/logger.js'

await cryptoReady()

/** A logger that writes nowhere (this test imports no role code, so not the cascade helper's). */
function quietLogger (): Logger {
  return createLogger({ role: 'test', level: 'debug', stream: new Writable({ write (_chunk, _enc, done) { done() } }) })
}

const LOOPBACK = { host: '127.0.0.1', port: 0 }

/** Options without the logger and address, which `admin` fills in (distributed over the roles). */
type Short<T> = T extends unknown ? Omit<T, 'logger' | 'address'> : never

/** Start an admin port for `options` on 127.0.0.1:0, closed at teardown. */
async function admin (t: Test, options: Short<NodeAdminOptions>): Promise<NodeAdmin> {
  const started = await startNodeAdmin({ address: LOOPBACK, logger: quietLogger(), ...options })
  t.teardown(() => started.close())
  return started
}

/** GET `path` from an admin port: status, content type and body. */
async function get (t: Test, base: string, path: string): Promise<{ status: number, type: string, text: string }> {
  const client = new Client(base)
  t.teardown(() => client.destroy())
  const response = await request(base + path, { dispatcher: client })
  return { status: response.statusCode, type: String(response.headers['content-type']), text: await response.body.text() }
}

async function scrape (t: Test, base: string): Promise<ParsedMetrics> {
  const response = await get(t, base, '/metrics')
  t.equal(response.status, 200, '/metrics answers 200')
  return parsePrometheusText(response.text)
}

/** Counters as the nodes' stats objects hold them, all 0 (writable, as the nodes' are). */
type Mutable<T> = { -readonly [K in keyof T]: T[K] }

function hopStats (): Mutable<HopCounters> {
  return {
    cellsIn: 0, cellsOut: 0, rounds: 0, createsAccepted: 0, createsRefusedAuth: 0, createsRefusedReplay: 0,
    createsRefusedFull: 0, createsRefusedLimit: 0, createsRefusedBusy: 0, createsCarried: 0, relayAuthFailures: 0, unknownCircuitCells: 0, malformedCells: 0,
    destroysIn: 0, circuitsExpired: 0, linksAccepted: 0, linksClosed: 0, linksClosedSlow: 0,
    circuitsSilenced: 0, cellsDroppedSilenced: 0, cellsDroppedOverQueue: 0, createsRefusedQuarantine: 0, inputExceptions: 0,
    createsRefusedRate: 0, linksClosedIdle: 0, linksFailed: 0,
  }
}

function exitStats (): Mutable<ExitCounters> {
  return { streamsOpened: 0, streamsRefused: 0, streamsActive: 0, relayMalformed: 0, violations: 0, loopsEchoed: 0, bytesToHosts: 0, bytesFromHosts: 0 }
}

function clientStats (): ClientCounters {
  return {
    circuitsBuilt: 0, circuitsActive: 0, streamsRequested: 0, streamsConnected: 0, streamsRefused: 0, streamsTimedOut: 0,
    integrityFailures: 0, silentCircuits: 0, alarms: 0, cellsOut: 0, cellsIn: 0, padsIn: 0, entryConnects: 0, entryFailures: 0,
  }
}

function fakeMix () {
  let observer: RoundObserver | undefined
  const node = {
    stats: hopStats(),
    circuits: 2,
    predecessorLinks: 1, missedRounds: 0,
    successorUp: true,
    successorConnects: 1,
    successorFailures: 0,
    observeRounds (next: RoundObserver | undefined) { observer = next },
  }
  return { node, observer: () => observer }
}

t.test('a mix admin serves its metrics, health from its successor link, and the round histogram', async (t) => {
  const { node, observer } = fakeMix()
  node.stats.cellsIn = 7
  const started = await admin(t, { role: 'mix', node, position: 1, epoch: () => 17 })
  t.match(started.url, /^http:\/\/127\.0\.0\.1:\d+$/, 'its URL')
  t.equal(started.address.host, '127.0.0.1')

  t.ok(observer() !== undefined, 'the round observer is attached')
  observer()!.observeBatch(5, 'forward')
  observer()!.countPadding(3, 'forward')
  observer()!.observeBatch(0, 'backward')
  observer()!.observeBatch(-1, 'forward') // ignored, never thrown into a round
  observer()!.observeBatch(Number.NaN, 'backward')

  let m = await scrape(t, started.url)
  t.equal(sampleValue(m, 'mixgate_node_info', { role: 'mix' }), 1)
  t.equal(sampleValue(m, 'mixgate_cells_in_total'), 7, 'read from the node at scrape time')
  t.equal(sampleValue(m, 'mixgate_epoch'), 17)
  t.equal(sampleValue(m, 'mixgate_position'), 1)
  t.equal(sampleValue(m, 'mixgate_circuits'), 2)
  t.equal(sampleValue(m, 'mixgate_successor_up'), 1)
  t.equal(sampleValue(m, 'mixgate_batch_cells_count', { direction: 'forward' }), 1, 'one forward round')
  t.equal(sampleValue(m, 'mixgate_batch_cells_sum', { direction: 'forward' }), 5)
  t.equal(sampleValue(m, 'mixgate_batch_cells_count', { direction: 'backward' }), 1, 'the empty backward round counts, the bad values do not')
  t.equal(sampleValue(m, 'mixgate_padding_cells_total', { direction: 'forward' }), 3)
  t.equal(sampleValue(m, 'mixgate_padding_ratio', { direction: 'forward' }), 0.6)

  let health = await get(t, started.url, '/healthz')
  t.equal(health.status, 200)
  t.match(JSON.parse(health.text), { status: 'ok', role: 'mix' })
  node.successorUp = false
  health = await get(t, started.url, '/healthz')
  t.equal(health.status, 503, 'unhealthy without its successor')
  t.match(JSON.parse(health.text), { status: 'unhealthy', reason: 'successor_down' })
  m = await scrape(t, started.url)
  t.equal(sampleValue(m, 'mixgate_successor_up'), 0)

  t.equal((await get(t, started.url, '/descriptor')).status, 404, 'no descriptor provider: 404')
  t.equal((await get(t, started.url, '/cascade')).status, 404, 'no cascade provider: 404')

  await started.close()
  t.equal(observer(), undefined, 'close() detaches the round observer')
  await started.close() // twice is harmless
})

t.test('/descriptor and /cascade are served from their providers, 503 while they have nothing', async (t) => {
  const { node } = fakeMix()
  let cascade: string | undefined
  const started = await admin(t, {
    role: 'mix',
    node,
    position: 1,
    descriptor: () => ({ version: 1, role: 'mix' }),
    cascade: () => cascade,
  })
  const descriptor = await get(t, started.url, '/descriptor')
  t.equal(descriptor.status, 200)
  t.match(descriptor.type, /^application\/json/)
  t.same(JSON.parse(descriptor.text), { version: 1, role: 'mix' })
  t.equal((await get(t, started.url, '/cascade')).status, 503, 'nothing to serve yet')
  cascade = '{"signed":"exactly these bytes"}'
  const served = await get(t, started.url, '/cascade')
  t.equal(served.status, 200)
  t.equal(served.text, cascade, 'a string is served byte for byte')
})

t.test('an exit admin has no forward rounds and is healthy while it runs; a client follows its entry link', async (t) => {
  let observer: RoundObserver | undefined
  const exit = {
    stats: hopStats(),
    exitStats: { ...exitStats(), streamsActive: 3 },
    circuits: 1,
    predecessorLinks: 1, missedRounds: 0,
    observeRounds (next: RoundObserver | undefined) { observer = next },
  }
  const exitAdmin = await admin(t, { role: 'exit', node: exit, position: 4, epoch: () => 2 })
  observer!.observeBatch(9, 'forward') // the exit has no forward rounds: ignored, not thrown
  observer!.observeBatch(4, 'backward')
  const m = await scrape(t, exitAdmin.url)
  t.equal(sampleValue(m, 'mixgate_streams'), 3)
  t.equal(sampleValue(m, 'mixgate_position'), 4)
  t.equal(sampleValue(m, 'mixgate_batch_cells_count', { direction: 'backward' }), 1)
  t.equal(sampleValue(m, 'mixgate_batch_cells_count', { direction: 'forward' }), undefined, 'no forward series at the exit')
  t.equal((await get(t, exitAdmin.url, '/healthz')).status, 200)

  const client = {
    stats: clientStats(),
    entryUp: false,
    socksCounters: { connections: 0, pending: 0, accepted: 0, rejected: {}, errors: {}, warnings: {} },
  }
  const clientAdmin = await admin(t, { role: 'client', node: client })
  const health = await get(t, clientAdmin.url, '/healthz')
  t.equal(health.status, 503)
  t.match(JSON.parse(health.text), { role: 'client', reason: 'entry_down' })
  const cm = await scrape(t, clientAdmin.url)
  t.equal(sampleValue(cm, 'mixgate_node_info', { role: 'client' }), 1)
  t.equal(sampleValue(cm, 'mixgate_epoch'), undefined, 'no epoch reader: no epoch gauge rather than a made-up one')
})

t.test('an epoch reader that throws shows as NaN instead of taking /metrics down', async (t) => {
  const { node } = fakeMix()
  const started = await admin(t, { role: 'mix', node, position: 2, epoch: () => { throw new RangeError('before genesis') } })
  const m = await scrape(t, started.url)
  t.ok(Number.isNaN(sampleValue(m, 'mixgate_epoch')), 'mixgate_epoch is NaN')
  t.equal(sampleValue(m, 'mixgate_position'), 2, 'the rest is there')
})

/** The error `promise` rejects with (fails the test if it resolves). */
async function rejection (t: Test, promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (err) {
    return err
  }
  t.fail('expected a rejection')
  return undefined
}

t.test('a non-loopback admin address is refused unless allowRemote is set', async (t) => {
  const { node, observer } = fakeMix()
  const logger = quietLogger()
  for (const host of ['0.0.0.0', '192.0.2.10', '::', 'example.org']) {
    const err = await rejection(t, startNodeAdmin({ role: 'mix', node, position: 1, address: { host, port: 9101 }, logger }))
    t.ok(err instanceof ConfigError, `${host}: a ConfigError (the CLI exits 2)`)
    t.equal((err as ConfigError).code, 'CONFIG_INVALID')
    t.match((err as Error).message, /^admin: .*loopback/, 'the message names the admin field and says why')
  }
  t.equal(observer(), undefined, 'nothing attached when refused')
  const named = await rejection(t, startNodeAdmin({ role: 'mix', node, position: 1, address: { host: '0.0.0.0', port: 9101 }, logger, configField: 'admin.listen' }))
  t.match((named as Error).message, /^admin\.listen: /, 'the field named as the config calls it')
  // With allowRemote the loopback check is skipped: binding a TEST-NET address that is not
  // this host's then fails in the OS, so no socket leaves loopback in this test.
  const remote = await rejection(t, startNodeAdmin({ role: 'mix', node, position: 1, address: { host: '192.0.2.10', port: 0 }, logger, allowRemote: true }))
  t.ok(remote instanceof AdminError, 'allowRemote lets the address through to listen()')
  t.equal((remote as AdminError).code, 'ADMIN_LISTEN_FAILED')
  t.equal(observer(), undefined, 'nothing attached when listening failed')
})
