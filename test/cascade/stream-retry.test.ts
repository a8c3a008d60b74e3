/**
 * Retrying a request the exit has not answered (PROTOCOL.md §11.4 "Retries", Tor's
 * CircuitStreamTimeout), through a real loopback cascade (profile `off`) with curl and a raw
 * SOCKS5 app:
 * - mix 2 drops a circuit's CREATE (a hop that lost its keys stays silent, R5): after the
 *   attach timeout the request is tried on a new circuit and succeeds; the silent circuit takes
 *   no new streams and still raises its alarm at the stream timeout; no DESTROY is sent;
 * - the app's optimistic data rides in the retry's BEGIN: the host sees it once;
 * - the exit answers the first try late (its DNS answer is slow): the retry's answer is the one
 *   the app gets, the late CONNECTED is ended with END, and the host sees one request.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { cryptoReady } from '../../src/crypto/index.js'
import { CellCommand } from '../../src/protocol/cell.js'
import { MixNode } from '../../src/mix/mix-node.js'
import { MetricsRegistry } from '../../src/base/metrics-registry.js'
import { parsePrometheusText, sampleValue } from '../../src/base/metrics-text.js'
import { registerClientMetrics } from '../../src/client/client-metrics.js'
import { memoryLogger, startCascade, waitFor } from '../helpers/cascade.js'
import { startDnsServer } from '../exit/helpers/dns-server.js'
import { rawConnect } from '../helpers/raw-socks.js'
import { sha256, patternBytes, startHttpTarget } from '../helpers/targets.js'

await cryptoReady()
const run = promisify(execFile)

const ATTACH_MS = 500
const STREAM_TIMEOUT_MS = 4000

const http = await startHttpTarget(t)
// slow.test: the first lookups (one try's A and AAAA) are answered after 1.5 s, later ones at once.
let firstSlowQuery: number | undefined
const dns = await startDnsServer({ 'slow.test': { a: ['127.0.0.1'] } }, {
  delayMs: (name) => {
    if (name !== 'slow.test') return 0
    firstSlowQuery ??= Date.now()
    return Date.now() - firstSlowQuery < 200 ? 1500 : 0
  },
})
t.teardown(() => dns.close())

// Mix 2 drops the next CREATE once armed: the circuit stays silent, as after a restart without its keys.
let armed = false
let dropped = 0
const dropForward = (cell: Uint8Array): boolean => {
  if (!armed || cell[4] !== CellCommand.CREATE) return false
  armed = false
  dropped++
  return true
}

const { logger, lines } = memoryLogger('cascade', 'info')
const cascade = await startCascade({
  logger,
  dnsServers: [dns.server],
  mixFactory: (position) => position === 2 ? (options) => new MixNode({ ...options, testFaults: { dropForward } }) : undefined,
  client: { streamTimeoutMs: STREAM_TIMEOUT_MS, streamAttachTimeoutMs: ATTACH_MS, failTimeoutMs: 300, logIntervalMs: 100 },
})
t.teardown(() => cascade.stop())
const client = cascade.client.node
const exit = cascade.exit.node

async function curl (credentials: string, url: string): Promise<string> {
  const { stdout } = await run('curl', ['-sS', '--max-time', '20', '-x', `socks5h://${credentials}@127.0.0.1:${cascade.socksPort}`, url])
  return stdout
}

t.test('a silent circuit: the request is retried on a new circuit and succeeds; the alarm still comes', async (t) => {
  const stats = { ...client.stats }
  const destroys = cascade.mixes[0]!.node.stats.destroysIn
  armed = true
  t.equal(await curl('victim:x', `http://127.0.0.1:${http.port}/retried`), 'hello /retried\n', 'curl gets its answer')
  t.equal(dropped, 1, 'mix 2 dropped the first circuit\'s CREATE')
  t.equal(client.stats.streamsRetried - stats.streamsRetried, 1, 'retried once')
  t.equal(client.stats.circuitsBuilt - stats.circuitsBuilt, 2, 'on a second circuit built for the key')
  t.equal(client.stats.streamsRequested - stats.streamsRequested, 1, 'one request')
  t.equal(client.stats.streamsConnected - stats.streamsConnected, 1, 'one stream connected')
  t.equal(client.stats.streamsTimedOut, stats.streamsTimedOut, 'the app never timed out')
  t.equal(http.requests.filter((r) => r.url === '/retried').length, 1, 'the host saw the request once')

  const built = client.stats.circuitsBuilt
  t.equal(await curl('victim:x', `http://127.0.0.1:${http.port}/next`), 'hello /next\n')
  t.equal(client.stats.circuitsBuilt, built, 'the next stream takes the working circuit, not the silent one')

  await waitFor(() => client.stats.silentCircuits > stats.silentCircuits, 'the silent circuit\'s alarm at the stream timeout')
  t.equal(client.stats.silentCircuits - stats.silentCircuits, 1, 'the silent circuit raised its alarm')
  t.equal(client.stats.alarms - stats.alarms, 1, 'one alarm')
  t.equal(cascade.mixes[0]!.node.stats.destroysIn, destroys, 'no DESTROY reached the entry (R3)')

  const metrics = registerClientMetrics(new MetricsRegistry(), client, { epoch: () => 0 })
  const scraped = parsePrometheusText(await metrics.registry.render())
  t.equal(sampleValue(scraped, 'mixgate_streams_retried_total'), client.stats.streamsRetried, 'in /metrics')
  await waitFor(() => lines.some((line) => line.includes('stream.retried')), 'the retry count in the log')
  const logged = lines.filter((line) => line.includes('stream.retried'))
  t.ok(logged.every((line) => !line.includes(String(http.port)) && !line.includes('victim')), 'the log line names no destination and no credentials (R19)')
})

t.test('optimistic data rides in the retry\'s BEGIN: nothing lost, nothing twice', async (t) => {
  const retried = client.stats.streamsRetried
  const silent = client.stats.silentCircuits
  // A POST whose body is larger than one BEGIN's room: part rides in the BEGIN, the rest follows CONNECTED.
  const body = patternBytes(3000)
  const request = Buffer.concat([Buffer.from(`POST /early HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: ${body.length}\r\n\r\n`), body])
  armed = true
  const { socket, reader, rep } = await rawConnect({ socksPort: cascade.socksPort, host: '127.0.0.1', port: http.port, username: 'early', password: 'x', early: request })
  t.teardown(() => socket.destroy())
  t.equal(rep, 0x00, 'the app is connected once the retry is answered')
  const answer = (await reader.readToEnd()).toString()
  t.ok(answer.endsWith(sha256(body)), 'the host got the body intact')
  t.equal(client.stats.streamsRetried - retried, 1, 'retried once')
  const posted = http.requests.filter((r) => r.url === '/early')
  t.equal(posted.length, 1, 'the host saw one request')
  t.equal(posted[0]!.bodySha, sha256(body))
  await waitFor(() => client.stats.silentCircuits > silent, 'the silent circuit\'s alarm at the stream timeout')
})

t.test('a late answer on the first circuit is ended, never passed on', async (t) => {
  await waitFor(() => exit.exitStats.streamsActive === 0, 'earlier streams to end at the exit')
  const stats = { ...client.stats }
  const opened = exit.exitStats.streamsOpened
  t.equal(await curl('late:x', `http://slow.test:${http.port}/late`), 'hello /late\n', 'curl gets the retry\'s answer')
  t.equal(client.stats.streamsRetried - stats.streamsRetried, 1, 'retried once')
  await waitFor(() => exit.exitStats.streamsOpened - opened === 2, 'the first try to connect at the exit, late')
  await waitFor(() => exit.exitStats.streamsActive === 0, 'the late stream to be ended by the client')
  t.equal(http.requests.filter((r) => r.url === '/late').length, 1, 'the host saw the request once')
  t.equal(client.stats.streamsConnected - stats.streamsConnected, 1, 'the app was connected once')
  // Past the stream timeout: the first circuit did answer, so no alarm.
  await new Promise((resolve) => setTimeout(resolve, STREAM_TIMEOUT_MS))
  t.equal(client.stats.alarms, stats.alarms, 'a slow answer raises no alarm')
  t.equal(client.stats.streamsTimedOut, stats.streamsTimedOut)
})
